/** Students, guardians, import/export and promotion: /api/students, /api/guardians, /api/promotions. */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";

import { api } from "../../api";

export type StudentStatus = "active" | "left" | "alumni";
export type Gender = "male" | "female" | "other";
export type Category = "general" | "obc" | "sc" | "st" | "ews";
export type Relation = "father" | "mother" | "guardian";

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Student {
  id: string;
  admission_number: string;
  name: string;
  date_of_birth: string;
  gender: string;
  category: string;
  status: StudentStatus;
  class_id: string | null;
  class_name: string | null;
  section_id: string | null;
  section_name: string | null;
  roll_number: number | null;
  primary_guardian: { id: string; name: string; phone: string } | null;
  has_photo: boolean;
}

export interface StudentGuardian {
  id: string;
  name: string;
  relation: string;
  phone: string;
  whatsapp_opt_in: boolean;
  preferred_language: string;
  is_primary: boolean;
}

export interface Enrolment {
  academic_year_id: string;
  academic_year: string;
  section_id: string;
  section_label: string;
  roll_number: number | null;
  outcome: string | null;
}

export interface StudentDetail extends Student {
  admitted_on: string | null;
  left_on: string | null;
  guardians: StudentGuardian[];
  enrolments: Enrolment[];
}

export interface StudentFilters {
  q?: string;
  class_id?: string;
  section_id?: string;
  status?: StudentStatus;
  offset?: number;
}

export const PAGE_SIZE = 50;

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const studentsQuery = (filters: StudentFilters) =>
  queryOptions({
    queryKey: ["students", "list", filters],
    queryFn: ({ signal }) =>
      api<Page<Student>>(`/api/students${query({ ...filters, limit: PAGE_SIZE, offset: filters.offset ?? 0 })}`, {
        signal,
      }),
    placeholderData: keepPreviousData,
  });

export const studentQuery = (studentId: string) =>
  queryOptions({
    queryKey: ["students", "detail", studentId],
    queryFn: ({ signal }) => api<StudentDetail>(`/api/students/${studentId}`, { signal }),
  });

export interface GuardianInput {
  name: string;
  relation: Relation;
  phone: string;
  whatsapp_opt_in: boolean;
  preferred_language: "en" | "hi";
  is_primary?: boolean;
}

export interface StudentInput {
  admission_number: string;
  name: string;
  date_of_birth: string;
  gender: Gender;
  category: Category;
  admitted_on?: string | null;
  section_id?: string | null;
  roll_number?: number | null;
  guardians?: GuardianInput[];
}

export function createStudent(body: StudentInput) {
  return api<StudentDetail>("/api/students", { method: "POST", body });
}

export function updateStudent(studentId: string, body: Partial<StudentInput>) {
  return api<StudentDetail>(`/api/students/${studentId}`, { method: "PATCH", body });
}

export function setEnrolment(studentId: string, body: { section_id: string; roll_number: number | null }) {
  return api<StudentDetail>(`/api/students/${studentId}/enrolment`, { method: "PUT", body });
}

export function linkGuardian(studentId: string, body: GuardianInput) {
  return api<StudentDetail>(`/api/students/${studentId}/guardians`, { method: "POST", body });
}

export function unlinkGuardian(studentId: string, guardianId: string) {
  return api<StudentDetail>(`/api/students/${studentId}/guardians/${guardianId}`, { method: "DELETE" });
}

export function deactivateStudent(studentId: string) {
  return api<StudentDetail>(`/api/students/${studentId}/deactivate`, { method: "POST", body: { status: "left" } });
}

export function reactivateStudent(studentId: string) {
  return api<StudentDetail>(`/api/students/${studentId}/reactivate`, { method: "POST" });
}

export function exportStudents(format: "csv" | "xlsx", filters: StudentFilters) {
  const { class_id, section_id, status } = filters;
  return api<Blob>(`/api/students/export${query({ format, class_id, section_id, status })}`, { read: "blob" });
}

// ---- import ------------------------------------------------------------------------

export interface ImportRowError {
  row: number;
  column: string;
  reason: string;
  value: string | null;
}

export interface ImportPreview {
  rows: number;
  valid: number;
  errors: ImportRowError[];
  columns: string[];
  sample: Record<string, string>[];
}

export interface ImportStarted {
  job_id: string;
  rows: number;
  status_url: string;
}

function fileForm(file: File): FormData {
  const form = new FormData();
  form.append("file", file);
  return form;
}

export function previewImport(file: File) {
  return api<ImportPreview>("/api/students/import/preview", { method: "POST", body: fileForm(file) });
}

export function startImport(file: File) {
  return api<ImportStarted>("/api/students/import", { method: "POST", body: fileForm(file) });
}

// ---- promotion ---------------------------------------------------------------------

export interface PromotionInput {
  to_academic_year_id: string;
  held_back: string[];
  leaving: string[];
}

export interface SectionMove {
  from_section_id: string;
  from_label: string;
  to_label: string | null;
  to_exists: boolean;
  promoted: number;
  held_back: number;
  leaving: number;
  graduating: number;
}

export interface PromotionPreview {
  from_academic_year: string;
  to_academic_year: string;
  moves: SectionMove[];
  promoted: number;
  held_back: number;
  leaving: number;
  graduating: number;
  sections_to_create: string[];
  already_done: number;
}

export interface PromotionResult {
  sections_created: number;
  enrolled: number;
  marked_left: number;
  marked_alumni: number;
  outcomes_recorded: number;
}

export function previewPromotion(body: PromotionInput) {
  return api<PromotionPreview>("/api/promotions/preview", { method: "POST", body });
}

export function applyPromotion(body: PromotionInput) {
  return api<PromotionResult>("/api/promotions/apply", { method: "POST", body });
}

/** "6-A" from a student's class and section, or null when not enrolled this year. */
export function classSection(student: Pick<Student, "class_name" | "section_name">): string | null {
  if (student.class_name && student.section_name) return `${student.class_name}-${student.section_name}`;
  return student.class_name;
}
