import { eventAt, PASSWORD } from "../lib/api.mjs";
import { runInterleaved, runLoad } from "../lib/load.mjs";
import { costOf, conflictCheckQueries, listIndexOnlyQuery, listPageQuery, listPositionQuery } from "../lib/queries.mjs";
import { summarize } from "../lib/stats.mjs";
import { cpuMsOf } from "../lib/worker.mjs";

const bearer = (token) => ({ authorization: `Bearer ${token}` });

/**
 * S0 and S3, interleaved so their ratio survives a busy machine, with two steps in between that
 * show where an authenticated read spends its time: /health (one D1 query, no auth) and
 * /api/auth/me (token check: JWT plus one D1 query for the session).
 */
export async function baselineAndGet({ target, settings }, { reader, eventId }) {
  const [s0, health, me, s3] = await runInterleaved(
    target,
    [
      { path: "/health/live" },
      { path: "/health" },
      { path: "/api/auth/me", headers: bearer(reader.token) },
      { path: `/api/events/${eventId}`, headers: bearer(reader.token) },
    ],
    settings.rounds,
  );
  return { s0, health, me, s3 };
}

/** S0 alone, for the drift check at the end of the run. */
export const baselineOnly = ({ target, settings }) => runInterleaved(target, [{ path: "/health/live" }], settings.rounds).then(([s0]) => s0);

/**
 * S1: logins (scrypt N=2^14, r=8, p=5). CPU per login is read from workerd's /proc counters:
 * over sequential logins (nothing else in flight), then over a concurrent run of a fixed number
 * of logins (at ~0.2 s of CPU each, a 5 s timed run would end with most of them in flight).
 */
export async function login({ target, api, settings }, { user }) {
  const sequential = [];
  const cpuBefore = cpuMsOf(target.pid);
  for (let i = 0; i < settings.sequentialLogins; i++) sequential.push((await api.send("POST", "/api/auth/login", { body: { username: user.username, password: PASSWORD } })).ms);
  const sequentialCpuMs = cpuBefore === null ? null : (cpuMsOf(target.pid) - cpuBefore) / settings.sequentialLogins;
  const load = await runLoad(target, {
    method: "POST",
    path: "/api/auth/login",
    body: { username: user.username, password: PASSWORD },
    connections: settings.connections,
    amount: settings.logins,
  });
  return {
    ...load,
    sequential: { logins: settings.sequentialLogins, latency: summarize(sequential), workerdCpuMsPerLogin: sequentialCpuMs },
    // workerd runs a Worker's requests on one thread, so logins serialize: wall time per login at saturation.
    rpsEstimateCpuMsPerLogin: load.rps ? 1000 / load.rps : null,
  };
}

/**
 * Per-connection requests whose bodies come from `next(counter)` with one counter for the whole
 * run, so no two requests share a time slot. The counter counts up, as a calendar grows: each
 * new event starts after its owner's stored ones (with one owner per connection, exactly; with
 * several connections on one owner, up to a few requests in flight may land out of order), and
 * the conflict check's range on (owner_id, series_end) finds nothing or next to nothing to read.
 * What that check reads elsewhere in a large calendar is measured separately (conflictScan).
 */
function countingRequests(method, path, tokens, next, counter = 100_000) {
  return (i) => [
    {
      method,
      path,
      headers: { accept: "application/json", "content-type": "application/json", ...bearer(tokens[i % tokens.length]) },
      setupRequest: (request) => ({ ...request, body: JSON.stringify(next(counter++)) }),
    },
  ];
}

/** S2: one POST /api/events per request, a distinct slot each; one owner per connection, then all on one owner. */
export async function create({ target, settings }, { owners, sharedOwner }) {
  const spec = (tokens) => ({
    method: "POST",
    path: "/api/events",
    expectStatus: 201,
    connections: settings.connections,
    duration: settings.duration,
    clientRequests: countingRequests("POST", "/api/events", tokens, (n) => eventAt(n)),
  });
  const distinctOwners = await runLoad(target, spec(owners.map((o) => o.token)));
  const oneOwner = await runLoad(target, spec([sharedOwner.token]));
  return { distinctOwners, oneOwner };
}

