import { render } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { vi } from "vitest";

import { onSessionEnded } from "../api";
import { AppProviders } from "../app/AppProviders";
import { createQueryClient } from "../app/queryClient";
import { routes } from "../app/routes";
import { signInPath } from "../app/signInPath";
import type { Me } from "../features/identity/api";
import type { Language } from "../i18n";
import { json } from "./http";

export const SCHOOL = { id: "sch-1", name: "Green Valley Public School" };

export function meFor(roles: string[], permissions: readonly string[], extra: Partial<Me> = {}): Me {
  return {
    user: { id: "u-1", name: "Sunita Rao", phone: "+919800000004", preferred_language: "en" },
    school: SCHOOL,
    roles,
    permissions: [...permissions] as Me["permissions"],
    children: [],
    sections: [],
    ...extra,
  };
}

export const TEACHER = meFor(
  ["teacher"],
  ["school:read", "students:read", "attendance:read", "attendance:mark", "chat:use", "ai:use"],
  { sections: [{ id: "sec-6a", name: "A", class_name: "6" }] },
);

type Handler = (url: string, init: RequestInit) => Response | undefined;

/** Serve /api/auth/me with `me`, anything else through `extra`, else 404. */
export function stubApi(me: Me, extra: Handler = () => undefined) {
  const mock = vi.fn((input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    if (url === "/api/auth/me") return Promise.resolve(json(200, me));
    const answer = extra(url, init);
    return Promise.resolve(answer ?? json(404, { error: { code: "not_found", message: url, details: null } }));
  });
  vi.stubGlobal("fetch", mock);
  return mock;
}

export function renderApp(path: string, language: Language = "en") {
  const queryClient = createQueryClient();
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  onSessionEnded(() => {
    queryClient.clear();
    const { to, state } = signInPath(router.state.location.pathname, "expired");
    void router.navigate(to, { replace: true, state });
  });
  const view = render(
    <AppProviders queryClient={queryClient} language={language}>
      <RouterProvider router={router} />
    </AppProviders>,
  );
  return { ...view, router, queryClient };
}
