// `npm run build && node bench/profile.mjs [seconds]`: CPU profiles of the hot routes of issue 13
// under load, through workerd's inspector (the V8 sampling profiler of the Worker's isolate), each
// sample charged by the bundle's source map to the file (and package) it ran in. Prints, per route,
// where the Worker's own time goes: self time by source file, then by function.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import autocannon from "autocannon";
import WebSocket from "ws";
import { decodeSegment } from "./lib/bundle.mjs";
import { Api, eventAt, registerUsers } from "./lib/api.mjs";
import { applyMigrations, randomSecret, startWorker, workerOptions } from "./lib/worker.mjs";

const root = new URL("..", import.meta.url).pathname;
const scriptPath = join(root, "dist/index.js");
const seconds = Number(process.argv[2] ?? 3);
const INSPECTOR_PORT = 9333 + Math.floor(Math.random() * 500);


/** Generated line -> sorted [column, source, name] segments of the bundle's source map. */
function loadSourceMap(path) {
  const map = JSON.parse(readFileSync(path, "utf8"));
  const lines = [];
  let source = 0;
  let name = 0;
  for (const line of map.mappings.split(";")) {
    const segments = [];
    let column = 0;
    for (const segment of line ? line.split(",") : []) {
      const values = decodeSegment(segment);
      column += values[0];
      if (values.length > 1) source += values[1];
      if (values.length > 4) name += values[4];
      segments.push([column, values.length > 1 ? source : -1, values.length > 4 ? name : -1]);
    }
    lines.push(segments);
  }
  return { sources: map.sources, names: map.names, lines };
}

function lookup(map, line, column) {
  const segments = map.lines[line] ?? [];
  let lo = 0;
  let hi = segments.length - 1;
  let found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid][0] <= column) {
      found = segments[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (!found || found[1] < 0) return null;
  return { source: map.sources[found[1]].replace(/^(\.\.\/)+/, "").replace(/^.*node_modules\//, "node_modules/"), name: found[2] >= 0 ? map.names[found[2]] : null };
}

/** "node_modules/zod/v4/core/schemas.js" -> "zod"; our files stay as they are. */
const packageOf = (source) => {
  const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (!match) return source;
  return match[1] === "src" ? "drizzle-orm" : match[1];
};

function inspector(port) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  let id = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    }
  });
  const opened = new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return {
    opened,
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const key = ++id;
        pending.set(key, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
        socket.send(JSON.stringify({ id: key, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** Self time per source file and per function, in ms, of one profile. */
function summarize(profile, map, bundleUrl) {
  const byFile = new Map();
  const byFunction = new Map();
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  let total = 0;
  for (const [nodeId, ms] of self) {
    const { callFrame } = nodes.get(nodeId);
    let file;
    let fn = callFrame.functionName || "(anonymous)";
    if (callFrame.url === bundleUrl || callFrame.url.endsWith("index.js")) {
      const original = lookup(map, callFrame.lineNumber, callFrame.columnNumber);
      file = original?.source ?? "(bundle, unmapped)";
      fn = `${original?.name ?? fn} (${file})`;
    } else file = callFrame.url ? callFrame.url : fn.startsWith("(") ? fn : "(native)";
    if (file === "(idle)") continue;
    total += ms;
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
  }
  const byPackage = new Map();
  for (const [file, ms] of byFile) byPackage.set(packageOf(file), (byPackage.get(packageOf(file)) ?? 0) + ms);
  const top = (m, n) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { total, packages: top(byPackage, 12), files: top(byFile, 15), functions: top(byFunction, 15) };
}

async function load(url, spec) {
  let completed = 0;
  const instance = autocannon({ url: new URL(spec.path, url).href, connections: 8, duration: seconds, ...spec.options });
  instance.on("response", () => completed++);
  await instance;
  return completed;
}

async function main() {
  const options = workerOptions({ root, scriptPath, jwtSecret: randomSecret() });
  const worker = await startWorker({ ...options, inspectorPort: INSPECTOR_PORT, unsafeInspectorProxy: true });
  const map = loadSourceMap(`${scriptPath}.map`);
  try {
    await applyMigrations(worker.mf, join(root, "migrations"));
    const api = new Api(worker.url);
    const [reader, writer] = await registerUsers(api, "prof_", 2);
    const event = await api.createEvent(reader.token, eventAt(0));
    for (let i = 1; i < 50; i++) await api.createEvent(reader.token, eventAt(i));
    for (let v = 2; v <= 25; v++) await api.expect(200, "PATCH", `/api/events/${event.id}`, { token: reader.token, body: { description: `v${v}` } });
    const patched = await api.createEvent(writer.token, eventAt(100));
    let slot = 1_000_000;
    let edit = 0;
    const auth = (token) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
    const routes = [
      { name: "GET /health", path: "/health" },
      { name: "GET /api/events/{id}", path: `/api/events/${event.id}`, options: { headers: auth(reader.token) } },
      { name: "GET /api/events?limit=50", path: "/api/events?limit=50", options: { headers: auth(reader.token) } },
      { name: "GET /api/events/{id}/changelog", path: `/api/events/${event.id}/changelog`, options: { headers: auth(reader.token) } },
      {
        name: "POST /api/events",
        path: "/api/events",
        options: { method: "POST", headers: auth(writer.token), setupClient: (c) => c.setRequests([{ method: "POST", path: "/api/events", headers: auth(writer.token), setupRequest: (r) => ({ ...r, body: JSON.stringify(eventAt(slot++)) }) }]) },
      },
      {
        name: "PATCH /api/events/{id}",
        path: `/api/events/${patched.id}`,
        options: { method: "PATCH", headers: auth(writer.token), setupClient: (c) => c.setRequests([{ method: "PATCH", path: `/api/events/${patched.id}`, headers: auth(writer.token), setupRequest: (r) => ({ ...r, body: JSON.stringify({ description: `edit ${edit++}` }) }) }]) },
      },
    ];
    const debug = inspector(INSPECTOR_PORT);
    await debug.opened;
    await debug.send("Profiler.enable");
    await debug.send("Profiler.setSamplingInterval", { interval: 100 });
    for (const route of routes) {
      await load(worker.url, { ...route, options: { ...route.options, duration: 1 } });
      await debug.send("Profiler.start");
      const completed = await load(worker.url, route);
      const { profile } = await debug.send("Profiler.stop");
      const summary = summarize(profile, map, `file://${scriptPath}`);
      const perRequest = (ms) => (ms / completed).toFixed(3);
      console.log(`\n== ${route.name}: ${completed} requests, ${perRequest(summary.total)} ms of isolate time each (self time, idle excluded) ==`);
      console.log("by package:", summary.packages.map(([p, ms]) => `${p} ${perRequest(ms)}`).join(", "));
      console.log("by file:");
      for (const [file, ms] of summary.files) console.log(`  ${perRequest(ms).padStart(7)} ms  ${(100 * ms / summary.total).toFixed(1).padStart(5)}%  ${file}`);
      console.log("by function:");
      for (const [fn, ms] of summary.functions) console.log(`  ${perRequest(ms).padStart(7)} ms  ${(100 * ms / summary.total).toFixed(1).padStart(5)}%  ${fn}`);
    }
    debug.close();
  } finally {
    await worker.mf.dispose();
  }
}

await main();
