import { useEffect } from "react";
import { Link, useParams } from "react-router";

import { childClassLine } from "../../app/FamilyShell";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { AttendanceCalendar } from "./AttendanceCalendar";
import { InvoicesSection } from "./InvoicesSection";
import { LeaveSection } from "./LeaveSection";
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
        <AttendanceCalendar key={child.id} childId={child.id} childName={child.name} />
        <LeaveSection key={`leave-${child.id}`} childId={child.id} childName={child.name} />
        {me.permissions.includes("chat:use") && (
          <section className="card" aria-labelledby="child-chat">
            <h2 id="child-chat">{t("family.chatTitle")}</h2>
            <p>{t("family.chatBody", { name: child.name })}</p>
            <Link className="button primary" to="/chat">
              {t("family.openChat")}
            </Link>
          </section>
        )}
        {/* Invoices with a Pay button, and receipts. */}
        {me.permissions.includes("invoices:read") && <InvoicesSection key={`fees-${child.id}`} childId={child.id} childName={child.name} />}
      </div>
    </>
  );
}
