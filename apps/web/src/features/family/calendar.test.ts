import { describe, expect, it } from "vitest";

import { daysInMonth, monthGrid } from "./calendar";

describe("a child's month calendar", () => {
  it("starts weeks on Monday and pads the month to whole weeks", () => {
    // 1 November 2026 is a Sunday.
    const weeks = monthGrid("2026-11", [], { weekly_offs: ["sun"], holidays: [] }, "2026-11-30");
    expect(weeks[0].slice(0, 6)).toEqual([null, null, null, null, null, null]);
    expect(weeks[0][6]).toMatchObject({ date: "2026-11-01", status: "off" });
    expect(weeks.every((week) => week.length === 7)).toBe(true);
    expect(weeks.flat().filter(Boolean)).toHaveLength(30);
  });

  it("colours each day by its mark, holiday, weekly off or whether it has come", () => {
    const weeks = monthGrid(
      "2026-11",
      [
        { date: "2026-11-02", period: 0, code: "P", counts_as_present: true },
        { date: "2026-11-03", period: 0, code: "A", counts_as_present: false },
        { date: "2026-11-04", period: 0, code: "LV", counts_as_present: false },
        { date: "2026-11-05", period: 0, code: "L", counts_as_present: true },
      ],
      { weekly_offs: ["sun", "sat-2"], holidays: [{ id: "h", date: "2026-11-09", name: "Diwali" }] },
      "2026-11-20",
    );
    const byDate = new Map(weeks.flat().filter(Boolean).map((cell) => [cell!.date, cell!]));
    expect(byDate.get("2026-11-02")?.status).toBe("present");
    expect(byDate.get("2026-11-03")?.status).toBe("absent");
    expect(byDate.get("2026-11-04")?.status).toBe("leave");
    expect(byDate.get("2026-11-05")?.status).toBe("present");
    expect(byDate.get("2026-11-06")?.status).toBe("unmarked");
    expect(byDate.get("2026-11-07")?.status).toBe("unmarked"); // the first Saturday is open
    expect(byDate.get("2026-11-14")?.status).toBe("off"); // the second is not
    expect(byDate.get("2026-11-09")).toMatchObject({ status: "holiday", note: "Diwali" });
    expect(byDate.get("2026-11-23")?.status).toBe("future");
  });

  it("knows month lengths, leap years included", () => {
    expect(daysInMonth("2028-02")).toBe(29);
    expect(daysInMonth("2027-02")).toBe(28);
    expect(daysInMonth("2026-12")).toBe(31);
  });
});
