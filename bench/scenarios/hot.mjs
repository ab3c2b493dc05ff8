import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eventAt, registerUsers } from "../lib/api.mjs";
import { API_LIMIT_BYTES, ICAL_ALLOWANCE_BYTES } from "../lib/bundle.mjs";
import { runInterleaved } from "../lib/load.mjs";
import { fmt, times } from "../lib/report.mjs";
import { ratio } from "../lib/stats.mjs";

const bearer = (token) => ({ authorization: `Bearer ${token}` });
const json = (token) => ({ accept: "application/json", "content-type": "application/json", ...bearer(token) });

/** Versions the changelog event gets before the run, so its page (limit 20) is full. */
const CHANGELOG_VERSIONS = 25;

/**
 * H13: the hot routes of issue 13 against GET /health (one D1 query, no auth), in alternating
 * 1-second rounds so their ratios hold on a busy machine: the authenticated GET of one event, a
 * one-off create (one owner per connection, slots counting up), a PATCH (each connection on its
 * own event, no If-Match, so no contention), the list and the changelog (a full page of 20).
 */
export async function hotRoutes({ target, api, settings }) {
  const connections = settings.connections;
  const users = await registerUsers(api, "hot_", connections + 1);
  const reader = users[connections];
  const writers = users.slice(0, connections);
  const event = await api.createEvent(reader.token, eventAt(0, "Read me"));
  const history = await api.createEvent(reader.token, eventAt(1, "Changelog"));
  for (let v = 2; v <= CHANGELOG_VERSIONS; v++) await api.expect(200, "PATCH", `/api/events/${history.id}`, { token: reader.token, body: { description: `v${v}` } });
  for (let i = 2; i < 50; i++) await api.createEvent(reader.token, eventAt(i));
  // One event per writer to PATCH; its creates go to slots far after it.
  const patched = await Promise.all(writers.map((w, i) => api.createEvent(w.token, eventAt(10 + i, `Patched ${i}`))));

  let slot = 1_000_000;
  let edit = 0;
  const creates = (i) => [{ method: "POST", path: "/api/events", headers: json(writers[i % connections].token), setupRequest: (r) => ({ ...r, body: JSON.stringify(eventAt(slot++)) }) }];
  const patches = (i) => {
    const k = i % connections;
    return [{ method: "PATCH", path: `/api/events/${patched[k].id}`, headers: json(writers[k].token), setupRequest: (r) => ({ ...r, body: JSON.stringify({ description: `edit ${edit++}` }) }) }];
  };
  let client = 0;
  const perClient = (make) => () => make(client++);
  const [health, get, create, patch, list, changelog] = await runInterleaved(
    target,
    [
      { path: "/health" },
      { path: `/api/events/${event.id}`, headers: bearer(reader.token) },
      { method: "POST", path: "/api/events", expectStatus: 201, clientRequests: perClient(creates) },
      { method: "PATCH", path: "/api/events/{id}", clientRequests: perClient(patches) },
      { path: "/api/events?limit=50", headers: bearer(reader.token) },
      { path: `/api/events/${history.id}/changelog`, headers: bearer(reader.token) },
    ].map((spec) => ({ connections, ...spec })),
    settings.rounds,
  );
  return { connections, health, get, create, patch, list, changelog, changelogVersions: CHANGELOG_VERSIONS };
}

