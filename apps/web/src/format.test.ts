import { describe, expect, it } from "vitest";

import { formatDay, formatMonth, shiftMonth, todayIn } from "./format";

describe("dates as the school sees them", () => {
  it("takes today in the school's time zone, not the phone's", () => {
    const lateEveningUtc = new Date("2026-11-26T20:00:00Z"); // 01:30 on the 27th in India
    expect(todayIn("Asia/Kolkata", lateEveningUtc)).toBe("2026-11-27");
    expect(todayIn("UTC", lateEveningUtc)).toBe("2026-11-26");
  });

  it("moves between months across years", () => {
    expect(shiftMonth("2026-01", -1)).toBe("2025-12");
    expect(shiftMonth("2026-12", 1)).toBe("2027-01");
    expect(shiftMonth("2026-11", 0)).toBe("2026-11");
  });

  it("writes dates in English and Hindi without shifting the day", () => {
    expect(formatDay("2026-11-26", "en")).toBe("26 Nov 2026");
    expect(formatMonth("2026-11", "en")).toBe("November 2026");
    expect(formatMonth("2026-11", "hi")).toContain("2026");
  });
});
