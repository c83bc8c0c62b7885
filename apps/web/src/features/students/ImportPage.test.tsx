import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it } from "vitest";

import { forgetSession, startSession } from "../../api";
import { acknowledgeSessionEnd } from "../../session";
import { BUILTIN_ROLE_PERMISSIONS } from "../../test/roles";
import { json, TOKENS } from "../../test/http";
import { meFor, renderApp, stubApi } from "../../test/renderApp";

afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

it("imports a clean file as a job and shows its progress until it is done", async () => {
  startSession(TOKENS);
  const polls = [
    { status: "running", total: 400, done: 100, percent: 25 },
    { status: "done", total: 400, done: 400, percent: 100 },
  ];
  stubApi(meFor(["admin"], BUILTIN_ROLE_PERMISSIONS.admin), (url) => {
    if (url === "/api/students/import/preview") return json(200, { rows: 400, valid: 400, errors: [], columns: [], sample: [] });
    if (url === "/api/students/import") return json(202, { job_id: "job-1", rows: 400, status_url: "/api/jobs/job-1" });
    if (url === "/api/jobs/job-1") {
      const poll = polls.length > 1 ? polls.shift()! : polls[0];
      return json(200, { id: "job-1", kind: "students.import", message: null, result: null, error: null, created_at: "", finished_at: null, ...poll });
    }
    return undefined;
  });
  const user = userEvent.setup();
  renderApp("/students/import");
  await user.upload(await screen.findByLabelText("Spreadsheet (.csv or .xlsx)"), new File(["x"], "roster.xlsx"));
  expect(await screen.findByText("All 400 rows are ready to import.")).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Import 400 students" }));
  const bar = await screen.findByRole("progressbar");
  expect(await screen.findByText("100 of 400 done (25%)")).toBeInTheDocument();
  expect(bar).toHaveAttribute("aria-valuenow", "25");
  expect(await screen.findByText("Finished.", {}, { timeout: 3000 })).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "See the students" })).toBeInTheDocument();
});
