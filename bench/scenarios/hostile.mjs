import http from "node:http";
import { join } from "node:path";
import { Api, mapLimit, seedEvents } from "../lib/api.mjs";
import { settle } from "../lib/load.mjs";
import { memoryKibOf, resetPeakRss } from "../lib/memory.mjs";
import { fmt, times } from "../lib/report.mjs";
import { ratio, sleep, summarize } from "../lib/stats.mjs";
import { applyMigrations, cpuMsOf, randomSecret, startWorker, workerOptions } from "../lib/worker.mjs";

/**
 * H: hostile input (issue "Hardening I"). Each worst case the issue names, on a fresh Miniflare
 * instance of its own: its memory peaks must not leak into the other scenarios (nor theirs into
 * it), and a case that blows workerd up must not take the rest of the run with it.
 *
 * Every case reports workerd's CPU per request (user + system of the whole process, deferred work
 * such as pushes to the notification hubs included: the bench waits for workerd to go idle before
 * reading it) against the baseline route GET /health/live measured the same way on the same
 * instance, and workerd's VmRSS before the case and its peak (VmHWM, reset at the start of every
 * case) during it.
 */

const MiB = 1024; // KiB per MiB

/** The budgets the targets check. README.md ("Hostile input") says why each is what it is. */
export const HOSTILE_BUDGETS = {
  rssGrowthMib: 32, // peak RSS over the case minus RSS before it
  bombCpuTimesS0: 5, // a tiny body refused before any work: a small multiple of the baseline route
  jsonCpuTimesControl: 3, // a 1 MiB bomb against a 1 MiB body without structure (receiving and refusing it)
  ruleCpuMs: 50, // creating any rule, accepted (201) or refused past the work budget (422)
  agendaCpuMs: 50, // one agenda page, whatever the series hold
  searchCpuTimesList: 3, // a q page against a plain list page of the same calendar
  shareLinearity: 1.5, // CPU per recipient of the big share / that of a share with a tenth as many
};

/** The MessagePack bodies: every length header in its widest form, and the ones that hurt. */
const MSGPACK_BOMBS = [
  { name: "array32, 2^32-1 elements", bytes: [0xdd, 0xff, 0xff, 0xff, 0xff] },
  // V8 preallocates `new Array(n)` up to 2^25 elements (128 MiB); past that it goes sparse and
  // cheap, so the widest header is not the worst one.
  { name: "array32, 2^25 elements", bytes: [0xdd, 0x02, 0x00, 0x00, 0x00] },
  { name: "map32, 2^32-1 entries", bytes: [0xdf, 0xff, 0xff, 0xff, 0xff] },
  { name: "str32, 2^32-1 bytes", bytes: [0xdb, 0xff, 0xff, 0xff, 0xff] },
  { name: "bin32, 2^32-1 bytes", bytes: [0xc6, 0xff, 0xff, 0xff, 0xff] },
  { name: "ext32, 2^32-1 bytes", bytes: [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01] },
  // 3,000 nested array16 headers, each claiming 9,000 elements: no header claims more than the
  // whole body holds (9,000 bytes), yet together they claim 27 million slots. A bound on each
  // header from the body's total size lets this through; one from the bytes left, or a budget
  // over all of them, does not.
  { name: "nested: 3,000 × array16 of 9,000", bytes: nestedArray16(3000, 9000) },
];

function nestedArray16(levels, claimed) {
  const bytes = new Uint8Array(3 * levels);
  for (let i = 0; i < levels; i++) bytes.set([0xdc, claimed >> 8, claimed & 0xff], 3 * i);
  return bytes;
}

const SPARSE_RULE = "FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR";
/**
 * More rules that walk far, created by the owner of the sparse series, each measured alone: each
 * must be a 201 or a 422 within the same CPU budget, whatever the server's work budget decides.
 */
