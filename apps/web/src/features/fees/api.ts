/** Fee set-up: /api/fees/heads, /instalments, /structures, /concessions, /categories, /late-fee-rules. */
import { queryOptions } from "@tanstack/react-query";

import { api } from "../../api";

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export type Frequency = "monthly" | "quarterly" | "term" | "annual";
export const FREQUENCIES: readonly Frequency[] = ["monthly", "quarterly", "term", "annual"];
export type ConcessionCategory = "sibling" | "staff_child" | "merit" | "rte_ews" | "scholarship";
export const CONCESSION_CATEGORIES: readonly ConcessionCategory[] = ["sibling", "staff_child", "merit", "rte_ews", "scholarship"];
export type ConcessionStatus = "pending" | "approved" | "rejected" | "revoked";
export type LateFeeKind = "flat" | "per_day";

export interface FeeHead {
  id: string;
  code: string;
  name: string;
  is_active: boolean;
}

export interface Instalment {
  id: string;
  academic_year_id: string;
  name: string;
  due_on: string;
}

export interface StructureLine {
  id: string;
  head_id: string;
  head_code: string;
  instalment_id: string;
  instalment_name: string;
  due_on: string;
  amount: number;
}

export interface Structure {
  id: string;
  academic_year_id: string;
  class_id: string;
  class_name: string;
  name: string;
  annual_total: number;
  lines: StructureLine[];
}

export interface StructureLineInput {
  head_id: string;
  instalment_id: string;
  amount: number;
}

export interface StructureSplitInput {
  head_id: string;
  annual_amount: number;
  frequency: Frequency;
}

export interface StructureInput {
  class_id: string;
  name: string;
  lines?: StructureLineInput[];
  splits?: StructureSplitInput[];
}

export interface Concession {
  id: string;
  academic_year_id: string;
  name: string;
  kind: "percent" | "fixed";
  percent_bp: number | null;
  amount: number | null;
  head_ids: string[];
  student_id: string | null;
  category: ConcessionCategory | null;
  reason: string;
  status: ConcessionStatus;
  requested_by_id: string | null;
  approved_by_id: string | null;
  approved_at: string | null;
  created_at: string;
}

export interface ConcessionInput {
  name: string;
  kind: "percent" | "fixed";
  percent_bp?: number;
  amount?: number;
  head_ids: string[];
  student_id?: string;
  category?: ConcessionCategory;
  reason: string;
}

export interface LateFeeRule {
  id: string;
  name: string;
  kind: LateFeeKind;
  amount: number;
  grace_days: number;
  cap: number | null;
  is_active: boolean;
}

export interface LateFeeRuleInput {
  name: string;
  kind: LateFeeKind;
  amount: number;
  grace_days: number;
  cap?: number | null;
  is_active?: boolean;
}

const ALL = "limit=200";

export const headsQuery = queryOptions({
  queryKey: ["fees", "heads"],
  queryFn: ({ signal }) => api<Page<FeeHead>>(`/api/fees/heads?${ALL}`, { signal }),
});

export const instalmentsQuery = queryOptions({
  queryKey: ["fees", "instalments"],
  queryFn: ({ signal }) => api<Page<Instalment>>(`/api/fees/instalments?${ALL}`, { signal }),
});

export const structuresQuery = queryOptions({
  queryKey: ["fees", "structures"],
  queryFn: ({ signal }) => api<Page<Structure>>(`/api/fees/structures?${ALL}`, { signal }),
});

export const concessionsQuery = (status?: ConcessionStatus) =>
  queryOptions({
    queryKey: ["fees", "concessions", status ?? "all"],
    queryFn: ({ signal }) =>
      api<Page<Concession>>(`/api/fees/concessions?${ALL}${status ? `&status=${status}` : ""}`, { signal }),
  });

export const lateFeeRulesQuery = queryOptions({
  queryKey: ["fees", "late-fee-rules"],
  queryFn: ({ signal }) => api<Page<LateFeeRule>>(`/api/fees/late-fee-rules?${ALL}`, { signal }),
});

