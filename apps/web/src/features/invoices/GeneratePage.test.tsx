import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, expect, it } from "vitest";

import { forgetSession, startSession } from "../../api";
import { acknowledgeSessionEnd } from "../../session";
import { json, TOKENS } from "../../test/http";
import { meFor, renderApp, stubApi } from "../../test/renderApp";
import { BUILTIN_ROLE_PERMISSIONS } from "../../test/roles";
import { page } from "./testData";

beforeEach(() => startSession(TOKENS));
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

it("previews a class's invoices, then generates them as a job with progress", async () => {
  const bodies: unknown[] = [];
  let polls = 0;
  stubApi(meFor(["accountant"], BUILTIN_ROLE_PERMISSIONS.accountant), (url, init) => {
    if (url.startsWith("/api/fees/instalments")) return json(200, page([{ id: "q3", academic_year_id: "y", name: "Quarter 3", due_on: "2026-10-10" }]));
    if (url === "/api/classes") return json(200, [{ id: "cl-3", name: "3", sequence: 3 }]);
    if (url === "/api/sections") return json(200, []);
    if (url === "/api/invoices/preview") {
      bodies.push(JSON.parse(String(init.body)));
      return json(200, { count: 42, total: 63000000, concession: 150000, already_invoiced: 3 });
    }
    if (url === "/api/invoices/generate") {
      return json(202, { job_id: "job-1", status_url: "/api/jobs/job-1", preview: { count: 42, total: 63000000, concession: 150000, already_invoiced: 3 } });
    }
    if (url === "/api/jobs/job-1") {
      polls += 1;
      const done = polls > 1;
      return json(200, {
        id: "job-1", kind: "fees.generate_invoices", status: done ? "done" : "running", total: 42, done: done ? 42 : 10,
        percent: done ? 100 : 23, message: null, created_at: "", finished_at: null,
        result: done ? { created: 42, first_number: "INV-2026-27-000004", last_number: "INV-2026-27-000045", advance_applied: 250000 } : null, error: null,
      });
    }
    return undefined;
  });
  const user = userEvent.setup();
  renderApp("/invoices/generate");
  await user.selectOptions(await screen.findByLabelText("Instalment", undefined, { timeout: 5000 }), "q3");
  await user.selectOptions(screen.getByLabelText("Class"), "cl-3");
  await user.click(screen.getByRole("button", { name: "Preview" }));
  expect(await screen.findByTestId("preview-count")).toHaveTextContent("42");
  expect(screen.getByTestId("preview-total")).toHaveTextContent("₹6,30,000");
  expect(bodies).toEqual([{ instalment_id: "q3", scope: { class_id: "cl-3" } }]);
  await user.click(screen.getByRole("button", { name: "Generate 42 invoices" }));
  expect(await screen.findByRole("progressbar")).toBeInTheDocument();
  const done = await screen.findByText(/42 invoices generated/, undefined, { timeout: 4000 });
  expect(done).toHaveTextContent("₹2,500 that families had paid ahead went towards them.");
  expect(screen.getByRole("link", { name: "See the invoices" })).toHaveAttribute("href", "/invoices?instalment=q3&class=cl-3");
});