const OTHER_RULES = [
  { rule: "FREQ=DAILY;COUNT=50000", why: "50,000 days to its end (2036)" },
  { rule: "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=25000", why: "160 years of weeks" },
  { rule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=100", why: "a Monday 29 February: 100 of them take 2,800 years" },
  { rule: "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", why: "never matches" },
  { rule: "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;BYSETPOS=-1;COUNT=20000", why: "20,000 Friday the 13ths (BYSETPOS): past 9999" },
  { rule: SPARSE_RULE, start: Date.UTC(1000, 0, 1), why: "the issue's start in year 1000: outside the supported range" },
];

/** Endless, from 1900: sparse filters, a dense walk from far back, a leap day, several days a week. */
const ENDLESS_RULES = ["FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR", "FREQ=DAILY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=WEEKLY;BYDAY=MO,WE,FR"];
/**
 * From 1900 with a COUNT that ends after 2030 (about 2074, 2114, 2066 and 2081; each within a
 * budget of 50,000 steps of writing): a COUNT rule cannot be skipped into arithmetically, so a
 * naive expansion walks 130 years to the window.
 */
const COUNT_RULES = ["FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR;COUNT=300", "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=1500", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=2000", "FREQ=YEARLY;BYMONTH=9;BYDAY=MO,TU,WE,TH,FR;COUNT=4000"];
const SERIES_PER_COUNT_OWNER = 10;
/** A week of 2030 with a Friday the 13th in it (Monday 9 to Monday 16 September). */
const AGENDA_WINDOW = { start: "2030-09-09T00:00:00Z", end: "2030-09-16T00:00:00Z" };
const FAR_PAST = Date.UTC(1900, 0, 1); // the first instant of the supported range
const MINUTE = 60_000;
const iso = (ms) => new Date(ms).toISOString();

const series = (title, startMs, minutes, rule) => ({
  title,
  start_time: iso(startMs),
  end_time: iso(startMs + minutes * MINUTE),
  is_recurring: true,
  recurrence_pattern: rule,
  timezone: "UTC",
});

/**
 * Runs H on its own instance of the bundle and returns its results (see renderHostile and
 * hostileTargets for what is read from them).
 */
export async function hostileInput({ root, scriptPath }, settings, log = () => {}) {
  const worker = await startWorker(workerOptions({ root, scriptPath, jwtSecret: randomSecret() }));
  try {
    const db = await applyMigrations(worker.mf, join(root, "migrations"));
    const ctx = { target: { url: worker.url, pid: worker.pid }, api: new Api(worker.url), db, settings };
    if (!worker.pid) throw new Error("workerd's pid was not found: H reads its CPU and memory from /proc");
    return await measureHostile(ctx, log);
  } finally {
    await worker.mf.dispose();
  }
}

async function measureHostile(ctx, log) {
  const { api, db, settings } = ctx;
  const started = performance.now();
  const [bomber, notified, sparse, agendaUser, sharer] = await mapLimit(["bomber", "notified", "sparse", "agenda", "sharer"], 4, (n) => api.register(`hostile_${n}`));
  // The share's recipients, and those of the small shares it is compared with.
  const recipients = await insertRecipients(db, settings.shareUsers + SMALL_SHARES * smallShareOf(settings.shareUsers));
  await seedEvents(api, notified.token, settings.notifications); // one event_created notification each
  const seeded = await db.prepare("select count(*) as n from notifications where user_id = ?").bind(notified.id).first();
  const seedSeconds = (performance.now() - started) / 1000;
  log(`H seeded 5 users, ${recipients.length} share recipients (D1) and ${seeded.n} notifications in ${fmt(seedSeconds, 1)} s`);

  const r = { budgets: HOSTILE_BUDGETS, settings, seedSeconds, notificationsSeeded: seeded.n };
  // A warm-up first: a fresh isolate grows its heap over its first requests, which is not what any case costs.
  const baseline = { count: 1000, concurrency: 8, request: () => ({ path: "/health/live" }) };
  await hammer(ctx, baseline);
  r.baseline = await measured(ctx, () => hammer(ctx, baseline));
  log("H 200-user share");
  r.share = await share(ctx, sharer, recipients, settings.shareUsers);
  log(`H socket replay of ${seeded.n} notifications`);
  r.replay = await measured(ctx, () => replay(ctx, notified.token));
  log(`H q search over ${fmt(settings.notifications, 0)} events`);
  r.search = await search(ctx, notified);
  log(`H sparse far-past rule (${settings.sparseSeries} series)`);
  r.sparse = await sparseRules(ctx, sparse, settings.sparseSeries, bomber);
  log(`H agenda over ${settings.agendaSeries} hostile series`);
  r.agenda = await agenda(ctx, agendaUser, settings.agendaSeries);
  log("H JSON bombs, chunked 6 MiB bodies");
  r.json = await jsonBombs(ctx, bomber);
  r.chunked = await chunked(ctx, bomber);
  log(`H MessagePack bombs (${MSGPACK_BOMBS.length} forms × 2 routes × ${settings.bombRequests})`);
  r.msgpack = await msgpackBombs(ctx, bomber);
  r.healthAfter = (await api.send("GET", "/health/live")).status;
  r.rssKibAtEnd = memoryKibOf(ctx.target.pid)?.rss ?? null;
  return r;
}

/**
 * The share recipients straight into D1: they never log in, and 200 registrations would cost 200
 * scrypt hashes (about 30 s of this scenario's two minutes). Nothing else is seeded this way.
 */
async function insertRecipients(db, count) {
  await db
    .prepare(
      "insert into users (username, email, password_hash, created_at) " +
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < ?) " +
        "select 'hostile_r' || i, 'hostile_r' || i || '@bench.test', 'not-a-hash: never logs in', ? from n",
    )
    .bind(count, Date.now())
    .run();
  const { results } = await db.prepare("select id from users where username like 'hostile\\_r%' escape '\\' order by id").all();
  return results.map((row) => row.id);
}

/**
 * Runs `run()` between two idle points of workerd: CPU over the whole span (what the requests left
 * running after their responses included), RSS before and the peak during (VmHWM reset first).
 */
async function measured({ target }, run) {
  await settle(target);
  const peakReset = resetPeakRss(target.pid);
  const before = memoryKibOf(target.pid);
  const cpuBefore = cpuMsOf(target.pid);
  const started = performance.now();
  const result = await run(before);
  const wallMs = performance.now() - started;
  await settle(target);
  const cpuMs = cpuBefore === null ? null : cpuMsOf(target.pid) - cpuBefore;
  const after = memoryKibOf(target.pid);
  const requests = result.requests ?? 1;
  return {
    ...result,
    requests,
    wallMs,
    cpuMs,
    cpuMsPerRequest: cpuMs === null ? null : cpuMs / requests,
    memory: {
      peakReset,
      rssBeforeKib: before?.rss ?? null,
      hwmKib: after?.hwm ?? null,
      rssAfterKib: after?.rss ?? null,
      growthKib: before && after ? after.hwm - before.rss : null,
    },
  };
}

/**
 * `count` requests, `concurrency` at a time; `request(i)` gives `{path, init}` for fetch. Stops
 * early (and says so in `aborted`) once workerd's RSS has grown by the abort threshold since the
 * start: on a server without the fixes these bodies take gigabytes, on a machine others share.
 */
async function hammer({ target, settings }, { count, concurrency = 1, request, maxMs = Infinity }) {
  const statuses = {};
  const latencies = [];
  let errors = 0;
  let sent = 0;
  let aborted = null;
  const startRss = memoryKibOf(target.pid)?.rss ?? 0;
  const abortKib = settings.abortRssGrowthMib * MiB;
  const started = performance.now();
  await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      // At least 3 requests, so a slow case still gives a figure; past `maxMs` no more are sent.
      if (aborted || (sent >= 3 && performance.now() - started > maxMs)) return;
      const { path, init = {} } = request(i);
      const t = performance.now();
      try {
        const response = await fetch(new URL(path, target.url), { ...init, signal: AbortSignal.timeout(60_000) });
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t);
      sent++;
      const rss = memoryKibOf(target.pid)?.rss ?? 0;
      if (!aborted && rss - startRss > abortKib) aborted = `stopped after ${sent} requests: RSS grew ${fmt((rss - startRss) / MiB, 0)} MiB`;
    },
  );
  return { requests: sent, statuses, errors, aborted, latency: summarize(latencies) };
}

const bearer = (token) => ({ authorization: `Bearer ${token}` });

/**
 * One share naming `size` recipients: notification rows written, and the most any one user got.
 * First, for linearity, SMALL_SHARES shares with a tenth as many other users each (their hubs as
 * cold as the big share's; several, since one small share is a tick or two of CPU): CPU per
 * recipient must not grow with the size of the share.
 */