export function createHead(body: { code: string; name: string }) {
  return api<FeeHead>("/api/fees/heads", { method: "POST", body });
}

export function updateHead(headId: string, body: Partial<{ code: string; name: string; is_active: boolean }>) {
  return api<FeeHead>(`/api/fees/heads/${headId}`, { method: "PATCH", body });
}

export function planInstalments(body: { frequency: Frequency; due_day: number }) {
  return api<Instalment[]>("/api/fees/instalments/plan", { method: "POST", body });
}

export function createInstalment(body: { name: string; due_on: string }) {
  return api<Instalment>("/api/fees/instalments", { method: "POST", body });
}

export function updateInstalment(instalmentId: string, body: { name?: string; due_on?: string }) {
  return api<Instalment>(`/api/fees/instalments/${instalmentId}`, { method: "PATCH", body });
}

export function deleteInstalment(instalmentId: string) {
  return api<void>(`/api/fees/instalments/${instalmentId}`, { method: "DELETE" });
}

export function createStructure(body: StructureInput) {
  return api<Structure>("/api/fees/structures", { method: "POST", body });
}

export function replaceStructure(structureId: string, body: Omit<StructureInput, "class_id">) {
  return api<Structure>(`/api/fees/structures/${structureId}`, { method: "PUT", body });
}

export function deleteStructure(structureId: string) {
  return api<void>(`/api/fees/structures/${structureId}`, { method: "DELETE" });
}

export function createConcession(body: ConcessionInput) {
  return api<Concession>("/api/fees/concessions", { method: "POST", body });
}

export function decideConcession(concessionId: string, decision: "approve" | "reject", note?: string) {
  return api<Concession>(`/api/fees/concessions/${concessionId}/${decision}`, { method: "POST", body: { note: note || null } });
}

export function revokeConcession(concessionId: string, reason: string) {
  return api<Concession>(`/api/fees/concessions/${concessionId}/revoke`, { method: "POST", body: { reason } });
}

export function createLateFeeRule(body: LateFeeRuleInput) {
  return api<LateFeeRule>("/api/fees/late-fee-rules", { method: "POST", body });
}

export function updateLateFeeRule(ruleId: string, body: Partial<LateFeeRuleInput>) {
  return api<LateFeeRule>(`/api/fees/late-fee-rules/${ruleId}`, { method: "PATCH", body });
}

/**
 * A structure's lines as a grid: one row per head, one column per instalment
 * (in due order), each cell the amount or null. What an accountant checks
 * against the printed fee chart.
 */
export function structureGrid(structure: Structure): {
  instalments: { id: string; name: string; due_on: string }[];
  rows: { head_id: string; head_code: string; cells: (number | null)[]; total: number }[];
  totals: number[];
} {
  const instalments = [
    ...new Map(
      structure.lines.map((line) => [line.instalment_id, { id: line.instalment_id, name: line.instalment_name, due_on: line.due_on }]),
    ).values(),
  ].sort((a, b) => (a.due_on === b.due_on ? a.name.localeCompare(b.name) : a.due_on < b.due_on ? -1 : 1));
  const column = new Map(instalments.map((inst, index) => [inst.id, index]));
  const rows = new Map<string, { head_id: string; head_code: string; cells: (number | null)[]; total: number }>();
  for (const line of structure.lines) {
    let row = rows.get(line.head_id);
    if (!row) {
      row = { head_id: line.head_id, head_code: line.head_code, cells: instalments.map(() => null), total: 0 };
      rows.set(line.head_id, row);
    }
    const index = column.get(line.instalment_id)!;
    row.cells[index] = (row.cells[index] ?? 0) + line.amount;
    row.total += line.amount;
  }
  const sorted = [...rows.values()].sort((a, b) => a.head_code.localeCompare(b.head_code));
  const totals = instalments.map((_, index) => sorted.reduce((sum, row) => sum + (row.cells[index] ?? 0), 0));
  return { instalments, rows: sorted, totals };
}
