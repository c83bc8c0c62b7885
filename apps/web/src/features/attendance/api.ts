/** Registers, marking, reports and leave: /api/attendance/*, /api/leave-applications. */
import { queryOptions } from "@tanstack/react-query";

import { api } from "../../api";
import type { Page } from "../students/api";

export interface AttendanceCode {
  code: string;
  label: string;
  counts_as_present: boolean;
  alerts_guardians: boolean;
  sort_order: number;
  is_active: boolean;
}

export interface RegisterRow {
  student_id: string;
  roll_number: number | null;
  name: string;
  admission_number: string;
  code: string | null;
  counts_as_present: boolean | null;
}

export interface Register {
  section_id: string;
  section_label: string;
  date: string;
  period: number | null;
  closed_reason: string | null;
  rows: RegisterRow[];
  counts: Record<string, number>;
  not_marked: number;
}

export interface MarkResult {
  section_id: string;
  date: string;
  marked: number;
  changed: number;
  counts: Record<string, number>;
  on_leave: number;
  alerts_queued: number;
  alerts_cancelled: number;
}

export interface MonthlyRow {
  student_id: string;
  roll_number: number | null;
  name: string;
  marked: number;
  present: number;
  percent: number | null;
}

export interface Monthly {
  section_id: string;
  section_label: string;
  month: string;
  school_days: number;
  rows: MonthlyRow[];
}

export interface DayMark {
  date: string;
  period: number;
  code: string;
  counts_as_present: boolean;
}

export interface StudentMonth {
  student_id: string;
  name: string;
  month: string;
  school_days: number;
  marked: number;
  present: number;
  percent: number | null;
  days: DayMark[];
}

export interface ClassSummary {
  class_id: string;
  class_name: string;
  enrolled: number;
  present: number;
  absent: number;
  not_marked: number;
}

export interface Today {
  date: string;
  closed_reason: string | null;
  classes: ClassSummary[];
  enrolled: number;
  present: number;
  absent: number;
  not_marked: number;
}

export interface Leave {
  id: string;
  student_id: string;
  student_name: string;
  from_date: string;
  to_date: string;
  reason: string;
  status: "pending" | "approved" | "rejected" | "cancelled";
  decision_note: string | null;
  decided_at: string | null;
  days_marked: number;
  created_at: string;
}

export const codesQuery = queryOptions({
  queryKey: ["attendance", "codes"],
  queryFn: ({ signal }) => api<AttendanceCode[]>("/api/attendance/codes", { signal }),
  staleTime: 10 * 60_000,
});

export const registerQuery = (sectionId: string, day: string) =>
  queryOptions({
    queryKey: ["attendance", "register", sectionId, day],
    queryFn: ({ signal }) =>
      api<Register>(`/api/attendance/register?section_id=${sectionId}&date=${day}`, { signal }),
    staleTime: 0,
  });

export const monthlyQuery = (sectionId: string, month: string) =>
  queryOptions({
    queryKey: ["attendance", "monthly", sectionId, month],
    queryFn: ({ signal }) =>
      api<Monthly>(`/api/attendance/reports/monthly?section_id=${sectionId}&month=${month}`, { signal }),
  });

export const studentMonthQuery = (studentId: string, month: string) =>
  queryOptions({
    queryKey: ["attendance", "student-month", studentId, month],
    queryFn: ({ signal }) =>
      api<StudentMonth>(`/api/attendance/reports/students/${studentId}?month=${month}`, { signal }),
  });

export const todayQuery = queryOptions({
  queryKey: ["attendance", "today"],
  queryFn: ({ signal }) => api<Today>("/api/attendance/reports/today", { signal }),
  refetchInterval: 60_000,
});

export const leaveQuery = (filters: { status?: Leave["status"]; student_id?: string }) =>
  queryOptions({
    queryKey: ["attendance", "leave", filters],
    queryFn: ({ signal }) => {
      const search = new URLSearchParams({ limit: "100" });
      if (filters.status) search.set("status", filters.status);
      if (filters.student_id) search.set("student_id", filters.student_id);
      return api<Page<Leave>>(`/api/leave-applications?${search}`, { signal });
    },
  });

/**
 * Send a section's register. The Idempotency-Key names this exact submission: a
 * double tap or a retry after a dropped connection repeats it harmlessly.
 */
export function markRegister(
  body: { section_id: string; date: string; marks: { student_id: string; code: string }[] },
  idempotencyKey: string,
  correction = false,
) {
  return api<MarkResult>(`/api/attendance/${correction ? "corrections" : "bulk"}`, {
    method: "POST",
    body,
    headers: { "Idempotency-Key": idempotencyKey },
  });
}

export function monthlyCsv(sectionId: string, month: string) {
  return api<Blob>(`/api/attendance/reports/monthly.csv?section_id=${sectionId}&month=${month}`, { read: "blob" });
}

export function putCode(code: string, body: Omit<AttendanceCode, "code">) {
  return api<AttendanceCode>(`/api/attendance/codes/${encodeURIComponent(code)}`, { method: "PUT", body });
}

export function applyLeave(body: { student_id: string; from_date: string; to_date: string; reason: string }) {
  return api<Leave>("/api/leave-applications", { method: "POST", body });
}

export function decideLeave(leaveId: string, approve: boolean, note?: string) {
  return api<Leave>(`/api/leave-applications/${leaveId}/${approve ? "approve" : "reject"}`, {
    method: "POST",
    body: { note: note || null },
  });
}

export function cancelLeave(leaveId: string) {
  return api<Leave>(`/api/leave-applications/${leaveId}/cancel`, { method: "POST" });
}
