import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { forgetSession, startSession } from "../../api";
import { acknowledgeSessionEnd } from "../../session";
import { BUILTIN_ROLE_PERMISSIONS } from "../../test/roles";
import { json, TOKENS } from "../../test/http";
import { meFor, renderApp, stubApi, TEACHER } from "../../test/renderApp";

const ADMIN = meFor(["admin"], BUILTIN_ROLE_PERMISSIONS.admin);

function student(n: number) {
  return {
    id: `st-${n}`,
    admission_number: `GV/2026/${String(n).padStart(4, "0")}`,
    name: `Student ${n}`,
    date_of_birth: "2014-05-01",
    gender: "female",
    category: "general",
    status: "active",
    class_id: "c-6",
    class_name: "6",
    section_id: "sec-6a",
    section_name: "A",
    roll_number: n,
    primary_guardian: { id: `g-${n}`, name: `Parent ${n}`, phone: "+919812345678" },
    has_photo: false,
  };
}

function stubStudents(me = ADMIN) {
  const asked: string[] = [];
  const mock = stubApi(me, (url, init) => {
    if (url.startsWith("/api/students?")) {
      asked.push(url);
      const params = new URL(url, "http://x").searchParams;
      const offset = Number(params.get("offset"));
      const q = params.get("q");
      const all = q ? [student(7)] : Array.from({ length: 120 }, (_, i) => student(i + 1));
      return json(200, { items: all.slice(offset, offset + 50), total: all.length, limit: 50, offset });
    }
    if (url === "/api/classes") return json(200, [{ id: "c-6", name: "6", sequence: 9 }]);
    if (url === "/api/sections") return json(200, []);
    if (url === "/api/students/import/preview" && init.method === "POST") {
      return json(200, {
        rows: 3,
        valid: 1,
        columns: ["admission_number", "name"],
        sample: [],
        errors: [
          { row: 2, column: "date_of_birth", reason: "not a date (use YYYY-MM-DD)", value: "31/02/2015" },
          { row: 4, column: "guardian1_phone", reason: "not a mobile number", value: "12345" },
        ],
      });
    }
    return undefined;
  });
  return { asked, mock };
}

beforeEach(() => startSession(TOKENS));
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

describe("the students list", () => {
  it("shows a page of 50 with class, guardian and a way to the next page", async () => {
    const { asked } = stubStudents();
    const user = userEvent.setup();
    renderApp("/students");
    expect(await screen.findByText("120 students")).toBeInTheDocument();
    expect(screen.getAllByTestId("student-row")).toHaveLength(50);
    const first = screen.getAllByTestId("student-row")[0];
    expect(within(first).getByRole("link", { name: "Student 1" })).toHaveAttribute("href", "/students/st-1");
    expect(first).toHaveTextContent("6-A");
    expect(first).toHaveTextContent("+91 98123 45678");
    expect(screen.getByText("1–50 of 120")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("51–100 of 120")).toBeInTheDocument();
    expect(asked.at(-1)).toContain("offset=50");
  });

  it("searches once the typing pauses, with one request for the words typed", async () => {
    const { asked } = stubStudents();
    const user = userEvent.setup();
    renderApp("/students");
    await screen.findByText("120 students");
    await user.type(screen.getByLabelText("Search"), "Student 7");
    await waitFor(() => expect(asked.at(-1)).toContain("q=Student+7"));
    expect(await screen.findByText("1 students")).toBeInTheDocument();
    expect(asked.filter((url) => url.includes("q="))).toHaveLength(1);
  });

  it("offers adding, importing and promotion only to those who may change records", async () => {
    stubStudents(TEACHER);
    renderApp("/students");
    await screen.findByText("120 students");
    expect(screen.queryByRole("link", { name: "Add a student" })).not.toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Import from a spreadsheet" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Download CSV" })).toBeInTheDocument();
  });

  it("refuses the import page to a teacher", async () => {
    stubStudents(TEACHER);
    renderApp("/students/import");
    expect(await screen.findByRole("heading", { name: "You cannot open this page" })).toBeInTheDocument();
  });
});

describe("importing a spreadsheet", () => {
  it("lists every bad row with its column and reason, and offers no import until they are fixed", async () => {
    const { mock } = stubStudents();
    const user = userEvent.setup();
    renderApp("/students/import");
    const file = new File(["admission_number,name\n"], "roster.csv", { type: "text/csv" });
    await user.upload(await screen.findByLabelText("Spreadsheet (.csv or .xlsx)"), file);
    expect(await screen.findByText(/2 of 3 rows need fixing/)).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "Problems found: 2" });
    expect(within(table).getAllByRole("row")).toHaveLength(3); // header + 2
    expect(table).toHaveTextContent("date_of_birth");
    expect(table).toHaveTextContent("not a date (use YYYY-MM-DD)");
    expect(table).toHaveTextContent("31/02/2015");
    expect(table).toHaveTextContent("guardian1_phone");
    expect(screen.queryByRole("button", { name: /^Import \d+ students$/ })).not.toBeInTheDocument();
    const upload = mock.mock.calls.find(([url]) => String(url) === "/api/students/import/preview");
    expect(upload?.[1]?.body).toBeInstanceOf(FormData);
    expect((upload?.[1]?.headers as Record<string, string>)["Content-Type"]).toBeUndefined();
  });
});
