/**
 * Payments: counter payments and receipts on the api role (/api/payments), online
 * orders and pay links on the billing role (/billing/orders, /billing/pay/{token}).
 */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";

import { api } from "../../api";
import { saveFile } from "../../download";
import type { Page } from "../fees/api";
import { searchString } from "../invoices/api";

export type CounterMethod = "cash" | "cheque" | "upi" | "bank_transfer";
export const COUNTER_METHODS: readonly CounterMethod[] = ["cash", "upi", "cheque", "bank_transfer"];
export type PaymentMethod = CounterMethod | "razorpay" | "stripe";

export interface Allocation {
  invoice_id: string;
  invoice_number: string;
  amount: number;
}

export interface Receipt {
  payment_id: string;
  student_id: string;
  receipt_number: number;
  receipt_label: string;
  amount: number;
  allocations: Allocation[];
  advance: number;
}

export interface Payment {
  id: string;
  student_id: string;
  student_name: string;
  admission_number: string;
  /** null for a few seconds after an online payment, until it is numbered */
  receipt_number: number | null;
  receipt_label: string | null;
  amount: number;
  refunded: number;
  method: PaymentMethod;
  reference: string | null;
  received_on: string;
  created_at: string;
  receipt_ready: boolean;
}

export interface PaymentDetail extends Payment {
  allocations: Allocation[];
  advance: number;
}

export interface CounterPaymentInput {
  student_id: string;
  amount: number;
  method: CounterMethod;
  reference: string | null;
  received_on: string;
  invoice_ids: string[] | null;
}

export interface PaymentFilters {
  from?: string;
  to?: string;
  method?: PaymentMethod;
  student_id?: string;
  offset?: number;
  limit?: number;
}

export const PAYMENT_PAGE_SIZE = 50;

export const paymentsQuery = (filters: PaymentFilters) =>
  queryOptions({
    queryKey: ["payments", "list", filters],
    queryFn: ({ signal }) =>
      api<Page<Payment>>(
        `/api/payments${searchString({ ...filters, limit: filters.limit ?? PAYMENT_PAGE_SIZE, offset: filters.offset ?? 0 })}`,
        { signal },
      ),
    placeholderData: keepPreviousData,
  });

export const paymentQuery = (paymentId: string) =>
  queryOptions({
    queryKey: ["payments", "detail", paymentId],
    queryFn: ({ signal }) => api<PaymentDetail>(`/api/payments/${paymentId}`, { signal }),
  });

export function recordPayment(body: CounterPaymentInput, idempotencyKey: string) {
  return api<Receipt>("/api/payments", { method: "POST", body, headers: { "Idempotency-Key": idempotencyKey } });
}

export function refundPayment(paymentId: string, body: { amount: number; reason: string }, idempotencyKey: string) {
  return api<PaymentDetail>(`/api/payments/${paymentId}/refund`, {
    method: "POST",
    body,
    headers: { "Idempotency-Key": idempotencyKey },
  });
}

export async function downloadReceipt(payment: { id: string; label: string | null }): Promise<void> {
  const blob = await api<Blob>(`/api/payments/${payment.id}/receipt.pdf`, { read: "blob" });
  saveFile(blob, `receipt-${(payment.label ?? payment.id).replace(/[^\w.-]+/g, "-")}.pdf`);
}

// ---- online payment (billing role) ------------------------------------------------

export type OrderStatus = "created" | "paid" | "failed" | "flagged" | "expired";

export interface Order {
  id: string;
  provider: "razorpay" | "stripe";
  provider_order_id: string;
  status: OrderStatus;
  amount: number;
  currency: string;
  key_id: string | null;
  checkout_url: string | null;
  allocations: { invoice_id: string; student_id: string | null; amount: number }[];
  created_at: string;
  settled_at: string | null;
}

export function createOrder(invoiceIds: string[]) {
  return api<Order>("/billing/orders", { method: "POST", body: { invoice_ids: invoiceIds } });
}

export function verifyOrder(
  orderId: string,
  body: { razorpay_payment_id: string; razorpay_order_id: string; razorpay_signature: string },
) {
  return api<Order>(`/billing/orders/${orderId}/verify`, { method: "POST", body });
}

/** An order, polled every 1.5 s until the provider's answer settles it. */
export const orderQuery = (orderId: string) =>
  queryOptions({
    queryKey: ["billing", "order", orderId],
    queryFn: ({ signal }) => api<Order>(`/billing/orders/${orderId}`, { signal }),
    refetchInterval: (query) => (query.state.data && query.state.data.status !== "created" ? false : 1500),
    staleTime: 0,
  });

export interface PayLinkInvoice {
  school_name: string;
  student_first_name: string;
  invoice_number: string;
  instalment: string;
  due_on: string;
  status: string;
  lines: { description: string; amount: number; concession: number }[];
  total: number;
  paid: number;
  balance: number;
  payable: boolean;
}

export const payLinkQuery = (token: string, polling: boolean) =>
  queryOptions({
    queryKey: ["billing", "pay-link", token],
    queryFn: ({ signal }) => api<PayLinkInvoice>(`/billing/pay/${encodeURIComponent(token)}`, { signal, auth: "none" }),
    refetchInterval: (query) => (polling && query.state.data?.status !== "paid" ? 1500 : false),
    staleTime: 0,
  });

export function payLinkOrder(token: string) {
  return api<Order>(`/billing/pay/${encodeURIComponent(token)}/order`, { method: "POST", auth: "none" });
}