/** The D1 round-trip table as test/round-trips.test.ts pins it (BUDGETS) and as the README prints it. */
export function roundTripTables(root) {
  const test = readFileSync(join(root, "test/round-trips.test.ts"), "utf8");
  const budgets = test.slice(test.indexOf("const BUDGETS"), test.indexOf("};", test.indexOf("const BUDGETS")));
  const pinned = Object.fromEntries([...budgets.matchAll(/^\s*"([A-Z]+ [^"]+)":\s*(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### D1 round trips per route"));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| Route |")));
  const printed = {};
  for (const m of table.matchAll(/^\| `([A-Z]+) ([^`]+)`(?:, `([^`]+)`)*[^|]*\| (\d+) \|/gm)) {
    const [row, method, path] = m;
    const paths = [path, ...[...row.matchAll(/, `([^`]+)`/g)].map((x) => x[1])];
    for (const p of paths) printed[`${method} ${p}`] = Number(m[4]);
  }
  const keys = [...new Set([...Object.keys(pinned), ...Object.keys(printed)])].sort();
  const differences = keys.filter((k) => pinned[k] !== printed[k]).map((k) => `${k}: test ${pinned[k] ?? "none"}, README ${printed[k] ?? "none"}`);
  return { routes: Object.keys(pinned).length, differences };
}

export function renderHot(h, R) {
  const base = h.health;
  const row = (name, load, note = "") => [
    name,
    fmt(load.rps, 0),
    times(ratio(load.rps, base.rps)),
    fmt(load.latency.p50, 2),
    fmt(load.latency.p99, 2),
    fmt(load.workerdCpuMsPerRequest, 2),
    times(ratio(load.workerdCpuMsPerRequest, base.workerdCpuMsPerRequest)),
    String(load.latency.n),
    note,
  ];
  return [
    R.section(`H13 hot routes against GET /health, ${h.connections} connections, interleaved 1 s rounds`),
    R.table(
      ["Route", "req/s", "×/health", "p50 ms", "p99 ms", "CPU ms/req", "×/health", "n", "notes"],
      [
        row("GET /health (1 D1 query, no auth)", base),
        row("GET /api/events/{id} (authenticated)", h.get, "1 round trip"),
        row("POST /api/events (one-off)", h.create, "1 round trip; owner per connection"),
        row("PATCH /api/events/{id}", h.patch, "2 round trips; event per connection"),
        row("GET /api/events?limit=50", h.list, "1 round trip"),
        row(`GET /api/events/{id}/changelog (${h.changelogVersions} versions, page of 20)`, h.changelog, "1 round trip"),
      ],
    ),
  ];
}

export function hotTargets(r, root) {
  const h = r.hot;
  const base = h.health.rps;
  const share = (load) => `${fmt(load.rps, 0)} vs ${fmt(base, 0)} req/s = ${fmt(100 * ratio(load.rps, base), 1)}% of GET /health (CPU ${fmt(load.workerdCpuMsPerRequest, 2)} vs ${fmt(h.health.workerdCpuMsPerRequest, 2)} ms/req)`;
  const tables = roundTripTables(root);
  const targets = [
    { name: "authenticated GET /api/events/{id} >= 85% of GET /health", pass: h.get.rps >= 0.85 * base, figure: share(h.get) },
    { name: "POST /api/events >= 70% of GET /health", pass: h.create.rps >= 0.7 * base, figure: share(h.create) },
    { name: "PATCH /api/events/{id} >= 70% of GET /health", pass: h.patch.rps >= 0.7 * base, figure: share(h.patch) },
    {
      name: `changelog p99 <= 2x p50 at ${h.connections} connections`,
      pass: h.changelog.latency.p99 <= 2 * h.changelog.latency.p50,
      // The floor: GET /health's own ratio in the same rounds (bench/tail.mjs shows where the tail comes from).
      figure: `p50 ${fmt(h.changelog.latency.p50, 2)} ms, p99 ${fmt(h.changelog.latency.p99, 2)} ms = ${times(ratio(h.changelog.latency.p99, h.changelog.latency.p50))} (GET /health in the same run: ${times(ratio(h.health.latency.p99, h.health.latency.p50))})`,
    },
    {
      name: "D1 round-trip table in the README equals the one test/round-trips.test.ts pins",
      pass: tables.differences.length === 0 && tables.routes > 0,
      figure: tables.differences.length ? tables.differences.join("; ") : `${tables.routes} routes, identical`,
    },
  ];
  if (r.startup?.bundle) {
    const gates = r.startup.bundle.gates;
    targets.push({
      name: `gzip bundle without the iCalendar libraries <= ${fmt(API_LIMIT_BYTES, 0)} bytes (120 KiB), and the libraries <= ${fmt(ICAL_ALLOWANCE_BYTES, 0)} (scripts/check-bundle.mjs)`,
      pass: gates.failures.length === 0,
      figure: `${fmt(gates.gzip, 0)} bytes: ${fmt(gates.withoutIcal, 0)} without them (${fmt(Math.abs(API_LIMIT_BYTES - gates.withoutIcal) / 1024, 1)} KiB ${gates.withoutIcal <= API_LIMIT_BYTES ? "to spare" : "over"}), ${fmt(gates.ical, 0)} for them`,
    });
  }
  return targets;
}