async function share(ctx, owner, recipients, size) {
  const small = smallShareOf(size);
  const controls = [];
  for (let i = 0; i < SMALL_SHARES; i++) controls.push(await shareOnce(ctx, owner, recipients.slice(size + i * small, size + (i + 1) * small), `2031-06-0${2 + i}T08:00:00Z`));
  const big = await shareOnce(ctx, owner, recipients.slice(0, size), "2031-06-01T10:00:00Z");
  const sum = (key) => controls.reduce((total, c) => (total === null || c[key] === null ? null : total + c[key]), 0);
  const control = {
    shares: SMALL_SHARES,
    recipients: small,
    requests: SMALL_SHARES,
    statuses: Object.fromEntries([[200, controls.filter((c) => c.statuses[200] === 1).length]]),
    cpuMs: sum("cpuMs"),
    cpuMsPerRequest: sum("cpuMs") === null ? null : sum("cpuMs") / SMALL_SHARES,
    cpuMsPerRecipient: sum("cpuMs") === null ? null : sum("cpuMs") / (SMALL_SHARES * small),
    rowsWritten: sum("rowsWritten"),
    latency: summarize(controls.map((c) => c.latency.p50)),
    memory: { rssBeforeKib: controls[0].memory.rssBeforeKib, hwmKib: Math.max(...controls.map((c) => c.memory.hwmKib ?? 0)), growthKib: Math.max(...controls.map((c) => c.memory.growthKib ?? 0)) },
  };
  return { ...big, control };
}

const SMALL_SHARES = 4;
const smallShareOf = (size) => Math.max(1, Math.round(size / 10));

async function shareOnce(ctx, owner, recipients, start) {
  const { api, db } = ctx;
  const event = await api.createEvent(owner.token, { title: `Shared with ${recipients.length}`, start_time: start, end_time: new Date(Date.parse(start) + 3600_000).toISOString() });
  const count = () => db.prepare("select count(*) as n from notifications where event_id = ?").bind(event.id).first();
  const before = await count();
  const users = recipients.map((user_id) => ({ user_id, role: "viewer" }));
  const result = await measured(ctx, async () => {
    const response = await api.send("POST", `/api/events/${event.id}/share`, { token: owner.token, body: { users } });
    return { statuses: { [response.status]: 1 }, latency: summarize([response.ms]) };
  });
  const after = await count();
  const most = await db.prepare("select max(n) as n from (select count(*) as n from notifications where event_id = ? group by user_id)").bind(event.id).first();
  return { ...result, recipients: recipients.length, rowsWritten: after.n - before.n, mostPerUser: most.n, cpuMsPerRecipient: result.cpuMs === null ? null : result.cpuMs / recipients.length };
}

/**
 * `GET /api/events?q=` for the user with the seeded events (titles "Bench event <i>"): a substring
 * that matches nothing, one made of pieces every title has that matches only the last event (the
 * case that made an FTS trigram index read every user's doclists), one that matches every event,
 * and a two-character one; 20 requests
 * each (fewer if they take over 4 s), against the same list without `q` (a full first page).
 */
async function search(ctx, owner) {
  const queries = [
    { name: "list without q (control)", control: true, query: "" },
    { name: "q matching nothing", query: "q=zqxj" },
    // Every piece of it is in every title; the phrase is in one, the calendar's last.
    { name: "q matching the last event, common pieces", query: `q=${encodeURIComponent(`event ${Math.max(0, ctx.settings.notifications - 1)}`)}` },
    { name: "q matching every event", query: "q=bench" },
    { name: "q of two characters matching nothing", query: "q=zq" },
  ];
  const results = [];
  for (const { name, control, query } of queries) {
    const path = `/api/events?limit=50${query ? `&${query}` : ""}`;
    const first = await ctx.api.send("GET", path, { token: owner.token });
    const result = await measured(ctx, () => hammer(ctx, { count: 20, maxMs: 4000, request: () => ({ path, init: { headers: bearer(owner.token) } }) }));
    results.push({ name, control: Boolean(control), route: `GET ${path}`, items: first.body?.items?.length ?? null, nextCursor: Boolean(first.body?.next_cursor), ...result });
  }
  return results;
}

/**
 * `since=0` on a socket of the user with the seeded inbox: hello, then frames until a frame that
 * is neither hello nor a notification (the paging frame) and half a second of quiet after it, or
 * until 1.5 s pass with no frame, or 30 s in all.
 */
function replay({ target }, token) {
  return new Promise((resolve) => {
    const url = new URL(`/ws/notifications?token=${encodeURIComponent(token)}&since=0`, target.url);
    url.protocol = "ws:";
    const started = performance.now();
    const socket = new WebSocket(url);
    const seen = { frames: 0, notifications: 0, helloMs: null, lastFrameMs: null, paging: null, bytes: 0, after: 0 };
    let lastAt = started;
    let done = false;
    const finish = (ended) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      try {
        socket.close(1000);
      } catch {}
      resolve({ ...seen, ended, statuses: {} });
    };
    socket.addEventListener("message", (message) => {
      lastAt = performance.now();
      seen.frames++;
      seen.lastFrameMs = lastAt - started;
      seen.bytes += typeof message.data === "string" ? message.data.length : message.data.byteLength ?? 0;
      if (seen.paging) seen.after++;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        frame = { type: "(not JSON)" };
      }
      if (frame.type === "hello") seen.helloMs ??= lastAt - started;
      else if (frame.type === "notification") seen.notifications++;
      else seen.paging ??= { type: frame.type, atFrame: seen.frames, frame: JSON.stringify(frame).slice(0, 160) };
    });
    socket.addEventListener("close", (event) => finish(`closed ${event.code}`));
    socket.addEventListener("error", () => finish("socket error"));
    const timer = setInterval(() => {
      const now = performance.now();
      if (seen.paging && now - lastAt > 500) finish("paging frame");
      else if (now - lastAt > 1500) finish(seen.frames ? "quiet" : "no frame");
      else if (now - started > 30_000) finish("timeout");
    }, 50);
  });
}

/**
 * `count` series of the sparse far-past rule, one hour apart in the day (nothing overlaps), each
 * create measured alone: the last one meets `count - 1` similar series.
 */
