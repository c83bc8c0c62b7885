/** The backend's permission catalogue (erplake/core/permissions.py) and who sees what. */

export const PERMISSIONS = [
  "school:read",
  "students:read",
  "students:write",
  "attendance:read",
  "attendance:mark",
  "attendance:edit",
  "leave:apply",
  "leave:approve",
  "fees:read",
  "fees:manage",
  "concessions:approve",
  "payments:record",
  "invoices:read",
  "chat:use",
  "chat:manage",
  "social:manage",
  "campaigns:send",
  "ai:use",
  "ai:approve",
  "users:manage",
  "settings:manage",
  "audit:read",
  "reports:read",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** True when `granted` holds at least one of `anyOf` (an empty `anyOf` allows everyone). */
export function hasAny(granted: readonly string[], anyOf: readonly Permission[]): boolean {
  return anyOf.length === 0 || anyOf.some((permission) => granted.includes(permission));
}

/** Roles of a family member rather than staff. */
const FAMILY_ROLES = new Set(["parent", "student"]);

/**
 * A parent (and a student) gets the family portal; anyone with a staff role
 * gets the staff console, even if they are also a parent at the school.
 */
export function isFamilyAccount(roles: readonly string[]): boolean {
  return roles.length > 0 && roles.every((role) => FAMILY_ROLES.has(role));
}
