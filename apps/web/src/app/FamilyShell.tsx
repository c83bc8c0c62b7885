import { Suspense } from "react";
import { NavLink, Outlet } from "react-router";

import { Icon } from "../components/icons";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { Loading } from "../components/Status";
import type { Child } from "../features/identity/api";
import { useCurrentUser } from "../features/identity/currentUser";
import { useT, type Translate } from "../i18n";
import { SignOutButton } from "./SignOutButton";

export function childClassLine(child: Child, t: Translate): string | null {
  if (child.class_name && child.section_name) {
    return t("family.classSection", { class: child.class_name, section: child.section_name });
  }
  if (child.class_name) return t("family.class", { class: child.class_name });
  return null;
}

/** The parent portal: one login, every child of the family one tap apart. */
export function FamilyShell() {
  const me = useCurrentUser();
  const t = useT();
  return (
    <div className="shell family-shell">
      <a className="skip-link" href="#main">
        {t("common.skipToContent")}
      </a>
      <header className="topbar">
        <div className="topbar-school">
          <span className="brand-mark" aria-hidden="true">
            E
          </span>
          <span className="school-name">{me.school.name}</span>
        </div>
        <div className="topbar-actions">
          {me.permissions.includes("chat:use") && (
            <NavLink to="/chat" className="button ghost family-chat-link">
              <Icon name="chat" />
              <span>{t("nav.chat")}</span>
            </NavLink>
          )}
          <LanguageSwitch />
          <SignOutButton />
        </div>
      </header>
      {me.children.length > 0 && (
        <nav className="child-switcher" aria-label={t("family.switcher")}>
          <ul>
            {me.children.map((child) => (
              <li key={child.id}>
                <NavLink to={`/children/${child.id}`}>
                  <span className="child-name">{child.name}</span>
                  <span className="child-class">{childClassLine(child, t)}</span>
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main id="main" className="content family-content" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
