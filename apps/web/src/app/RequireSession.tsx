import { useQuery } from "@tanstack/react-query";
import { useSyncExternalStore, type ReactNode } from "react";
import { Navigate, useLocation } from "react-router";

import { isApiError } from "../api";
import { ErrorPanel, Loading } from "../components/Status";
import { meQuery } from "../features/identity/api";
import { CurrentUserProvider } from "../features/identity/currentUser";
import { useT } from "../i18n";
import { hasSession, sessionEndReason, sessionVersion, subscribeSession } from "../session";
import { signInPath } from "./signInPath";

/** The signed-in part of the app: no session → /login; then load who the user is. */
export function RequireSession({ children }: { children: ReactNode }) {
  useSyncExternalStore(subscribeSession, sessionVersion);
  const t = useT();
  const location = useLocation();
  const signedIn = hasSession();
  const me = useQuery({ ...meQuery, enabled: signedIn });

  if (!signedIn) {
    const { to, state } = signInPath(location.pathname + location.search, sessionEndReason());
    return <Navigate to={to} state={state} replace />;
  }
  if (me.isPending || (me.isError && isApiError(me.error) && me.error.status === 401)) {
    // (a 401 here has already ended the session; the redirect is on its way)
    return (
      <div className="full-page">
        <Loading label={t("shell.loadingAccount")} />
      </div>
    );
  }
  if (me.isError) {
    return (
      <div className="full-page">
        <h1 className="visually-hidden">{t("shell.accountError")}</h1>
        <ErrorPanel error={me.error} onRetry={() => void me.refetch()} />
      </div>
    );
  }
  return <CurrentUserProvider me={me.data}>{children}</CurrentUserProvider>;
}
