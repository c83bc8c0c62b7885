/** The built-in roles' permissions, as erplake/core/permissions.py defines them. */
export const BUILTIN_ROLE_PERMISSIONS = {
  admin: [
    "school:read", "students:read", "students:write", "attendance:read", "attendance:mark",
    "attendance:edit", "leave:apply", "leave:approve", "fees:read", "fees:manage", "payments:record",
    "invoices:read", "chat:use", "chat:manage", "social:manage", "campaigns:send", "ai:use", "ai:approve", "users:manage", "settings:manage",
    "audit:read", "reports:read",
  ],
  principal: [
    "school:read", "students:read", "attendance:read", "attendance:edit", "leave:approve", "fees:read",
    "concessions:approve",
    "invoices:read", "chat:use", "chat:manage", "campaigns:send", "ai:use", "ai:approve", "audit:read",
    "reports:read", "social:manage",
  ],
  accountant: [
    "school:read", "students:read", "fees:read", "fees:manage", "payments:record", "invoices:read",
    "reports:read",
  ],
  teacher: ["school:read", "students:read", "attendance:read", "attendance:mark", "leave:approve", "chat:use", "ai:use"],
  parent: ["school:read", "students:read", "attendance:read", "leave:apply", "invoices:read", "chat:use"],
} as const;
