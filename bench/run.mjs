// `npm run bench`: builds the production bundle, runs it under Miniflare in this process, seeds it
// through the public API, measures scenarios S0..S9 and checks the targets. See bench/README.md.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { Api, eventAt, registerUsers, seedEvents, slotMs } from "./lib/api.mjs";
import { fmt, section, table, times } from "./lib/report.mjs";
import { ratio, round } from "./lib/stats.mjs";
import { applyMigrations, randomSecret, rssKibOf, startWorker, useMemoryStorage, workerOptions } from "./lib/worker.mjs";
import { contention } from "./scenarios/contention.mjs";
import { notificationLatency, socketScale } from "./scenarios/notifications.mjs";
import { baselineAndGet, baselineOnly, batch, conflictScan, create, list, login } from "./scenarios/requests.mjs";
import { bundleSize, coldStarts } from "./scenarios/startup.mjs";
import { bundleComposition } from "./lib/bundle.mjs";

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
};
const KB = 1000;
const GZIP_LIMIT_BYTES = 250 * KB;

const runStarted = performance.now();
const log = (message) => console.log(`[${fmt((performance.now() - runStarted) / 1000, 1).padStart(6)} s] ${message}`);
const loadavg = () => os.loadavg().map((v) => round(v, 2));

async function main() {
  if (!existsSync(scriptPath)) throw new Error(`${scriptPath} is missing: run \`npm run build\` (npm run bench does).`);
  const storage = process.env.BENCH_STORAGE === "disk" ? os.tmpdir() : useMemoryStorage();
  const machine = { cpus: os.cpus().length, node: process.version, storage, loadavgBefore: loadavg() };
  console.log(`load average before (1, 5, 15 min): ${machine.loadavgBefore.join(", ")} on ${machine.cpus} CPUs`);
  console.log(`Miniflare storage (D1, Durable Objects) under ${storage}`);

  const bundle = { ...bundleSize(scriptPath), composition: bundleComposition(scriptPath) };
  const worker = await startWorker(workerOptions({ root, scriptPath, jwtSecret: randomSecret() }));
  log(`worker ready at ${worker.url.href} (workerd pid ${worker.pid ?? "not found"}) in ${fmt(worker.timings.totalMs, 0)} ms`);
  const results = { startup: { bundle, main: worker.timings } };
  try {
    const db = await applyMigrations(worker.mf, join(root, "migrations"));
    const ctx = { target: { url: worker.url, pid: worker.pid }, api: new Api(worker.url), db, settings };
    const seed = await seedAll(ctx);
    Object.assign(results, await measureAll(ctx, seed));
  } finally {
    await worker.mf.dispose();
  }
  log("S9 cold starts");
  results.startup.cold = await coldStarts({ root, scriptPath }, settings.coldStarts);
  machine.loadavgAfter = loadavg();

  const targets = evaluateTargets(results);
  printReport(results, targets, machine);
  const totalSeconds = (performance.now() - runStarted) / 1000;
  console.log(`\nload average after (1, 5, 15 min): ${machine.loadavgAfter.join(", ")}`);
  console.log(`total runtime: ${fmt(totalSeconds, 0)} s (plus the build before it)`);
  mkdirSync(join(root, "bench/results"), { recursive: true });
  const out = join(root, "bench/results/latest.json");
  writeFileSync(out, JSON.stringify({ finishedAt: new Date().toISOString(), settings, machine, totalSeconds, targets, results }, null, 2));
  console.log(`results written to ${out}`);
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
  for (const [i, user] of listUsers.entries()) {
    user.events = settings.listSizes[i];
    // Latest slots first: each batch then starts before every stored event, and its conflict
    // check's range scan (start_time < batch end) finds nothing to read.
    await seedEvents(api, user.token, user.events, { order: "descending" });
    seeded += user.events;
  }
  log(`seeded ${seeded} events in ${fmt((performance.now() - started) / 1000, 1)} s`);
  return { loginUser, reader, readerEventId: readerEvent.id, writer, notifyOwner, sharedCreator, listUsers, creators, batchers, collaborators };
}

async function measureAll(ctx, seed) {
  const r = {};
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
  log("S0 again (drift check)");
  r.baselineEnd = await baselineOnly(ctx);
  r.workerdRssKibAtEnd = rssKibOf(ctx.target.pid);
  return r;
}

