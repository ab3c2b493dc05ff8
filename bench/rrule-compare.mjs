// `npx node bench/rrule-compare.mjs`: our recurrence engine (src/recurrence) against rrule-temporal,
// the library issue 14 asks us to measure before deciding. Prints one table:
// - fixtures: every case of test/fixtures/rrule-cases.json (python-dateutil's expansions) through both;
// - CPU: the expansions behind the bench's conflict checks (S10's calendar of 500 endless series,
//   H's far-past series) and H's agenda week, each run through both engines in alternating rounds;
// - bundle: gzip bytes (zlib level 6, as scripts/check-bundle.mjs counts) of a minified esbuild
//   bundle of a tiny Worker importing each engine.
// Add `--json` for the figures as JSON. Nothing here reads the clock at module scope of the Worker
// entries it builds; the timings use process.cpuUsage() around whole workloads.
import { build } from "esbuild";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { RRuleTemporal } from "rrule-temporal";
import { seriesEvent } from "./scenarios/recurring.mjs";

const root = join(import.meta.dirname, "..");
const work = mkdtempSync(join(tmpdir(), "rrule-compare-"));
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Our engine, bundled from its TypeScript (its imports are extensionless, which Node cannot load). */
async function loadOurs() {
  const outfile = join(work, "ours.mjs");
  await build({ entryPoints: [join(root, "src/recurrence/index.ts")], bundle: true, format: "esm", platform: "neutral", outfile, logLevel: "error" });
  return import(pathToFileURL(outfile).href);
}

/** Gzip bytes of a minified Worker whose only dependency is `importLine`'s module. */
async function workerGzip(name, source) {
  const entry = join(work, `${name}-entry.mjs`);
  const outfile = join(work, `${name}-bundle.mjs`);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(entry, source);
  await build({ entryPoints: [entry], bundle: true, minify: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], conditions: ["workerd", "worker", "import"], outfile, logLevel: "error", nodePaths: [join(root, "node_modules")] });
  const bytes = readFileSync(outfile);
  return { raw: bytes.length, gzip: gzipSync(bytes).length };
}

const ours = await loadOurs();

// ---- the two engines behind one interface ----------------------------------------------------

const compact = (iso) => iso.replace(/[-:]/g, "").slice(0, 15);
const WORDS = new Set(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]);
/** The pattern as rrule-temporal takes it: our plain words as FREQ, no RRULE: prefix. */
function theirBody(pattern) {
  const body = pattern.trim().replace(/^RRULE:/i, "");
  return WORDS.has(body.toUpperCase()) ? `FREQ=${body.toUpperCase()}` : body;
}

/** A series for rrule-temporal: DTSTART as wall time in its zone (what our API stores as an instant plus zone). */
function theirRule(pattern, timeZone, startMs) {
  const wall = ours.utcToWallTime(startMs, timeZone);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const dtstart = `${pad(wall.year, 4)}${pad(wall.month)}${pad(wall.day)}T${pad(wall.hour)}${pad(wall.minute)}${pad(wall.second)}`;
  return new RRuleTemporal({ rruleString: `DTSTART;TZID=${timeZone}:${dtstart}\nRRULE:${theirBody(pattern)}` });
}

/** Starts (epoch ms) of occurrences lasting `duration` that end after `from` and start before `to`. */
function theirStarts(rule, duration, from, to) {
  return rule
    .between(new Date(from - duration), new Date(to), true)
    .map((z) => z.epochMilliseconds)
    .filter((start) => start < to && Math.max(start + duration, start + 1) > from);
}

function ourSpec(pattern, timeZone, startMs, endMs) {
  if (pattern === null) return { startMs, endMs, timeZone, rule: null };
  const parsed = ours.parseRecurrence(pattern, timeZone);
  if (!parsed.ok) throw new Error(`${pattern}: ${parsed.message}`);
  return { startMs, endMs, timeZone, rule: parsed.rule };
}

// ---- (a) fixtures ------------------------------------------------------------------------------

