/** Users and roles: /api/users, /api/roles (permission users:manage). */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";

import { api } from "../../api";
import type { Page } from "../students/api";

export interface User {
  id: string;
  name: string;
  phone: string;
  is_active: boolean;
  preferred_language: string;
  roles: string[];
  last_login_at: string | null;
  created_at: string;
}

export interface Role {
  id: string;
  name: string;
  description: string;
  is_builtin: boolean;
  permissions: string[];
}

export const usersQuery = (filters: { q?: string; offset: number }) =>
  queryOptions({
    queryKey: ["users", "list", filters],
    queryFn: ({ signal }) => {
      const search = new URLSearchParams({ limit: "50", offset: String(filters.offset) });
      if (filters.q) search.set("q", filters.q);
      return api<Page<User>>(`/api/users?${search}`, { signal });
    },
    placeholderData: keepPreviousData,
  });

export const rolesQuery = queryOptions({
  queryKey: ["users", "roles"],
  queryFn: ({ signal }) => api<Role[]>("/api/roles", { signal }),
  staleTime: 5 * 60_000,
});

export function inviteUser(body: { phone: string; name: string; roles: string[]; preferred_language: "en" | "hi" }) {
  return api<User>("/api/users", { method: "POST", body });
}

export function assignRoles(userId: string, roles: string[]) {
  return api<User>(`/api/users/${userId}/roles`, { method: "PUT", body: { roles } });
}

export function setUserActive(userId: string, active: boolean) {
  return api<User>(`/api/users/${userId}/${active ? "activate" : "deactivate"}`, { method: "POST" });
}
