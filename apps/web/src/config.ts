/**
 * Build-time settings. Every API URL is built from `apiBase()`, never from a
 * hard-coded origin: empty means "the origin this page came from", which is how
 * `erplake run` serves the app and how the dev server proxies it.
 */

export function apiBase(): string {
  return (import.meta.env.VITE_API_BASE ?? "").trim().replace(/\/+$/, "");
}

/**
 * The developer shortcut token, or null. Read at call time and guarded by
 * `import.meta.env.DEV`, which a production build replaces with `false`: the
 * branch (and the token string with it) is dropped from the bundle.
 */
export function devAccessToken(): string | null {
  if (!import.meta.env.DEV) return null;
  const token = (import.meta.env.VITE_DEV_ACCESS_TOKEN ?? "").trim();
  return token || null;
}
