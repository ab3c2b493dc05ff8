// `npm run bench`: builds the production bundle, runs it under Miniflare in this process, seeds it
// through the public API, measures scenarios S0..S10 and H and checks the targets. See bench/README.md.
// `node bench/run.mjs --only hostile` (or BENCH_ONLY=hostile) runs H alone.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { Api, eventAt, registerUsers, seedEvents, slotMs } from "./lib/api.mjs";
import { fmt, renderers, times } from "./lib/report.mjs";
import { ratio, round } from "./lib/stats.mjs";
import { applyMigrations, randomSecret, rssKibOf, startWorker, useMemoryStorage, workerOptions } from "./lib/worker.mjs";
import { contention } from "./scenarios/contention.mjs";
import { hostileInput, hostileTargets, renderHostile } from "./scenarios/hostile.mjs";
import { notificationLatency, socketScale } from "./scenarios/notifications.mjs";
import { recurringConflicts, seedRecurringOwners } from "./scenarios/recurring.mjs";
import { renderSuggestions, suggestionCost } from "./scenarios/suggestions.mjs";
import { baselineAndGet, baselineOnly, batch, conflictScan, create, list, login } from "./scenarios/requests.mjs";
import { bundleSize, coldStarts } from "./scenarios/startup.mjs";
import { hotRoutes, hotTargets, renderHot } from "./scenarios/hot.mjs";
import { bundleComposition, bundleGates } from "./lib/bundle.mjs";

const root = new URL("..", import.meta.url).pathname;
const scriptPath = join(root, "dist/index.js");
const envNumber = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const duration = envNumber("BENCH_DURATION", 5);
const settings = {
  connections: envNumber("BENCH_CONNECTIONS", 8),
  duration,
  // Interleaved scenarios run `duration` rounds of 1 s each after a 1 s warm-up.
  rounds: { rounds: duration, secondsPerRound: 1, warmupSeconds: 1 },
  sequentialLogins: envNumber("BENCH_SEQUENTIAL_LOGINS", 5),
  // S1 and S6 run a fixed number of requests (see runLoad's `amount`).
  logins: envNumber("BENCH_LOGINS", 24),
  batches: envNumber("BENCH_BATCHES", 32),
  listSizes: (process.env.BENCH_LIST_SIZES ?? "10,1000,10000").split(",").map(Number),
  writerCounts: [1, 8, 32],
  updates: envNumber("BENCH_UPDATES", 30),
  collaborators: 100,
  sockets: envNumber("BENCH_SOCKETS", 500),
  coldStarts: envNumber("BENCH_COLD_STARTS", 3),
  // S10: owners with these many events, a tenth of them endless series; requests per round.
  s10Sizes: (process.env.BENCH_S10_SIZES ?? "100,1000,5000").split(",").map(Number),
  s10Requests: envNumber("BENCH_S10_REQUESTS", 40),
  // H (hostile input), on an instance of its own.
  hostile: {
    bombRequests: envNumber("BENCH_HOSTILE_BOMBS", 100),
    jsonRequests: envNumber("BENCH_HOSTILE_JSON", 20),
    notifications: envNumber("BENCH_HOSTILE_NOTIFICATIONS", 10_000),
    // The documented replay bound (REPLAY_FRAME_LIMIT in src/notifications/hub.ts): change both together.
    replayFrames: envNumber("BENCH_HOSTILE_REPLAY_MAX", 100),
    shareUsers: envNumber("BENCH_HOSTILE_SHARE", 200),
    sparseSeries: envNumber("BENCH_HOSTILE_SPARSE", 20),
    sparseSeconds: envNumber("BENCH_HOSTILE_SPARSE_SECONDS", 30),
    agendaSeries: envNumber("BENCH_HOSTILE_AGENDA", 100),
    abortRssGrowthMib: envNumber("BENCH_HOSTILE_ABORT_MIB", 1024),
    skipAboveRssMib: envNumber("BENCH_HOSTILE_SKIP_MIB", 4096),
  },
};
const SCENARIO_GROUPS = ["hostile", "suggestions", "hot"];
const only = onlyScenario();
const KB = 1000;
const GZIP_LIMIT_BYTES = 250 * KB;

const runStarted = performance.now();
const log = (message) => console.log(`[${fmt((performance.now() - runStarted) / 1000, 1).padStart(6)} s] ${message}`);
const loadavg = () => os.loadavg().map((v) => round(v, 2));

/** `--only <group>` or BENCH_ONLY=<group>: one scenario group alone; null runs everything. */
function onlyScenario() {
  const flag = process.argv.indexOf("--only");
  const value = flag >= 0 ? process.argv[flag + 1] : process.env.BENCH_ONLY || null;
  if (value !== null && !SCENARIO_GROUPS.includes(value)) throw new Error(`--only takes one of: ${SCENARIO_GROUPS.join(", ")} (got ${value})`);
  return value;
}

