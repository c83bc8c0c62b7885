/** Years, classes, sections and the calendar: /api/academic-years, /classes, /sections, /calendar, /holidays. */
import { queryOptions } from "@tanstack/react-query";

import { api } from "../../api";

export interface AcademicYear {
  id: string;
  name: string;
  starts_on: string;
  ends_on: string;
  is_current: boolean;
}

export interface SchoolClass {
  id: string;
  name: string;
  sequence: number;
}

export interface Section {
  id: string;
  name: string;
  /** Class and section, e.g. "6-A". */
  label: string;
  class_id: string;
  class_name: string;
  class_sequence: number;
  academic_year_id: string;
  class_teacher: { id: string; name: string } | null;
  students: number;
}

export interface Holiday {
  id: string;
  date: string;
  name: string;
}

export interface Calendar {
  weekly_offs: string[];
  holidays: Holiday[];
}

export const yearsQuery = queryOptions({
  queryKey: ["academics", "years"],
  queryFn: ({ signal }) => api<AcademicYear[]>("/api/academic-years", { signal }),
  staleTime: 5 * 60_000,
});

export const classesQuery = queryOptions({
  queryKey: ["academics", "classes"],
  queryFn: ({ signal }) => api<SchoolClass[]>("/api/classes", { signal }),
  staleTime: 5 * 60_000,
});

/** Sections of the current year. */
export const sectionsQuery = queryOptions({
  queryKey: ["academics", "sections"],
  queryFn: ({ signal }) => api<Section[]>("/api/sections", { signal }),
  staleTime: 5 * 60_000,
});

export const calendarQuery = (from?: string, to?: string) =>
  queryOptions({
    queryKey: ["academics", "calendar", from ?? null, to ?? null],
    queryFn: ({ signal }) => {
      const range = from && to ? `?from=${from}&to=${to}` : "";
      return api<Calendar>(`/api/calendar${range}`, { signal });
    },
    staleTime: 5 * 60_000,
  });

export function createYear(body: { name: string; starts_on: string; ends_on: string; is_current: boolean }) {
  return api<AcademicYear>("/api/academic-years", { method: "POST", body });
}

export function addHoliday(body: { date: string; name: string }) {
  return api<Holiday>("/api/holidays", { method: "POST", body });
}

export function removeHoliday(holidayId: string) {
  return api<void>(`/api/holidays/${holidayId}`, { method: "DELETE" });
}

export function setWeeklyOffs(weeklyOffs: string[]) {
  return api<Calendar>("/api/calendar", { method: "PUT", body: { weekly_offs: weeklyOffs } });
}

/** Whether a weekly-off rule ("sun", "sat-2") closes the school on this date. */
export function isWeeklyOff(day: string, weeklyOffs: readonly string[]): boolean {
  const date = new Date(`${day}T12:00:00Z`);
  const weekday = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][date.getUTCDay()];
  const nth = Math.ceil(date.getUTCDate() / 7);
  return weeklyOffs.some((rule) => rule === weekday || rule === `${weekday}-${nth}`);
}
