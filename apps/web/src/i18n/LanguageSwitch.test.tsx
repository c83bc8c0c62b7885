import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, it } from "vitest";

import { LanguageSwitch } from "../components/LanguageSwitch";
import { I18nProvider, LANGUAGE_KEY, useT } from "./index";

function Greeting() {
  return <p>{useT()("login.title")}</p>;
}

it("switches language, remembers the choice and labels the page", async () => {
  render(
    <I18nProvider>
      <LanguageSwitch />
      <Greeting />
    </I18nProvider>,
  );
  expect(screen.getByText("Sign in")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "हिन्दी" }));
  expect(screen.getByText("लॉग इन करें")).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "हिन्दी" })).toHaveAttribute("aria-pressed", "true");
  expect(window.localStorage.getItem(LANGUAGE_KEY)).toBe("hi");
  expect(document.documentElement.lang).toBe("hi");
});

it("starts in the remembered language", () => {
  window.localStorage.setItem(LANGUAGE_KEY, "hi");
  render(
    <I18nProvider>
      <Greeting />
    </I18nProvider>,
  );
  expect(screen.getByText("लॉग इन करें")).toBeInTheDocument();
});
