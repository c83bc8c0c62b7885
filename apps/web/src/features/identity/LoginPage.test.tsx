import { act, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { forgetSession } from "../../api";
import { acknowledgeSessionEnd, getRefreshToken } from "../../session";
import { apiError, json, TOKENS } from "../../test/http";
import { renderApp, TEACHER } from "../../test/renderApp";

type Answer = (body: Record<string, unknown>) => Response;

/** Answer the sign-in endpoints; remember what was posted. */
function stubAuth(answers: { start?: Answer[]; verify?: Answer[] }) {
  const posted: { url: string; body: Record<string, unknown> }[] = [];
  const queues = { start: [...(answers.start ?? [])], verify: [...(answers.verify ?? [])] };
  const mock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const body = init.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {};
    posted.push({ url, body });
    if (url === "/api/auth/otp/start") return queues.start.shift()!(body);
    if (url === "/api/auth/otp/verify") return queues.verify.shift()!(body);
    if (url === "/api/auth/me") return json(200, TEACHER);
    return json(404, { error: { code: "not_found", message: url, details: null } });
  });
  vi.stubGlobal("fetch", mock);
  return posted;
}

const started = (resendAfter = 30): Answer => () => json(200, { sent: true, resend_after: resendAfter, expires_in: 300 });

function setup() {
  // Fake timers drive the countdown; user-event must advance them as it "waits".
  const user = userEvent.setup({ advanceTimers: (ms) => vi.advanceTimersByTime(ms) });
  return user;
}

async function tick(seconds: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(seconds * 1000);
  });
}

beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
});

afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
  vi.useRealTimers();
});

async function askForCode(user: ReturnType<typeof setup>, phone = "98000 00004") {
  await user.type(await screen.findByLabelText("Mobile number"), phone);
  await user.click(screen.getByRole("button", { name: "Send code on WhatsApp" }));
}