async function main() {
  if (!existsSync(scriptPath)) throw new Error(`${scriptPath} is missing: run \`npm run build\` (npm run bench does).`);
  const storage = process.env.BENCH_STORAGE === "disk" ? os.tmpdir() : useMemoryStorage();
  const machine = { only, cpus: os.cpus().length, node: process.version, storage, tree: gitTree(), loadavgBefore: loadavg() };
  console.log(`load average before (1, 5, 15 min): ${machine.loadavgBefore.join(", ")} on ${machine.cpus} CPUs`);
  console.log(`Miniflare storage (D1, Durable Objects) under ${storage}`);

  const results = {};
  if (only === "hot") {
    const worker = await startWorker(workerOptions({ root, scriptPath, jwtSecret: randomSecret() }));
    log(`worker ready at ${worker.url.href} (workerd pid ${worker.pid ?? "not found"})`);
    results.startup = { bundle: { ...bundleSize(scriptPath), composition: bundleComposition(scriptPath), gates: bundleGates(root, scriptPath) }, main: worker.timings };
    try {
      await applyMigrations(worker.mf, join(root, "migrations"));
      log("H13 hot routes against GET /health (interleaved)");
      results.hot = await hotRoutes({ target: { url: worker.url, pid: worker.pid }, api: new Api(worker.url), settings });
    } finally {
      await worker.mf.dispose();
    }
  }
  if (!only) {
    const bundle = { ...bundleSize(scriptPath), composition: bundleComposition(scriptPath), gates: bundleGates(root, scriptPath) };
    const worker = await startWorker(workerOptions({ root, scriptPath, jwtSecret: randomSecret() }));
    log(`worker ready at ${worker.url.href} (workerd pid ${worker.pid ?? "not found"}) in ${fmt(worker.timings.totalMs, 0)} ms`);
    results.startup = { bundle, main: worker.timings };
    try {
      const db = await applyMigrations(worker.mf, join(root, "migrations"));
      const ctx = { target: { url: worker.url, pid: worker.pid }, api: new Api(worker.url), db, settings };
      const seed = await seedAll(ctx);
      Object.assign(results, await measureAll(ctx, seed));
    } finally {
      await worker.mf.dispose();
    }
  }
  if (!only || only === "hostile") {
    log("H hostile input (a fresh instance)");
    results.hostile = await hostileInput({ root, scriptPath }, settings.hostile, log);
  }
  if (!only || only === "suggestions") {
    log("Suggestions in a 409, with and without (two fresh instances)");
    results.suggestions = await suggestionCost({ root, scriptPath }, { rounds: envNumber("BENCH_SUGGESTION_ROUNDS", 3), requests: envNumber("BENCH_SUGGESTION_REQUESTS", 20) }, log);
  }
  if (!only) {
    log("S9 cold starts");
    results.startup.cold = await coldStarts({ root, scriptPath }, settings.coldStarts);
  }
  machine.loadavgAfter = loadavg();

  const targets = evaluateTargets(results);
  const totalSeconds = (performance.now() - runStarted) / 1000;
  const finishedAt = new Date().toISOString();
  console.log(renderReport(results, targets, machine, renderers.text).join("\n"));
  console.log(`\nload average after (1, 5, 15 min): ${machine.loadavgAfter.join(", ")}`);
  console.log(`total runtime: ${fmt(totalSeconds, 0)} s (plus the build before it)`);
  mkdirSync(join(root, "bench/results"), { recursive: true });
  const out = join(root, "bench/results/latest.json");
  writeFileSync(out, JSON.stringify({ finishedAt, only, settings, machine, totalSeconds, targets, results }, null, 2));
  const md = join(root, "bench/results/latest.md");
  writeFileSync(md, markdownReport(results, targets, machine, { finishedAt, totalSeconds }));
  console.log(`results written to ${out} and ${md}`);
  return process.env.BENCH_STRICT === "1" && !targets.every((t) => t.pass) ? 1 : 0;
}

