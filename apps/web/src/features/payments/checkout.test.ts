import { afterEach, describe, expect, it, vi } from "vitest";

import type { Order } from "./api";
import { clearPendingOrder, openCheckout, pendingOrder } from "./checkout";

const ORDER: Order = {
  id: "ord-1",
  provider: "razorpay",
  provider_order_id: "order_ABC",
  status: "created",
  amount: 250000,
  currency: "INR",
  key_id: "rzp_test_x",
  checkout_url: null,
  allocations: [{ invoice_id: "inv-1", student_id: "c-1", amount: 250000 }],
  created_at: "2026-11-26T04:00:00Z",
  settled_at: null,
};

afterEach(() => {
  clearPendingOrder();
  delete window.Razorpay;
});

describe("opening checkout", () => {
  it("goes to the provider's page in the same tab and remembers the order for the way back", async () => {
    const go = vi.fn();
    const outcome = await openCheckout({ ...ORDER, checkout_url: "/_dev/razorpay/checkout/order_ABC?callback_url=x" }, { schoolName: "GVPS", go });
    expect(outcome).toEqual({ kind: "redirected" });
    expect(go).toHaveBeenCalledWith("/_dev/razorpay/checkout/order_ABC?callback_url=x");
    expect(pendingOrder()).toMatchObject({ orderId: "ord-1", invoiceIds: ["inv-1"], amount: 250000 });
  });

  it("opens Razorpay Checkout with the server's order and hands back its signed result", async () => {
    const seen: Record<string, unknown>[] = [];
    window.Razorpay = class {
      constructor(private options: { handler: (r: unknown) => void } & Record<string, unknown>) {
        seen.push(options);
      }
      open() {
        this.options.handler({ razorpay_payment_id: "pay_1", razorpay_order_id: "order_ABC", razorpay_signature: "sig" });
      }
    } as unknown as typeof window.Razorpay;
    const outcome = await openCheckout(ORDER, { schoolName: "GVPS" });
    expect(seen[0]).toMatchObject({ key: "rzp_test_x", order_id: "order_ABC", amount: 250000, currency: "INR", name: "GVPS" });
    expect(outcome).toEqual({
      kind: "completed",
      result: { razorpay_payment_id: "pay_1", razorpay_order_id: "order_ABC", razorpay_signature: "sig" },
    });
  });

  it("forgets an order nobody came back for", () => {
    const go = vi.fn();
    void openCheckout({ ...ORDER, checkout_url: "/x" }, { schoolName: "", go });
    expect(pendingOrder()).not.toBeNull();
    expect(pendingOrder(Date.now() + 31 * 60_000)).toBeNull();
    expect(pendingOrder()).toBeNull();
  });
});
