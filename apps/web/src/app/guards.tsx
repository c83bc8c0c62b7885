import type { ReactNode } from "react";
import { Link } from "react-router";

import { PageHeader } from "../components/PageHeader";
import { hasAny, isFamilyAccount } from "../features/identity/permissions";
import { useCurrentUser } from "../features/identity/currentUser";
import { useT } from "../i18n";
import { staffArea, type StaffPath } from "./navigation";

export function AccessDenied() {
  const t = useT();
  return (
    <>
      <PageHeader title={t("access.deniedTitle")} />
      <p>{t("access.deniedBody")}</p>
      <p>
        <Link to="/">{t("common.backHome")}</Link>
      </p>
    </>
  );
}

export function NotFoundPage() {
  const t = useT();
  return (
    <>
      <PageHeader title={t("notFound.title")} />
      <p>{t("notFound.body")}</p>
      <p>
        <Link to="/">{t("common.backHome")}</Link>
      </p>
    </>
  );
}

/** A staff area, open to the permissions its navigation entry names. */
export function StaffOnly({ area, children }: { area: StaffPath; children: ReactNode }) {
  const me = useCurrentUser();
  if (isFamilyAccount(me.roles)) return <NotFoundPage />;
  if (!hasAny(me.permissions, staffArea(area).anyOf)) return <AccessDenied />;
  return <>{children}</>;
}

export function FamilyOnly({ children }: { children: ReactNode }) {
  const me = useCurrentUser();
  return isFamilyAccount(me.roles) ? <>{children}</> : <NotFoundPage />;
}

/** Chat: staff with chat:use in the console, and a family in the portal (their children's teachers). */
export function ChatOnly({ children }: { children: ReactNode }) {
  const me = useCurrentUser();
  if (isFamilyAccount(me.roles)) return me.permissions.includes("chat:use") ? <>{children}</> : <NotFoundPage />;
  return <StaffOnly area="/chat">{children}</StaffOnly>;
}