function evaluateTargets(r) {
  const s0 = r.baseline.s0;
  const limit = r.list.limit;
  const sizes = r.list.sizes;
  const maxRaw = Math.max(...r.list.rowsRead.map((x) => x.rowsRead));
  const maxIndex = Math.max(...r.list.rowsRead.map((x) => x.indexRowsRead));
  const growth = ratio(sizes.at(-1).latency.p50, sizes[0].latency.p50);
  const at10 = r.notifications.find((n) => n.collaborators === 10 && n.socketsPerUser === 1);
  const deliveryRatio = ratio(at10?.fromSend.p50, at10?.patchResponse.p50);
  const lost = r.contention.map((c) => `k=${c.writers}: ${c.lostUpdates} lost (version ${c.finalVersion}, expected ${c.expectedVersion})`);
  return [
    {
      name: "authenticated GET >= 50% of S0 throughput",
      pass: r.baseline.s3.rps >= 0.5 * s0.rps,
      figure:
        `${fmt(r.baseline.s3.rps, 0)} vs ${fmt(s0.rps, 0)} req/s = ${fmt(100 * ratio(r.baseline.s3.rps, s0.rps), 1)}%` +
        ` (GET /health with one D1 query and no auth: ${fmt(100 * ratio(r.baseline.health.rps, s0.rps), 1)}%; S3 is ${fmt(100 * ratio(r.baseline.s3.rps, r.baseline.health.rps), 1)}% of it)`,
    },
    {
      name: `rows read per list page <= limit + 1 (${limit + 1}), D1 meta.rows_read`,
      pass: maxRaw <= limit + 1,
      figure: `max ${maxRaw} over ${r.list.rowsRead.length} pages (${r.list.rowsRead.map((x) => `${x.events}/${x.page.split(" ")[0]}: ${x.rowsRead}`).join(", ")})`,
    },
    {
      name: `  same, counting index entries only (permissions_user_start_idx range scan)`,
      pass: maxIndex <= limit + 1,
      figure: `max ${maxIndex}; D1 also counts one row per events primary-key lookup of the join`,
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

function printReport(r, targets, machine) {
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
  console.log(section(`HTTP scenarios, ${r.login.connections} connections; ratios against S0 of this run`));
  console.log(
    table(
      ["Scenario", "req/s", "×S0", "p50 ms", "×S0", "p99 ms", "×S0", "CPU ms/req", "×S0", "n", "notes"],
      [
        row("S0  GET /health/live (baseline)", s0, "interleaved with the next 3"),
        row("    GET /health (1 D1 query)", r.baseline.health),
        row("    GET /api/auth/me (JWT + session query)", r.baseline.me),
        row("S3  GET /api/events/{id}", r.baseline.s3, "auth + event + permissions: 3 D1 queries"),
        row("S1  POST /api/auth/login", r.login, `${r.login.ok} logins`),
        row("S2  POST /api/events (owner per conn.)", r.create.distinctOwners),
        row("S2' POST /api/events (one owner)", r.create.oneOwner, "8 writers on one calendar guard"),
        ...list.sizes.map((s) => row(`S4  GET /api/events?limit=50, ${fmt(s.events, 0)} ev.`, s, "sizes interleaved")),
        row(`S4  same, page after #${fmt(list.deep.position, 0)} of ${fmt(list.deep.events, 0)}`, list.deep),
        row("S6  POST /api/events/batch (100)", r.batch, `${r.batch.ok} batches, ${fmt(r.batch.rps * 100, 0)} events/s`),
        row("S0  GET /health/live (end of run)", r.baselineEnd, `drift ${times(ratio(r.baselineEnd.rps, s0.rps))} in req/s`),
      ],
    ),
  );
  console.log("CPU ms/req is workerd's user+system CPU (all threads, /proc/<pid>/stat) over the run divided by completed requests.");

  const l = r.login;
  console.log(section("S1 login cost (scrypt N=2^14, r=8, p=5)"));
  console.log(
    table(
      ["Measure", "value", "×S0"],
      [
        [`workerd CPU per login, ${l.sequential.logins} sequential logins`, `${fmt(l.sequential.workerdCpuMsPerLogin, 1)} ms`, times(ratio(l.sequential.workerdCpuMsPerLogin, s0.workerdCpuMsPerRequest))],
        ["sequential login latency p50", `${fmt(l.sequential.latency.p50, 1)} ms`, times(ratio(l.sequential.latency.p50, s0.latency.p50))],
        [`workerd CPU per login under load (${l.connections} conn.)`, `${fmt(l.workerdCpuMsPerRequest, 1)} ms`, times(ratio(l.workerdCpuMsPerRequest, s0.workerdCpuMsPerRequest))],
        ["1000 / (logins/s): wall ms per login, one Worker thread", `${fmt(l.rpsEstimateCpuMsPerLogin, 1)} ms`, ""],
      ],
    ),
  );

  console.log(section(`S4 D1 rows read per list page (limit ${list.limit}: ${list.limit + 1} rows fetched)`));
  console.log(
    table(
      ["Calendar", "page", "rows returned", "rows_read (D1)", "index entries", "plan"],
      list.rowsRead.map((x) => [`${fmt(x.events, 0)} events`, x.page, x.rowsReturned, x.rowsRead, x.indexRowsRead, x.plan.join(" / ")]),
    ),
  );
  console.log(section("Conflict check of one create on the largest calendar (rows read)"));
  console.log(table(["New event", "calendar", "rows_read", "plan"], r.conflictScan.map((c) => [c.where, `${fmt(c.events, 0)} events`, c.rowsRead, c.plan.join(" / ")])));

  console.log(section("S5 PATCH with If-Match on one event, writers retry on 412 (re-GET, retry)"));
  console.log(
    table(
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

  console.log(section(`S7 notification delivery, ${r.notifications[0]?.updates} sequential PATCHes per configuration (ms)`));
  console.log(
    table(
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
  console.log(section("S8 WebSockets"));
  console.log(
    table(
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
  console.log(section("S9 bundle and startup"));
  console.log(
    table(
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
    console.log("Raw bytes of dist/index.js by origin (from its source map):");
    console.log(table(["Origin", "KB", "share"], st.bundle.composition.map((c) => [c.name, fmt(c.bytes / KB, 1), `${fmt(100 * c.share, 1)}%`])));
  }

  console.log(section("Targets"));
  for (const t of targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.figure}`);
  console.log(`machine: ${machine.cpus} CPUs, Node ${machine.node}`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
