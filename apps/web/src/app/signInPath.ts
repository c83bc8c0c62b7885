import type { SessionEndReason } from "../session";

/**
 * Where to send someone whose session is missing or over, and what to tell them:
 * after expiry they come back to the page they were on; after signing out, to "/".
 * Everything that redirects to sign-in uses this, so competing redirects agree.
 */
export function signInPath(here: string, reason: SessionEndReason | null): { to: string; state?: { reason: SessionEndReason } } {
  const keepPlace = reason !== "signed_out" && here !== "/" && !here.startsWith("/login");
  return {
    to: keepPlace ? `/login?next=${encodeURIComponent(here)}` : "/login",
    state: reason ? { reason } : undefined,
  };
}
