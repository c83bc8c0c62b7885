#!/usr/bin/env node
// How much JavaScript a phone downloads for the first page, gzipped.
//
// The first page is the entry script with everything it imports statically
// (Vite lists those as modulepreload links in dist/index.html) plus the lazily
// loaded page shown first: the sign-in page for a visitor, the dashboard for a
// signed-in member of staff. Fails when either is over the budget.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 250 * 1024;
const dist = fileURLToPath(new URL("../dist/", import.meta.url));
const assets = join(dist, "assets");

const html = readFileSync(join(dist, "index.html"), "utf8");
const entry = [...html.matchAll(/<script[^>]+src="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]);
const preloaded = [...html.matchAll(/rel="modulepreload"[^>]+href="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]);

/** A chunk and every chunk it imports statically (`import … from "./x.js"`). */
function closure(start, seen = new Set()) {
  if (seen.has(start)) return seen;
  seen.add(start);
  const code = readFileSync(join(assets, start), "utf8");
  for (const match of code.matchAll(/(?:^|[;}\s])import\s*(?:[^"'()]*?from\s*)?["']\.\/([^"']+\.js)["']/g)) {
    closure(match[1], seen);
  }
  return seen;
}

function chunk(prefix) {
  const found = readdirSync(assets).find((name) => name.startsWith(`${prefix}-`) && name.endsWith(".js"));
  if (!found) throw new Error(`no ${prefix} chunk in dist/assets: build first (npm run build)`);
  return found;
}

const gz = (name) => gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

let failed = false;
for (const [page, lazyChunk] of [
  ["sign-in page", "LoginPage"],
  ["staff dashboard", "DashboardPage"],
]) {
  const files = new Set();
  for (const name of [...entry, ...preloaded, lazyChunk && chunk(lazyChunk)]) closure(name, files);
  const sizes = [...files].map((name) => [name, gz(name)]).sort((a, b) => b[1] - a[1]);
  const total = sizes.reduce((sum, [, size]) => sum + size, 0);
  const verdict = total <= BUDGET_BYTES ? "within" : "OVER";
  console.log(`${page}: ${kb(total)} of JavaScript gzipped (${verdict} the ${kb(BUDGET_BYTES)} budget)`);
  for (const [name, size] of sizes) console.log(`  ${kb(size).padStart(9)}  ${name}`);
  if (total > BUDGET_BYTES) failed = true;
}
process.exit(failed ? 1 : 0);
