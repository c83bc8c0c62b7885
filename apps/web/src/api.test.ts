import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { ApiError } from "./api";
import { apiError, json, noContent, TOKENS } from "./test/http";

// The client keeps the session in module state: each test gets fresh modules.
/** The rejection of `promise`, typed: these tests are about how requests fail. */
async function failure(promise: Promise<unknown>): Promise<ApiError> {
  return promise.then(
    () => {
      throw new Error("expected the request to fail");
    },
    (error: ApiError) => error,
  );
}

async function load() {
  vi.resetModules();
  const client = await import("./api");
  const session = await import("./session");
  return { ...client, ...session };
}

function fetchMock(handler: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const mock = vi.fn((input: RequestInfo | URL, init: RequestInit = {}) => Promise.resolve(handler(String(input), init)));
  vi.stubGlobal("fetch", mock);
  return mock;
}

function bearer(init: RequestInit): string | undefined {
  return (init.headers as Record<string, string> | undefined)?.Authorization;
}

beforeEach(() => {
  vi.useRealTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("error parsing", () => {
  it("reads the backend's error shape into an ApiError", async () => {
    const { api, ApiError } = await load();
    fetchMock(() => apiError(400, "otp_invalid", "wrong code", { attempts_left: 3 }));
    const error = await failure(api("/api/auth/otp/verify", { method: "POST", body: {}, auth: "none" }));
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: "otp_invalid", message: "wrong code", details: { attempts_left: 3 }, retryAfter: null });
  });

  it("takes retryAfter from the Retry-After header", async () => {
    const { api } = await load();
    fetchMock(() => apiError(429, "otp_cooldown", "wait", { retry_after: 99 }, { "Retry-After": "27" }));
    const error = await failure(api("/api/auth/otp/start", { method: "POST", body: {}, auth: "none" }));
    expect(error.code).toBe("otp_cooldown");
    expect(error.retryAfter).toBe(27);
  });

  it("falls back to details.retry_after when the header is missing", async () => {
    const { api } = await load();
    fetchMock(() => apiError(429, "rate_limited", "slow down", { retry_after: 12.2 }));
    const error = await failure(api("/x", { auth: "none" }));
    expect(error.retryAfter).toBe(13);
  });

  it("understands an HTTP-date Retry-After", async () => {
    const { parseRetryAfter } = await load();
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:40 GMT", now)).toBe(40);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it("copes with bodies that are not the error shape", async () => {
    const { api } = await load();
    fetchMock(() => new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    const gateway = await failure(api("/x", { auth: "none" }));
    expect(gateway).toMatchObject({ status: 502, code: "http_502" });

    fetchMock(() => json(422, { detail: [{ loc: ["body", "phone"], msg: "too short" }] }));
    const validation = await failure(api("/x", { auth: "none" }));
    expect(validation).toMatchObject({ status: 422, code: "validation_error" });
    expect(validation.details).toEqual([{ loc: ["body", "phone"], msg: "too short" }]);
  });

  it("turns a failed connection into a network_error", async () => {
    const { api } = await load();
    vi.stubGlobal("fetch", vi.fn(() => Promise.reject(new TypeError("Failed to fetch"))));
    const error = await failure(api("/x", { auth: "none" }));
    expect(error).toMatchObject({ status: 0, code: "network_error" });
  });

  it("returns nothing for 204 and JSON for 200", async () => {
    const { api } = await load();
    fetchMock((url) => (url.endsWith("/logout") ? noContent() : json(200, { ok: true })));
    await expect(api("/api/auth/logout", { method: "POST", auth: "none" })).resolves.toBeUndefined();
    await expect(api("/healthz", { auth: "none" })).resolves.toEqual({ ok: true });
  });
});

describe("bearer token and API base", () => {
  it("sends the access token and builds URLs from VITE_API_BASE", async () => {
    vi.stubEnv("VITE_API_BASE", "https://school.example/");
    const { api, startSession } = await load();
    startSession(TOKENS);
    const mock = fetchMock(() => json(200, {}));
    await api("/api/school");
    expect(mock.mock.calls[0][0]).toBe("https://school.example/api/school");
    expect(bearer(mock.mock.calls[0][1]!)).toBe("Bearer access-1");
  });

  it("uses the same origin when VITE_API_BASE is empty", async () => {
    vi.stubEnv("VITE_API_BASE", "");
    const { api } = await load();
    const mock = fetchMock(() => json(200, {}));
    await api("/healthz", { auth: "none" });
    expect(mock.mock.calls[0][0]).toBe("/healthz");
  });
});

describe("refresh on 401", () => {
  it("refreshes once and retries when the access token was revoked", async () => {
    const { api, startSession, getRefreshToken } = await load();
    startSession(TOKENS);
    const mock = fetchMock((url, init) => {
      if (url.endsWith("/api/auth/refresh")) {
        expect(JSON.parse(String(init.body))).toEqual({ refresh_token: "refresh-1" });
        return json(200, { ...TOKENS, access_token: "access-2", refresh_token: "refresh-2" });
      }
      return bearer(init) === "Bearer access-2" ? json(200, { name: "Green Valley" }) : apiError(401, "token_revoked");
    });
    await expect(api("/api/school")).resolves.toEqual({ name: "Green Valley" });
    expect(mock.mock.calls.map((c) => c[0])).toEqual(["/api/school", "/api/auth/refresh", "/api/school"]);
    expect(getRefreshToken()).toBe("refresh-2");
  });

  it("shares one refresh between requests that fail at the same time", async () => {
    const { api, startSession } = await load();
    startSession(TOKENS);
    let refreshes = 0;
    let releaseRefresh!: () => void;
    const refreshGate = new Promise<void>((resolve) => (releaseRefresh = resolve));
    fetchMock(async (url, init) => {
      if (url.endsWith("/api/auth/refresh")) {
        refreshes += 1;
        await refreshGate;
        return json(200, { ...TOKENS, access_token: "access-2", refresh_token: "refresh-2" });
      }
      return bearer(init) === "Bearer access-2" ? json(200, { url }) : apiError(401, "invalid_token");
    });
    const all = Promise.all([api("/api/a"), api("/api/b"), api("/api/c")]);
    await vi.waitFor(() => expect(refreshes).toBe(1));
    releaseRefresh();
    await expect(all).resolves.toEqual([{ url: "/api/a" }, { url: "/api/b" }, { url: "/api/c" }]);
    expect(refreshes).toBe(1);
  });

  it("ends the session and goes to sign-in when the refresh token is refused", async () => {
    const { api, startSession, onSessionEnded, getRefreshToken, getAccessToken } = await load();
    startSession(TOKENS);
    const ended = vi.fn();
    onSessionEnded(ended);
    const mock = fetchMock((url) =>
      url.endsWith("/api/auth/refresh") ? apiError(401, "refresh_reused") : apiError(401, "token_revoked"),
    );
    const error = await failure(api("/api/school"));
    expect(error).toMatchObject({ status: 401, code: "token_revoked" });
    expect(ended).toHaveBeenCalledTimes(1);
    expect(getRefreshToken()).toBeNull();
    expect(getAccessToken()).toBeNull();
    expect(mock).toHaveBeenCalledTimes(2); // no second retry
  });

  it("does not refresh for a 401 that a new token cannot fix", async () => {
    const { api, startSession, onSessionEnded } = await load();
    startSession(TOKENS);
    const ended = vi.fn();
    onSessionEnded(ended);
    const mock = fetchMock(() => apiError(401, "unauthorized"));
    await expect(api("/api/school")).rejects.toMatchObject({ code: "unauthorized" });
    expect(mock).toHaveBeenCalledTimes(1);
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it("keeps the session when the refresh fails for a network reason", async () => {
    const { api, startSession, onSessionEnded, getRefreshToken } = await load();
    startSession(TOKENS);
    const ended = vi.fn();
    onSessionEnded(ended);
    vi.stubGlobal(
      "fetch",
      vi.fn((input: RequestInfo | URL) =>
        String(input).endsWith("/refresh") ? Promise.reject(new TypeError("offline")) : Promise.resolve(apiError(401, "invalid_token")),
      ),
    );
    await expect(api("/api/school")).rejects.toMatchObject({ code: "network_error" });
    expect(ended).not.toHaveBeenCalled();
    expect(getRefreshToken()).toBe("refresh-1");
  });

  it("after a reload, renews the access token from the stored refresh token before the first call", async () => {
    window.localStorage.setItem("erplake.refresh_token", "stored-refresh");
    const { api } = await load();
    const mock = fetchMock((url, init) =>
      url.endsWith("/api/auth/refresh")
        ? json(200, { ...TOKENS, access_token: "access-9", refresh_token: "refresh-9" })
        : json(200, { auth: bearer(init) }),
    );
    await expect(api("/api/auth/me")).resolves.toEqual({ auth: "Bearer access-9" });
    expect(mock.mock.calls.map((c) => c[0])).toEqual(["/api/auth/refresh", "/api/auth/me"]);
  });
});

describe("proactive refresh", () => {
  it("renews the access token shortly before expires_in elapses", async () => {
    vi.useFakeTimers();
    const { startSession, getAccessToken } = await load();
    const mock = fetchMock(() => json(200, { ...TOKENS, access_token: "access-2", refresh_token: "refresh-2" }));
    startSession(TOKENS); // expires in 900 s → refresh at 840 s
    await vi.advanceTimersByTimeAsync(839_000);
    expect(mock).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(mock).toHaveBeenCalledTimes(1);
    expect(mock.mock.calls[0][0]).toBe("/api/auth/refresh");
    expect(getAccessToken()).toBe("access-2");
  });

  it("refreshes early enough for short-lived tokens", async () => {
    const { refreshLeadSeconds } = await load();
    expect(refreshLeadSeconds(900)).toBe(60);
    expect(refreshLeadSeconds(60)).toBe(12);
  });
});

describe("the development token", () => {
  it("is used in development when nobody has signed in", async () => {
    vi.stubEnv("DEV", true);
    vi.stubEnv("VITE_DEV_ACCESS_TOKEN", "dev-token");
    const { api, devAccessToken } = { ...(await load()), ...(await import("./config")) };
    expect(devAccessToken()).toBe("dev-token");
    const mock = fetchMock(() => json(200, {}));
    await api("/api/school");
    expect(bearer(mock.mock.calls[0][1]!)).toBe("Bearer dev-token");
  });

  it("is ignored by a production build", async () => {
    vi.stubEnv("DEV", false);
    vi.stubEnv("PROD", true);
    vi.stubEnv("MODE", "production");
    vi.stubEnv("VITE_DEV_ACCESS_TOKEN", "dev-token");
    const { api, hasSession } = await load();
    const { devAccessToken } = await import("./config");
    expect(devAccessToken()).toBeNull();
    expect(hasSession()).toBe(false);
    const mock = fetchMock(() => json(200, {}));
    await api("/healthz", { auth: "none" });
    await api("/api/school").catch(() => undefined);
    for (const call of mock.mock.calls) expect(bearer(call[1]!)).toBeUndefined();
  });

  it("is dropped once a real session starts", async () => {
    vi.stubEnv("DEV", true);
    vi.stubEnv("VITE_DEV_ACCESS_TOKEN", "dev-token");
    const { startSession, getAccessToken, clearSession } = await load();
    startSession(TOKENS);
    expect(getAccessToken()).toBe("access-1");
    clearSession();
    expect(getAccessToken()).toBeNull();
  });
});