async function sparseRules(ctx, owner, count, warmupOwner) {
  // One create and delete of the rule by another user first: the first expansion of a rule in a
  // fresh isolate pays for compiling the code (up to 50 ms here), which no later request does.
  const warm = await ctx.api.send("POST", "/api/events", { token: warmupOwner.token, body: series("Warm-up", FAR_PAST, 30, SPARSE_RULE) });
  if (warm.status === 201) await ctx.api.expect(204, "DELETE", `/api/events/${warm.body.id}`, { token: warmupOwner.token });
  const creates = [];
  const started = performance.now();
  let capped = null;
  for (let k = 0; k < count; k++) {
    // Without the work budget, every create walks all the others to their ends (quadratic);
    // past the cap the target has failed anyway, and the rest of H still has to run.
    if (performance.now() - started > ctx.settings.sparseSeconds * 1000) {
      capped = `stopped after ${k} creates: ${ctx.settings.sparseSeconds} s cap`;
      break;
    }
    const body = series(`Sparse ${k}`, FAR_PAST + k * 60 * MINUTE, 30, SPARSE_RULE);
    const result = await measured(ctx, async () => {
      const response = await ctx.api.send("POST", "/api/events", { token: owner.token, body });
      return { status: response.status, statuses: { [response.status]: 1 }, latency: summarize([response.ms]), code: response.body?.code ?? null };
    });
    creates.push({ index: k, ...result });
  }
  const summary = summarizeCreates(creates, { rule: SPARSE_RULE, start: iso(FAR_PAST), planned: count, capped });
  // Then the other rules that walk far, at hh:30 (free: the sparse series take hh:00-hh:30).
  summary.others = [];
  for (const [k, { rule, start = FAR_PAST, why }] of OTHER_RULES.entries()) {
    const body = series(`Far ${k}`, start + (k * 60 + 30) * MINUTE, 30, rule);
    summary.others.push({ rule, start: body.start_time, why, ...(await repeatedCreate(ctx, owner, body)) });
  }
  return summary;
}

/**
 * The same create `times` times, each measured alone (a 201 is deleted again outside the
 * measurement, so every try meets the same calendar): CPU per create to 10 ms / times instead of
 * one clock tick. `status` is the first answer; `statuses` counts them all.
 */
async function repeatedCreate(ctx, owner, body, times = 5) {
  const tries = [];
  for (let i = 0; i < times; i++) {
    const result = await measured(ctx, async () => {
      const response = await ctx.api.send("POST", "/api/events", { token: owner.token, body });
      return { status: response.status, id: response.body?.id ?? null, code: response.body?.code ?? null, ms: response.ms };
    });
    tries.push(result);
    if (result.status === 201) await ctx.api.expect(204, "DELETE", `/api/events/${result.id}`, { token: owner.token });
  }
  const statuses = {};
  for (const t of tries) statuses[t.status] = (statuses[t.status] ?? 0) + 1;
  const cpuMs = tries.some((t) => t.cpuMs === null) ? null : tries.reduce((sum, t) => sum + t.cpuMs, 0) / times;
  return {
    status: tries[0].status,
    code: tries[0].code,
    statuses,
    requests: times,
    cpuMs,
    cpuMsPerRequest: cpuMs,
    latency: summarize(tries.map((t) => t.ms)),
    memory: { rssBeforeKib: tries[0].memory.rssBeforeKib, hwmKib: Math.max(...tries.map((t) => t.memory.hwmKib ?? 0)), growthKib: Math.max(...tries.map((t) => t.memory.growthKib ?? 0)) },
  };
}

function summarizeCreates(creates, extra = {}) {
  const statuses = {};
  for (const c of creates) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
  const cpu = creates.map((c) => c.cpuMs ?? 0);
  const worst = creates.reduce((a, b) => ((b.cpuMs ?? 0) > (a.cpuMs ?? 0) ? b : a), creates[0]);
  return {
    ...extra,
    requests: creates.length,
    statuses,
    cpu: summarize(cpu),
    latency: summarize(creates.map((c) => c.latency.p50)),
    last: creates.at(-1),
    worst,
    hwmKib: Math.max(...creates.map((c) => c.memory.hwmKib ?? 0)),
    rssBeforeKib: creates[0].memory.rssBeforeKib,
  };
}

/**
 * `count` series from 1900 for one viewer: three quarters endless (ENDLESS_RULES in turn, all owned
 * by one user), a quarter with a COUNT that runs past 2030 (COUNT_RULES in turn, 10 per owner: the
 * conflict check walks finite series pairwise to their ends, so one owner of 50 would make the
 * seeding itself the benchmark). 10 minutes each, 10 minutes apart in the day, each shared with
 * the viewer. Then creates in 2030 (a one-off and a daily series) that the conflict check compares
 * with an owner's series, each measured alone; then the viewer's agenda for one week of 2030.
 */
