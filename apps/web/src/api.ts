/**
 * The one API client. Every request to the backend goes through `api()`:
 * - URLs are `apiBase()` + a path (`/api/...`, `/billing/...`): no origin is hard-coded;
 * - bodies are JSON; the bearer token is attached;
 * - failures become an `ApiError` read from the backend's one error shape
 *   `{"error": {"code", "message", "details"}}` plus the Retry-After header;
 * - a 401 for an expired or revoked access token triggers ONE refresh, shared by
 *   every request that hit it at the same time, then the request is retried once;
 *   when the session cannot be refreshed it is cleared and the app goes to /login;
 * - the access token is refreshed shortly before it expires, so a teacher
 *   marking attendance does not meet a 401 at all in the normal case.
 */

import { apiBase } from "./config";
import {
  clearSession,
  getAccessExpiresAt,
  type SessionEndReason,
  getAccessToken,
  getRefreshToken,
  saveTokens,
  type TokenPair,
} from "./session";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Seconds to wait before trying again (Retry-After, else details.retry_after). */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    code: string,
    message: string,
    details: unknown = null,
    retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Turn a failed response into an ApiError, whatever its body looks like. */
export async function toApiError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null; // an HTML error page from a proxy, or no body
  }
  let code = `http_${response.status}`;
  let message = response.statusText || `Request failed (${response.status})`;
  let details: unknown = null;
  if (isRecord(body) && isRecord(body.error)) {
    const error = body.error;
    if (typeof error.code === "string" && error.code) code = error.code;
    if (typeof error.message === "string" && error.message) message = error.message;
    details = error.details ?? null;
  } else if (isRecord(body) && "detail" in body) {
    // A framework default we did not wrap: {"detail": "..."} or a validation list.
    details = body.detail;
    if (typeof body.detail === "string") message = body.detail;
    if (response.status === 422) code = "validation_error";
  }
  let retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  if (retryAfter === null && isRecord(details) && typeof details.retry_after === "number") {
    retryAfter = Math.ceil(details.retry_after);
  }
  return new ApiError(response.status, code, message, details, retryAfter);
}

// ---- session lifecycle --------------------------------------------------------

/** 401 codes that a fresh access token can fix. */
const REFRESHABLE_CODES = new Set(["token_revoked", "invalid_token"]);
/** Refresh this long before the access token expires (or a fifth of its life if shorter). */
const REFRESH_LEAD_SECONDS = 60;
/** After a failed proactive refresh (offline, server restarting), try again after this. */
const REFRESH_RETRY_MS = 30_000;

type SessionEndedHandler = () => void;
let sessionEndedHandler: SessionEndedHandler = () => {
  if (window.location.pathname !== "/login") window.location.assign("/login");
};
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let refreshInFlight: Promise<boolean> | null = null;

/** The app registers how to go to the sign-in page (its router, its cache). */
export function onSessionEnded(handler: SessionEndedHandler): void {
  sessionEndedHandler = handler;
}

function cancelScheduledRefresh(): void {
  if (refreshTimer !== null) clearTimeout(refreshTimer);
  refreshTimer = null;
}

function scheduleRefresh(delayMs: number): void {
  cancelScheduledRefresh();
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refreshSession().catch(() => scheduleRefresh(REFRESH_RETRY_MS));
  }, Math.max(1_000, delayMs));
}

/** Seconds before expiry at which we refresh. */
export function refreshLeadSeconds(expiresIn: number): number {
  return Math.min(REFRESH_LEAD_SECONDS, expiresIn / 5);
}

/** Keep a new token pair and plan the next refresh. */
export function startSession(pair: TokenPair): void {
  saveTokens(pair);
  scheduleRefresh((pair.expires_in - refreshLeadSeconds(pair.expires_in)) * 1000);
}

/** Forget the session here and send the user to sign in. */
export function endSession(): void {
  cancelScheduledRefresh();
  clearSession("expired");
  sessionEndedHandler();
}

/** Forget the session without calling the session-ended handler (sign-out). */
export function forgetSession(reason: SessionEndReason = "signed_out"): void {
  cancelScheduledRefresh();
  clearSession(reason);
}

