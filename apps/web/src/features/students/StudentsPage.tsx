import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";

export default function StudentsPage() {
  const t = useT();
  return (
    <>
      <PageHeader title={t("students.title")} />
      <EmptyState title={t("students.emptyTitle")}>{t("students.emptyBody")}</EmptyState>
    </>
  );
}