async function agenda(ctx, viewer, count) {
  const { api, target } = ctx;
  const endless = Math.ceil((count * 3) / 4);
  const finite = count - endless;
  const countOwners = Math.ceil(finite / SERIES_PER_COUNT_OWNER);
  const [endlessOwner, ...countOwnersList] = await mapLimit(
    Array.from({ length: 1 + countOwners }, (_, i) => `hostile_agenda_owner${i}`),
    4,
    (name) => api.register(name),
  );
  const plan = [
    ...Array.from({ length: endless }, (_, k) => ({ owner: endlessOwner, rule: ENDLESS_RULES[k % ENDLESS_RULES.length] })),
    ...Array.from({ length: finite }, (_, k) => ({ owner: countOwnersList[Math.floor(k / SERIES_PER_COUNT_OWNER)], rule: COUNT_RULES[k % COUNT_RULES.length] })),
  ];
  const seeding = { statuses: {}, cpuMs: [], stored: { endless: 0, count: 0 }, refused: {} };
  const seedStarted = performance.now();
  await settle(target);
  for (const [k, { owner, rule }] of plan.entries()) {
    const body = series(`Hostile ${k}`, FAR_PAST + k * 10 * MINUTE, 10, rule);
    const cpu0 = cpuMsOf(target.pid);
    const response = await api.send("POST", "/api/events", { token: owner.token, body });
    seeding.cpuMs.push(cpuMsOf(target.pid) - cpu0);
    seeding.statuses[response.status] = (seeding.statuses[response.status] ?? 0) + 1;
    if (response.status === 201) {
      seeding.stored[owner === endlessOwner ? "endless" : "count"]++;
      await api.share(owner.token, response.body.id, [{ user_id: viewer.id, role: "viewer" }]);
    } else seeding.refused[rule] = response.status;
  }
  seeding.seconds = (performance.now() - seedStarted) / 1000;
  seeding.cpu = summarize(seeding.cpuMs);
  delete seeding.cpuMs;

  // 20:00 UTC is free on every day of the series (they fill 00:00-16:40).
  const at2030 = Date.UTC(2030, 8, 10, 20, 0);
  const checks = [];
  for (const [who, owner] of [
    [`${seeding.stored.endless} endless`, endlessOwner],
    [`${Math.min(SERIES_PER_COUNT_OWNER, finite)} COUNT`, countOwnersList[0]],
  ]) {
    if (!owner) continue;
    for (const [name, body] of [
      ["one-off in 2030", { title: "One-off 2030", start_time: iso(at2030), end_time: iso(at2030 + 30 * MINUTE) }],
      ["daily series from 2030", series("Daily from 2030", at2030 + 60 * MINUTE, 30, "FREQ=DAILY")],
    ]) {
      checks.push({ name: `${name} vs ${who} far-past series`, ...(await repeatedCreate(ctx, owner, body)) });
    }
  }

  const path = `/api/agenda?start=${encodeURIComponent(AGENDA_WINDOW.start)}&end=${encodeURIComponent(AGENDA_WINDOW.end)}`;
  const firstPage = await measured(ctx, () => hammer(ctx, { count: 20, request: () => ({ path, init: { headers: bearer(viewer.token) } }) }));
  // Every page of the window, following next_cursor, for the items and the cost per page.
  const walk = await measured(ctx, async () => {
    const statuses = {};
    let items = 0;
    let pages = 0;
    let cursor = null;
    do {
      const response = await api.send("GET", cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path, { token: viewer.token });
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      pages++;
      if (response.status !== 200) break;
      items += response.body.items.length;
      cursor = response.body.next_cursor;
    } while (cursor && pages < 1000);
    return { requests: pages, statuses, items };
  });
  return { window: AGENDA_WINDOW, series: count, seeding, checks, firstPage, walk };
}

/** 1 MiB (minus a byte or two, under the body limit) of JSON: a flat array of zeros, and 524,287 nested arrays. */
async function jsonBombs(ctx, owner) {
  const n = 512 * 1024 - 1;
  const bodies = [
    // The control: as many bytes, no structure (one long string in a field the schema ignores).
    { name: "JSON control: 1 MiB in one string", control: true, body: `{"title":"x","pad":"${"a".repeat(2 * n - 22)}"}` },
    { name: "JSON array of 524,287 zeros", body: `[${"0,".repeat(n - 1)}0]` },
    { name: "JSON nested 524,287 deep", body: "[".repeat(n) + "]".repeat(n) },
  ];
  const results = [];
  for (const { name, body, control } of bodies) {
    const init = { method: "POST", headers: { "content-type": "application/json", ...bearer(owner.token) }, body };
    const result = await measured(ctx, () => hammer(ctx, { count: ctx.settings.jsonRequests, request: () => ({ path: "/api/events", init }) }));
    results.push({ name, control: Boolean(control), route: "POST /api/events", bytes: body.length, ...result });
  }
  return results;
}

/**
 * 6 MiB in 64 KiB chunks with `Transfer-Encoding: chunked` (no Content-Length), to a route without
 * and one with authentication, through node:http rather than fetch: a server that cuts the body
 * at the limit answers and closes while the upload is still going, and fetch then often reports
 * the reset instead of the 413 it had received. This client, like a careful one, stops sending
 * once the answer is in and keeps the answer. workerd closes without draining what is unread, so
 * the kernel resets the connection; a reset with no answer before it counts as an error. Records how much had been sent when the response
 * arrived (see chunkedUpload: at most 1.5 MiB when the server cut at the limit), then that the server still
 * answers GET /health/live.
 */
const CHUNKED_HOLD_AT = 1.5 * 1024 * 1024; // past the 1 MiB body limit

async function chunked(ctx, owner) {
  const routes = [
    { route: "POST /api/auth/login", path: "/api/auth/login", headers: {} },
    { route: "POST /api/events", path: "/api/events", headers: bearer(owner.token) },
  ];
  const results = [];
  for (const { route, path, headers } of routes) {
    const result = await measured(ctx, async () => {
      const statuses = {};
      const sentAtResponse = [];
      let errors = 0;
      for (let i = 0; i < 3; i++) {
        const answer = await chunkedUpload(new URL(path, ctx.target.url), headers, 6 * 1024 * 1024, CHUNKED_HOLD_AT);
        if (answer.status === null) errors++;
        else {
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          sentAtResponse.push(answer.sentAtResponse);
        }
      }
      return { requests: 3, statuses, errors, sentAtResponseKib: sentAtResponse.map((b) => b / 1024) };
    });
    const health = await ctx.api.send("GET", "/health/live");
    results.push({ name: "chunked 6 MiB, no Content-Length", route, healthAfter: health.status, ...result });
  }
  return results;
}

/** One chunked upload of `total` bytes; resolves with the status (null when none came) and the bytes sent by then. */
function chunkedUpload(url, headers, total, holdAt) {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  return new Promise((resolve) => {
    let sent = 0;
    let answered = null;
    let settled = false;
    const done = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const req = http.request(url, { method: "POST", agent: false, headers: { "content-type": "application/json", "transfer-encoding": "chunked", ...headers } }, (res) => {
      answered = { status: res.statusCode, sentAtResponse: sent };
      res.resume();
      res.on("end", () => done(answered));
      res.on("error", () => done(answered));
    });
    // Writes after the server closed fail (EPIPE, ECONNRESET); the answer, if one came, stands.
    req.on("error", () => done(answered ?? { status: null, sentAtResponse: sent }));
    const timer = setTimeout(() => {
      req.destroy();
      done(answered ?? { status: null, sentAtResponse: sent });
    }, 60_000);
    // Paced (a chunk a millisecond, like a fast real upload rather than a loopback flood), so the
    // answer is read before the reset that follows a close with unread bytes can discard it. At
    // `holdAt` the client holds back for up to 5 s: a server that cuts at the limit answers in the
    // pause, one that reads to the end waits for the rest (then the rest is sent). How far a busy
    // server has read when it answers cannot be told from here (loopback buffers take megabytes),
    // whether it waited for the end can.
    const pump = async () => {
      let held = false;
      while (!answered && !settled && sent < total) {
        if (!held && sent >= holdAt) {
          held = true;
          const until = performance.now() + 5000;
          while (!answered && !settled && performance.now() < until) await sleep(10);
          continue;
        }
        sent += chunk.length;
        if (!req.write(chunk)) await new Promise((resume) => req.once("drain", resume));
        await sleep(1);
      }
      if (!settled) req.end();
    };
    pump();
  });
}

