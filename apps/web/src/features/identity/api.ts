/** Sign-in and the current user: /api/auth/*. */
import { queryOptions, useQuery } from "@tanstack/react-query";

import { api } from "../../api";
import type { TokenPair } from "../../session";
import type { Permission } from "./permissions";

export interface OtpStarted {
  sent: boolean;
  /** Seconds before another code may be asked for. */
  resend_after: number;
  /** Seconds the code stays valid. */
  expires_in: number;
}

export interface Child {
  id: string;
  name: string;
  class_name: string | null;
  section_name: string | null;
}

export interface TeachingSection {
  id: string;
  name: string;
  class_name: string | null;
}

export interface Me {
  user: { id: string; name: string; phone: string; preferred_language: string };
  school: { id: string; name: string };
  roles: string[];
  permissions: Permission[];
  children: Child[];
  sections: TeachingSection[];
}

export function startOtp(phone: string): Promise<OtpStarted> {
  return api<OtpStarted>("/api/auth/otp/start", { method: "POST", body: { phone }, auth: "none" });
}

export function verifyOtp(phone: string, code: string): Promise<TokenPair> {
  return api<TokenPair>("/api/auth/otp/verify", { method: "POST", body: { phone, code }, auth: "none" });
}

/** Revoke the refresh token on the server (best effort: the caller forgets it anyway). */
export function logout(refreshToken: string, accessToken: string | null): Promise<void> {
  return api<void>("/api/auth/logout", {
    method: "POST",
    body: { refresh_token: refreshToken },
    auth: "none",
    headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : undefined,
  });
}

export const meQuery = queryOptions({
  queryKey: ["identity", "me"],
  queryFn: ({ signal }) => api<Me>("/api/auth/me", { signal }),
  staleTime: 5 * 60_000,
});

export function useMe() {
  return useQuery(meQuery);
}
