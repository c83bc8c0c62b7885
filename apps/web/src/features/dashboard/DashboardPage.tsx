import { Link } from "react-router";

import { staffNavigation } from "../../app/navigation";
import { TodayAttendance } from "./TodayAttendance";
import { Icon } from "../../components/icons";
import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";
import { sectionLabel } from "../attendance/sectionLabel";
import { useCurrentUser } from "../identity/currentUser";
import { hasAny } from "../identity/permissions";
import { FeeCollectionCard } from "../payments/FeeCollectionCard";

export default function DashboardPage() {
  const me = useCurrentUser();
  const t = useT();
  const shortcuts = staffNavigation(me.permissions).filter((area) => area.path !== "/");
  const teaches = me.sections.length > 0 || me.permissions.includes("attendance:mark");

  return (
    <>
      <PageHeader title={t("dashboard.title")}>
        <p className="page-subtitle">
          {t("dashboard.greeting", { name: me.user.name })} · {me.school.name}
        </p>
      </PageHeader>
      <div className="card-grid">
        {teaches && (
          <section className="card" aria-labelledby="dash-sections">
            <h2 id="dash-sections">{t("dashboard.sectionsTitle")}</h2>
            {me.sections.length > 0 ? (
              <ul className="pill-list">
                {me.sections.map((section) => (
                  <li key={section.id}>
                    <Link to="/attendance">{sectionLabel(section, t)}</Link>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted">{t("dashboard.noSections")}</p>
            )}
          </section>
        )}
        {hasAny(me.permissions, ["attendance:read"]) && <TodayAttendance />}
        {/* Fee collection: this month's collected against due, defaulters, recent payments. */}
        {hasAny(me.permissions, ["reports:read", "fees:read"]) && <FeeCollectionCard />}
      </div>
      {shortcuts.length > 0 && (
        <section className="shortcuts" aria-labelledby="dash-shortcuts">
          <h2 id="dash-shortcuts">{t("dashboard.shortcuts")}</h2>
          <ul>
            {shortcuts.map((area) => (
              <li key={area.path}>
                <Link to={area.path} className="shortcut">
                  <Icon name={area.icon} />
                  <span>{t(area.labelKey)}</span>
                </Link>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
