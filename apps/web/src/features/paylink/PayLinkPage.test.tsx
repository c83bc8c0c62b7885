import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { apiError, json } from "../../test/http";
import { renderApp } from "../../test/renderApp";
import * as checkout from "../payments/checkout";

const LINK = {
  school_name: "Green Valley Public School",
  student_first_name: "Aarav",
  invoice_number: "INV-2026-27-000001",
  instalment: "Quarter 3",
  due_on: "2026-10-10",
  status: "issued",
  lines: [{ description: "Tuition fee", amount: 1500000, concession: 150000 }],
  total: 1350000,
  paid: 0,
  balance: 1350000,
  payable: true,
};

function stub(answer: (url: string, init: RequestInit) => Response | undefined) {
  const mock = vi.fn((input: RequestInfo | URL, init: RequestInit = {}) =>
    Promise.resolve(answer(String(input), init) ?? apiError(404, "not_found")),
  );
  vi.stubGlobal("fetch", mock);
  return mock;
}

afterEach(() => checkout.clearPendingOrder());

describe("the pay-by-link page", () => {
  it("shows only that invoice and pays it without signing in", async () => {
    const fetch = stub((url, init) => {
      if (url === "/billing/pay/tok123") return json(200, LINK);
      if (url === "/billing/pay/tok123/order" && init.method === "POST") return json(201, { id: "ord-1", checkout_url: "/x", allocations: [], amount: 1350000 });
      return undefined;
    });
    const open = vi.spyOn(checkout, "openCheckout").mockResolvedValue({ kind: "redirected" });
    const user = userEvent.setup();
    renderApp("/pay/tok123");
    expect(await screen.findByRole("heading", { name: "Fees for Aarav" }, { timeout: 5000 })).toBeInTheDocument();
    expect(screen.getByTestId("pay-link-balance")).toHaveTextContent("₹13,500");
    expect(screen.getByText("₹1,500 concession", { exact: false })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Pay ₹13,500" }));
    expect(open).toHaveBeenCalled();
    // No token was sent: the link is the only key.
    for (const [, init] of fetch.mock.calls) expect(new Headers(init?.headers).get("Authorization")).toBeNull();
  });

  it("says a wrong link does not work", async () => {
    stub((url) => (url === "/billing/pay/bad" ? apiError(404, "pay_link_not_found") : undefined));
    renderApp("/pay/bad");
    expect(await screen.findByRole("heading", { name: "This pay link does not work" }, { timeout: 5000 })).toBeInTheDocument();
  });

  it("back from checkout, waits until the invoice shows paid", async () => {
    let polls = 0;
    stub((url) => {
      if (url !== "/billing/pay/tok123") return undefined;
      polls += 1;
      return json(200, polls < 2 ? LINK : { ...LINK, status: "paid", paid: 1350000, balance: 0, payable: false });
    });
    renderApp("/pay/tok123?razorpay_payment_id=pay_1&razorpay_order_id=order_1&razorpay_signature=s");
    expect(await screen.findByText("Confirming your payment with the bank…", undefined, { timeout: 5000 })).toBeInTheDocument();
    expect(await screen.findByText(/This invoice is paid/, undefined, { timeout: 4000 })).toBeInTheDocument();
  });
});
