import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { call, freshIp, json, registerUser, slotMaker, type TestUser } from "./helpers";
import { countingDatabase, roundTripLog, type RoundTripLog } from "./support/counting-db";
import { sendWith } from "./support/faults";
import type { WireRequest, WireResponse } from "./support/wire";

/**
 * D1 round trips per route, for one valid request each, as the Worker makes them (the hub's own
 * D1 reads, behind the socket route, run in the Durable Object and are not counted here). Reads
 * cost 1 with the session check; writes 2 (the read the change is planned on, with the session
 * check, and the guarded write batch), a one-off create 1. One more query fails the route.
 */
const BUDGETS: Record<string, number> = {
  // Rate-limited and credential routes: their own budgets (issue 13).
  "POST /api/auth/register": 3,
  "POST /api/auth/login": 2,
  "POST /api/auth/refresh": 2,
  "POST /api/auth/logout": 2,
  "POST /api/auth/password": 2, // the session check rides with the read of the hash
  "GET /api/auth/me": 1,
  "POST /api/events": 1, // a one-off: session and overlap checks are SQL guards in the write batch
  "POST /api/events/batch": 2, // the conflict read carries the session check
  "POST /api/events/import": 1, // the batch path's: one one-off event is checked in SQL (a series or several events: 2)
  "GET /api/events": 1,
  "GET /api/events/:id": 1,
  "PATCH /api/events/:id": 2,
  "PUT /api/events/:id": 2,
  "DELETE /api/events/:id": 2,
  "POST /api/events/:id/share": 2,
  "GET /api/events/:id/permissions": 1,
  "PUT /api/events/:id/permissions/:userId": 2,
  "DELETE /api/events/:id/permissions/:userId": 2,
  "GET /api/events/:id/changelog": 1,
  "GET /api/events/:id/history/:version": 1,
  "GET /api/events/:id/diff/:v1/:v2": 1,
  "POST /api/events/:id/rollback/:version": 2, // the target version joins the first batch
  "GET /api/events/:id/occurrences": 1,
  "GET /api/agenda": 1,
  "GET /api/events/:id/exceptions": 1,
  // Measured with a move: the read for the change, then the write with the moved occurrence's slot
  // checked in SQL (a one-off slot); a title-only change and a split that keeps the times are 2 too.
  "PATCH /api/events/:id/occurrences/:original_start": 2,
  "DELETE /api/events/:id/occurrences/:original_start": 2,
  "GET /api/notifications": 1,
  "POST /api/notifications/:id/read": 2,
  "POST /api/notifications/read-all": 2,
  // An incremental sync: session, change-log window and changed events in one batch.
  "GET /api/sync": 1,
  // Reads sent as POST: users resolved with the session check, then the visible users' events.
  "POST /api/freebusy": 2,
  "POST /api/find-time": 2,
  // The Worker's token check; the hub then reads D1 itself (session check, replay).
  "GET /ws/notifications": 1,
  "POST /api/feeds": 2,
  "GET /api/feeds": 1,
  "POST /api/feeds/:id/rotate": 2,
  "DELETE /api/feeds/:id": 2,
  // A fetch whose last_fetched_at is recent writes nothing (see test/ical-feeds.test.ts).
  "GET /feeds/:file": 1,
  "GET /health": 1,
  "GET /health/live": 0,
  "GET /openapi.json": 0,
  "GET /docs": 0,
  "GET /redoc": 0,
  "GET /static/*": 0,
  // A signed history link: session, access and the page in one batch, like the bearer routes.
  "GET /api/history-view": 1,
  // Static pages of site/, served from the assets.
  "GET /": 0,
  "GET /history": 0,
  "GET /favicon.ico": 0,
  "GET /asyncapi.json": 0,
  // The web app's page and its scripts and styles (public/app/).
  "GET /app": 0,
  "GET /app/*": 0,
};

const slot = slotMaker(2036);
const headersOf = (user?: TestUser, extra: Record<string, string> = {}) => ({
  ...(user ? { Authorization: `Bearer ${user.token}` } : {}),
  "Content-Type": "application/json",
  "CF-Connecting-IP": freshIp(),
  ...extra,
});
const body = (value: unknown) => JSON.stringify(value);

