// @vitest-environment node
/**
 * The development token must not work, nor even be present, in a production
 * build: build the real app with one set and look for it in every emitted file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { build } from "vite";
import { afterAll, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), "erplake-web-build-"));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

it("a production build carries no trace of VITE_DEV_ACCESS_TOKEN", async () => {
  const secret = "dev-token-that-must-not-ship-3141592653";
  const nodeEnv = process.env.NODE_ENV;
  process.env.VITE_DEV_ACCESS_TOKEN = secret;
  process.env.NODE_ENV = "production"; // as under `npm run build` (Vitest sets "test")
  try {
    await build({ root, mode: "production", logLevel: "silent", build: { outDir, emptyOutDir: true } });
  } finally {
    delete process.env.VITE_DEV_ACCESS_TOKEN;
    process.env.NODE_ENV = nodeEnv;
  }
  const files = filesUnder(outDir);
  expect(files.some((file) => file.endsWith(".js"))).toBe(true);
  for (const file of files) expect(readFileSync(file, "utf8")).not.toContain(secret);
}, 60_000);
