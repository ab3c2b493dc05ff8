import { join } from "node:path";
import { Api, mapLimit } from "../lib/api.mjs";
import { fmt, times } from "../lib/report.mjs";
import { ratio } from "../lib/stats.mjs";
import { applyMigrations, cpuMsOf, randomSecret, startWorker, workerOptions } from "../lib/worker.mjs";

/**
 * Suggestions: what the free slots in a 409 (src/availability/suggest.ts) cost. Two instances of
 * the bundle, one with suggestions and one with `CONFLICT_SUGGESTIONS = "off"`, are seeded alike
 * and sent the same conflicting creates, in alternating rounds; workerd's CPU per 409 is compared.
 *
 * - `gap near`: a one-off into a day of hourly one-offs (08:00-18:00 for 29 days): the gaps are a
 *   few hours away, found after a few grid steps.
 * - `no gap`: a one-off into 29 days booked around the clock: every quarter hour of the 28-day
 *   range is tried and nothing is suggested, the most a one-off's suggestions can cost.
 * - `series`: a weekly series into a calendar of 60 endless weekly series: up to 6 shifts pass the
 *   range and then the full conflict check, one more read and up to CONFLICT_BUDGET more steps.
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;
const BASE = Date.UTC(2032, 0, 5); // a Monday
const iso = (ms) => new Date(ms).toISOString();
const DAYS = 29;

const calendars = {
  "gap near": {
    events: () => Array.from({ length: DAYS * 10 }, (_, i) => one(BASE + Math.floor(i / 10) * DAY + (8 + (i % 10)) * HOUR, HOUR)),
    clash: () => ({ title: "Clash", start_time: iso(BASE + 14 * DAY + 12 * HOUR), end_time: iso(BASE + 14 * DAY + 13 * HOUR) }),
  },
  "no gap": {
    events: () => Array.from({ length: DAYS * 24 }, (_, i) => one(BASE + i * HOUR, HOUR)),
    clash: () => ({ title: "Clash", start_time: iso(BASE + 14 * DAY + 12 * HOUR), end_time: iso(BASE + 14 * DAY + 13 * HOUR) }),
  },
  series: {
    // 60 endless weekly series, Monday to Friday 08:00-20:00 in one-hour blocks.
    events: () => Array.from({ length: 60 }, (_, i) => ({ ...one(BASE + Math.floor(i / 12) * DAY + (8 + (i % 12)) * HOUR, HOUR), is_recurring: true, recurrence_pattern: `FREQ=WEEKLY` })),
    clash: () => ({ title: "Clash", start_time: iso(BASE + 10 * HOUR), end_time: iso(BASE + 11 * HOUR), is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=20" }),
  },
};

function one(start, length) {
  return { title: "Busy", start_time: iso(start), end_time: iso(start + length) };
}

async function instance(root, scriptPath, suggestions) {
  const options = workerOptions({ root, scriptPath, jwtSecret: randomSecret() });
  options.bindings = { ...options.bindings, CONFLICT_SUGGESTIONS: suggestions ? "on" : "off" };
  const worker = await startWorker(options);
  await applyMigrations(worker.mf, join(root, "migrations"));
  const api = new Api(worker.url);
  const owners = {};
  for (const name of Object.keys(calendars)) {
    const owner = await api.register(`sg_${name.replace(" ", "_")}_${suggestions ? "on" : "off"}`);
    const events = calendars[name].events();
    // One at a time for series (each is checked against the others for two years), batches for one-offs.
    const size = name === "series" ? 1 : 100;
    for (let i = 0; i < events.length; i += size) await api.createBatch(owner.token, events.slice(i, i + size));
    owners[name] = owner;
  }
  return { worker, api, owners };
}

/** `count` sequential conflicting creates; workerd CPU and wall time per request, and the last body. */
async function round({ worker, api, owners }, name, count) {
  const before = cpuMsOf(worker.pid);
  const started = performance.now();
  let last;
  for (let i = 0; i < count; i++) {
    last = await api.send("POST", "/api/events", { token: owners[name].token, body: calendars[name].clash() });
    if (last.status !== 409) throw new Error(`${name}: expected 409, got ${last.status}`);
  }
  return { cpuMs: cpuMsOf(worker.pid) - before, wallMs: performance.now() - started, suggestions: last.body.suggestions.length };
}

export async function suggestionCost({ root, scriptPath }, settings, log = () => {}) {
  const on = await instance(root, scriptPath, true);
  const off = await instance(root, scriptPath, false);
  try {
    if (!on.worker.pid || !off.worker.pid) throw new Error("workerd's pid was not found: the scenario reads CPU from /proc");
    log(`suggestions: seeded ${Object.keys(calendars).length} calendars on two instances`);
    const results = {};
    for (const name of Object.keys(calendars)) {
      // Warm-up, then alternating rounds so both instances see the same machine load.
      await round(on, name, 5);
      await round(off, name, 5);
      const sum = { on: { cpuMs: 0, wallMs: 0 }, off: { cpuMs: 0, wallMs: 0 } };
      let suggested = 0;
      for (let r = 0; r < settings.rounds; r++) {
        for (const [key, target] of [["on", on], ["off", off]]) {
          const m = await round(target, name, settings.requests);
          sum[key].cpuMs += m.cpuMs;
          sum[key].wallMs += m.wallMs;
          if (key === "on") suggested = m.suggestions;
        }
      }
      const n = settings.rounds * settings.requests;
      results[name] = {
        requests: n,
        suggested,
        cpuMsPerRequest: { on: sum.on.cpuMs / n, off: sum.off.cpuMs / n },
        wallMsPerRequest: { on: sum.on.wallMs / n, off: sum.off.wallMs / n },
      };
    }
    return results;
  } finally {
    await mapLimit([on, off], 2, (x) => x.worker.mf.dispose());
  }
}

export function renderSuggestions(results, R) {
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    fmt(r.requests, 0),
    fmt(r.suggested, 0),
    fmt(r.cpuMsPerRequest.off, 2),
    fmt(r.cpuMsPerRequest.on, 2),
    `+${fmt(r.cpuMsPerRequest.on - r.cpuMsPerRequest.off, 2)} (${times(ratio(r.cpuMsPerRequest.on, r.cpuMsPerRequest.off))})`,
    fmt(r.wallMsPerRequest.off, 2),
    fmt(r.wallMsPerRequest.on, 2),
  ]);
  return [
    R.section("Suggestions in a 409: workerd CPU per conflicting create, without and with suggestions"),
    R.table(["calendar", "409s", "suggested", "CPU ms off", "CPU ms on", "cost", "wall ms off", "wall ms on"], rows),
  ];
}