/** Users and data, all through the public API. */
async function seedAll(ctx) {
  const { api, settings } = ctx;
  let started = performance.now();
  const [loginUser, reader, writer, notifyOwner, sharedCreator] = await registerUsers(api, "bench_", 5);
  const listUsers = await registerUsers(api, "list_", settings.listSizes.length);
  // Each registration costs a scrypt, so S2 and S6 borrow owners from the collaborators of S7
  // (their own events do not reach S7's sockets, which wait for one event id). S8 uses the first 10.
  const collaborators = await registerUsers(api, "collab_", Math.max(settings.collaborators, 10 + 2 * settings.connections));
  const creators = collaborators.slice(10, 10 + settings.connections);
  const batchers = collaborators.slice(10 + settings.connections, 10 + 2 * settings.connections);
  log(`registered ${5 + listUsers.length + collaborators.length} users in ${fmt((performance.now() - started) / 1000, 1)} s`);

  const readerEvent = await api.createEvent(reader.token, eventAt(0, "Read me"));
  started = performance.now();
  let seeded = 0;
  const seeding = { listUsers: [] };
  for (const [i, user] of listUsers.entries()) {
    user.events = settings.listSizes[i];
    // Oldest first, as calendars grow: each batch starts after every stored event, so the
    // conflict check's range on (owner_id, series_end) has nothing to read and every batch costs
    // the same however large the calendar already is (the per-batch times show it).
    const batchMs = [];
    const userStarted = performance.now();
    await seedEvents(api, user.token, user.events, { order: "ascending", onBatch: ({ ms }) => batchMs.push(ms) });
    seeding.listUsers.push({ events: user.events, seconds: (performance.now() - userStarted) / 1000, batches: batchMs.length, ...firstAndLast(batchMs) });
    seeded += user.events;
  }
  const largestSeed = seeding.listUsers.at(-1);
  log(
    `seeded ${seeded} events oldest-first in ${fmt((performance.now() - started) / 1000, 1)} s; ` +
      `the ${fmt(largestSeed.events, 0)}-event user in ${fmt(largestSeed.seconds, 1)} s, batches of 100: first 5 ${fmt(largestSeed.firstMs, 0)} ms, last 5 ${fmt(largestSeed.lastMs, 0)} ms (mean)`,
  );
  started = performance.now();
  const recurringOwners = await seedRecurringOwners(api, settings.s10Sizes, (o) =>
    log(`S10 owner: ${fmt(o.events, 0)} events (${o.series} series, then ${o.oneOffs} one-offs) in ${fmt(o.seedSeconds, 1)} s; series batches ${o.batchMs.series.map((ms) => fmt(ms, 0)).join(", ")} ms; one-off batches first 5 ${fmt(firstAndLast(o.batchMs.oneOffs).firstMs, 0)}, last 5 ${fmt(firstAndLast(o.batchMs.oneOffs).lastMs, 0)} ms (mean)`),
  );
  seeding.recurringOwners = recurringOwners.map((o) => ({ events: o.events, series: o.series, oneOffs: o.oneOffs, seconds: o.seedSeconds, seriesBatchMs: o.batchMs.series, ...firstAndLast(o.batchMs.oneOffs) }));
  seeding.recurringSeconds = (performance.now() - started) / 1000;
  return { loginUser, reader, readerEventId: readerEvent.id, writer, notifyOwner, sharedCreator, listUsers, recurringOwners, creators, batchers, collaborators, seeding };
}

/** Mean of the first and of the last five samples (batch times of a seeding). */
function firstAndLast(samples, n = 5) {
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return { firstMs: mean(samples.slice(0, n)), lastMs: mean(samples.slice(-n)) };
}

function gitTree() {
  // For a run from an exported tree (git archive), which has no .git to ask.
  if (process.env.BENCH_TREE) return process.env.BENCH_TREE;
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim() !== "";
    return `${head}${dirty ? " with uncommitted changes" : ""}`;
  } catch {
    return null;
  }
}

async function measureAll(ctx, seed) {
  const r = { seeding: seed.seeding };
  log("S0 baseline, /health, /api/auth/me and S3 authenticated GET (interleaved)");
  r.baseline = await baselineAndGet(ctx, { reader: seed.reader, eventId: seed.readerEventId });
  log("S1 login");
  r.login = await login(ctx, { user: seed.loginUser });
  log("S2 create");
  r.create = await create(ctx, { owners: seed.creators, sharedOwner: seed.sharedCreator });
  log("S4 list (interleaved sizes) and rows read");
  r.list = await list(ctx, { listUsers: seed.listUsers });
  const largest = seed.listUsers.at(-1);
  r.conflictScan = await conflictScan(ctx, { owner: largest, events: largest.events, slotOf: slotMs });
  log("S10 conflict check with endless series (interleaved sizes, one connection each)");
  r.recurring = await recurringConflicts(ctx, { owners: seed.recurringOwners, control: { ...largest, eventAt } });
  log("S5 If-Match contention");
  r.contention = await contention(ctx, { owner: seed.writer, writerCounts: ctx.settings.writerCounts, firstSlot: 0 });
  log("S6 batch of 100");
  r.batch = await batch(ctx, { owners: seed.batchers });
  log("S7 notification latency");
  r.notifications = await notificationLatency(ctx, {
    owner: seed.notifyOwner,
    collaborators: seed.collaborators,
    firstSlot: 0,
    configurations: [
      { users: 1, socketsPerUser: 1 },
      { users: 10, socketsPerUser: 1 },
      { users: 10, socketsPerUser: 10 },
      { users: 100, socketsPerUser: 1 },
    ],
  });
  log("S8 WebSocket connect rate and memory");
  r.sockets = await socketScale(ctx, { users: seed.collaborators.slice(0, 10) });
  log("H13 hot routes against GET /health (interleaved)");
  r.hot = await hotRoutes(ctx);
  log("S0 again (drift check)");
  r.baselineEnd = await baselineOnly(ctx);
  r.workerdRssKibAtEnd = rssKibOf(ctx.target.pid);
  return r;
}

