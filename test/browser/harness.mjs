// What the Chromium suites share: Debian's chromium, and the production bundle (dist/index.js) with
// its static assets (public/) under Miniflare, bindings as in wrangler.toml, rate limits off, D1
// migrated. Used by test/browser/run.mjs and test/browser/app.mjs.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];

/** Installs Debian's chromium when the binary is missing (CI runs as root). */
export function ensureChromium(log) {
  if (existsSync(CHROMIUM)) return;
  log(`${CHROMIUM} is missing: installing Debian's chromium package`);
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing and this is not root: run \`apt-get update && apt-get install -y chromium\` as root`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "-o", "DPkg::Lock::Timeout=300", "chromium"]]) {
    const result = spawnSync("apt-get", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15 * 60_000 });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status ?? result.signal})`);
  }
}

/** Starts the server; returns `{ mf, origin }`. */
export async function startServer() {
  if (!existsSync("dist/index.js")) throw new Error("dist/index.js is missing: run `npm run build` first");
  if (!existsSync("public/app/index.html")) throw new Error("public/app/index.html is missing: run `npm run prepare-assets` (npm run build does)");
  const limiter = (namespace_id, limit, period) => ({ namespace_id, simple: { limit, period } });
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      scriptPath: "dist/index.js",
      modules: true,
      compatibilityDate: "2026-10-20",
      compatibilityFlags: ["nodejs_compat"],
      d1Databases: { DB: "browser-app-db" },
      durableObjects: { NOTIFICATION_HUB: { className: "UserNotificationHub", useSQLite: true } },
      assets: { directory: "public", binding: "ASSETS", routerConfig: { invoke_user_worker_ahead_of_assets: true, has_user_worker: true } },
      ratelimits: {
        LOGIN_IP_LIMITER: limiter("1001", 20, 60),
        LOGIN_ACCOUNT_LIMITER: limiter("1002", 10, 60),
        REGISTER_IP_LIMITER: limiter("1003", 10, 60),
        WRITE_LIMITER: limiter("1004", 120, 10),
        LOOKUP_LIMITER: limiter("1005", 30, 60),
        REFRESH_LIMITER: limiter("1006", 30, 60),
        FEED_LIMITER: limiter("1007", 30, 60),
      },
      bindings: {
        JWT_SECRET: randomBytes(36).toString("base64url"),
        RATE_LIMITS: "off",
        CORS_ORIGINS: "*",
        JWT_ISSUER: "collab-events-api",
        JWT_AUDIENCE: "collab-events-api",
        ACCESS_TOKEN_TTL: "900",
      },
    }),
  );
  const url = await mf.ready;
  const db = await mf.getD1Database("DB");
  for (const file of readdirSync("migrations").filter((f) => f.endsWith(".sql")).sort()) {
    const statements = readFileSync(join("migrations", file), "utf8").split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean);
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
  return { mf, origin: url.origin };
}
