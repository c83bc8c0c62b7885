import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";

import { forgetSession, startSession } from "../api";
import { acknowledgeSessionEnd, getRefreshToken } from "../session";
import { BUILTIN_ROLE_PERMISSIONS } from "../test/roles";
import { apiError, json, noContent, TOKENS } from "../test/http";
import { meFor, renderApp, stubApi, TEACHER } from "../test/renderApp";
import { staffNavigation } from "./navigation";

afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

const labels = (permissions: readonly string[]) => staffNavigation(permissions).map((area) => area.labelKey);

describe("navigation built from permissions", () => {
  it("gives a teacher attendance and chat but not fees", () => {
    expect(labels(BUILTIN_ROLE_PERMISSIONS.teacher)).toEqual([
      "nav.dashboard",
      "nav.students",
      "nav.attendance",
      "nav.chat",
    ]);
  });

  it("gives an accountant fees and invoices but not attendance or settings", () => {
    expect(labels(BUILTIN_ROLE_PERMISSIONS.accountant)).toEqual([
      "nav.dashboard",
      "nav.students",
      "nav.fees",
      "nav.invoices",
    ]);
  });

  it("gives an admin everything", () => {
    expect(labels(BUILTIN_ROLE_PERMISSIONS.admin)).toEqual([
      "nav.dashboard",
      "nav.students",
      "nav.attendance",
      "nav.fees",
      "nav.invoices",
      "nav.chat",
      "nav.settings",
    ]);
  });

  it("opens attendance to someone who may only read it", () => {
    expect(labels(["attendance:read"])).toContain("nav.attendance");
    expect(labels(["attendance:mark"])).toContain("nav.attendance");
    expect(labels([])).toEqual(["nav.dashboard"]);
  });
});

