import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// The first render of a lazily loaded page compiles it on demand: on a busy
// two-core machine that can take longer than the library's 1 s default.
configure({ asyncUtilTimeout: 5_000 });

afterEach(() => {
  cleanup();
  if (typeof window !== "undefined") window.localStorage.clear();
});
