import { describe, expect, it } from "vitest";

import { hasUnsaved, initialMarks, submission, tally, toggled } from "./marking";

const CODES = [
  { code: "P", counts_as_present: true },
  { code: "A", counts_as_present: false },
  { code: "L", counts_as_present: true },
  { code: "LV", counts_as_present: false },
];
const row = (student_id: string, code: string | null) => ({
  student_id,
  code,
  roll_number: 1,
  name: student_id,
  admission_number: student_id,
  counts_as_present: null,
});

describe("marking a register", () => {
  it("starts with everyone present, keeping marks already on the register", () => {
    expect(initialMarks({ rows: [row("s1", null), row("s2", "A"), row("s3", "L")] })).toEqual({ s1: "P", s2: "A", s3: "L" });
  });

  it("toggles absent and present with one tap; any other mark becomes absent", () => {
    expect(toggled("P")).toBe("A");
    expect(toggled("A")).toBe("P");
    expect(toggled("L")).toBe("A");
  });

  it("counts present by what each code means, not by its letter", () => {
    expect(tally({ s1: "P", s2: "A", s3: "L", s4: "LV" }, CODES)).toEqual({
      byCode: { P: 1, A: 1, L: 1, LV: 1 },
      present: 2,
      notPresent: 2,
    });
  });

  it("knows when the screen differs from what the server has", () => {
    const register = { rows: [row("s1", null), row("s2", "P")] };
    expect(hasUnsaved(register, { s1: "P", s2: "P" })).toBe(true); // never sent
    expect(hasUnsaved({ rows: [row("s1", "P"), row("s2", "A")] }, { s1: "P", s2: "A" })).toBe(false);
  });

  it("sends every child of the register, in its order", () => {
    expect(submission({ rows: [row("s2", null), row("s1", null)] }, { s1: "A" })).toEqual([
      { student_id: "s2", code: "P" },
      { student_id: "s1", code: "A" },
    ]);
  });
});