describe("asking for a code", () => {
  it("sends the number in E.164 and counts down to the next resend from resend_after", async () => {
    const posted = stubAuth({ start: [started(30), started(30)] });
    const user = setup();
    renderApp("/login");
    await askForCode(user);

    expect(posted[0]).toEqual({ url: "/api/auth/otp/start", body: { phone: "+919800000004" } });
    expect(await screen.findByRole("status")).toHaveTextContent(
      "We sent a 6-digit code on WhatsApp to +91 98000 00004. It works for 5 minutes.",
    );
    expect(screen.getByLabelText("6-digit code")).toHaveFocus();
    expect(screen.getByRole("button", { name: "New code in 30 sec" })).toBeDisabled();

    await tick(29);
    expect(screen.getByRole("button", { name: "New code in 1 sec" })).toBeDisabled();
    await tick(1);
    const resend = screen.getByRole("button", { name: "Send a new code" });
    expect(resend).toBeEnabled();
    await user.click(resend);
    expect(posted.filter((p) => p.url === "/api/auth/otp/start")).toHaveLength(2);
    expect(await screen.findByRole("button", { name: "New code in 30 sec" })).toBeDisabled();
  });

  it("checks the number's shape before asking the server", async () => {
    const posted = stubAuth({});
    const user = setup();
    renderApp("/login");
    await askForCode(user, "12345");
    expect(screen.getByRole("alert")).toHaveTextContent("Enter a 10-digit mobile number, for example 98765 43210.");
    expect(screen.getByLabelText("Mobile number")).toHaveAttribute("aria-invalid", "true");
    expect(posted).toHaveLength(0);
  });

  it("explains an invalid_phone answer in plain words and shows the server's reason", async () => {
    stubAuth({ start: [() => apiError(422, "invalid_phone", "This looks like a landline number.")] });
    const user = setup();
    renderApp("/login");
    await askForCode(user, "020 2612 3456");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("This number cannot receive a code.");
    expect(alert).toHaveTextContent("This looks like a landline number.");
    expect(alert).not.toHaveTextContent("invalid_phone");
  });

  it("on otp_cooldown goes on to the code step and counts down from Retry-After", async () => {
    stubAuth({
      start: [() => apiError(429, "otp_cooldown", "wait", { retry_after: 12 }, { "Retry-After": "12" })],
    });
    const user = setup();
    renderApp("/login");
    await askForCode(user);
    expect(await screen.findByRole("status")).toHaveTextContent("A code was sent to +91 98000 00004 a moment ago.");
    expect(screen.getByRole("button", { name: "New code in 12 sec" })).toBeDisabled();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("on rate_limited says when to try again and keeps the button off until then", async () => {
    stubAuth({ start: [() => apiError(429, "rate_limited", "slow down", { retry_after: 600 }, { "Retry-After": "600" })] });
    const user = setup();
    renderApp("/login");
    await askForCode(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("Too many attempts. Please try again in 10 min.");
    expect(screen.getByRole("button", { name: "Try again in 10 min" })).toBeDisabled();
    await tick(600);
    expect(screen.getByRole("button", { name: "Send code on WhatsApp" })).toBeEnabled();
  });

  it("says so when the server cannot be reached", async () => {
    stubAuth({ start: [() => Promise.reject(new TypeError("Failed to fetch")) as unknown as Response] });
    const user = setup();
    renderApp("/login");
    await askForCode(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("Cannot reach the school's server.");
  });
});

describe("entering the code", () => {
  async function atCodeStep(verify: Answer[]) {
    const posted = stubAuth({ start: [started(30)], verify });
    const user = setup();
    const view = renderApp("/login?next=%2Fattendance");
    await askForCode(user);
    await screen.findByLabelText("6-digit code");
    return { posted, user, ...view };
  }

  it("signs in, keeps the refresh token and goes where the user was going", async () => {
    const { posted, user, router } = await atCodeStep([() => json(200, TOKENS)]);
    await user.type(screen.getByLabelText("6-digit code"), "123456");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Attendance" })).toBeInTheDocument();
    expect(posted.find((p) => p.url === "/api/auth/otp/verify")?.body).toEqual({ phone: "+919800000004", code: "123456" });
    expect(router.state.location.pathname).toBe("/attendance");
    expect(getRefreshToken()).toBe("refresh-1");
  });

  it("asks for six digits before sending", async () => {
    const { posted, user } = await atCodeStep([]);
    await user.type(screen.getByLabelText("6-digit code"), "12a3");
    expect(screen.getByLabelText("6-digit code")).toHaveValue("123");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Enter the 6-digit code from WhatsApp.");
    expect(posted.some((p) => p.url === "/api/auth/otp/verify")).toBe(false);
  });

  it("says how many tries are left after a wrong code", async () => {
    const { user } = await atCodeStep([() => apiError(400, "otp_invalid", "wrong", { attempts_left: 2 })]);
    await user.type(screen.getByLabelText("6-digit code"), "000000");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That code is not right. Tries left: 2.");
    expect(getRefreshToken()).toBeNull();
  });

  it("lets the user ask for a new code at once when the code has expired", async () => {
    const { user } = await atCodeStep([() => apiError(400, "otp_expired", "expired")]);
    await user.type(screen.getByLabelText("6-digit code"), "123456");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("This code has expired. Ask for a new code.");
    expect(screen.getByRole("button", { name: "Send a new code" })).toBeEnabled();
  });

  it("after too many wrong codes, tells the user to start again", async () => {
    const { user } = await atCodeStep([
      () => apiError(429, "otp_locked", "locked", { retry_after: 20 }, { "Retry-After": "20" }),
    ]);
    await user.type(screen.getByLabelText("6-digit code"), "111111");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Too many wrong codes. Ask for a new code and try again.");
    expect(screen.getByLabelText("6-digit code")).toHaveValue("");
    expect(screen.getByRole("button", { name: "New code in 20 sec" })).toBeDisabled();
  });

  it("goes back to the number with Change number", async () => {
    const { user } = await atCodeStep([]);
    await user.click(screen.getByRole("button", { name: "Change number" }));
    expect(screen.getByLabelText("Mobile number")).toHaveValue("98000 00004");
  });
});

describe("in Hindi", () => {
  it("shows the form and its errors in Hindi", async () => {
    stubAuth({ start: [() => apiError(429, "rate_limited", "slow", null, { "Retry-After": "45" })] });
    const user = setup();
    renderApp("/login", "hi");
    await user.type(await screen.findByLabelText("मोबाइल नंबर"), "9800000004");
    await user.click(screen.getByRole("button", { name: "WhatsApp पर कोड भेजें" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("बहुत ज़्यादा कोशिशें हो गईं। कृपया 45 सेकंड बाद फिर कोशिश करें।");
  });
});