function evaluateTargets(r) {
  return [...(r.baseline ? mainTargets(r) : []), ...(r.hot ? hotTargets(r, root) : []), ...(r.hostile ? hostileTargets(r.hostile) : [])];
}

function mainTargets(r) {
  const s0 = r.baseline.s0;
  const limit = r.list.limit;
  const sizes = r.list.sizes;
  const maxRaw = Math.max(...r.list.rowsRead.map((x) => x.rowsRead));
  const maxIndex = Math.max(...r.list.rowsRead.map((x) => x.indexRowsRead));
  const growth = ratio(sizes.at(-1).latency.p50, sizes[0].latency.p50);
  const at10 = r.notifications.find((n) => n.collaborators === 10 && n.socketsPerUser === 1);
  const deliveryRatio = ratio(at10?.fromSend.p50, at10?.patchResponse.p50);
  const lost = r.contention.map((c) => `k=${c.writers}: ${c.lostUpdates} lost (version ${c.finalVersion}, expected ${c.expectedVersion})`);
  // Per-page cost across sizes: pages of equal length (the smallest calendar cannot fill a page of
  // `limit`), and full pages of `limit` between the calendars that can fill one.
  const equal = r.list.equalPages;
  const equalOk = equal.every((p) => p.rowsRead <= equal[0].rowsRead + 2 && p.rowsRead >= equal[0].rowsRead - 2);
  const full = r.list.rowsRead.filter((x) => x.rowsReturned === limit + 1);
  const fullByPage = Object.groupBy(full, (x) => x.page.split(" ")[0]);
  const fullOk = Object.values(fullByPage).every((pages) => pages.every((p) => Math.abs(p.rowsRead - pages[0].rowsRead) <= 2));
  const fmtPages = (pages) => pages.map((x) => `${fmt(x.events, 0)}: ${x.rowsRead}`).join(", ");
  return [
    {
      name: "authenticated GET >= 50% of S0 throughput",
      pass: r.baseline.s3.rps >= 0.5 * s0.rps,
      figure:
        `${fmt(r.baseline.s3.rps, 0)} vs ${fmt(s0.rps, 0)} req/s = ${fmt(100 * ratio(r.baseline.s3.rps, s0.rps), 1)}%` +
        ` (context: GET /health, one D1 query and no auth, is ${fmt(100 * ratio(r.baseline.health.rps, s0.rps), 1)}% of S0; S3 is ${fmt(100 * ratio(r.baseline.s3.rps, r.baseline.health.rps), 1)}% of GET /health)`,
    },
    {
      name: `rows read per list page <= limit + 1 (${limit + 1}), D1 meta.rows_read`,
      pass: maxRaw <= limit + 1,
      figure: `max ${maxRaw} over ${r.list.rowsRead.length} pages (${r.list.rowsRead.map((x) => `${fmt(x.events, 0)}/${x.page.split(" ")[0]}: ${x.rowsRead}`).join(", ")}); D1 counts one events primary-key lookup per row of the join on top of the index entries`,
    },
    {
      name: `  index entries read per list page <= limit + 1 (${limit + 1}) (permissions_user_start_idx range scan, no join)`,
      pass: maxIndex <= limit + 1,
      figure: `max ${maxIndex} (${r.list.rowsRead.map((x) => `${fmt(x.events, 0)}/${x.page.split(" ")[0]}: ${x.indexRowsRead}`).join(", ")})`,
    },
    {
      name: `  rows read per list page constant across sizes (${fmt(sizes[0].events, 0)} vs ${fmt(sizes.at(-1).events, 0)} events: equal within +2)`,
      pass: equalOk && fullOk,
      figure:
        `pages of ${r.list.equalLimit} (${r.list.equalLimit + 1} rows fetched, which every calendar fills): ${fmtPages(equal)}; ` +
        `full pages of ${limit}: ${Object.entries(fullByPage).map(([page, pages]) => `${page} ${fmtPages(pages)}`).join("; ")}` +
        ` (the ${fmt(sizes[0].events, 0)}-event calendar's page of ${limit} returns ${r.list.rowsRead[0].rowsReturned} rows for ${r.list.rowsRead[0].rowsRead} rows read)`,
    },
    {
      name: `list p50 grows < 1.5x from ${sizes[0].events} to ${sizes.at(-1).events} events`,
      pass: growth !== null && growth < 1.5,
      figure:
        `${sizes.map((s) => `${fmt(s.events, 0)}: ${fmt(s.latency.p50, 2)} ms`).join(", ")} = ${times(growth)}` +
        (sizes.length > 2 ? `; between full pages (${fmt(sizes[1].events, 0)} -> ${fmt(sizes.at(-1).events, 0)}) ${times(ratio(sizes.at(-1).latency.p50, sizes[1].latency.p50))}` : ""),
    },
    { name: "zero lost updates at every contention level", pass: r.contention.every((c) => c.ok && c.lostUpdates === 0), figure: lost.join("; ") },
    { name: "gzip bundle < 250 KB", pass: r.startup.bundle.gzipBytes < GZIP_LIMIT_BYTES, figure: `${fmt(r.startup.bundle.gzipBytes / KB, 1)} KB (${fmt(r.startup.bundle.gzipBytes / 1024, 1)} KiB), ${fmt((GZIP_LIMIT_BYTES - r.startup.bundle.gzipBytes) / KB, 1)} KB to spare` },
    {
      name: "notification delivery p50 <= 2x the update's response p50 (10 collaborators)",
      pass: deliveryRatio !== null && deliveryRatio <= 2 && at10.framesMissing === 0,
      figure: `delivery ${fmt(at10?.fromSend.p50, 2)} ms from send vs PATCH ${fmt(at10?.patchResponse.p50, 2)} ms = ${times(deliveryRatio)}; ${at10?.framesMissing} frames missing`,
    },
  ];
}

