import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";

export default function ChatPage() {
  const t = useT();
  return (
    <>
      <PageHeader title={t("chat.title")} />
      <EmptyState title={t("chat.emptyTitle")}>{t("chat.emptyBody")}</EmptyState>
    </>
  );
}
