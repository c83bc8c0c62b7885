import { describe, expect, it } from "vitest";

import { formatPaise, formatPercentBp, paiseToInput, parsePercentBp, parseRupees } from "./money";

describe("money in paise", () => {
  it("shows rupees the Indian way, paise only when there are some", () => {
    expect(formatPaise(12345000)).toBe("₹1,23,450");
    expect(formatPaise(12345050)).toBe("₹1,23,450.50");
    expect(formatPaise(5)).toBe("₹0.05");
    expect(formatPaise(-250000)).toBe("−₹2,500");
    expect(formatPaise(10000000000, "hi")).toBe("₹10,00,00,000");
  });

  it("reads what a cashier types without floating point", () => {
    expect(parseRupees("2500")).toBe(250000);
    expect(parseRupees("₹ 1,25,000.5")).toBe(12500050);
    expect(parseRupees("0.10")).toBe(10);
    expect(parseRupees("19.99")).toBe(1999); // 19.99 * 100 is 1998.9999… in floats
    expect(parseRupees("Rs. 100")).toBe(10000);
    expect(parseRupees("")).toBeNull();
    expect(parseRupees("12.345")).toBeNull();
    expect(parseRupees("-5")).toBeNull();
    expect(parseRupees("abc")).toBeNull();
  });

  it("round-trips through an input box", () => {
    for (const paise of [0, 1, 99, 100, 125050, 12500000]) {
      expect(parseRupees(paiseToInput(paise))).toBe(paise);
    }
  });

  it("reads and shows percents as basis points", () => {
    expect(parsePercentBp("25")).toBe(2500);
    expect(parsePercentBp("12.5 %")).toBe(1250);
    expect(parsePercentBp("100")).toBe(10000);
    expect(parsePercentBp("0")).toBeNull();
    expect(parsePercentBp("101")).toBeNull();
    expect(formatPercentBp(1250)).toBe("12.5");
    expect(formatPercentBp(2500)).toBe("25");
    expect(formatPercentBp(1)).toBe("0.01");
  });
});
