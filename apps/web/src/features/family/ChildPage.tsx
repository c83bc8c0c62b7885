import { useEffect } from "react";
import { useParams } from "react-router";

import { childClassLine } from "../../app/FamilyShell";
import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { rememberChild } from "./selectedChild";

export default function ChildPage() {
  const { childId } = useParams();
  const me = useCurrentUser();
  const t = useT();
  const child = me.children.find((c) => c.id === childId);

  useEffect(() => {
    if (child) rememberChild(child.id);
  }, [child]);

  if (!child) {
    return (
      <>
        <PageHeader title={t("family.title")} />
        <p>{t("family.childNotFound")}</p>
      </>
    );
  }
  const classLine = childClassLine(child, t);
  return (
    <>
      <PageHeader title={child.name}>{classLine && <p className="page-subtitle">{classLine}</p>}</PageHeader>
      <div className="card-grid">
        <EmptyState title={t("family.attendanceTitle")}>{t("family.attendanceEmpty", { name: child.name })}</EmptyState>
        <EmptyState title={t("family.feesTitle")}>{t("family.feesEmpty", { name: child.name })}</EmptyState>
      </div>
    </>
  );
}
