import { screen, within } from "@testing-library/react";
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

it("lists the attendance codes and adds one with PUT /attendance/codes/{code}", async () => {
  startSession(TOKENS);
  const codes = [{ code: "P", label: "Present", counts_as_present: true, alerts_guardians: false, sort_order: 1, is_active: true }];
  const put: { url: string; body: unknown }[] = [];
  stubApi(meFor(["admin"], BUILTIN_ROLE_PERMISSIONS.admin), (url, init) => {
    if (url === "/api/attendance/codes") return json(200, codes);
    if (url.startsWith("/api/attendance/codes/") && init.method === "PUT") {
      const body = JSON.parse(String(init.body)) as (typeof codes)[number];
      put.push({ url, body });
      codes.push({ ...body, code: decodeURIComponent(url.split("/").pop()!) });
      return json(200, codes.at(-1));
    }
    return undefined;
  });
  const user = userEvent.setup();
  renderApp("/settings/attendance");
  expect(await screen.findByRole("rowheader", { name: "P" })).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Add a code" }));
  await user.type(screen.getByLabelText("Code"), "sd");
  await user.type(screen.getByLabelText("Meaning"), "Sports day");
  await user.click(screen.getByRole("button", { name: "Save" }));
  const row = (await screen.findByRole("rowheader", { name: "SD" })).closest("tr")!;
  expect(within(row).getByText("Sports day")).toBeInTheDocument();
  expect(put[0]).toEqual({
    url: "/api/attendance/codes/SD",
    body: { label: "Sports day", counts_as_present: true, alerts_guardians: false, sort_order: 10, is_active: true },
  });
});
