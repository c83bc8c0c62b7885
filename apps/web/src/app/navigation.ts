/** The staff console's areas: one list drives both the navigation and the route guards. */
import type { IconName } from "../components/icons";
import { hasAny, type Permission } from "../features/identity/permissions";
import type { MessageKey } from "../i18n";

export interface StaffArea {
  path: string;
  labelKey: MessageKey;
  icon: IconName;
  /** Any one of these opens the area; empty means every staff member. */
  anyOf: readonly Permission[];
}

export const STAFF_AREAS = [
  { path: "/", labelKey: "nav.dashboard", icon: "dashboard", anyOf: [] },
  { path: "/students", labelKey: "nav.students", icon: "students", anyOf: ["students:read"] },
  { path: "/attendance", labelKey: "nav.attendance", icon: "attendance", anyOf: ["attendance:mark", "attendance:read"] },
  { path: "/fees", labelKey: "nav.fees", icon: "fees", anyOf: ["fees:read"] },
  { path: "/invoices", labelKey: "nav.invoices", icon: "invoices", anyOf: ["invoices:read"] },
  { path: "/chat", labelKey: "nav.chat", icon: "chat", anyOf: ["chat:use"] },
  { path: "/settings", labelKey: "nav.settings", icon: "settings", anyOf: ["settings:manage"] },
] as const satisfies readonly StaffArea[];

export type StaffPath = (typeof STAFF_AREAS)[number]["path"];

export function staffNavigation(permissions: readonly string[]): StaffArea[] {
  return STAFF_AREAS.filter((area) => hasAny(permissions, area.anyOf));
}

export function staffArea(path: StaffPath): StaffArea {
  return STAFF_AREAS.find((area) => area.path === path)!;
}