/** S6: POST /api/events/batch of 100 events; one owner per connection, distinct slot ranges, a fixed number of batches. */
export const batch = ({ target, settings }, { owners }) =>
  runLoad(target, {
    method: "POST",
    path: "/api/events/batch",
    expectStatus: 201,
    connections: settings.connections,
    amount: settings.batches,
    clientRequests: countingRequests("POST", "/api/events/batch", owners.map((o) => o.token), (n) => ({ events: Array.from({ length: 100 }, (_, k) => eventAt(n * 100 + k)) }), 10_000),
  });

/** Follows next_cursor with pages of 100 until `position` events have been passed; returns that cursor. */
async function cursorAt(api, token, position) {
  let cursor = null;
  for (let passed = 0; passed < position; passed += 100) {
    const page = await api.expect(200, "GET", `/api/events?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token });
    cursor = page.next_cursor;
  }
  return cursor;
}

/**
 * S4: GET /api/events?limit=50 for users with 10, 1,000 and 10,000 events (and a page deep in the
 * largest calendar), interleaved; then what each page costs D1, by running the list query itself.
 */
export async function list({ target, api, db, settings }, { listUsers }) {
  const limit = 50;
  const largest = listUsers.at(-1);
  const deepPosition = Math.floor(largest.events * 0.9);
  const deepCursor = await cursorAt(api, largest.token, deepPosition);
  const specs = [
    ...listUsers.map((u) => ({ path: `/api/events?limit=${limit}`, headers: bearer(u.token) })),
    { path: `/api/events?limit=${limit}&cursor=${encodeURIComponent(deepCursor)}`, headers: bearer(largest.token) },
  ];
  const loads = await runInterleaved(target, specs, settings.rounds);
  const rows = [];
  for (const user of listUsers) {
    const pages = [{ page: "first", after: undefined }];
    if (user.events > limit) {
      const position = await costOf(db, listPositionQuery(user.id, Math.floor(user.events * 0.9)));
      pages.push({ page: `deep (after #${Math.floor(user.events * 0.9)})`, after: [position.results[0].start_time, position.results[0].event_id] });
    }
    for (const { page, after } of pages) {
      const full = await costOf(db, listPageQuery(user.id, limit, after));
      const indexOnly = await costOf(db, listIndexOnlyQuery(user.id, limit, after));
      rows.push({ events: user.events, page, rowsReturned: full.rows, rowsRead: full.rowsRead, indexRowsRead: indexOnly.rowsRead, plan: full.plan });
    }
  }
  // A page that every calendar fills: the smallest calendar cannot fill a page of `limit`, so
  // comparing its page with a large calendar's would compare 10 rows with 50.
  const equalLimit = Math.min(limit, Math.min(...listUsers.map((u) => u.events)) - 1);
  const equalPages = [];
  for (const user of listUsers) {
    const page = await costOf(db, listPageQuery(user.id, equalLimit));
    equalPages.push({ events: user.events, rowsReturned: page.rows, rowsRead: page.rowsRead });
  }
  return {
    limit,
    equalLimit,
    equalPages,
    sizes: listUsers.map((u, i) => ({ events: u.events, ...loads[i] })),
    deep: { events: largest.events, position: deepPosition, ...loads.at(-1) },
    rowsRead: rows,
  };
}

/**
 * What the conflict check of a create reads on the largest calendar (one-offs only): for a slot
 * before every event, in the middle, and after every event (appending to a calendar, the common
 * case). Both SELECTs of the check: finite events ending after the new start, endless series.
 */
export async function conflictScan({ db }, { owner, events, slotOf }) {
  const probes = [
    { where: "before every event", slot: -1 },
    { where: "in the middle", slot: Math.floor(events / 2) },
    { where: "after every event", slot: events + 1 },
  ];
  const results = [];
  for (const { where, slot } of probes) {
    const { start, end } = slotOf(slot);
    const { finite, endless } = conflictCheckQueries(owner.id, start, end);
    const f = await costOf(db, finite);
    const e = await costOf(db, endless);
    results.push({ where, events, rowsReturned: f.rows + e.rows, finiteRowsRead: f.rowsRead, endlessRowsRead: e.rowsRead, rowsRead: f.rowsRead + e.rowsRead, plan: [...f.plan, ...e.plan] });
  }
  return results;
}
