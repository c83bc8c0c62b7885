/** Build fetch Responses the way the backend answers. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function apiError(
  status: number,
  code: string,
  message = code,
  details: unknown = null,
  headers: Record<string, string> = {},
): Response {
  return json(status, { error: { code, message, details } }, headers);
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

export const TOKENS = {
  access_token: "access-1",
  refresh_token: "refresh-1",
  token_type: "bearer" as const,
  expires_in: 900,
};
