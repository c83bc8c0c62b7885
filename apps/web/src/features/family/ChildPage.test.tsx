import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { forgetSession, startSession } from "../../api";
import { todayIn } from "../../format";
import { acknowledgeSessionEnd } from "../../session";
import { BUILTIN_ROLE_PERMISSIONS } from "../../test/roles";
import { json, TOKENS } from "../../test/http";
import { meFor, renderApp, stubApi } from "../../test/renderApp";

const PARENT = meFor(["parent"], BUILTIN_ROLE_PERMISSIONS.parent, {
  user: { id: "u-5", name: "Vikram Singh", phone: "+919800000005", preferred_language: "en" },
  children: [
    { id: "c-1", name: "Aarav Singh", class_name: "3", section_name: "B" },
    { id: "c-2", name: "Diya Singh", class_name: "7", section_name: "A" },
  ],
});
const MONTH = todayIn("Asia/Kolkata").slice(0, 7);

function stubFamily() {
  const posted: unknown[] = [];
  const leaves: unknown[] = [];
  stubApi(PARENT, (url, init) => {
    if (url.startsWith("/api/attendance/reports/students/c-1?")) {
      return json(200, {
        student_id: "c-1",
        name: "Aarav Singh",
        month: MONTH,
        school_days: 2,
        marked: 2,
        present: 1,
        percent: 50,
        days: [
          { date: `${MONTH}-01`, period: 0, code: "P", counts_as_present: true },
          { date: `${MONTH}-02`, period: 0, code: "A", counts_as_present: false },
        ],
      });
    }
    if (url.startsWith("/api/calendar?")) return json(200, { weekly_offs: ["sun"], holidays: [] });
    // No invoices or receipts yet (the fees section then says what will appear).
    if (url.startsWith("/api/invoices?") || url.startsWith("/api/payments?")) return json(200, { items: [], total: 0, limit: 100, offset: 0 });
    if (url.startsWith("/api/leave-applications?")) return json(200, { items: leaves, total: leaves.length, limit: 100, offset: 0 });
    if (url === "/api/leave-applications" && init.method === "POST") {
      const body = JSON.parse(String(init.body)) as Record<string, string>;
      posted.push(body);
      const leave = { id: "lv-1", student_name: "Aarav Singh", status: "pending", decision_note: null, decided_at: null, days_marked: 0, created_at: "", ...body };
      leaves.push(leave);
      return json(201, leave);
    }
    return undefined;
  });
  return posted;
}

beforeEach(() => startSession(TOKENS));
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

describe("a parent's child page", () => {
  it("shows the month's attendance as a calendar with the percentage", async () => {
    stubFamily();
    renderApp("/children/c-1");
    expect(await screen.findByText("Present on 1 of 2 days (50%).")).toBeInTheDocument();
    const grid = screen.getByRole("table", { name: /Aarav Singh's attendance in/ });
    expect(within(grid).getByText(/: Absent$/)).toBeInTheDocument();
    expect(within(grid).getByText(/: Present$/)).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Open messages" })).toHaveAttribute("href", "/chat");
    expect(screen.getByText(/Fee invoices for Aarav Singh show here/)).toBeInTheDocument();
  });

  it("applies for leave and shows it waiting for the teacher", async () => {
    const posted = stubFamily();
    const user = userEvent.setup();
    renderApp("/children/c-1");
    expect(await screen.findByText("No leave applied for Aarav Singh yet.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Apply for leave" }));
    await user.type(screen.getByLabelText("Reason"), "Cousin's wedding");
    await user.click(screen.getByRole("button", { name: "Send to the class teacher" }));
    expect(await screen.findByText("Waiting for the teacher")).toBeInTheDocument();
    expect(posted[0]).toMatchObject({ student_id: "c-1", reason: "Cousin's wedding" });
  });

  it("gives a parent the chat link in the top bar", async () => {
    stubFamily();
    renderApp("/children/c-1");
    expect(await screen.findByRole("link", { name: "Chat" })).toHaveAttribute("href", "/chat");
  });
});
