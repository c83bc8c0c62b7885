/** The school's profile: GET /api/school (permission school:read). */
import { queryOptions } from "@tanstack/react-query";

import { api } from "../../api";

export interface School {
  id: string;
  code: string;
  name: string;
  timezone: string;
  address: string | null;
  phone: string | null;
  email: string | null;
}

export const schoolQuery = queryOptions({
  queryKey: ["schools", "current"],
  queryFn: ({ signal }) => api<School>("/api/school", { signal }),
});

/** The fields an admin may change (PATCH /api/school, permission settings:manage). */
export type SchoolChanges = Partial<Pick<School, "name" | "address" | "phone" | "email" | "timezone">>;

export function updateSchool(body: SchoolChanges): Promise<School> {
  return api<School>("/api/school", { method: "PATCH", body });
}
