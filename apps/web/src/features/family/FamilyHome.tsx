import { Navigate } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { rememberedChild } from "./selectedChild";

/** Open on the child looked at last time, else the first. */
export default function FamilyHome() {
  const me = useCurrentUser();
  const t = useT();
  if (me.children.length === 0) {
    return (
      <>
        <PageHeader title={t("family.title")} />
        <EmptyState title={t("family.noChildrenTitle")}>{t("family.noChildrenBody")}</EmptyState>
      </>
    );
  }
  const remembered = rememberedChild();
  const child = me.children.find((c) => c.id === remembered) ?? me.children[0];
  return <Navigate to={`/children/${child.id}`} replace />;
}
