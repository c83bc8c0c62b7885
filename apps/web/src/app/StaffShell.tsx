import { Suspense, useEffect, useRef, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router";

import { Icon } from "../components/icons";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { Loading } from "../components/Status";
import { useCurrentUser } from "../features/identity/currentUser";
import { useT } from "../i18n";
import { staffNavigation } from "./navigation";
import { SignOutButton } from "./SignOutButton";

/** Header, navigation built from permissions, and the page. On a phone the navigation folds behind a menu button. */
export function StaffShell() {
  const me = useCurrentUser();
  const t = useT();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  const items = staffNavigation(me.permissions);

  useEffect(() => setMenuOpen(false), [location.pathname]);

  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        setMenuOpen(false);
        menuButton.current?.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [menuOpen]);

  return (
    <div className="shell staff-shell" data-menu-open={menuOpen || undefined}>
      <a className="skip-link" href="#main">
        {t("common.skipToContent")}
      </a>
      <header className="topbar">
        <button
          ref={menuButton}
          type="button"
          className="button ghost menu-button"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          <Icon name={menuOpen ? "close" : "menu"} />
          <span className="visually-hidden">{menuOpen ? t("shell.closeMenu") : t("shell.menu")}</span>
        </button>
        <div className="topbar-school">
          <span className="brand-mark" aria-hidden="true">
            E
          </span>
          <span className="school-name">{me.school.name}</span>
        </div>
        <div className="topbar-actions">
          <div className="wide-only">
            <LanguageSwitch />
          </div>
          <span className="user-name wide-only" title={t("shell.signedInAs", { name: me.user.name })}>
            {me.user.name}
          </span>
          <SignOutButton />
        </div>
      </header>
      <nav id="main-nav" className="sidenav" aria-label={t("shell.mainNav")}>
        <p className="sidenav-user narrow-only">{t("shell.signedInAs", { name: me.user.name })}</p>
        <ul>
          {items.map((item) => (
            <li key={item.path}>
              <NavLink to={item.path} end={item.path === "/"}>
                <Icon name={item.icon} />
                <span>{t(item.labelKey)}</span>
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="narrow-only sidenav-language">
          <LanguageSwitch />
        </div>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
