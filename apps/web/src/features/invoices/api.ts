/** Invoices: /api/invoices (list, detail, generation preview and run, cancel, write-off, PDF). */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";

import { api } from "../../api";
import { saveFile } from "../../download";
import type { Page } from "../fees/api";

export type InvoiceStatus = "draft" | "issued" | "partially_paid" | "paid" | "cancelled" | "written_off";
export const INVOICE_STATUSES: readonly InvoiceStatus[] = ["issued", "partially_paid", "paid", "cancelled", "written_off", "draft"];
/** Statuses that still owe money and may be paid, cancelled or written off. */
export const OPEN_STATUSES: readonly string[] = ["issued", "partially_paid"];

export interface Invoice {
  id: string;
  number: string;
  student_id: string;
  student_name: string;
  admission_number: string;
  section_id: string | null;
  section_label: string | null;
  instalment_id: string;
  instalment_name: string;
  due_on: string;
  status: InvoiceStatus;
  subtotal: number;
  concession: number;
  late_fee: number;
  total: number;
  paid: number;
  adjusted: number;
  balance: number;
  issued_at: string | null;
  status_reason: string | null;
}

export interface InvoiceLine {
  id: string;
  kind: string;
  head_id: string | null;
  description: string;
  amount: number;
  concession: number;
}

export interface LedgerEntry {
  id: number;
  kind: string;
  /** Signed paise: positive owed, negative credited. */
  amount: number;
  payment_id: string | null;
  memo: string | null;
  created_at: string;
}

export interface InvoiceDetail extends Invoice {
  lines: InvoiceLine[];
  entries: LedgerEntry[];
}

export interface InvoiceFilters {
  status?: InvoiceStatus;
  class_id?: string;
  section_id?: string;
  student_id?: string;
  instalment_id?: string;
  overdue?: boolean;
  offset?: number;
  limit?: number;
}

export type InvoiceScope = { student_id: string } | { section_id: string } | { class_id: string } | { school: true };

export interface GenerationPreview {
  count: number;
  total: number;
  concession: number;
  already_invoiced: number;
}

export interface GenerationStarted {
  job_id: string;
  status_url: string;
  preview: GenerationPreview;
}

export const INVOICE_PAGE_SIZE = 50;

export function searchString(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const invoicesQuery = (filters: InvoiceFilters) =>
  queryOptions({
    queryKey: ["invoices", "list", filters],
    queryFn: ({ signal }) =>
      api<Page<Invoice>>(
        `/api/invoices${searchString({ ...filters, limit: filters.limit ?? INVOICE_PAGE_SIZE, offset: filters.offset ?? 0 })}`,
        { signal },
      ),
    placeholderData: keepPreviousData,
  });

export const invoiceQuery = (invoiceId: string) =>
  queryOptions({
    queryKey: ["invoices", "detail", invoiceId],
    queryFn: ({ signal }) => api<InvoiceDetail>(`/api/invoices/${invoiceId}`, { signal }),
  });

export function previewInvoices(body: { instalment_id: string; scope: InvoiceScope }) {
  return api<GenerationPreview>("/api/invoices/preview", { method: "POST", body });
}

export function generateInvoices(body: { instalment_id: string; scope: InvoiceScope }, idempotencyKey: string) {
  return api<GenerationStarted>("/api/invoices/generate", {
    method: "POST",
    body,
    headers: { "Idempotency-Key": idempotencyKey },
  });
}

export function cancelInvoice(invoiceId: string, reason: string) {
  return api<InvoiceDetail>(`/api/invoices/${invoiceId}/cancel`, { method: "POST", body: { reason } });
}

export function writeOffInvoice(invoiceId: string, reason: string) {
  return api<InvoiceDetail>(`/api/invoices/${invoiceId}/write-off`, { method: "POST", body: { reason } });
}

export async function downloadInvoicePdf(invoice: { id: string; number: string }): Promise<void> {
  const blob = await api<Blob>(`/api/invoices/${invoice.id}/invoice.pdf`, { read: "blob" });
  saveFile(blob, `invoice-${invoice.number.replace(/[^\w.-]+/g, "-")}.pdf`);
}

export function isOpen(invoice: Pick<Invoice, "status" | "balance">): boolean {
  return OPEN_STATUSES.includes(invoice.status) && invoice.balance > 0;
}

/** Past its due date with money still owed, on the school's `today`. */
export function isOverdue(invoice: Pick<Invoice, "status" | "balance" | "due_on">, today: string): boolean {
  return isOpen(invoice) && invoice.due_on < today;
}
