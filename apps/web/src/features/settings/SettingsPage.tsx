import { NavLink, Outlet } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";

/** Settings and its sections; each section is a child route. */
export default function SettingsPage() {
  const t = useT();
  const me = useCurrentUser();
  return (
    <>
      <PageHeader title={t("settings.title")} />
      <nav className="subnav" aria-label={t("settings.sections")}>
        <NavLink to="/settings/school">{t("settings.schoolProfile")}</NavLink>
        <NavLink to="/settings/attendance">{t("settings.attendanceCodes")}</NavLink>
        <NavLink to="/settings/calendar">{t("settings.calendar")}</NavLink>
        <NavLink to="/settings/years">{t("settings.years")}</NavLink>
        {me.permissions.includes("users:manage") && <NavLink to="/settings/users">{t("settings.users")}</NavLink>}
      </nav>
      <Outlet />
    </>
  );
}