/** S10 growth between consecutive sizes and from the smallest to the largest. */
function recurringGrowth(calendars) {
  const sized = calendars.filter((c) => !c.control);
  const pairs = [];
  for (let i = 1; i < sized.length; i++) pairs.push([sized[i - 1], sized[i]]);
  if (sized.length > 2) pairs.push([sized[0], sized.at(-1)]);
  return pairs.map(([a, b]) => ({
    from: a.events,
    to: b.events,
    events: ratio(b.events, a.events),
    series: ratio(b.series, a.series),
    oneOffs: ratio(b.oneOffs, a.oneOffs),
    appendP50: ratio(b.append.latency.p50, a.append.latency.p50),
    appendP99: ratio(b.append.latency.p99, a.append.latency.p99),
    appendCpu: ratio(b.append.workerdCpuMsPerRequest, a.append.workerdCpuMsPerRequest),
    appendRows: ratio(b.rowsRead.append.rowsRead, a.rowsRead.append.rowsRead),
    conflictP50: ratio(b.conflict.latency.p50, a.conflict.latency.p50),
    conflictP99: ratio(b.conflict.latency.p99, a.conflict.latency.p99),
    conflictCpu: ratio(b.conflict.workerdCpuMsPerRequest, a.conflict.workerdCpuMsPerRequest),
    conflictRows: ratio(b.rowsRead.conflict.rowsRead, a.rowsRead.conflict.rowsRead),
  }));
}

/** Least-squares line y = a + b·x. */
function fitLine(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (!sxx) return null;
  const b = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
  return { a: my - b * mx, b };
}

/** The report as lines, rendered for the terminal (renderers.text) or markdown (renderers.markdown). */
function renderReport(r, targets, machine, R) {
  const out = [];
  if (r.baseline) out.push(...renderMain(r, R));
  if (r.hot) out.push(...renderHot(r.hot, R));
  if (r.hostile) out.push(...renderHostile(r.hostile, R));
  if (r.suggestions) out.push(...renderSuggestions(r.suggestions, R));
  out.push(R.section("Targets"));
  for (const t of targets) out.push(R.item(`${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.figure}`));
  out.push(R.note(`machine: ${machine.cpus} CPUs, Node ${machine.node}`));
  return out;
}

