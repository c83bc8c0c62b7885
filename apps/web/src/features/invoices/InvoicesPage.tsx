import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";

export default function InvoicesPage() {
  const t = useT();
  return (
    <>
      <PageHeader title={t("invoices.title")} />
      <EmptyState title={t("invoices.emptyTitle")}>{t("invoices.emptyBody")}</EmptyState>
    </>
  );
}
