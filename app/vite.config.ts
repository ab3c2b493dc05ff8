import preact from "@preact/preset-vite";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The web app at /app: static assets in public/app/ (never in the Worker bundle), built by
// scripts/prepare-assets.mjs. No inline script: the Worker's CSP allows scripts from 'self' only.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/app/",
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: fileURLToPath(new URL("../public/app/", import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    target: "es2022",
  },
  logLevel: "warn",
});
