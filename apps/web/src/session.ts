/**
 * The signed-in session's tokens, and who wants to know when they change.
 *
 * Where the tokens live, and why:
 * - The access token (15 minutes) is kept in memory only. Every request carries
 *   it; nothing that reads storage later (another script on the page, a shared
 *   computer in the school office) can pick it up once the tab is closed.
 * - The refresh token is kept in localStorage, so a parent who opens a WhatsApp
 *   link tomorrow is still signed in instead of waiting for another code. The
 *   cost: any script that runs on this origin (an XSS bug) could read it. An
 *   httpOnly cookie would hide it from scripts, but the API speaks bearer tokens
 *   in JSON and may live on another origin (VITE_API_BASE). What limits the
 *   damage: the API rotates the refresh token on every use and revokes the whole
 *   chain when an old one comes back (`refresh_reused`), logout revokes it on the
 *   server, and the app never renders HTML it received from the API.
 * - The refresh token is read from storage at each refresh (never cached here),
 *   so several tabs share one rotating token instead of racing with stale copies.
 */

import { devAccessToken } from "./config";

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: "bearer";
  /** Seconds until the access token expires. */
  expires_in: number;
}

export const REFRESH_TOKEN_KEY = "erplake.refresh_token";

let accessToken: string | null = null;
/** Once a session ends, the dev shortcut token is not used again on this page load. */
let devTokenEnabled = true;
let accessExpiresAt = 0;
let version = 0;
/** Why the last session ended, so the sign-in page can say so. */
export type SessionEndReason = "expired" | "signed_out";
let endReason: SessionEndReason | null = null;
const listeners = new Set<() => void>();

function notify(): void {
  version += 1;
  for (const listener of listeners) listener();
}

function readStorage(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage disabled (private mode on some phones): memory only
  }
}

function writeStorage(key: string, value: string | null): void {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    /* storage disabled: the session lasts as long as the tab */
  }
}

/** The token to send: the session's, or in development the shortcut token. */
export function getAccessToken(): string | null {
  return accessToken ?? (devTokenEnabled ? devAccessToken() : null);
}

/** Epoch milliseconds when the session's access token expires (0 when unknown). */
export function getAccessExpiresAt(): number {
  return accessToken ? accessExpiresAt : 0;
}

export function getRefreshToken(): string | null {
  return readStorage(REFRESH_TOKEN_KEY);
}

/** Someone is (or may still be) signed in: a refresh can tell for sure. */
export function hasSession(): boolean {
  return Boolean(getAccessToken() || getRefreshToken());
}

export function saveTokens(pair: TokenPair, now: number = Date.now()): void {
  devTokenEnabled = false;
  endReason = null;
  accessToken = pair.access_token;
  accessExpiresAt = now + pair.expires_in * 1000;
  writeStorage(REFRESH_TOKEN_KEY, pair.refresh_token);
  notify();
}

export function clearSession(reason: SessionEndReason = "expired"): void {
  const hadSomething = getAccessToken() !== null || getRefreshToken() !== null;
  if (hadSomething) endReason = reason;
  accessToken = null;
  devTokenEnabled = false;
  accessExpiresAt = 0;
  writeStorage(REFRESH_TOKEN_KEY, null);
  if (hadSomething) notify();
}

export function sessionEndReason(): SessionEndReason | null {
  return endReason;
}

/** The sign-in page has shown why: later redirects are plain ones again. */
export function acknowledgeSessionEnd(): void {
  endReason = null;
}

/** For useSyncExternalStore: changes whenever the session does. */
export function sessionVersion(): number {
  return version;
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Signing out in one tab signs out the others: their access token would keep
// working for up to 15 minutes otherwise, on a computer someone just left.
if (typeof window !== "undefined") {
  window.addEventListener("storage", (event) => {
    const removed = event.key === null || (event.key === REFRESH_TOKEN_KEY && event.newValue === null);
    if (removed && accessToken) {
      endReason = "signed_out";
      accessToken = null;
      accessExpiresAt = 0;
      notify();
    }
  });
}