const cases = JSON.parse(readFileSync(join(root, "test/fixtures/rrule-cases.json"), "utf8"));
const fixtureResults = { ours: { passed: 0, failed: [] }, theirs: { passed: 0, failed: [] } };
for (const c of cases) {
  const startMs = ours.parseDateTimeInput(c.dtstart, c.timeZone);
  const duration = c.durationMinutes * MINUTE;
  const from = Date.parse(c.windowStart);
  const to = Date.parse(c.windowEnd);
  const expected = c.expected.map((iso) => Date.parse(iso));
  const runs = {
    ours: () => ours.occurrencesBetween(ourSpec(c.pattern, c.timeZone, startMs, startMs + duration), from, to).map((o) => o.start),
    theirs: () => theirStarts(theirRule(c.pattern, c.timeZone, startMs), duration, from, to),
  };
  for (const [engine, run] of Object.entries(runs)) {
    let got;
    try {
      got = run();
    } catch (error) {
      fixtureResults[engine].failed.push({ name: c.name, pattern: c.pattern, timeZone: c.timeZone, why: `throws: ${String(error.message ?? error).slice(0, 120)}` });
      continue;
    }
    const same = got.length === expected.length && got.every((v, i) => v === expected[i]);
    if (same) fixtureResults[engine].passed++;
    else {
      const i = got.findIndex((v, k) => v !== expected[k]);
      const at = i < 0 ? expected.length : i;
      const show = (v) => (v === undefined ? "nothing" : new Date(v).toISOString());
      fixtureResults[engine].failed.push({ name: c.name, pattern: c.pattern, timeZone: c.timeZone, why: `${got.length} vs ${expected.length} occurrences; #${at + 1} is ${show(got[at])}, dateutil ${show(expected[at])}` });
    }
  }
}

// ---- (b) CPU on the bench's workloads ----------------------------------------------------------

/** S10's largest owner: 500 endless series (25 daily, 475 weekly, UTC) and a one-off after the calendar's last event. */
function s10Workload() {
  const series = Array.from({ length: 500 }, (_, j) => seriesEvent(j));
  const oneOffStart = Date.UTC(2031, 0, 6) + 375 * DAY + 18 * 60 * MINUTE;
  return { name: "S10 conflict: a one-off vs 500 endless series", series, probe: { pattern: null, startMs: oneOffStart, endMs: oneOffStart + 30 * MINUTE } };
}

/** H: the owner of 75 endless series from 1900 creates a daily series in 2030 (a two-year horizon each). */
function hWorkload() {
  const rules = ["FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR", "FREQ=DAILY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=WEEKLY;BYDAY=MO,WE,FR"];
  const farPast = Date.UTC(1900, 0, 1);
  const series = Array.from({ length: 75 }, (_, k) => {
    const start = farPast + k * 10 * MINUTE;
    return { start_time: new Date(start).toISOString(), end_time: new Date(start + 10 * MINUTE).toISOString(), recurrence_pattern: rules[k % rules.length], timezone: "UTC" };
  });
  const at2030 = Date.UTC(2030, 8, 10, 21, 0);
  return { name: "H conflict: a daily series from 2030 vs 75 endless series from 1900", series, probe: { pattern: "FREQ=DAILY", startMs: at2030, endMs: at2030 + 30 * MINUTE } };
}