/** S0..S10. */
function renderMain(r, R) {
  const out = [];
  const print = (line) => out.push(line);
  const s0 = r.baseline.s0;
  const statusNote = (load) => {
    const other = Object.entries(load.statuses).filter(([code]) => Number(code) !== load.expectStatus);
    return [other.length ? other.map(([c, n]) => `${n}×${c}`).join(" ") : "", load.errors ? `${load.errors} errors` : ""].filter(Boolean).join(", ");
  };
  const row = (name, load, note = "") => [
    name,
    fmt(load.rps, 1),
    times(ratio(load.rps, s0.rps)),
    fmt(load.latency.p50, 2),
    times(ratio(load.latency.p50, s0.latency.p50)),
    fmt(load.latency.p99, 2),
    times(ratio(load.latency.p99, s0.latency.p99)),
    fmt(load.workerdCpuMsPerRequest, 2),
    times(ratio(load.workerdCpuMsPerRequest, s0.workerdCpuMsPerRequest)),
    String(load.latency.n),
    [note, statusNote(load)].filter(Boolean).join("; "),
  ];
  const list = r.list;
  print(R.section(`HTTP scenarios, ${r.login.connections} connections; ratios against S0 of this run`));
  print(
    R.table(
      ["Scenario", "req/s", "×S0", "p50 ms", "×S0", "p99 ms", "×S0", "CPU ms/req", "×S0", "n", "notes"],
      [
        row("S0  GET /health/live (baseline)", s0, "interleaved with the next 3"),
        row("    GET /health (1 D1 query)", r.baseline.health),
        row("    GET /api/auth/me (JWT + session query)", r.baseline.me),
        row("S3  GET /api/events/{id}", r.baseline.s3, "the session check in the same D1 batch as the event, its role and permissions: 1 round trip"),
        row("S1  POST /api/auth/login", r.login, `${r.login.ok} logins`),
        row("S2  POST /api/events (owner per conn.)", r.create.distinctOwners, "slots counting up"),
        row("S2' POST /api/events (one owner)", r.create.oneOwner, "8 writers on one calendar guard"),
        ...list.sizes.map((s) => row(`S4  GET /api/events?limit=50, ${fmt(s.events, 0)} ev.`, s, "sizes interleaved")),
        row(`S4  same, page after #${fmt(list.deep.position, 0)} of ${fmt(list.deep.events, 0)}`, list.deep),
        row("S6  POST /api/events/batch (100)", r.batch, `${r.batch.ok} batches, ${fmt(r.batch.rps * 100, 0)} events/s`),
        row("S0  GET /health/live (end of run)", r.baselineEnd, `drift ${times(ratio(r.baselineEnd.rps, s0.rps))} in req/s`),
      ],
    ),
  );
  print(R.note("CPU ms/req is workerd's user+system CPU (all threads, /proc/<pid>/stat) over the run divided by completed requests."));

  const seeding = r.seeding;
  if (seeding) {
    print(R.section("Seeding (POST /api/events/batch of 100, oldest first)"));
    print(
      R.table(
        ["Calendar", "seconds", "batches", "first 5 batches, mean ms", "last 5 batches, mean ms"],
        [
          ...seeding.listUsers.map((u) => [`S4 user, ${fmt(u.events, 0)} one-offs`, fmt(u.seconds, 1), u.batches, fmt(u.firstMs, 0), fmt(u.lastMs, 0)]),
          ...seeding.recurringOwners.map((o) => [
            `S10 owner, ${o.series} series (batches: ${o.seriesBatchMs.map((ms) => fmt(ms, 0)).join(", ")} ms) then ${fmt(o.oneOffs, 0)} one-offs`,
            fmt(o.seconds, 1),
            o.seriesBatchMs.length + Math.ceil(o.oneOffs / 100),
            fmt(o.firstMs, 0),
            fmt(o.lastMs, 0),
          ]),
        ],
      ),
    );
    print(R.note("First/last columns are the one-off batches. A series batch is checked against every stored series and within itself (two endless series are compared over a 730-day horizon), so series batches grow with the series already stored."));
  }

  const l = r.login;
  print(R.section("S1 login cost (scrypt N=2^14, r=8, p=5)"));
  print(
    R.table(
      ["Measure", "value", "×S0"],
      [
        [`workerd CPU per login, ${l.sequential.logins} sequential logins`, `${fmt(l.sequential.workerdCpuMsPerLogin, 1)} ms`, times(ratio(l.sequential.workerdCpuMsPerLogin, s0.workerdCpuMsPerRequest))],
        ["sequential login latency p50", `${fmt(l.sequential.latency.p50, 1)} ms`, times(ratio(l.sequential.latency.p50, s0.latency.p50))],
        [`workerd CPU per login under load (${l.connections} conn.)`, `${fmt(l.workerdCpuMsPerRequest, 1)} ms`, times(ratio(l.workerdCpuMsPerRequest, s0.workerdCpuMsPerRequest))],
        ["1000 / (logins/s): wall ms per login, one Worker thread", `${fmt(l.rpsEstimateCpuMsPerLogin, 1)} ms`, ""],
      ],
    ),
  );

  print(R.section(`S4 D1 rows read per list page (limit ${list.limit}: ${list.limit + 1} rows fetched)`));
  print(
    R.table(
      ["Calendar", "page", "rows returned", "rows_read (D1)", "index entries", "plan"],
      [
        ...list.rowsRead.map((x) => [`${fmt(x.events, 0)} events`, x.page, x.rowsReturned, x.rowsRead, x.indexRowsRead, x.plan.join(" / ")]),
        ...list.equalPages.map((x) => [`${fmt(x.events, 0)} events`, `first, limit ${list.equalLimit}`, x.rowsReturned, x.rowsRead, "", "(same query, a page every calendar fills)"]),
      ],
    ),
  );
  print(R.section("Conflict check of one create on the largest S4 calendar (one-offs only; rows read by its two SELECTs)"));
  print(
    R.table(
      ["New event", "calendar", "rows returned", "rows_read finite", "rows_read endless", "rows_read total", "plan"],
      r.conflictScan.map((c) => [c.where, `${fmt(c.events, 0)} events`, c.rowsReturned, c.finiteRowsRead, c.endlessRowsRead, c.rowsRead, c.plan.join(" / ")]),
    ),
  );

  const rec = r.recurring;
  if (rec) {
    print(R.section(`S10 conflict check with endless series: POST /api/events, 1 connection, ${rec.rounds} interleaved rounds of ${rec.requestsPerRound} requests`));
    print(
      R.table(
        ["Calendar", "series", "one-offs", "append p50 ms", "p99", "CPU ms/req", "×S0", "409 p50 ms", "p99", "CPU ms/req", "×S0", "rows_read append (finite + endless)", "rows_read 409 (finite + endless)", "notes"],
        rec.calendars.map((c) => [
          c.label,
          c.series,
          fmt(c.oneOffs, 0),
          fmt(c.append.latency.p50, 2),
          fmt(c.append.latency.p99, 2),
          fmt(c.append.workerdCpuMsPerRequest, 2),
          times(ratio(c.append.workerdCpuMsPerRequest, s0.workerdCpuMsPerRequest)),
          fmt(c.conflict.latency.p50, 2),
          fmt(c.conflict.latency.p99, 2),
          fmt(c.conflict.workerdCpuMsPerRequest, 2),
          times(ratio(c.conflict.workerdCpuMsPerRequest, s0.workerdCpuMsPerRequest)),
          `${c.rowsRead.append.rowsRead} (${c.rowsRead.append.finiteRowsRead} + ${c.rowsRead.append.endlessRowsRead}); ${c.rowsRead.append.finiteRows + c.rowsRead.append.endlessRows} rows`,
          `${c.rowsRead.conflict.rowsRead} (${c.rowsRead.conflict.finiteRowsRead} + ${c.rowsRead.conflict.endlessRowsRead}); ${c.rowsRead.conflict.finiteRows + c.rowsRead.conflict.endlessRows} rows`,
          [
            `n ${c.append.latency.n}/${c.conflict.latency.n}`,
            statusNote(c.append) && `append: ${statusNote(c.append)}`,
            statusNote(c.conflict) && `409: ${statusNote(c.conflict)}`,
            c.storedAfter.events !== c.events ? `stored after: ${c.storedAfter.events}` : "",
          ]
            .filter(Boolean)
            .join("; "),
        ]),
      ),
    );
    print(
      R.note(
        "Append: a new one-off after the latest event (201; the round's events are deleted after it, so each round sees the same calendar). " +
          "409: a one-off at the slot of the latest event. Rows returned by the check: the finite events ending after the new start (0 or 1 here) plus every endless series, each expanded in code (firstOverlap).",
      ),
    );
    const growth = recurringGrowth(rec.calendars);
    print(
      R.table(
        ["Growth", "events", "series", "one-offs", "append p50", "p99", "CPU/req", "rows_read", "409 p50", "p99", "CPU/req", "rows_read"],
        growth.map((g) => [
          `${fmt(g.from, 0)} -> ${fmt(g.to, 0)}`,
          times(g.events),
          times(g.series),
          times(g.oneOffs),
          times(g.appendP50),
          times(g.appendP99),
          times(g.appendCpu),
          times(g.appendRows),
          times(g.conflictP50),
          times(g.conflictP99),
          times(g.conflictCpu),
          times(g.conflictRows),
        ]),
      ),
    );
    const sized = rec.calendars.filter((c) => !c.control);
    const control = rec.calendars.find((c) => c.control);
    const lines = [];
    for (const kind of ["append", "conflict"]) {
      const fit = fitLine(sized.map((c) => ({ x: c.series, y: c[kind].workerdCpuMsPerRequest })));
      const rows = fitLine(sized.map((c) => ({ x: c.series, y: c.rowsRead[kind].rowsRead })));
      if (fit) {
        lines.push(
          `${kind === "append" ? "append (201)" : "409"}: CPU/req ≈ ${fmt(fit.a, 2)} ms + ${fmt(fit.b * 1000, 1)} µs × series` +
            (rows ? `; rows_read ≈ ${fmt(rows.a, 1)} + ${fmt(rows.b, 2)} × series` : "") +
            (control ? `; control (${fmt(control.events, 0)} one-offs, no series): ${fmt(control[kind].workerdCpuMsPerRequest, 2)} ms, ${control.rowsRead[kind].rowsRead} rows read` : ""),
        );
      }
    }
    for (const line of lines) print(R.item(line));
  }

  print(R.section("S5 PATCH with If-Match on one event, writers retry on 412 (re-GET, retry)"));
  print(
    R.table(
      ["Writers", "successes", "goodput/s", "×S0 req/s", "PATCH+GET/s", "PATCHes", "412 rate", "success p50 ms", "×S0", "final version", "expected", "lost", "other"],
      r.contention.map((c) => [
        c.writers,
        c.successes,
        fmt(c.goodput, 1),
        times(ratio(c.goodput, s0.rps)),
        fmt(c.requestsPerSecond, 1),
        c.patches,
        `${fmt(100 * c.rate412, 1)}%`,
        fmt(c.successLatency.p50, 2),
        times(ratio(c.successLatency.p50, s0.latency.p50)),
        c.finalVersion,
        c.expectedVersion,
        c.lostUpdates,
        Object.entries(c.otherStatuses).map(([k, v]) => `${v}×${k}`).join(" ") || "",
      ]),
    ),
  );

  print(R.section(`S7 notification delivery, ${r.notifications[0]?.updates} sequential PATCHes per configuration (ms)`));
  print(
    R.table(
      ["Collaborators × sockets", "frames", "missing", "from send p50", "p99", "from response p50", "p99", "PATCH p50", "p99", "delivery/PATCH p50", "PATCH ×S0 p50"],
      r.notifications.map((n) => [
        `${n.collaborators} × ${n.socketsPerUser}`,
        n.framesExpected,
        n.framesMissing,
        fmt(n.fromSend.p50, 2),
        fmt(n.fromSend.p99, 2),
        fmt(n.fromResponse.p50, 2),
        fmt(n.fromResponse.p99, 2),
        fmt(n.patchResponse.p50, 2),
        fmt(n.patchResponse.p99, 2),
        times(ratio(n.fromSend.p50, n.patchResponse.p50)),
        times(ratio(n.patchResponse.p50, s0.latency.p50)),
      ]),
    ),
  );

  const ws = r.sockets;
  print(R.section("S8 WebSockets"));
  print(
    R.table(
      ["Measure", "value", "×S0"],
      [
        [`connect rate, ${ws.sockets} sockets over ${ws.users} users, ${ws.inFlight} handshakes in flight`, `${fmt(ws.connectionsPerSecond, 1)} /s`, times(ratio(ws.connectionsPerSecond, s0.rps))],
        ["connect to hello p50 / p99", `${fmt(ws.helloLatency.p50, 1)} / ${fmt(ws.helloLatency.p99, 1)} ms`, times(ratio(ws.helloLatency.p50, s0.latency.p50))],
        ["workerd RSS before / with sockets open / after close", `${fmt(ws.rssKib.before / 1024, 1)} / ${fmt(ws.rssKib.open / 1024, 1)} / ${fmt(ws.rssKib.afterClose / 1024, 1)} MiB`, ""],
        ["RSS per idle socket", `${fmt(ws.rssKibPerSocket, 1)} KiB`, ""],
      ],
    ),
  );

  const st = r.startup;
  print(R.section("S9 bundle and startup"));
  print(
    R.table(
      ["Measure", "value"],
      [
        ["dist/index.js raw", `${fmt(st.bundle.rawBytes / KB, 1)} KB`],
        ["gzip (level 6 / 9)", `${fmt(st.bundle.gzipBytes / KB, 1)} / ${fmt(st.bundle.gzip9Bytes / KB, 1)} KB`],
        ["main instance: new Miniflare + ready / first 200 of /health/live", `${fmt(st.main.readyMs, 0)} / ${fmt(st.main.firstResponseMs, 0)} ms`],
        [`cold start, mean of ${st.cold.runs.length}: ready / first 200 / total`, `${fmt(st.cold.mean.readyMs, 0)} / ${fmt(st.cold.mean.firstResponseMs, 0)} / ${fmt(st.cold.mean.totalMs, 0)} ms`],
        ["first 200 after ready, ×S0 p50", times(ratio(st.cold.mean.firstResponseMs, s0.latency.p50))],
      ],
    ),
  );
  if (st.bundle.composition) {
    print(R.note("Raw bytes of dist/index.js by origin (from its source map):"));
    print(R.table(["Origin", "KB", "share"], st.bundle.composition.map((c) => [c.name, fmt(c.bytes / KB, 1), `${fmt(100 * c.share, 1)}%`])));
  }

  return out;
}

/** bench/results/latest.md: the run's report as markdown, with when and on what it ran. */
function markdownReport(results, targets, machine, { finishedAt, totalSeconds }) {
  const head = [
    "# Benchmark results",
    "",
    `Latest ${machine.only ? `\`node bench/run.mjs --only ${machine.only}\`` : "`npm run bench`"} run, finished ${finishedAt}; ${fmt(totalSeconds, 0)} s (plus the build before it).`,
    "",
    `- Machine: ${machine.cpus} CPUs, Node ${machine.node}, Miniflare storage under ${machine.storage}.`,
    `- Load average (1, 5, 15 min): before ${machine.loadavgBefore.join(", ")}; after ${machine.loadavgAfter.join(", ")}.`,
    `- Tree: ${machine.tree ?? "unknown"}.`,
    `- Targets: ${targets.filter((t) => t.pass).length} of ${targets.length} pass.`,
    "",
    "The machine is small and shared: compare figures with the S0 baseline of the same run (×S0), not across runs. See README.md for what each scenario does.",
  ];
  return [...head, ...renderReport(results, targets, machine, renderers.markdown)].join("\n") + "\n";
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
