import { screen } from "@testing-library/react";
import { afterEach, beforeEach, expect, it } from "vitest";

import { forgetSession, startSession } from "../../api";
import { acknowledgeSessionEnd } from "../../session";
import { json, TOKENS } from "../../test/http";
import { meFor, renderApp, stubApi } from "../../test/renderApp";
import { BUILTIN_ROLE_PERMISSIONS } from "../../test/roles";
import { page } from "../invoices/testData";
import { monthSoFar } from "./FeeCollectionCard";

beforeEach(() => startSession(TOKENS));
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

it("reads this month as the 1st to today", () => {
  expect(monthSoFar("2026-11-26")).toEqual(["2026-11-01", "2026-11-26"]);
});

it("shows the principal this month's collection against what is due, the defaulters and recent payments", async () => {
  const asked: string[] = [];
  stubApi(meFor(["principal"], BUILTIN_ROLE_PERMISSIONS.principal), (url) => {
    asked.push(url);
    if (url.startsWith("/api/fee-reports/collection/by-class?")) {
      return json(200, {
        classes: [{ class_id: "c3", class_name: "3", students: 2, payments: 2, collected: 2500000, refunded: 0, net: 2500000 }],
        collected: 2500000,
        refunded: 0,
        net: 2500000,
      });
    }
    if (url.startsWith("/api/fee-reports/outstanding?")) {
      return json(200, {
        as_of: "2026-11-26",
        students: 40,
        totals: { not_due: 1000000, days_0_30: 5000000, days_31_60: 0, days_61_90: 0, days_over_90: 0, total: 6000000 },
        items: [],
        total: 40,
        limit: 1,
        offset: 0,
      });
    }
    if (url.startsWith("/api/fee-reports/defaulters?")) return json(200, { as_of: "2026-11-26", overdue: 5000000, items: [], total: 12, limit: 1, offset: 0 });
    if (url.startsWith("/api/payments?")) {
      return json(200, page([{ id: "p1", student_id: "s", student_name: "Advait Sen", admission_number: "x", receipt_number: 1, receipt_label: "R1", amount: 1000000, refunded: 0, method: "upi", reference: "U", received_on: "2026-11-26", created_at: "", receipt_ready: true }]));
    }
    return undefined;
  });
  renderApp("/");
  expect(await screen.findByTestId("collection-summary", undefined, { timeout: 5000 })).toHaveTextContent("₹25,000 collected of ₹75,000 due");
  expect(screen.getByRole("img", { name: /Collected against due this month: Collected ₹25K, Still due ₹50K/ })).toBeInTheDocument();
  expect(await screen.findByRole("link", { name: "12 students with overdue fees (₹50,000)" })).toHaveAttribute("href", "/invoices?overdue=1");
  expect(screen.getByRole("link", { name: "Advait Sen" })).toHaveAttribute("href", "/payments/p1");
  expect(asked.some((url) => /by-class\?from=\d{4}-\d{2}-01&to=/.test(url))).toBe(true);
});
