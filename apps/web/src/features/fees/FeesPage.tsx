import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";

export default function FeesPage() {
  const t = useT();
  return (
    <>
      <PageHeader title={t("fees.title")} />
      <EmptyState title={t("fees.emptyTitle")}>{t("fees.emptyBody")}</EmptyState>
    </>
  );
}