let owner: TestUser;
let friend: TestUser;
let third: TestUser;
let event: { id: number; etag: string };
let doomed: { id: number; etag: string };
/** A weekly series of `owner` (ten Mondays from 2036-06-02, 09:00 UTC) whose occurrences the exception routes change. */
let series: { id: number; etag: string };
let notificationId: number;

async function createEvent(user: TestUser, title: string) {
  const res = await json("POST", "/api/events", { token: user.token, body: { title, ...slot() } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status}`);
  return { id: res.body.id as number, etag: res.headers.get("etag")! };
}

async function newFeed() {
  const res = await json("POST", "/api/feeds", { token: owner.token, body: {} });
  if (res.status !== 201) throw new Error(`feed create failed: ${res.status}`);
  return res.body as { id: number; url: string };
}

async function etagOf(user: TestUser, id: number) {
  return (await json("GET", `/api/events/${id}`, { token: user.token })).headers.get("etag")!;
}

/** One valid request per route, with the status it must answer; each may set up what it needs. */
const requests: Record<string, { status: number; request: () => Promise<WireRequest> }> = {
  "POST /api/auth/register": {
    status: 201,
    request: async () => ({ method: "POST", path: "/api/auth/register", headers: headersOf(), body: body({ username: `rt_${crypto.randomUUID().slice(0, 8)}`, email: `rt_${crypto.randomUUID().slice(0, 8)}@example.com`, password: "correct horse battery" }) }),
  },
  "POST /api/auth/login": {
    status: 200,
    request: async () => ({ method: "POST", path: "/api/auth/login", headers: headersOf(), body: body({ username: owner.username, password: owner.password }) }),
  },
  "POST /api/auth/refresh": {
    status: 200,
    request: async () => {
      const user = await registerUser("rt_refresh");
      return { method: "POST", path: "/api/auth/refresh", headers: headersOf(), body: body({ refresh_token: user.refresh }) };
    },
  },
  "POST /api/auth/logout": {
    status: 204,
    request: async () => ({ method: "POST", path: "/api/auth/logout", headers: headersOf(await registerUser("rt_logout")), body: "{}" }),
  },
  "POST /api/auth/password": {
    status: 204,
    request: async () => {
      const user = await registerUser("rt_password");
      return { method: "POST", path: "/api/auth/password", headers: headersOf(user), body: body({ current_password: user.password, new_password: "another long passphrase" }) };
    },
  },
  "GET /api/auth/me": { status: 200, request: async () => ({ method: "GET", path: "/api/auth/me", headers: headersOf(owner) }) },
  "POST /api/events": { status: 201, request: async () => ({ method: "POST", path: "/api/events", headers: headersOf(owner), body: body({ title: "Created", ...slot() }) }) },
  "POST /api/events/batch": {
    status: 201,
    request: async () => ({ method: "POST", path: "/api/events/batch", headers: headersOf(owner), body: body({ events: [{ title: "Batch one", ...slot() }, { title: "Batch two", ...slot() }] }) }),
  },
  "POST /api/events/import": {
    status: 201,
    request: async () => {
      const { start_time, end_time } = slot();
      const stamp = (iso: string) => iso.replace(/[-:]/g, "").replace(".000", "");
      const text = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//rt//EN", "BEGIN:VEVENT", "UID:rt", `DTSTART:${stamp(start_time)}`, `DTEND:${stamp(end_time)}`, "SUMMARY:Imported", "END:VEVENT", "END:VCALENDAR"].join("\r\n");
      return { method: "POST", path: "/api/events/import", headers: { ...headersOf(owner), "Content-Type": "text/calendar" }, body: text };
    },
  },
  "GET /api/events": { status: 200, request: async () => ({ method: "GET", path: "/api/events", headers: headersOf(owner) }) },
  "GET /api/events/:id": { status: 200, request: async () => ({ method: "GET", path: `/api/events/${event.id}`, headers: headersOf(owner) }) },
  "PATCH /api/events/:id": {
    status: 200,
    request: async () => ({ method: "PATCH", path: `/api/events/${event.id}`, headers: headersOf(owner, { "If-Match": await etagOf(owner, event.id) }), body: body({ title: "Patched" }) }),
  },
  "PUT /api/events/:id": {
    status: 200,
    request: async () => ({ method: "PUT", path: `/api/events/${event.id}`, headers: headersOf(owner, { "If-Match": await etagOf(owner, event.id) }), body: body({ description: "Put" }) }),
  },
  "DELETE /api/events/:id": {
    status: 204,
    request: async () => ({ method: "DELETE", path: `/api/events/${doomed.id}`, headers: headersOf(owner, { "If-Match": doomed.etag }) }),
  },
  "POST /api/events/:id/share": {
    status: 200,
    request: async () => ({ method: "POST", path: `/api/events/${event.id}/share`, headers: headersOf(owner), body: body({ users: [{ user_id: third.id, role: "viewer" }] }) }),
  },
  "GET /api/events/:id/permissions": { status: 200, request: async () => ({ method: "GET", path: `/api/events/${event.id}/permissions`, headers: headersOf(owner) }) },
  "PUT /api/events/:id/permissions/:userId": {
    status: 200,
    request: async () => ({ method: "PUT", path: `/api/events/${event.id}/permissions/${friend.id}`, headers: headersOf(owner), body: body({ role: "editor" }) }),
  },
  "DELETE /api/events/:id/permissions/:userId": {
    status: 204,
    request: async () => {
      const guest = await registerUser("rt_guest");
      const shared = await json("POST", `/api/events/${event.id}/share`, { token: owner.token, body: { user_id: guest.id, role: "viewer" } });
      if (shared.status !== 200) throw new Error(`share failed: ${shared.status}`);
      return { method: "DELETE", path: `/api/events/${event.id}/permissions/${guest.id}`, headers: headersOf(owner) };
    },
  },
  "GET /api/events/:id/changelog": { status: 200, request: async () => ({ method: "GET", path: `/api/events/${event.id}/changelog`, headers: headersOf(owner) }) },
  "GET /api/events/:id/history/:version": { status: 200, request: async () => ({ method: "GET", path: `/api/events/${event.id}/history/1`, headers: headersOf(owner) }) },
  "GET /api/events/:id/diff/:v1/:v2": { status: 200, request: async () => ({ method: "GET", path: `/api/events/${event.id}/diff/1/2`, headers: headersOf(owner) }) },
  "POST /api/events/:id/rollback/:version": {
    status: 200,
    request: async () => ({ method: "POST", path: `/api/events/${event.id}/rollback/1`, headers: headersOf(owner, { "If-Match": await etagOf(owner, event.id) }) }),
  },
  "GET /api/events/:id/occurrences": {
    status: 200,
    request: async () => ({ method: "GET", path: `/api/events/${event.id}/occurrences?start=2036-01-01T00:00:00Z&end=2036-12-31T00:00:00Z`, headers: headersOf(owner) }),
  },
  "GET /api/agenda": { status: 200, request: async () => ({ method: "GET", path: "/api/agenda?start=2036-01-01T00:00:00Z&end=2036-03-01T00:00:00Z", headers: headersOf(owner) }) },
  "GET /api/events/:id/exceptions": { status: 200, request: async () => ({ method: "GET", path: `/api/events/${series.id}/exceptions`, headers: headersOf(owner) }) },
  "PATCH /api/events/:id/occurrences/:original_start": {
    status: 200,
    request: async () => ({
      method: "PATCH",
      path: `/api/events/${series.id}/occurrences/2036-06-09T09:00:00Z`,
      headers: headersOf(owner, { "If-Match": await etagOf(owner, series.id) }),
      body: body({ start_time: "2036-06-10T15:00:00Z" }),
    }),
  },
  "DELETE /api/events/:id/occurrences/:original_start": {
    status: 204,
    request: async () => ({ method: "DELETE", path: `/api/events/${series.id}/occurrences/2036-06-16T09:00:00Z`, headers: headersOf(owner, { "If-Match": await etagOf(owner, series.id) }) }),
  },
  "GET /api/notifications": { status: 200, request: async () => ({ method: "GET", path: "/api/notifications", headers: headersOf(friend) }) },
  "POST /api/notifications/:id/read": { status: 204, request: async () => ({ method: "POST", path: `/api/notifications/${notificationId}/read`, headers: headersOf(friend) }) },
  "POST /api/notifications/read-all": { status: 204, request: async () => ({ method: "POST", path: "/api/notifications/read-all", headers: headersOf(friend) }) },
  "GET /api/sync": {
    status: 200,
    request: async () => {
      const full = await json("GET", "/api/sync", { token: friend.token });
      if (full.status !== 200) throw new Error(`sync failed: ${full.status}`);
      const moved = await json("PATCH", `/api/events/${event.id}`, { token: owner.token, body: { description: "for the sync" } });
      if (moved.status !== 200) throw new Error(`patch failed: ${moved.status}`);
      return { method: "GET", path: `/api/sync?sync_token=${encodeURIComponent(full.body.next_sync_token)}`, headers: headersOf(friend) };
    },
  },
  "POST /api/freebusy": {
    status: 200,
    request: async () => ({ method: "POST", path: "/api/freebusy", headers: headersOf(owner), body: body({ start: "2036-01-01T00:00:00Z", end: "2036-02-01T00:00:00Z", users: [owner.id, friend.username] }) }),
  },
  "POST /api/find-time": {
    status: 200,
    request: async () => ({ method: "POST", path: "/api/find-time", headers: headersOf(owner), body: body({ start: "2036-01-01T00:00:00Z", end: "2036-02-01T00:00:00Z", users: [owner.id, friend.id], duration_minutes: 30 }) }),
  },
  "GET /ws/notifications": {
    status: 101,
    request: async () => ({ method: "GET", path: `/ws/notifications?token=${encodeURIComponent(friend.token)}`, headers: { Upgrade: "websocket" } }),
  },
  "POST /api/feeds": { status: 201, request: async () => ({ method: "POST", path: "/api/feeds", headers: headersOf(owner), body: body({ name: "Measured feed" }) }) },
  "GET /api/feeds": { status: 200, request: async () => ({ method: "GET", path: "/api/feeds", headers: headersOf(owner) }) },
  "POST /api/feeds/:id/rotate": { status: 200, request: async () => ({ method: "POST", path: `/api/feeds/${(await newFeed()).id}/rotate`, headers: headersOf(owner) }) },
  "DELETE /api/feeds/:id": { status: 204, request: async () => ({ method: "DELETE", path: `/api/feeds/${(await newFeed()).id}`, headers: headersOf(owner) }) },
  "GET /feeds/:file": {
    status: 200,
    request: async () => {
      const path = new URL((await newFeed()).url).pathname;
      // The first fetch records last_fetched_at; the measured one is a typical poll.
      if ((await sendWith({}, { method: "GET", path })).status !== 200) throw new Error("feed fetch failed");
      return { method: "GET", path };
    },
  },
  "GET /health": { status: 200, request: async () => ({ method: "GET", path: "/health" }) },
  "GET /health/live": { status: 200, request: async () => ({ method: "GET", path: "/health/live" }) },
  "GET /openapi.json": { status: 200, request: async () => ({ method: "GET", path: "/openapi.json" }) },
  "GET /docs": { status: 200, request: async () => ({ method: "GET", path: "/docs" }) },
  "GET /redoc": { status: 200, request: async () => ({ method: "GET", path: "/redoc" }) },
  "GET /static/*": { status: 200, request: async () => ({ method: "GET", path: "/static/docs/swagger-init.js" }) },
  "GET /api/history-view": {
    status: 200,
    request: async () => {
      const diff = await json("GET", `/api/events/${event.id}/diff/1/2`, { token: owner.token });
      return { method: "GET", path: "/api/history-view", headers: { Authorization: `HistoryLink ${new URL(diff.body.html_url).hash.slice(1)}`, "CF-Connecting-IP": freshIp() } };
    },
  },
  "GET /": { status: 200, request: async () => ({ method: "GET", path: "/" }) },
  "GET /history": { status: 200, request: async () => ({ method: "GET", path: "/history" }) },
  "GET /favicon.ico": { status: 200, request: async () => ({ method: "GET", path: "/favicon.ico" }) },
  "GET /asyncapi.json": { status: 200, request: async () => ({ method: "GET", path: "/asyncapi.json" }) },
  "GET /app": { status: 200, request: async () => ({ method: "GET", path: "/app" }) },
  "GET /app/*": { status: 200, request: async () => ({ method: "GET", path: new URL(/src="([^"]+\.js)"/.exec(await (await call("GET", "/app")).text())![1], "http://x").pathname }) },
};

/** Every route of the app as Hono knows it; middleware (method ALL) is not a route. */
const routes = createApp()
  .routes.filter((r) => r.method !== "ALL")
  .map((r) => `${r.method} ${r.path}`)
  .filter((key, i, all) => all.indexOf(key) === i);

async function measure(key: string): Promise<{ res: WireResponse; log: RoundTripLog }> {
  const request = await requests[key].request();
  const log = roundTripLog();
  const res = await sendWith({ DB: countingDatabase(env.DB, log) }, request);
  res.webSocket?.accept();
  res.webSocket?.close(1000, "measured");
  return { res, log };
}

beforeAll(async () => {
  [owner, friend, third] = await Promise.all([registerUser("rt_owner"), registerUser("rt_friend"), registerUser("rt_third")]);
  event = await createEvent(owner, "Measured");
  doomed = await createEvent(owner, "Doomed");
  const weekly = await json("POST", "/api/events", { token: owner.token, body: { title: "Weekly", start_time: "2036-06-02T09:00:00Z", end_time: "2036-06-02T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=10" } });
  if (weekly.status !== 201) throw new Error(`series failed: ${weekly.status}`);
  series = { id: weekly.body.id, etag: weekly.headers.get("etag")! };
  const patched = await json("PATCH", `/api/events/${event.id}`, { token: owner.token, headers: { "If-Match": event.etag }, body: { title: "Measured v2" } });
  if (patched.status !== 200) throw new Error(`patch failed: ${patched.status}`);
  const shared = await json("POST", `/api/events/${event.id}/share`, { token: owner.token, body: { user_id: friend.id, role: "viewer" } });
  if (shared.status !== 200) throw new Error(`share failed: ${shared.status}`);
  const inbox = await json("GET", "/api/notifications", { token: friend.token });
  notificationId = inbox.body.items[0].id;
});

describe("the round-trip counter", () => {
  it("counts sequential calls one each, overlapping calls once, a batch once, and a session's calls too", async () => {
    const log = roundTripLog();
    const db = countingDatabase(env.DB, log);
    await db.prepare("SELECT 1").first();
    await db.prepare("SELECT ?").bind(2).all();
    await Promise.all([db.prepare("SELECT 3").raw(), db.prepare("SELECT 4").run()]);
    await db.batch([db.prepare("SELECT 5"), db.prepare("SELECT ?").bind(6)]);
    const session = db.withSession("first-unconstrained");
    await session.prepare("SELECT 7").first();
    await session.batch([session.prepare("SELECT 8")]);
    expect({ roundTrips: log.roundTrips, calls: log.calls }).toEqual({ roundTrips: 6, calls: 7 });
    expect(log.sql).toEqual(["SELECT 1", "SELECT ?", "SELECT 3", "SELECT 4", "SELECT 5 ; SELECT ?", "SELECT 7", "SELECT 8"]);
  });
});

describe("D1 round trips per route", () => {
  it("every route of the app has a budget, and every budget names a route", () => {
    expect(routes.filter((key) => !(key in BUDGETS))).toEqual([]);
    expect(Object.keys(BUDGETS).filter((key) => !routes.includes(key))).toEqual([]);
    expect(Object.keys(requests).sort()).toEqual(Object.keys(BUDGETS).sort());
  });

  const measured: { route: string; roundTrips: number; calls: number }[] = [];
  for (const key of Object.keys(BUDGETS)) {
    it(`${key} answers its valid request in ${BUDGETS[key]} round trip(s)`, async () => {
      const { res, log } = await measure(key);
      expect(res.status, JSON.stringify(res.body)).toBe(requests[key].status);
      measured.push({ route: key, roundTrips: log.roundTrips, calls: log.calls });
      expect(log.roundTrips, log.sql.join("\n")).toBe(BUDGETS[key]);
    });
  }

  it("prints the table for the README", () => {
    const lines = measured.map(({ route, roundTrips, calls }) => `| ${route.split(" ")[1]} | ${route.split(" ")[0]} | ${roundTrips} | ${calls} |`);
    console.log(["| Route | Method | D1 round trips | D1 calls |", "| --- | --- | --- | --- |", ...lines].join("\n"));
    expect(measured).toHaveLength(Object.keys(BUDGETS).length);
  });
});

/**
 * Writes whose cost depends on what they meet, beyond the one valid request per route above: a
 * recurring create and a move are checked for conflicts in code (one read more); a one-off next
 * to a series of the owner's first tries the SQL check, which steps aside for the read.
 */
describe("D1 round trips of the write variants", () => {
  const weekly = { is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=4" };
  const variants: { name: string; roundTrips: number; status: number; request: () => Promise<WireRequest> }[] = [
    { name: "a recurring create: the conflict read with the session check, then the write", roundTrips: 2, status: 201, request: async () => ({ method: "POST", path: "/api/events", headers: headersOf(owner), body: body({ title: "Weekly", ...slot(), ...weekly }) }) },
    {
      name: "a one-off create inside a series' span: the SQL check steps aside, then the conflict read and the write",
      roundTrips: 3,
      status: 201,
      request: async () => {
        const series = await json("POST", "/api/events", { token: third.token, body: { title: "Series", ...slot(), ...weekly } });
        if (series.status !== 201) throw new Error(`series failed: ${series.status}`);
        const start = Date.parse(series.body.start_time) + 24 * 3600_000;
        return { method: "POST", path: "/api/events", headers: headersOf(third), body: body({ title: "Between", start_time: new Date(start).toISOString(), end_time: new Date(start + 3600_000).toISOString() }) };
      },
    },
    {
      name: "the same owner's next one-off create: the conflict read first (the SQL check stepped aside lately), then the write",
      roundTrips: 2,
      status: 201,
      request: async () => ({ method: "POST", path: "/api/events", headers: headersOf(third), body: body({ title: "Next", ...slot(1, 4) }) }),
    },
    {
      name: "a PATCH moving a one-off: the read, then the write with the SQL overlap check",
      roundTrips: 2,
      status: 200,
      request: async () => {
        const mover = await registerUser("rt_mover");
        const moved = await createEvent(mover, "Moved");
        return { method: "PATCH", path: `/api/events/${moved.id}`, headers: headersOf(mover), body: body(slot()) };
      },
    },
    {
      name: "a PATCH moving a series: the read, the conflict read, the write",
      roundTrips: 3,
      status: 200,
      request: async () => {
        const series = await createEvent(owner, "Moving series");
        const made = await json("PATCH", `/api/events/${series.id}`, { token: owner.token, body: weekly });
        if (made.status !== 200) throw new Error(`series failed: ${made.status}`);
        return { method: "PATCH", path: `/api/events/${series.id}`, headers: headersOf(owner), body: body(slot()) };
      },
    },
  ];
  for (const variant of variants) {
    it(`${variant.name} (${variant.roundTrips})`, async () => {
      const request = await variant.request();
      const log = roundTripLog();
      const res = await sendWith({ DB: countingDatabase(env.DB, log) }, request);
      expect(res.status, JSON.stringify(res.body)).toBe(variant.status);
      expect(log.roundTrips, log.sql.join("\n")).toBe(variant.roundTrips);
    });
  }
});
