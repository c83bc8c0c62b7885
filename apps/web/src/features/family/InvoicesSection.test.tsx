import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { forgetSession, startSession } from "../../api";
import { acknowledgeSessionEnd } from "../../session";
import { json, TOKENS } from "../../test/http";
import { meFor, renderApp, stubApi } from "../../test/renderApp";
import { BUILTIN_ROLE_PERMISSIONS } from "../../test/roles";
import { invoice, page } from "../invoices/testData";
import type { Order } from "../payments/api";
import * as checkout from "../payments/checkout";

const PARENT = meFor(["parent"], BUILTIN_ROLE_PERMISSIONS.parent, {
  user: { id: "u-5", name: "Vikram Singh", phone: "+919800000005", preferred_language: "en" },
  children: [
    { id: "c-1", name: "Aarav Singh", class_name: "3", section_name: "B" },
    { id: "c-2", name: "Diya Singh", class_name: "7", section_name: "A" },
  ],
});

function order(status: Order["status"]): Order {
  return {
    id: "ord-1",
    provider: "razorpay",
    provider_order_id: "order_ABC",
    status,
    amount: 1500000,
    currency: "INR",
    key_id: "rzp_test_fake",
    checkout_url: "/_dev/razorpay/checkout/order_ABC?callback_url=%2F",
    allocations: [{ invoice_id: "inv-1", student_id: "c-1", amount: 1500000 }],
    created_at: "2026-11-26T04:00:00Z",
    settled_at: null,
  };
}

function stubFamily({ paid = false, numbered = true, orderStatus = "created" as Order["status"] } = {}) {
  const calls = { orders: [] as unknown[], orderPolls: 0 };
  stubApi(PARENT, (url, init) => {
    if (url.startsWith("/api/invoices?student_id=c-1")) {
      return json(200, page(paid ? [invoice({ status: "paid", paid: 1500000, balance: 0 })] : [invoice()]));
    }
    if (url.startsWith("/api/invoices?student_id=c-2")) {
      return json(200, page([invoice({ id: "inv-9", student_id: "c-2", student_name: "Diya Singh", number: "INV-2026-27-000009", balance: 900000, total: 900000 })]));
    }
    if (url.startsWith("/api/payments?")) {
      return json(
        200,
        page(
          paid
            ? [{ id: "pay-1", student_id: "c-1", student_name: "Aarav Singh", admission_number: "x", receipt_number: numbered ? 1 : null, receipt_label: numbered ? "GV/2026-27/000001" : null, amount: 1500000, refunded: 0, method: "razorpay", reference: null, received_on: "2026-11-26", created_at: "2026-11-26T05:00:00Z", receipt_ready: true }]
            : [],
        ),
      );
    }
    if (url === "/billing/orders" && init.method === "POST") {
      calls.orders.push(JSON.parse(String(init.body)));
      return json(201, order("created"));
    }
    if (url === "/billing/orders/ord-1") {
      calls.orderPolls += 1;
      return json(200, order(orderStatus));
    }
    if (url.startsWith("/api/attendance/reports/students/")) {
      return json(200, { student_id: "c-1", name: "Aarav Singh", month: "2026-11", school_days: 0, marked: 0, present: 0, percent: null, days: [] });
    }
    if (url.startsWith("/api/calendar?")) return json(200, { weekly_offs: ["sun"], holidays: [] });
    if (url.startsWith("/api/leave-applications")) return json(200, page([]));
    return undefined;
  });
  return calls;
}

beforeEach(() => startSession(TOKENS));
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
  checkout.clearPendingOrder();
});

describe("a parent's fees", () => {
  it("shows what is due with a Pay button that starts checkout for that invoice", async () => {
    const calls = stubFamily();
    const open = vi.spyOn(checkout, "openCheckout").mockResolvedValue({ kind: "redirected" });
    const user = userEvent.setup();
    renderApp("/children/c-1");
    const fees = await screen.findByRole("region", { name: "Fees" }, { timeout: 5000 });
    expect(await within(fees).findByText("Due now: ₹15,000", undefined, { timeout: 5000 })).toBeInTheDocument();
    await user.click(within(fees).getByRole("button", { name: "Pay ₹15,000" }));
    expect(calls.orders).toEqual([{ invoice_ids: ["inv-1"] }]);
    expect(open).toHaveBeenCalledWith(expect.objectContaining({ id: "ord-1" }), { schoolName: PARENT.school.name });
    expect(await within(fees).findByText("Opening the payment page…")).toBeInTheDocument();
  });

  it("switching child shows that child's invoices", async () => {
    stubFamily();
    const user = userEvent.setup();
    renderApp("/children/c-1");
    await screen.findByText("Due now: ₹15,000", undefined, { timeout: 5000 });
    await user.click(screen.getByRole("link", { name: /Diya Singh/ }));
    expect(await screen.findByText("Due now: ₹9,000", undefined, { timeout: 5000 })).toBeInTheDocument();
  });

  it("back from checkout, waits for the bank and then shows the receipt", async () => {
    stubFamily({ paid: true, orderStatus: "paid" });
    checkout.rememberPendingOrder(order("created"));
    renderApp("/children/c-1");
    expect(await screen.findByText("Payment of ₹15,000 received. Thank you! Your receipt is below.", undefined, { timeout: 5000 })).toBeInTheDocument();
    expect(await screen.findByText("Nothing is due for Aarav Singh. Thank you!")).toBeInTheDocument();
    const receipt = await screen.findByTestId("receipt-row");
    expect(within(receipt).getByRole("button", { name: "Receipt" })).toBeInTheDocument();
    expect(checkout.pendingOrder()).toBeNull();
  });

  it("lists a receipt still being numbered as such, with its download", async () => {
    stubFamily({ paid: true, numbered: false });
    renderApp("/children/c-1");
    const waiting = await screen.findByTestId("receipt-row", undefined, { timeout: 5000 });
    expect(within(waiting).getByText(/number on its way/)).toBeInTheDocument();
    expect(within(waiting).getByRole("button", { name: "Receipt" })).toBeEnabled();
  });

  it("shows a numbered receipt's number", async () => {
    stubFamily({ paid: true });
    renderApp("/children/c-1");
    const numbered = await screen.findByTestId("receipt-row", undefined, { timeout: 5000 });
    expect(within(numbered).getByText(/GV\/2026-27\/000001/)).toBeInTheDocument();
  });

  it("says plainly when the payment failed", async () => {
    stubFamily({ orderStatus: "failed" });
    checkout.rememberPendingOrder(order("created"));
    renderApp("/children/c-1");
    expect(await screen.findByText("The payment did not go through and no money was taken. You can try again.", undefined, { timeout: 5000 })).toBeInTheDocument();
  });
});