/** H's agenda: 100 series from 1900 (75 endless, 25 with a COUNT past 2030), one week of 2030. */
function agendaWorkload() {
  const endless = ["FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR", "FREQ=DAILY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=WEEKLY;BYDAY=MO,WE,FR"];
  const counted = ["FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR;COUNT=300", "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=1500", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=2000", "FREQ=YEARLY;BYMONTH=9;BYDAY=MO,TU,WE,TH,FR;COUNT=4000"];
  const farPast = Date.UTC(1900, 0, 1);
  const series = Array.from({ length: 100 }, (_, k) => {
    const start = farPast + k * 10 * MINUTE;
    const rule = k < 75 ? endless[k % 4] : counted[(k - 75) % 4];
    return { start_time: new Date(start).toISOString(), end_time: new Date(start + 10 * MINUTE).toISOString(), recurrence_pattern: rule, timezone: "UTC" };
  });
  return { name: "H agenda: 100 series from 1900, one week of 2030", series, window: [Date.parse("2030-09-09T00:00:00Z"), Date.parse("2030-09-16T00:00:00Z")] };
}

/** The stored form of a series, as a request reads it from D1: pattern, zone, instants, and our stored end. */
function stored(event) {
  const startMs = Date.parse(event.start_time);
  const endMs = Date.parse(event.end_time);
  const spec = ourSpec(event.recurrence_pattern, event.timezone, startMs, endMs);
  const checked = ours.checkSeries(spec, new ours.WorkBudget(Infinity));
  if (!checked.ok) throw new Error(`${event.recurrence_pattern}: ${checked.message}`);
  return { pattern: event.recurrence_pattern, timeZone: event.timezone, startMs, endMs, seriesEnd: checked.seriesEnd };
}

const HORIZON = 730 * DAY;

/** One conflict check: every stored series against the probe, as src/events/conflicts.ts pairs them. */
const conflictRuns = (rows, probe) => ({
  ours() {
    const probeSpec = ourSpec(probe.pattern, "UTC", probe.startMs, probe.endMs);
    let hits = 0;
    for (const row of rows) {
      const spec = { ...ourSpec(row.pattern, row.timeZone, row.startMs, row.endMs), seriesEnd: row.seriesEnd };
      const horizon = probe.pattern ? Math.max(row.startMs, probe.startMs) + HORIZON : probe.endMs;
      if (ours.firstOverlap(spec, probeSpec, horizon)) hits++;
    }
    return hits;
  },
  theirs() {
    // No lazy pairwise walk: expand both over the compared span and merge.
    const from = probe.startMs;
    const to = probe.pattern ? probe.startMs + HORIZON : probe.endMs;
    const probeDuration = probe.endMs - probe.startMs;
    const probeStarts = probe.pattern ? theirStarts(theirRule(probe.pattern, "UTC", probe.startMs), probeDuration, from, to) : [probe.startMs];
    return tally(rows, (row) => {
      const duration = row.endMs - row.startMs;
      const starts = theirStarts(theirRule(row.pattern, row.timeZone, row.startMs), duration, from, to);
      let i = 0;
      let j = 0;
      while (i < starts.length && j < probeStarts.length) {
        const a = starts[i];
        const b = probeStarts[j];
        if (a + duration <= b) i++;
        else if (b + probeDuration <= a) j++;
        else return 1;
      }
      return 0;
    });
  },
});

/** Runs `expand` and counts what it finds; a throw (rrule-temporal's iteration cap) counts as `threw`, not as occurrences. */
function tally(rows, expand) {
  let items = 0;
  let threw = 0;
  for (const row of rows) {
    try {
      items += expand(row);
    } catch {
      threw++;
    }
  }
  return threw ? `${items}, ${threw} threw` : items;
}

const agendaRuns = (rows, [from, to]) => ({
  ours() {
    let items = 0;
    for (const row of rows) items += ours.occurrencesBetween({ ...ourSpec(row.pattern, row.timeZone, row.startMs, row.endMs), seriesEnd: row.seriesEnd }, from, to).length;
    return items;
  },
  theirs: () => tally(rows, (row) => theirStarts(theirRule(row.pattern, row.timeZone, row.startMs), row.endMs - row.startMs, from, to).length),
  // What an adapter could do: a COUNT rule read through our stored end, as an UNTIL.
  "theirs, COUNT as UNTIL": () =>
    tally(rows, (row) => {
      const pattern = /COUNT=/.test(row.pattern) ? row.pattern.replace(/COUNT=\d+/, `UNTIL=${compact(new Date(row.seriesEnd - (row.endMs - row.startMs)).toISOString())}Z`) : row.pattern;
      return theirStarts(theirRule(pattern, row.timeZone, row.startMs), row.endMs - row.startMs, from, to).length;
    }),
});

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** CPU ms per run of each engine: warm-up, then alternating rounds of at least 300 ms each; the median round. */
function measure(runs, rounds = 5) {
  const results = {};
  for (const [engine, run] of Object.entries(runs)) results[engine] = { answer: run(), perRun: [] };
  for (const run of Object.values(runs)) for (let i = 0; i < 2; i++) run();
  for (let round = 0; round < rounds; round++) {
    for (const [engine, run] of Object.entries(runs)) {
      let n = 0;
      const began = cpuMs();
      while (cpuMs() - began < 300 || n < 3) {
        run();
        n++;
      }
      results[engine].perRun.push((cpuMs() - began) / n);
    }
  }
  for (const r of Object.values(results)) {
    r.perRun.sort((a, b) => a - b);
    r.ms = r.perRun[Math.floor(r.perRun.length / 2)];
    delete r.perRun;
  }
  return results;
}

const workloads = [];
for (const w of [s10Workload(), hWorkload()]) workloads.push({ name: w.name, results: measure(conflictRuns(w.series.map(stored), w.probe)) });
const agenda = agendaWorkload();
workloads.push({ name: agenda.name, results: measure(agendaRuns(agenda.series.map(stored), agenda.window)) });

// ---- (c) bundle cost ---------------------------------------------------------------------------

const bundles = {
  ours: await workerGzip(
    "ours",
    `import { occurrencesBetween, parseRecurrence } from ${JSON.stringify(join(root, "src/recurrence/index.ts"))};
export default { fetch(request) { const url = new URL(request.url); const parsed = parseRecurrence(url.searchParams.get("rule") ?? "daily", "Europe/Berlin");
  return Response.json(parsed.ok ? occurrencesBetween({ startMs: 0, endMs: 1, timeZone: "Europe/Berlin", rule: parsed.rule }, 0, 1e10) : parsed); } };`,
  ),
  theirs: await workerGzip(
    "theirs",
    `import { RRuleTemporal } from "rrule-temporal";
export default { fetch(request) { const url = new URL(request.url);
  return Response.json(new RRuleTemporal({ rruleString: url.searchParams.get("rule") ?? "DTSTART;TZID=Europe/Berlin:20250101T090000\\nRRULE:FREQ=DAILY;COUNT=3" }).all().map(String)); } };`,
  ),
};
rmSync(work, { recursive: true, force: true });

// ---- the table and the rule --------------------------------------------------------------------

const fmt = (n, d = 2) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const lines = [];
lines.push(`| | ours (src/recurrence) | rrule-temporal 2.2.8 | ratio |`);
lines.push(`|---|---|---|---|`);
lines.push(`| dateutil fixtures passed | ${fixtureResults.ours.passed} / ${cases.length} | ${fixtureResults.theirs.passed} / ${cases.length} | |`);
for (const w of workloads) {
  const o = w.results.ours;
  for (const [engine, r] of Object.entries(w.results)) {
    if (engine === "ours") continue;
    const label = engine === "theirs" ? "" : ` (${engine.replace("theirs, ", "")})`;
    lines.push(`| CPU ms, ${w.name}${label} | ${fmt(o.ms)} (${o.answer}) | ${fmt(r.ms)} (${r.answer}) | ${fmt(r.ms / o.ms, 1)}× |`);
  }
}
lines.push(`| gzip bytes of a Worker importing it (raw) | ${bundles.ours.gzip.toLocaleString("en-US")} (${bundles.ours.raw.toLocaleString("en-US")}) | ${bundles.theirs.gzip.toLocaleString("en-US")} (${bundles.theirs.raw.toLocaleString("en-US")}) | ${fmt(bundles.theirs.gzip / bundles.ours.gzip, 1)}× |`);

const cpuRatio = Math.max(...workloads.map((w) => w.results.theirs.ms / w.results.ours.ms));
const passesAll = fixtureResults.theirs.passed === cases.length;
const gzipOk = bundles.theirs.gzip <= 25 * 1024;
const decision = passesAll && cpuRatio <= 1.5 && gzipOk ? "switch to rrule-temporal" : "keep ours";

if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ fixtures: fixtureResults, workloads, bundles, cpuRatio, decision }, null, 1));
} else {
  console.log(lines.join("\n"));
  console.log(`\n(n) in a CPU row: what the run found (series that conflict, or agenda items), the same for both engines when they agree.`);
  console.log(`Rule: switch only if rrule-temporal passes every fixture (${passesAll ? "yes" : "no"}), costs <= 1.5x our CPU (worst ${fmt(cpuRatio, 1)}x) and <= 25 KB gzip (${fmt(bundles.theirs.gzip / 1024, 1)} KB). Decision: ${decision}.`);
  if (fixtureResults.theirs.failed.length) {
    console.log(`\nrrule-temporal's failing fixtures (${fixtureResults.theirs.failed.length}):`);
    for (const f of fixtureResults.theirs.failed) console.log(`- ${f.name} (${f.pattern}, ${f.timeZone}): ${f.why}`);
  }
  if (fixtureResults.ours.failed.length) {
    console.log(`\nour failing fixtures (${fixtureResults.ours.failed.length}):`);
    for (const f of fixtureResults.ours.failed) console.log(`- ${f.name} (${f.pattern}, ${f.timeZone}): ${f.why}`);
  }
}