/** Run `work` while holding a lock shared by every tab of this app, where supported. */
async function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (!locks) return work();
  return locks.request("erplake.refresh", work) as Promise<T>;
}

async function performRefresh(): Promise<boolean> {
  return withRefreshLock(async () => {
    // Read now, not before the lock: another tab may have rotated it meanwhile.
    const refreshToken = getRefreshToken();
    if (!refreshToken) {
      endSession();
      return false;
    }
    let response: Response;
    try {
      response = await fetch(`${apiBase()}/api/auth/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
    } catch {
      // Offline or the server is restarting: keep the session and let the caller
      // show "cannot reach the server"; signing the user out would lose their work.
      throw networkError();
    }
    if (response.ok) {
      startSession((await response.json()) as TokenPair);
      return true;
    }
    const error = await toApiError(response);
    if (response.status >= 500 || response.status === 429) throw error; // transient
    endSession(); // refresh_invalid, refresh_reused, ...: this session is over
    return false;
  });
}

/**
 * Get a new access token. Concurrent callers share one refresh call.
 * Resolves true when the session was renewed, false when it has ended (the
 * user is already on the way to /login); rejects on a transient failure.
 */
export function refreshSession(): Promise<boolean> {
  if (!refreshInFlight) {
    refreshInFlight = performRefresh().finally(() => {
      refreshInFlight = null;
    });
  }
  return refreshInFlight;
}

// ---- requests -----------------------------------------------------------------

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Sent as JSON, or as multipart when it is FormData (file uploads). */
  body?: unknown;
  /** "blob" reads the answer as a file (exports); otherwise JSON or text by its type. */
  read?: "auto" | "blob";
  /** "none" sends no token and never refreshes (sign-in calls). */
  auth?: "required" | "none";
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function sessionEnded(): ApiError {
  return new ApiError(401, "session_ended", "The session has ended; please sign in again.");
}

function networkError(): ApiError {
  return new ApiError(0, "network_error", "The server could not be reached.");
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
  const multipart = typeof FormData !== "undefined" && options.body instanceof FormData;
  // The browser sets a multipart Content-Type itself, with the boundary.
  if (options.body !== undefined && !multipart) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (multipart) body = options.body as FormData;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  try {
    return await fetch(`${apiBase()}${path}`, {
      method: options.method ?? "GET",
      headers,
      body,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw networkError();
  }
}

async function readBody<T>(response: Response, read: RequestOptions["read"] = "auto"): Promise<T> {
  if (response.status === 204 || response.status === 205) return undefined as T;
  if (read === "blob") return (await response.blob()) as T;
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("json")) return (await response.json()) as T;
  return (await response.text()) as T;
}

/** The access token about to be sent has (nearly) run out: renew it first. */
function needsRefreshBeforeSending(): boolean {
  if (!getRefreshToken()) return false;
  if (!getAccessToken()) return true; // a reload: only the refresh token survived
  const expiresAt = getAccessExpiresAt();
  return expiresAt > 0 && Date.now() > expiresAt - 10_000;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  if (options.auth === "none") {
    const response = await send(path, options, null);
    if (!response.ok) throw await toApiError(response);
    return readBody<T>(response, options.read);
  }

  if (needsRefreshBeforeSending() && !(await refreshSession())) throw sessionEnded();
  const token = getAccessToken();
  let response = await send(path, options, token);

  if (response.status === 401) {
    const error = await toApiError(response);
    if (!REFRESHABLE_CODES.has(error.code) || !getRefreshToken()) {
      endSession();
      throw error;
    }
    // Another request may have renewed the token while this one was in flight.
    const renewed = getAccessToken() !== token || (await refreshSession());
    if (!renewed) throw error;
    response = await send(path, options, getAccessToken());
    if (response.status === 401) {
      endSession(); // a brand-new token refused: do not loop
      throw await toApiError(response);
    }
  }

  if (!response.ok) throw await toApiError(response);
  return readBody<T>(response, options.read);
}
