import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { forgetSession, startSession } from "../../api";
import { acknowledgeSessionEnd } from "../../session";
import { apiError, json, TOKENS } from "../../test/http";
import { meFor, renderApp, stubApi } from "../../test/renderApp";
import { BUILTIN_ROLE_PERMISSIONS } from "../../test/roles";
import { invoice, page } from "../invoices/testData";
import { checkCounterForm } from "./CounterPaymentPage";

const ACCOUNTANT = meFor(["accountant"], BUILTIN_ROLE_PERMISSIONS.accountant, {
  user: { id: "u-3", name: "Meena Gupta", phone: "+919800000003", preferred_language: "en" },
});
const STUDENT = {
  id: "c-1",
  admission_number: "GV/2023/00001",
  name: "Aarav Singh",
  status: "active",
  class_name: "3",
  section_name: "B",
  guardians: [],
  enrolments: [],
};

beforeEach(() => startSession(TOKENS));
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

describe("checking the counter form", () => {
  const form = {
    student: { id: "c-1", name: "A", admission_number: "1", class_section: null },
    amount: "1500",
    method: "cash" as const,
    reference: "",
    receivedOn: "2026-11-26",
    invoiceIds: [],
  };
  it("needs a reference except for cash, an amount, and no future date", () => {
    expect(checkCounterForm(form, "2026-11-26")).toEqual([]);
    expect(checkCounterForm({ ...form, method: "upi" }, "2026-11-26")).toEqual(["reference"]);
    expect(checkCounterForm({ ...form, amount: "0" }, "2026-11-26")).toEqual(["amount"]);
    expect(checkCounterForm({ ...form, receivedOn: "2026-11-27" }, "2026-11-26")).toEqual(["date"]);
    expect(checkCounterForm({ ...form, student: null }, "2026-11-26")).toEqual(["student"]);
  });
});

describe("recording a counter payment", () => {
  it("pays the chosen invoice once, even on a double tap, and shows the receipt", async () => {
    const posts: { body: unknown; key: string | null }[] = [];
    stubApi(ACCOUNTANT, (url, init) => {
      if (url === "/api/students/c-1") return json(200, STUDENT);
      if (url.startsWith("/api/invoices?")) {
        return json(200, page([invoice(), invoice({ id: "inv-0", number: "INV-2026-27-000000", instalment_name: "Quarter 2", due_on: "2026-07-10", balance: 50000, total: 1500000, paid: 1450000, status: "partially_paid" })]));
      }
      if (url === "/api/payments" && init.method === "POST") {
        posts.push({ body: JSON.parse(String(init.body)), key: new Headers(init.headers).get("Idempotency-Key") });
        return json(201, {
          payment_id: "pay-1",
          student_id: "c-1",
          receipt_number: 1,
          receipt_label: "GV/2026-27/000001",
          amount: 1500000,
          allocations: [{ invoice_id: "inv-1", invoice_number: "INV-2026-27-000001", amount: 1500000 }],
          advance: 0,
        });
      }
      return undefined;
    });
    const user = userEvent.setup();
    renderApp("/payments/new?student=c-1&invoice=inv-1");

    expect(await screen.findByText("Aarav Singh", undefined, { timeout: 5000 })).toBeInTheDocument();
    const ticks = await screen.findAllByRole("checkbox");
    expect(ticks).toHaveLength(2);
    expect(screen.getByRole("checkbox", { name: /Quarter 3/ })).toBeChecked();
    // The amount follows the ticked invoice: ₹15,000.
    expect(screen.getByLabelText("Amount")).toHaveValue("15000");

    await user.click(screen.getByRole("radio", { name: "UPI" }));
    await user.click(screen.getByRole("button", { name: "Record ₹15,000" }));
    expect(await screen.findByText("Enter the reference number: it is printed on the receipt.")).toBeInTheDocument();
    expect(posts).toHaveLength(0);

    await user.type(screen.getByLabelText("UPI reference number"), "UTR123");
    const record = screen.getByRole("button", { name: "Record ₹15,000" });
    await user.dblClick(record);

    const receipt = await screen.findByRole("region", { name: "Receipt GV/2026-27/000001" });
    expect(within(receipt).getByText("Towards INV-2026-27-000001")).toBeInTheDocument();
    expect(within(receipt).getByRole("button", { name: "Download receipt (PDF)" })).toBeInTheDocument();
    expect(posts[0].body).toEqual({
      student_id: "c-1",
      amount: 1500000,
      method: "upi",
      reference: "UTR123",
      received_on: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      invoice_ids: ["inv-1"],
    });
    // Whatever reached the server carried one key: a repeat is answered, not recorded.
    expect(new Set(posts.map((p) => p.key)).size).toBe(1);
    expect(posts[0].key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("says in words why the server refused", async () => {
    stubApi(ACCOUNTANT, (url, init) => {
      if (url === "/api/students/c-1") return json(200, STUDENT);
      if (url.startsWith("/api/invoices?")) return json(200, page([invoice()]));
      if (url === "/api/payments" && init.method === "POST") return apiError(422, "received_in_future", "received_on is in the future");
      return undefined;
    });
    const user = userEvent.setup();
    renderApp("/payments/new?student=c-1");
    await user.click(await screen.findByRole("button", { name: "Record ₹15,000" }, { timeout: 5000 }));
    expect(await screen.findByText("The date received cannot be in the future.")).toBeInTheDocument();
  });

  it("is not offered to someone who cannot take money", async () => {
    stubApi(meFor(["principal"], BUILTIN_ROLE_PERMISSIONS.principal));
    renderApp("/payments/new");
    expect(await screen.findByRole("heading", { name: "You cannot open this page" })).toBeInTheDocument();
  });
});
