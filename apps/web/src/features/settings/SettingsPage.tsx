import { NavLink, Outlet } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";

/** Settings and its sections; each section is a child route. */
export default function SettingsPage() {
  const t = useT();
  return (
    <>
      <PageHeader title={t("settings.title")} />
      <nav className="subnav" aria-label={t("settings.sections")}>
        <NavLink to="/settings/school">{t("settings.schoolProfile")}</NavLink>
      </nav>
      <Outlet />
    </>
  );
}
