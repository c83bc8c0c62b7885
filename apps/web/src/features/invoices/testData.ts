/** Invoices and pages as the API answers them, for the fee screens' tests. */
import type { Invoice } from "./api";

export function invoice(overrides: Partial<Invoice> = {}): Invoice {
  return {
    id: "inv-1",
    number: "INV-2026-27-000001",
    student_id: "c-1",
    student_name: "Aarav Singh",
    admission_number: "GV/2023/00001",
    section_id: "sec-3b",
    section_label: "3-B",
    instalment_id: "q3",
    instalment_name: "Quarter 3",
    due_on: "2099-10-10",
    status: "issued",
    subtotal: 1500000,
    concession: 0,
    late_fee: 0,
    total: 1500000,
    paid: 0,
    adjusted: 0,
    balance: 1500000,
    issued_at: "2026-10-01T04:00:00Z",
    status_reason: null,
    ...overrides,
  };
}

export function page<T>(items: T[]) {
  return { items, total: items.length, limit: 50, offset: 0 };
}