/** Every MessagePack bomb, `bombRequests` times to login (no auth) and to an authenticated create. */
async function msgpackBombs(ctx, owner) {
  const routes = [
    { route: "POST /api/auth/login", path: "/api/auth/login", headers: {} },
    { route: "POST /api/events", path: "/api/events", headers: bearer(owner.token) },
  ];
  const results = [];
  for (const bomb of MSGPACK_BOMBS) {
    for (const { route, path, headers } of routes) {
      const rss = memoryKibOf(ctx.target.pid)?.rss ?? 0;
      if (rss > ctx.settings.skipAboveRssMib * MiB) {
        results.push({ name: bomb.name, route, skipped: `workerd RSS is ${fmt(rss / MiB, 0)} MiB already`, requests: 0, statuses: {}, errors: 0, memory: {} });
        continue;
      }
      const init = { method: "POST", headers: { "content-type": "application/msgpack", ...headers }, body: new Uint8Array(bomb.bytes) };
      const result = await measured(ctx, () => hammer(ctx, { count: ctx.settings.bombRequests, request: () => ({ path, init }) }));
      results.push({ name: bomb.name, route, bytes: bomb.bytes.length, ...result });
    }
  }
  return results;
}

const mib = (kib) => (kib === null || kib === undefined ? "-" : fmt(kib / MiB, 1));
const statusList = (statuses = {}) => Object.entries(statuses).map(([code, n]) => `${n}×${code}`).join(" ") || "-";
const only4xx = (c) => Object.keys(c.statuses ?? {}).length > 0 && Object.keys(c.statuses).every((code) => code >= 400 && code < 500) && !c.errors && !c.aborted && !c.skipped;
const grewLessThan = (c, mibLimit) => c.memory?.growthKib !== null && c.memory?.growthKib !== undefined && c.memory.growthKib < mibLimit * MiB;

/** H's tables, rendered with report.mjs's renderers. */
export function renderHostile(h, R) {
  const out = [];
  const base = h.baseline.cpuMsPerRequest;
  const row = (name, route, c, note = "") => [
    name,
    route,
    c.requests ?? "-",
    statusList(c.statuses) + (c.errors ? ` ${c.errors}×error` : ""),
    fmt(c.cpuMsPerRequest, 2),
    times(ratio(c.cpuMsPerRequest, base)),
    mib(c.memory?.rssBeforeKib),
    mib(c.memory?.hwmKib),
    mib(c.memory?.growthKib),
    [note, c.aborted, c.skipped].filter(Boolean).join("; "),
  ];
  const header = ["Case", "route", "n", "statuses", "CPU ms/req", "×base", "RSS before MiB", "peak (VmHWM) MiB", "growth MiB", "notes"];
  out.push(R.section("H hostile input (own Miniflare instance); CPU per request against GET /health/live on the same instance"));
  const agenda = h.agenda;
  const sparse = h.sparse;
  out.push(
    R.table(header, [
      row("baseline", "GET /health/live", h.baseline, "8 in flight"),
      row(`${h.share.control.shares} shares with ${h.share.control.recipients} users each (for linearity)`, "POST /api/events/{id}/share", h.share.control, `${fmt(h.share.control.rowsWritten, 0)} notification rows in all; ${fmt(h.share.control.cpuMsPerRecipient, 2)} ms CPU per recipient; p50 ${fmt(h.share.control.latency.p50, 0)} ms`),
      row(`share with ${h.share.recipients} users`, "POST /api/events/{id}/share", h.share, `${fmt(h.share.rowsWritten, 0)} notification rows written, at most ${h.share.mostPerUser} per user on the event; ${fmt(h.share.cpuMsPerRecipient, 2)} ms CPU per recipient; ${fmt(h.share.latency.p50, 0)} ms`),
      ...(h.search ?? []).map((c) => row(`search: ${c.name}`, c.route.replace(/\?.*/, ""), c, `${c.route.slice(4)}; ${c.items} items${c.nextCursor ? ", next_cursor" : ""}; p50 ${fmt(c.latency.p50, 1)} ms`)),
      row(`socket replay, since=0 over ${fmt(h.notificationsSeeded, 0)}`, "GET /ws/notifications", h.replay, replayNote(h.replay)),
      row(`sparse rule: the costliest of ${sparse.requests} creates`, "POST /api/events", { ...sparse.worst, requests: 1 }, `#${sparse.worst.index + 1}, ${sparse.worst.status}${sparse.worst.code ? ` ${sparse.worst.code}` : ""}`),
      row(`sparse rule: the last create (${sparse.requests - 1} similar before it)`, "POST /api/events", { ...sparse.last, requests: 1 }, `${sparse.last.status}; all ${sparse.requests}: ${statusList(sparse.statuses)}, CPU p50 ${fmt(sparse.cpu.p50, 0)} ms, latency p50 ${fmt(sparse.latency.p50, 0)} ms, max ${fmt(sparse.latency.max, 0)} ms`),
      ...sparse.others.map((o) => row(`rule ${o.rule}${o.start.startsWith("1900") ? "" : ` from ${o.start.slice(0, 10)}`}`, "POST /api/events", o, `${o.why}; ${o.status}${o.code ? ` ${o.code}` : ""}, ${fmt(o.latency.p50, 0)} ms`)),
      [
        `agenda seeding: ${agenda.series} series from 1900, each create`,
        "POST /api/events",
        agenda.series,
        statusList(agenda.seeding.statuses),
        fmt(agenda.seeding.cpu.p50, 2),
        times(ratio(agenda.seeding.cpu.p50, base)),
        "",
        "",
        "",
        `CPU p50; p90 ${fmt(agenda.seeding.cpu.p90, 0)} ms, max ${fmt(agenda.seeding.cpu.max, 0)} ms (not settled between creates); stored ${agenda.seeding.stored.endless} endless + ${agenda.seeding.stored.count} COUNT; ${fmt(agenda.seeding.seconds, 1)} s` +
          (Object.keys(agenda.seeding.refused).length ? `; refused: ${Object.entries(agenda.seeding.refused).map(([rule, status]) => `${rule} ${status}`).join(", ")}` : ""),
      ],
      ...agenda.checks.map((c) => row(c.name, "POST /api/events", c, `${fmt(c.latency.p50, 0)} ms`)),
      row(`agenda first page, one week of 2030`, "GET /api/agenda", agenda.firstPage, `p50 ${fmt(agenda.firstPage.latency.p50, 1)} ms`),
      row(`agenda, every page of the week`, "GET /api/agenda", agenda.walk, `${agenda.walk.items} items in ${agenda.walk.requests} pages`),
      ...h.json.map((c) => row(c.name, c.route, c, `${fmt(c.bytes / 1024, 0)} KiB each; p50 ${fmt(c.latency.p50, 1)} ms`)),
      ...h.chunked.map((c) => row(c.name, c.route, c, `sent when answered: ${c.sentAtResponseKib.map((k) => `${fmt(k / 1024, 2)} MiB`).join(", ")}; GET /health/live after: ${c.healthAfter}`)),
      ...h.msgpack.map((c) => row(`msgpack ${c.name}`, c.route, c, c.latency ? `${c.bytes} bytes; p50 ${fmt(c.latency.p50, 1)} ms` : "")),
    ]),
  );
  out.push(
    R.note(
      `CPU is workerd's user+system CPU over the case (the bench waits for workerd to go idle before and after) divided by its requests; ` +
        `peak is VmHWM, reset at the start of each case (${h.baseline.memory.peakReset ? "reset worked" : "reset refused: peaks cover the run so far"}); ` +
        `growth = peak - RSS before. workerd's CPU counter moves in 10 ms clock ticks, so a case of one request reads 0, 10, 20 ms... ` +
        `Seeding: ${fmt(h.seedSeconds, 1)} s. Cases that grow RSS by ${h.settings.abortRssGrowthMib} MiB stop early; ` +
        `bomb cases are skipped once workerd holds ${h.settings.skipAboveRssMib} MiB. GET /health/live at the end: ${h.healthAfter}; RSS at the end ${mib(h.rssKibAtEnd)} MiB.`,
    ),
  );
  return out;
}

