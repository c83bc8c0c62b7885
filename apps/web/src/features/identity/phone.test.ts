import { describe, expect, it } from "vitest";

import { formatPhone, toE164 } from "./phone";

describe("phone numbers as people type them", () => {
  it.each([
    ["98000 00004", "+919800000004"],
    ["9800000004", "+919800000004"],
    ["098000-00004", "+919800000004"],
    ["+91 98000 00004", "+919800000004"],
    ["91 98000 00004", "+919800000004"],
    ["+1 415 555 0100", "+14155550100"],
  ])("%s → %s", (typed, e164) => {
    expect(toE164(typed)).toBe(e164);
  });

  it.each(["", "12345", "98000 0000", "+12"])("refuses %j", (typed) => {
    expect(toE164(typed)).toBeNull();
  });

  it("shows Indian numbers in 5-5 groups", () => {
    expect(formatPhone("+919800000004")).toBe("+91 98000 00004");
    expect(formatPhone("+14155550100")).toBe("+14155550100");
  });
});
