/** The rules of marking a register on a phone, kept apart from the screen so they can be tested. */
import type { AttendanceCode, Register } from "./api";

export type Marks = Record<string, string>;

export const PRESENT = "P";
export const ABSENT = "A";

/** Everyone present unless the register already says otherwise. */
export function initialMarks(register: Pick<Register, "rows">): Marks {
  return Object.fromEntries(register.rows.map((row) => [row.student_id, row.code ?? PRESENT]));
}

/** One tap: absent becomes present, anything else becomes absent. */
export function toggled(code: string): string {
  return code === ABSENT ? PRESENT : ABSENT;
}

/** How many marks of each code, in the school's order of codes. */
export function tally(marks: Marks, codes: readonly Pick<AttendanceCode, "code" | "counts_as_present">[]) {
  const byCode: Record<string, number> = {};
  for (const code of Object.values(marks)) byCode[code] = (byCode[code] ?? 0) + 1;
  const present = codes.length
    ? Object.entries(byCode).reduce(
        (sum, [code, count]) => sum + (codes.find((c) => c.code === code)?.counts_as_present ? count : 0),
        0,
      )
    : (byCode[PRESENT] ?? 0);
  return { byCode, present, notPresent: Object.values(marks).length - present };
}

/** True when the marks on screen differ from what the server has (or it has nothing yet). */
export function hasUnsaved(register: Pick<Register, "rows">, marks: Marks): boolean {
  return register.rows.some((row) => row.code !== marks[row.student_id]);
}

/** The register as the bulk endpoint takes it, in roll order. */
export function submission(register: Pick<Register, "rows">, marks: Marks) {
  return register.rows.map((row) => ({ student_id: row.student_id, code: marks[row.student_id] ?? PRESENT }));
}
