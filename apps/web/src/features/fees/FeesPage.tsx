import { useSearchParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { useT, type MessageKey } from "../../i18n";
import { ConcessionsSection } from "./ConcessionsSection";
import { HeadsSection } from "./HeadsSection";
import { InstalmentsSection } from "./InstalmentsSection";
import { LateFeeSection } from "./LateFeeSection";
import { StructuresSection } from "./StructuresSection";
import "./fees.css";

const TABS = ["structures", "heads", "instalments", "concessions", "late"] as const;
type Tab = (typeof TABS)[number];

const LABELS: Record<Tab, MessageKey> = {
  structures: "feeSetup.tab.structures",
  heads: "feeSetup.tab.heads",
  instalments: "feeSetup.tab.instalments",
  concessions: "feeSetup.tab.concessions",
  late: "feeSetup.tab.late",
};

/** Fee set-up: what each class pays, in which instalments, with which concessions and late fees. */
export default function FeesPage() {
  const t = useT();
  const [params, setParams] = useSearchParams();
  const requested = params.get("tab") as Tab | null;
  const tab: Tab = requested && TABS.includes(requested) ? requested : "structures";
  return (
    <>
      <PageHeader title={t("fees.title")}>
        <p className="page-subtitle">{t("feeSetup.subtitle")}</p>
      </PageHeader>
      <nav className="subnav" aria-label={t("feeSetup.sections")}>
        {TABS.map((name) => (
          <a
            key={name}
            href={`?tab=${name}`}
            aria-current={tab === name ? "page" : undefined}
            className={tab === name ? "active" : undefined}
            onClick={(event) => {
              event.preventDefault();
              setParams({ tab: name }, { replace: true });
            }}
          >
            {t(LABELS[name])}
          </a>
        ))}
      </nav>
      {tab === "structures" && <StructuresSection />}
      {tab === "heads" && <HeadsSection />}
      {tab === "instalments" && <InstalmentsSection />}
      {tab === "concessions" && <ConcessionsSection />}
      {tab === "late" && <LateFeeSection />}
    </>
  );
}
