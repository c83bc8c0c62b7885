/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv } from "vite";

// The backend's roles, all served by `erplake run` on one port.
const BACKEND_PREFIXES = ["/api", "/ai", "/notify", "/billing", "/healthz"];

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), "");
  // scripts/start-all.sh passes the API's address as ERPLAKE_API_URL.
  const target = env.VITE_PROXY_TARGET || env.ERPLAKE_API_URL || "http://127.0.0.1:8000";
  const proxy = Object.fromEntries(
    BACKEND_PREFIXES.map((prefix) => [prefix, { target, ws: true }]),
  );
  return {
    plugins: [react()],
    server: { proxy },
    preview: { proxy },
    build: {
      target: "es2020",
      // The first page must stay small on a phone over 3G: warn well before the budget.
      chunkSizeWarningLimit: 400,
    },
    test: {
      environment: "jsdom",
      setupFiles: ["./src/test/setup.ts"],
      include: ["src/**/*.test.{ts,tsx}"],
      restoreMocks: true,
      testTimeout: 20_000,
      unstubEnvs: true,
      unstubGlobals: true,
    },
  };
});