function replayNote(r) {
  const paging = r.paging ? `paging frame "${r.paging.type}" as frame ${r.paging.atFrame} (${r.after} frames after it): ${r.paging.frame}` : "no paging frame";
  return `hello after ${fmt(r.helloMs, 0)} ms, ${fmt(r.frames, 0)} frames (${fmt(r.notifications, 0)} notifications) in ${fmt(r.lastFrameMs, 0)} ms; ${paging}; ended: ${r.ended}`;
}

/** H's targets, one per worst case, as run.mjs lists them. */
export function hostileTargets(h) {
  const b = h.budgets;
  const base = h.baseline.cpuMsPerRequest;
  const targets = [];
  const growth = (c) => `${mib(c.memory?.growthKib)} MiB`;
  for (const name of [...new Set(h.msgpack.map((c) => c.name))]) {
    const cases = h.msgpack.filter((c) => c.name === name);
    targets.push({
      name: `H msgpack ${name}: ${h.settings.bombRequests} to each route all 4xx, VmHWM growth < ${b.rssGrowthMib} MiB, CPU/req <= ${b.bombCpuTimesS0}x baseline`,
      pass: cases.every((c) => only4xx(c) && grewLessThan(c, b.rssGrowthMib) && c.cpuMsPerRequest !== null && c.cpuMsPerRequest <= b.bombCpuTimesS0 * base),
      figure: cases.map((c) => `${c.route}: ${statusList(c.statuses)}${c.errors ? ` ${c.errors} errors` : ""}, +${growth(c)}, ${fmt(c.cpuMsPerRequest, 2)} ms = ${times(ratio(c.cpuMsPerRequest, base))}${c.aborted ? ` (${c.aborted})` : ""}${c.skipped ? ` (skipped: ${c.skipped})` : ""}`).join("; "),
    });
  }
  // Growth beyond the control's: what receiving 1 MiB bodies costs anyway (V8 collects large
  // objects lazily) is not the bomb's doing.
  const control = h.json.find((c) => c.control);
  for (const c of h.json.filter((c) => !c.control)) {
    const extraKib = c.memory?.growthKib == null || control?.memory?.growthKib == null ? null : c.memory.growthKib - Math.max(0, control.memory.growthKib);
    targets.push({
      name: `H ${c.name} (${h.settings.jsonRequests} requests): all 4xx, VmHWM growth < ${b.rssGrowthMib} MiB beyond the control's, CPU/req <= ${b.jsonCpuTimesControl}x the control's`,
      pass: only4xx(c) && extraKib !== null && extraKib < b.rssGrowthMib * MiB && c.cpuMsPerRequest !== null && control?.cpuMsPerRequest && c.cpuMsPerRequest <= b.jsonCpuTimesControl * control.cpuMsPerRequest,
      figure: `${statusList(c.statuses)}, +${growth(c)} (control +${growth(control)}), ${fmt(c.cpuMsPerRequest, 1)} ms/req = ${times(ratio(c.cpuMsPerRequest, control?.cpuMsPerRequest))} the control's ${fmt(control?.cpuMsPerRequest, 1)} ms = ${times(ratio(c.cpuMsPerRequest, base))} baseline${c.aborted ? ` (${c.aborted})` : ""}`,
    });
  }
  targets.push({
    name: "H chunked 6 MiB body: 413 on every route, answered while the client held back at 1.5 MiB (cut at the limit, not read to the end), GET /health/live 200 after",
    pass: h.chunked.every((c) => c.statuses[413] === c.requests && !c.errors && c.healthAfter === 200 && c.sentAtResponseKib.every((k) => k <= CHUNKED_HOLD_AT / 1024)),
    figure: h.chunked.map((c) => `${c.route}: ${statusList(c.statuses)}${c.errors ? ` ${c.errors} errors` : ""}, then ${c.healthAfter}; sent ${c.sentAtResponseKib.map((k) => fmt(k / 1024, 2)).join("/")} MiB when answered, +${growth(c)}`).join("; "),
  });
  const s = h.sparse;
  const acceptedOrRefused = (code) => code === "201" || code === "422" || code === 201 || code === 422;
  const sparseOk = Object.keys(s.statuses).every(acceptedOrRefused);
  targets.push({
    name: `H sparse far-past rule (${s.rule} from ${s.start.slice(0, 10)}, ${s.planned} series): every create 201 or 422, each <= ${b.ruleCpuMs} ms CPU`,
    pass: sparseOk && !s.capped && s.cpu.max !== null && s.cpu.max <= b.ruleCpuMs,
    figure: `${s.capped ? `${s.capped}; ` : ""}${statusList(s.statuses)}; CPU per create max ${fmt(s.cpu.max, 0)} ms (#${s.worst.index + 1}), p50 ${fmt(s.cpu.p50, 0)} ms, last ${fmt(s.last.cpuMs, 0)} ms = ${times(ratio(s.last.cpuMs, base))}`,
  });
  targets.push({
    name: `H other far-walking rules (${s.others.length}): each create 201 or 422, each <= ${b.ruleCpuMs} ms CPU`,
    pass: s.others.every((o) => Object.keys(o.statuses).every(acceptedOrRefused) && o.cpuMs !== null && o.cpuMs <= b.ruleCpuMs),
    figure: s.others.map((o) => `${o.rule}${o.start.startsWith("1900") ? "" : ` from ${o.start.slice(0, 10)}`}: ${statusList(o.statuses)}, ${fmt(o.cpuMs, 0)} ms`).join("; "),
  });
  const a = h.agenda;
  targets.push({
    name: `H conflict check of creates in 2030 against an owner's far-past series: 201, each <= ${b.ruleCpuMs} ms CPU`,
    pass: a.checks.every((c) => c.statuses[201] === c.requests && c.cpuMs !== null && c.cpuMs <= b.ruleCpuMs),
    figure: `${a.checks.map((c) => `${c.name}: ${statusList(c.statuses)}, ${fmt(c.cpuMs, 0)} ms`).join("; ")} (the series were created at CPU p90 ${fmt(a.seeding.cpu.p90, 0)} ms, max ${fmt(a.seeding.cpu.max, 0)} ms; ${statusList(a.seeding.statuses)})`,
  });
  targets.push({
    name: `H agenda page over ${a.series} hostile series (one week of 2030): 200, CPU/page <= ${b.agendaCpuMs} ms`,
    pass: a.firstPage.statuses[200] === a.firstPage.requests && a.firstPage.cpuMsPerRequest <= b.agendaCpuMs && a.walk.statuses[200] === a.walk.requests && a.walk.cpuMsPerRequest <= b.agendaCpuMs,
    figure: `${a.seeding.stored.endless + a.seeding.stored.count} series stored (${a.seeding.stored.endless} endless, ${a.seeding.stored.count} COUNT); first page ${fmt(a.firstPage.cpuMsPerRequest, 1)} ms/req = ${times(ratio(a.firstPage.cpuMsPerRequest, base))} (${statusList(a.firstPage.statuses)}); every page: ${fmt(a.walk.cpuMsPerRequest, 1)} ms/page over ${a.walk.requests} pages, ${a.walk.items} items`,
  });
  if (h.search) {
    const control = h.search.find((c) => c.control);
    const searches = h.search.filter((c) => !c.control);
    targets.push({
      name: `H q search over ${fmt(h.notificationsSeeded, 0)} events: 200, CPU/page <= ${b.searchCpuTimesList}x the same list without q`,
      pass: h.search.every((c) => c.statuses[200] === c.requests) && searches.every((c) => c.cpuMsPerRequest !== null && control?.cpuMsPerRequest && c.cpuMsPerRequest <= b.searchCpuTimesList * control.cpuMsPerRequest),
      figure: `${h.search.map((c) => `${c.name}: ${statusList(c.statuses)}, ${fmt(c.cpuMsPerRequest, 1)} ms${c.control ? "" : ` = ${times(ratio(c.cpuMsPerRequest, control?.cpuMsPerRequest))}`}`).join("; ")}`,
    });
  }
  const r = h.replay;
  const bound = h.settings.replayFrames;
  targets.push({
    name: `H socket replay since=0 over ${fmt(h.notificationsSeeded, 0)} notifications: a paging frame, frames <= ${bound} + 2, VmHWM growth < ${b.rssGrowthMib} MiB`,
    pass: Boolean(r.paging) && r.frames <= bound + 2 && r.helloMs !== null && grewLessThan(r, b.rssGrowthMib),
    figure: `${fmt(r.frames, 0)} frames (${fmt(r.notifications, 0)} notifications), ${r.paging ? `paging frame "${r.paging.type}"` : "no paging frame"}, hello after ${fmt(r.helloMs, 0)} ms, +${growth(r)}, ${fmt(r.cpuMs, 0)} ms CPU`,
  });
  const sh = h.share;
  const linearity = ratio(sh.cpuMsPerRecipient, sh.control.cpuMsPerRecipient);
  targets.push({
    name: `H share with ${sh.recipients} users: <= ${sh.recipients + 1} notification rows, CPU per recipient <= ${b.shareLinearity}x that of a share with ${sh.control.recipients}`,
    pass: sh.statuses[200] === 1 && sh.control.statuses[200] === sh.control.shares && sh.rowsWritten <= sh.recipients + 1 && linearity !== null && linearity <= b.shareLinearity,
    figure: `${statusList(sh.statuses)}; ${fmt(sh.rowsWritten, 0)} rows (at most ${sh.mostPerUser} per user on the event), ${fmt(sh.cpuMs, 0)} ms CPU = ${fmt(sh.cpuMsPerRecipient, 2)} ms per recipient vs ${fmt(sh.control.cpuMsPerRecipient, 2)} ms in ${sh.control.shares} shares with ${sh.control.recipients} (${fmt(sh.control.rowsWritten, 0)} rows) = ${times(linearity)}; ${fmt(sh.latency.p50, 0)} ms`,
  });
  return targets;
}