describe("the staff console", () => {
  it("shows a teacher the school, their name and only their areas", async () => {
    startSession(TOKENS);
    stubApi(TEACHER);
    renderApp("/");
    const nav = await screen.findByRole("navigation", { name: "Main" });
    const links = within(nav).getAllByRole("link").map((link) => link.textContent);
    expect(links).toEqual(["Dashboard", "Students", "Attendance", "Chat"]);
    expect(screen.getByText("Green Valley Public School")).toBeInTheDocument();
    expect(await screen.findByRole("heading", { level: 1, name: "Dashboard" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Class 6 – A" })).toBeInTheDocument();
  });

  it("tells a teacher who opens the fees page that it is not for them", async () => {
    startSession(TOKENS);
    stubApi(TEACHER);
    renderApp("/fees");
    expect(await screen.findByRole("heading", { name: "You cannot open this page" })).toBeInTheDocument();
  });

  it("folds the navigation behind a menu button that says whether it is open", async () => {
    startSession(TOKENS);
    stubApi(TEACHER);
    renderApp("/");
    const button = await screen.findByRole("button", { name: "Menu" });
    expect(button).toHaveAttribute("aria-expanded", "false");
    await userEvent.click(button);
    expect(screen.getByRole("button", { name: "Close menu" })).toHaveAttribute("aria-expanded", "true");
    await userEvent.keyboard("{Escape}");
    expect(screen.getByRole("button", { name: "Menu" })).toHaveAttribute("aria-expanded", "false");
  });

  it("shows the school profile from GET /api/school under Settings", async () => {
    startSession(TOKENS);
    stubApi(meFor(["admin"], BUILTIN_ROLE_PERMISSIONS.admin), (url) =>
      url === "/api/school"
        ? new Response(
            JSON.stringify({
              id: "sch-1",
              code: "demo",
              name: "Green Valley Public School",
              timezone: "Asia/Kolkata",
              address: "14 MG Road, Pune",
              phone: "+919800000000",
              email: null,
            }),
            { status: 200, headers: { "Content-Type": "application/json" } },
          )
        : undefined,
    );
    renderApp("/settings");
    expect(await screen.findByText("14 MG Road, Pune")).toBeInTheDocument();
    expect(screen.getByText("+91 98000 00000")).toBeInTheDocument();
    expect(screen.getByText("Asia/Kolkata")).toBeInTheDocument();
    expect(screen.getByText("Not set")).toBeInTheDocument(); // email
  });

  it("shows an empty state that says what to do next", async () => {
    startSession(TOKENS);
    stubApi(meFor(["admin"], BUILTIN_ROLE_PERMISSIONS.admin), (url) =>
      url.startsWith("/api/students?") ? json(200, { items: [], total: 0, limit: 50, offset: 0 }) : undefined,
    );
    renderApp("/students");
    expect(await screen.findByRole("heading", { level: 1, name: "Students" })).toBeInTheDocument();
    expect(await screen.findByText(/import last year's list from a spreadsheet/)).toBeInTheDocument();
  });

  it("speaks Hindi when Hindi is chosen", async () => {
    startSession(TOKENS);
    stubApi(TEACHER);
    renderApp("/", "hi");
    const nav = await screen.findByRole("navigation", { name: "मुख्य" });
    expect(within(nav).getByRole("link", { name: "हाज़िरी" })).toBeInTheDocument();
  });

  it("sends someone who is not signed in to the sign-in page, remembering where they were going", async () => {
    stubApi(TEACHER);
    const { router } = renderApp("/attendance");
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(router.state.location.search).toBe("?next=%2Fattendance");
  });
});

describe("the parent portal", () => {
  const PARENT = meFor(["parent"], BUILTIN_ROLE_PERMISSIONS.parent, {
    user: { id: "u-5", name: "Vikram Singh", phone: "+919800000005", preferred_language: "en" },
    children: [
      { id: "c-1", name: "Aarav Singh", class_name: "3", section_name: "B" },
      { id: "c-2", name: "Diya Singh", class_name: "7", section_name: "A" },
    ],
  });

  it("gives a parent the family shell with a child switcher instead of staff navigation", async () => {
    startSession(TOKENS);
    stubApi(PARENT);
    const { router } = renderApp("/");
    expect(await screen.findByRole("heading", { level: 1, name: "Aarav Singh" })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/children/c-1");
    expect(screen.queryByRole("navigation", { name: "Main" })).not.toBeInTheDocument();

    const switcher = screen.getByRole("navigation", { name: "Choose a child" });
    await userEvent.click(within(switcher).getByRole("link", { name: /Diya Singh/ }));
    expect(await screen.findByRole("heading", { level: 1, name: "Diya Singh" })).toBeInTheDocument();
    expect(screen.getByText("Class 7 – A", { selector: ".page-subtitle" })).toBeInTheDocument();
  });

  it("does not open staff screens to a parent", async () => {
    startSession(TOKENS);
    stubApi(PARENT);
    renderApp("/students");
    expect(await screen.findByRole("heading", { name: "Page not found" })).toBeInTheDocument();
  });

  it("tells a parent with no linked child what to do", async () => {
    startSession(TOKENS);
    stubApi({ ...PARENT, children: [] });
    renderApp("/");
    expect(await screen.findByText(/add your mobile number to your child's record/)).toBeInTheDocument();
  });
});

describe("the session in the shell", () => {
  it("signing out revokes the refresh token on the server and says so on the sign-in page", async () => {
    startSession(TOKENS);
    const mock = stubApi(TEACHER, (url) => (url === "/api/auth/logout" ? noContent() : undefined));
    const { router } = renderApp("/attendance");
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByText("You have signed out.")).toBeInTheDocument();
    const logout = mock.mock.calls.find(([url]) => String(url) === "/api/auth/logout");
    expect(JSON.parse(String(logout?.[1]?.body))).toEqual({ refresh_token: "refresh-1" });
    expect(getRefreshToken()).toBeNull();
    expect(router.state.location.pathname + router.state.location.search).toBe("/login");
  });

  it("signs out locally even when the server cannot be reached", async () => {
    startSession(TOKENS);
    stubApi(TEACHER, (url) => (url === "/api/auth/logout" ? apiError(503, "unavailable") : undefined));
    renderApp("/");
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByText("You have signed out.")).toBeInTheDocument();
    expect(getRefreshToken()).toBeNull();
  });

  it("when the session cannot be renewed, says so and comes back to the same page after signing in", async () => {
    startSession(TOKENS);
    const mock = stubApi(TEACHER);
    mock.mockImplementation((input: RequestInfo | URL) =>
      Promise.resolve(
        String(input) === "/api/auth/refresh" ? apiError(401, "refresh_invalid") : apiError(401, "token_revoked"),
      ),
    );
    const { router } = renderApp("/attendance");
    expect(await screen.findByText("Your session has ended. Please sign in again.")).toBeInTheDocument();
    expect(router.state.location.search).toBe("?next=%2Fattendance");
    expect(getRefreshToken()).toBeNull();
  });
});
