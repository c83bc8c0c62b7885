/**
 * Sending a family to pay online, and knowing on the way back what they paid for.
 *
 * The billing role answers an order with what checkout needs:
 * - `checkout_url` (Stripe Checkout, or the fake Razorpay of a demo): the browser
 *   goes there in the same tab — on a phone a new tab or a popup is easy to lose —
 *   and comes back to the app afterwards;
 * - otherwise, for real Razorpay, `key_id` and the provider's order id: Razorpay
 *   Checkout opens over the page and hands us the signed result, which the server
 *   verifies.
 * Either way the provider's webhook is what credits the payment; the app only asks
 * the order (or the pay link) until it says paid. The order being paid is kept in
 * sessionStorage so the page the browser returns to can pick it up.
 */
import type { Order } from "./api";

export interface PendingOrder {
  orderId: string;
  invoiceIds: string[];
  amount: number;
  startedAt: number;
}

const PENDING_KEY = "erplake.pendingOrder";
/** After this long an unfinished order is forgotten (Razorpay expires them too). */
const PENDING_FOR_MS = 30 * 60_000;

export function rememberPendingOrder(order: Order, now: number = Date.now()): void {
  const pending: PendingOrder = {
    orderId: order.id,
    invoiceIds: order.allocations.map((a) => a.invoice_id),
    amount: order.amount,
    startedAt: now,
  };
  try {
    window.sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  } catch {
    /* storage disabled: the invoice list still refreshes on its own */
  }
}

export function pendingOrder(now: number = Date.now()): PendingOrder | null {
  try {
    const raw = window.sessionStorage.getItem(PENDING_KEY);
    if (!raw) return null;
    const pending = JSON.parse(raw) as PendingOrder;
    if (typeof pending.orderId !== "string" || now - pending.startedAt > PENDING_FOR_MS) {
      window.sessionStorage.removeItem(PENDING_KEY);
      return null;
    }
    return pending;
  } catch {
    return null;
  }
}

export function clearPendingOrder(): void {
  try {
    window.sessionStorage.removeItem(PENDING_KEY);
  } catch {
    /* nothing kept */
  }
}

export interface RazorpaySuccess {
  razorpay_payment_id: string;
  razorpay_order_id: string;
  razorpay_signature: string;
}

interface RazorpayOptions {
  key: string;
  order_id: string;
  amount: number;
  currency: string;
  name: string;
  description?: string;
  handler: (response: RazorpaySuccess) => void;
  modal?: { ondismiss?: () => void };
}

declare global {
  interface Window {
    Razorpay?: new (options: RazorpayOptions) => { open: () => void };
  }
}

const RAZORPAY_SCRIPT = "https://checkout.razorpay.com/v1/checkout.js";

function loadRazorpay(): Promise<void> {
  if (window.Razorpay) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = RAZORPAY_SCRIPT;
    script.async = true;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error("razorpay_unavailable"));
    document.head.append(script);
  });
}

export type CheckoutOutcome =
  | { kind: "redirected" }
  | { kind: "completed"; result: RazorpaySuccess }
  | { kind: "dismissed" };

/** Open checkout for an order; resolves when the family has left for it or finished it. */
export async function openCheckout(
  order: Order,
  { schoolName, go = (url) => window.location.assign(url) }: { schoolName: string; go?: (url: string) => void },
): Promise<CheckoutOutcome> {
  rememberPendingOrder(order);
  if (order.checkout_url) {
    go(order.checkout_url);
    return { kind: "redirected" };
  }
  if (order.provider === "razorpay" && order.key_id) {
    await loadRazorpay();
    const Razorpay = window.Razorpay!;
    return new Promise((resolve) => {
      new Razorpay({
        key: order.key_id!,
        order_id: order.provider_order_id,
        amount: order.amount,
        currency: order.currency,
        name: schoolName,
        handler: (result) => resolve({ kind: "completed", result }),
        modal: { ondismiss: () => resolve({ kind: "dismissed" }) },
      }).open();
    });
  }
  throw new Error("checkout_unavailable");
}
