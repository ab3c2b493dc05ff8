import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { readWranglerToml } from "./config.mjs";

/**
 * Miniflare options for the production bundle, with the bindings of wrangler.toml. Rate limits
 * are off (the bindings still exist), CORS allows any origin, and ASSETS is a plain function over
 * public/ (the bench never requests a file; /openapi.json and the site pages are files there):
 * Miniflare's assets router would add a hop in front of every request.
 */
export function workerOptions({ root, scriptPath, jwtSecret }) {
  const config = readWranglerToml(join(root, "wrangler.toml"));
  const sqliteClasses = new Set((config.migrations ?? []).flatMap((m) => m.new_sqlite_classes ?? []));
  return {
    scriptPath,
    modules: true,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    d1Databases: Object.fromEntries(config.d1_databases.map((d) => [d.binding, d.database_id])),
    durableObjects: Object.fromEntries(
      config.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: sqliteClasses.has(b.class_name) }]),
    ),
    ratelimits: Object.fromEntries(config.ratelimits.map((r) => [r.name, { namespace_id: r.namespace_id, simple: r.simple }])),
    serviceBindings: { [config.assets?.binding ?? "ASSETS"]: (request) => publicFile(join(root, config.assets?.directory ?? "public"), request) },
    bindings: { ...config.vars, RATE_LIMITS: "off", CORS_ORIGINS: "*", JWT_SECRET: jwtSecret },
    cf: false,
    host: "127.0.0.1",
    port: 0,
  };
}

const TYPES = { ".json": "application/json", ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon" };

/** A file of `dir` for a request's path (`/` is index.html), or a 404; never outside `dir`. */
function publicFile(dir, request) {
  const path = decodeURIComponent(new URL(request.url).pathname);
  const file = normalize(join(dir, path.endsWith("/") ? `${path}index.html` : path));
  if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) return new Response("Not found", { status: 404 });
  return new Response(readFileSync(file), { headers: { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" } });
}

/**
 * Points Miniflare's storage (it keeps D1 and Durable Object SQLite files under os.tmpdir(), even
 * when nothing is persisted) at tmpfs when the machine has one. On disk, every D1 query waited on
 * the file system, shared with whatever else the machine was doing; production D1 is a network
 * hop, not a local fsync. Returns where storage lives.
 */
export function useMemoryStorage() {
  const dir = "/dev/shm";
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return tmpdir();
  }
  process.env.TMPDIR = dir;
  return dir;
}

export const randomSecret = () => randomBytes(36).toString("base64url"); // 48 characters

/**
 * Starts the Worker under Miniflare and waits for the first 200 of /health/live. Reports the
 * phases of the start: `new Miniflare` + `ready` (workerd spawned, listening) and the first
 * request (which also pays for the isolate's first script evaluation).
 */
export async function startWorker(options) {
  const before = new Set(childPids());
  const t0 = performance.now();
  const mf = new Miniflare(convertV4MiniflareOptions(options));
  const url = await mf.ready;
  const t1 = performance.now();
  const response = await fetch(new URL("/health/live", url));
  await response.arrayBuffer();
  const t2 = performance.now();
  if (response.status !== 200) throw new Error(`/health/live answered ${response.status}`);
  const pid = childPids().find((p) => !before.has(p) && commandOf(p).includes("workerd")) ?? null;
  return { mf, url, pid, timings: { readyMs: t1 - t0, firstResponseMs: t2 - t1, totalMs: t2 - t0 } };
}

/** Applies migrations/*.sql in name order, one statement per `--> statement-breakpoint`. */
export async function applyMigrations(mf, dir, binding = "DB") {
  const db = await mf.getD1Database(binding);
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  for (const file of files) {
    const statements = readFileSync(join(dir, file), "utf8").split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean);
    for (const statement of statements) await db.prepare(statement).run();
  }
  return db;
}

function childPids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statFields(Number(entry));
    if (stat && Number(stat[1]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; utime is index 11. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU time of a process in ms (all threads), or null when it cannot be read. */
export function cpuMsOf(pid) {
  const fields = pid ? statFields(pid) : null;
  if (!fields) return null;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
}

/** Resident set size of a process in KiB, or null. */
export function rssKibOf(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** CPU used by this Node process (the load generator) in ms. */
export function ownCpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
