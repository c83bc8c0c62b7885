import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { useT } from "../../i18n";
import { sectionsQuery } from "../academics/api";
import { useCurrentUser } from "../identity/currentUser";
import { sectionLabel } from "./sectionLabel";

/** Where attendance starts: the sections to mark (a teacher's own, or every section for office staff). */
export default function AttendancePage() {
  const me = useCurrentUser();
  const t = useT();
  const teaches = me.permissions.includes("attendance:mark");
  // A teacher's sections come with the account; school-wide staff pick from every section.
  const wholeSchool = me.sections.length === 0 && me.roles.some((role) => role !== "teacher");
  const sections = useQuery({ ...sectionsQuery, enabled: wholeSchool });

  return (
    <>
      <PageHeader title={t("attendance.title")} />
      <nav className="subnav" aria-label={t("attendance.more")}>
        <Link to="/attendance/reports">{t("attendance.reports")}</Link>
        {me.permissions.includes("leave:approve") && <Link to="/attendance/leave">{t("attendance.leaveRequests")}</Link>}
      </nav>
      {me.sections.length > 0 ? (
        <section className="card" aria-labelledby="attendance-sections">
          <h2 id="attendance-sections">{t("attendance.yourSections")}</h2>
          <p className="hint">{t("attendance.pickSection")}</p>
          <ul className="pill-list">
            {me.sections.map((section) => (
              <li key={section.id}>
                <Link to={`/attendance/${section.id}`}>{sectionLabel(section, t)}</Link>
              </li>
            ))}
          </ul>
        </section>
      ) : wholeSchool && sections.isPending ? (
        <Loading />
      ) : wholeSchool && sections.isError ? (
        <ErrorPanel error={sections.error} onRetry={() => void sections.refetch()} />
      ) : wholeSchool && sections.data && sections.data.length > 0 ? (
        <section className="card" aria-labelledby="attendance-sections">
          <h2 id="attendance-sections">{t("attendance.allSections")}</h2>
          <p className="hint">{t("attendance.pickSection")}</p>
          <ul className="pill-list">
            {sections.data.map((section) => (
              <li key={section.id}>
                <Link to={`/attendance/${section.id}`}>{section.label}</Link>
              </li>
            ))}
          </ul>
        </section>
      ) : (
        <EmptyState title={t("attendance.emptyTitle")}>
          {teaches ? t("attendance.emptyTeacher") : t("attendance.emptyStaff")}
        </EmptyState>
      )}
    </>
  );
}
