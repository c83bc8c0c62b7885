/** The month grid of a child's attendance: which day was what, Monday first. */
import { isWeeklyOff, type Calendar } from "../academics/api";
import type { DayMark } from "../attendance/api";

export type DayStatus = "present" | "absent" | "leave" | "holiday" | "off" | "unmarked" | "future";

export interface DayCell {
  date: string;
  day: number;
  status: DayStatus;
  code: string | null;
  /** The holiday's name, when it is one. */
  note: string | null;
}

export function daysInMonth(month: string): number {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Weeks of seven (null where the month has not begun or has ended). */
export function monthGrid(
  month: string,
  marks: readonly DayMark[],
  calendar: Calendar | undefined,
  today: string,
  leaveCode = "LV",
): (DayCell | null)[][] {
  const byDate = new Map<string, DayMark>();
  for (const mark of marks) if (!byDate.has(mark.date)) byDate.set(mark.date, mark);
  const holidays = new Map((calendar?.holidays ?? []).map((h) => [h.date, h.name]));
  const firstWeekday = (new Date(`${month}-01T12:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
  const cells: (DayCell | null)[] = Array(firstWeekday).fill(null);
  for (let day = 1; day <= daysInMonth(month); day += 1) {
    const date = `${month}-${String(day).padStart(2, "0")}`;
    const mark = byDate.get(date);
    let status: DayStatus;
    if (mark) status = mark.code === leaveCode ? "leave" : mark.counts_as_present ? "present" : "absent";
    else if (holidays.has(date)) status = "holiday";
    else if (calendar && isWeeklyOff(date, calendar.weekly_offs)) status = "off";
    else if (date > today) status = "future";
    else status = "unmarked";
    cells.push({ date, day, status, code: mark?.code ?? null, note: holidays.get(date) ?? null });
  }
  while (cells.length % 7) cells.push(null);
  const weeks: (DayCell | null)[][] = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  return weeks;
}
