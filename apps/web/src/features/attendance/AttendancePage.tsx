import { EmptyState } from "../../components/EmptyState";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { sectionLabel } from "./sectionLabel";

export default function AttendancePage() {
  const me = useCurrentUser();
  const t = useT();
  const teaches = me.permissions.includes("attendance:mark");
  return (
    <>
      <PageHeader title={t("attendance.title")} />
      {me.sections.length > 0 ? (
        <section className="card" aria-labelledby="attendance-sections">
          <h2 id="attendance-sections">{t("attendance.yourSections")}</h2>
          <ul className="pill-list">
            {me.sections.map((section) => (
              <li key={section.id}>
                <span className="pill">{sectionLabel(section, t)}</span>
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
