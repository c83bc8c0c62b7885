import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { forgetSession, startSession } from "../../api";
import { todayIn } from "../../format";
import { acknowledgeSessionEnd } from "../../session";
import { apiError, json, TOKENS } from "../../test/http";
import { renderApp, stubApi, TEACHER } from "../../test/renderApp";

const TODAY = todayIn("Asia/Kolkata");
const SCHOOL = { id: "sch-1", code: "demo", name: "Green Valley", timezone: "Asia/Kolkata", address: null, phone: null, email: null };
const CODES = [
  { code: "P", label: "Present", counts_as_present: true, alerts_guardians: false, sort_order: 1, is_active: true },
  { code: "A", label: "Absent", counts_as_present: false, alerts_guardians: true, sort_order: 2, is_active: true },
  { code: "L", label: "Late", counts_as_present: true, alerts_guardians: false, sort_order: 3, is_active: true },
];
const student = (n: number, name: string) => ({
  student_id: `st-${n}`,
  roll_number: n,
  name,
  admission_number: `GV/${n}`,
  code: null as string | null,
  counts_as_present: null,
});
const REGISTER = {
  section_id: "sec-6a",
  section_label: "6-A",
  date: TODAY,
  period: null,
  closed_reason: null as string | null,
  rows: [student(1, "Aarav Sharma"), student(2, "Diya Patel"), student(3, "Kabir Singh")],
  counts: {},
  not_marked: 3,
};

interface Sent {
  body: { marks: { student_id: string; code: string }[] };
  key: string | undefined;
}

/** A server that keeps what it was sent, so the register read back after saving has the marks. */
function stubRegister(register: typeof REGISTER = REGISTER, answer?: () => Response) {
  const sent: Sent[] = [];
  let stored = register;
  stubApi(TEACHER, (url, init) => {
    if (url === "/api/school") return json(200, SCHOOL);
    if (url === "/api/attendance/codes") return json(200, CODES);
    if (url.startsWith("/api/attendance/register?")) return json(200, stored);
    if (url === "/api/attendance/bulk") {
      const headers = init.headers as Record<string, string>;
      const body = JSON.parse(String(init.body)) as Sent["body"];
      sent.push({ body, key: headers["Idempotency-Key"] });
      if (answer) return answer();
      const codes = new Map(body.marks.map((m) => [m.student_id, m.code]));
      stored = { ...stored, rows: stored.rows.map((r) => ({ ...r, code: codes.get(r.student_id) ?? r.code })) } as typeof REGISTER;
      return json(200, { section_id: "sec-6a", date: TODAY, period: null, marked: 3, changed: 3, counts: {}, on_leave: 0, alerts_queued: 1, alerts_cancelled: 0 });
    }
    return undefined;
  });
  return sent;
}

beforeEach(() => startSession(TOKENS));
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

describe("marking a section", () => {
  it("has everyone present until a tap marks a child absent, then sends the register once with an Idempotency-Key", async () => {
    const sent = stubRegister();
    const user = userEvent.setup();
    renderApp(`/attendance/sec-6a?date=${TODAY}`);
    expect(await screen.findByRole("heading", { level: 1, name: "Attendance 6-A" })).toBeInTheDocument();
    expect(screen.getByText(/3 present, 0 not present/)).toBeInTheDocument();

    const diya = screen.getByRole("button", { name: /Diya Patel/ });
    expect(diya).toHaveAttribute("aria-pressed", "false");
    await user.click(diya);
    expect(diya).toHaveAttribute("aria-pressed", "true");
    expect(within(diya).getByText("Absent")).toBeInTheDocument();
    expect(screen.getByText(/2 present, 1 not present · not saved yet/)).toBeInTheDocument();

    const save = screen.getByRole("button", { name: "Save attendance (3 students)" });
    await user.click(save);
    expect(await screen.findByText(/saved at/)).toBeInTheDocument();
    expect(screen.getByText("WhatsApp alerts will go to the parents of 1 absent children.")).toBeInTheDocument();
    expect(sent).toHaveLength(1);
    expect(sent[0].body.marks).toEqual([
      { student_id: "st-1", code: "P" },
      { student_id: "st-2", code: "A" },
      { student_id: "st-3", code: "P" },
    ]);
    expect(sent[0].key).toMatch(/^[0-9a-f-]{32,36}$/);

    // Sending the same marks again is the same submission: same key, harmless.
    await user.click(save);
    expect(sent).toHaveLength(2);
    expect(sent[1].key).toBe(sent[0].key);

    // A changed register is a new submission with a new key.
    await user.click(screen.getByRole("button", { name: /Kabir Singh/ }));
    await user.click(save);
    expect(sent[2].key).not.toBe(sent[0].key);
  });

  it("works from the keyboard: arrows move between children, A and P mark them", async () => {
    stubRegister();
    const user = userEvent.setup();
    renderApp(`/attendance/sec-6a?date=${TODAY}`);
    const aarav = await screen.findByRole("button", { name: /Aarav Sharma/ });
    aarav.focus();
    await user.keyboard("{ArrowDown}");
    const diya = screen.getByRole("button", { name: /Diya Patel/ });
    expect(diya).toHaveFocus();
    await user.keyboard("a");
    expect(diya).toHaveAttribute("aria-pressed", "true");
    await user.keyboard("p");
    expect(diya).toHaveAttribute("aria-pressed", "false");
    await user.keyboard(" ");
    expect(diya).toHaveAttribute("aria-pressed", "true");
  });

  it("offers the school's other codes beside each name", async () => {
    const sent = stubRegister();
    const user = userEvent.setup();
    renderApp(`/attendance/sec-6a?date=${TODAY}`);
    await user.selectOptions(await screen.findByRole("combobox", { name: "Mark for Kabir Singh" }), "L");
    await user.click(screen.getByRole("button", { name: /Save attendance/ }));
    await screen.findByText(/saved at/);
    expect(sent[0].body.marks[2]).toEqual({ student_id: "st-3", code: "L" });
  });

  it("says the school is closed instead of offering a register", async () => {
    stubRegister({ ...REGISTER, closed_reason: "Sunday" });
    renderApp(`/attendance/sec-6a?date=${TODAY}`);
    expect(await screen.findByText("The school is closed on this day (Sunday). No attendance is taken.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Save attendance/ })).not.toBeInTheDocument();
  });

  it("explains a refusal in the school's words and keeps the marks", async () => {
    stubRegister(REGISTER, () => apiError(403, "edit_window_closed", "too long ago"));
    const user = userEvent.setup();
    renderApp(`/attendance/sec-6a?date=${TODAY}`);
    await user.click(await screen.findByRole("button", { name: /Diya Patel/ }));
    await user.click(screen.getByRole("button", { name: /Save attendance/ }));
    expect(await screen.findByRole("alert")).toHaveTextContent("This day is too long ago to change.");
    expect(screen.getByRole("button", { name: /Diya Patel/ })).toHaveAttribute("aria-pressed", "true");
  });
});
