import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { agenda, AGENDA_BUDGET, MAX_AGENDA_SERIES } from "../src/calendar/service";
import type { Actor } from "../src/env";
import { expansionWork } from "../src/recurrence";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";
import { queryPlan, recordingDb, rowsReadOf } from "./support/recording-db";

interface Item {
  event_id: number;
  title: string;
  start_time: string;
  end_time: string;
  original_start: string;
  my_role: string;
}

const WINDOW = { start: "2030-01-01T00:00:00Z", end: "2031-01-01T00:00:00Z" };

async function page(user: TestUser, limit: number, cursor: string | null, window = WINDOW) {
  const res = await json("GET", `/api/agenda?start=${window.start}&end=${window.end}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body as { items: Item[]; next_cursor: string | null };
}

async function allPages(user: TestUser, limit: number, window = WINDOW): Promise<{ items: Item[]; pages: number }> {
  const items: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const body = await page(user, limit, cursor, window);
    expect(body.items.length).toBeLessThanOrEqual(limit);
    items.push(...body.items);
    cursor = body.next_cursor;
    pages++;
  } while (cursor);
  return { items, pages };
}

/** The agenda computed another way: each event's own occurrences endpoint, merged by (start, id). */
async function unpaged(user: TestUser, ids: number[], roles: Map<number, string>, titles: Map<number, string>, window = WINDOW): Promise<Item[]> {
  const items: Item[] = [];
  for (const id of ids) {
    const res = await json("GET", `/api/events/${id}/occurrences?start=${window.start}&end=${window.end}`, { token: user.token });
    expect(res.status).toBe(200);
    for (const o of res.body.items) items.push({ event_id: id, title: titles.get(id)!, start_time: o.start_time, end_time: o.end_time, original_start: o.original_start, my_role: roles.get(id)! });
  }
  return items.sort((a, b) => Date.parse(a.start_time) - Date.parse(b.start_time) || a.event_id - b.event_id);
}

/** Runs the agenda service on D1 with every statement recorded, then sums D1's rows_read for them. */
async function measure(user: TestUser, query: Parameters<typeof agenda>[2]) {
  const { db, statements } = recordingDb();
  const actor: Actor = { id: user.id, username: user.username, email: user.email, createdAt: 0, sessionId: "measure" };
  const before = expansionWork();
  const result = await agenda(db, actor, query);
  const steps = expansionWork() - before;
  const plans: string[] = [];
  for (const statement of statements) plans.push(...(await queryPlan(statement)));
  return { result, steps, rowsRead: await rowsReadOf(statements), plans };
}

const at = Date.parse;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

describe("a mixed calendar", () => {
  let owner: TestUser;
  let friend: TestUser;
  const ids: number[] = [];
  const roles = new Map<number, string>();
  const titles = new Map<number, string>();

  const make = async (who: TestUser, body: Record<string, unknown>, role: string) => {
    const res = await json("POST", "/api/events", { token: who.token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(res.body.id);
    roles.set(res.body.id, role);
    titles.set(res.body.id, res.body.title);
    if (who !== owner) expect((await json("POST", `/api/events/${res.body.id}/share`, { token: who.token, body: { user_id: owner.id, role } })).status).toBeLessThan(300);
    return res.body.id as number;
  };

  beforeAll(async () => {
    owner = await registerUser("agmix");
    friend = await registerUser("agfriend");
    const series = (title: string, start: string, minutes: number, pattern: string, timezone = "UTC") => ({
      title,
      start_time: start,
      end_time: iso(at(`${start}Z`) + minutes * 60_000),
      timezone,
      is_recurring: true,
      recurrence_pattern: pattern,
    });
    const oneOff = (title: string, start: string, minutes: number) => ({ title, start_time: `${start}Z`, end_time: iso(at(`${start}Z`) + minutes * 60_000) });
    await make(owner, series("Weekly from 1900", "1900-01-01T09:00:00", 60, "FREQ=WEEKLY;BYDAY=MO,TH"), "owner");
    await make(owner, series("Friday 13th", "1900-04-13T12:00:00", 30, "FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR"), "owner");
    await make(owner, series("Berlin monthly", "2029-11-30T18:00:00", 45, "FREQ=MONTHLY;BYDAY=-1FR", "Europe/Berlin"), "owner");
    await make(owner, series("Ends in June", "2029-12-31T07:00:00", 30, "FREQ=DAILY;INTERVAL=3;UNTIL=20300615"), "owner");
    await make(owner, series("Dead since 1913", "1900-01-01T14:00:00", 30, "FREQ=DAILY;COUNT=5000"), "owner");
    await make(owner, oneOff("Straddles the window start", "2029-12-31T23:00:00", 120), "owner");
    await make(friend, oneOff("Conference", "2030-03-05T12:00:00", 2 * 24 * 60), "viewer");
    for (let i = 0; i < 12; i++) await make(owner, oneOff(`One-off ${i}`, iso(at("2030-01-05T15:00:00Z") + i * 29 * 86_400_000).slice(0, 19), 50), "owner");
    await make(owner, oneOff("Before the window", "2029-06-01T10:00:00", 60), "owner");
    // The friend's events overlap the owner's and tie on start times, so event id breaks the ties.
    await make(friend, series("Friend weekly", "2029-12-02T09:00:00", 60, "FREQ=WEEKLY;BYDAY=MO"), "viewer");
    await make(friend, oneOff("Friend tie", "2030-01-05T15:00:00", 20), "editor");
    await make(friend, series("Friend yearly", "2028-03-10T00:00:00", 60, "yearly"), "viewer");
    // Someone else's event is never in the owner's agenda.
    const stranger = await registerUser("agstranger");
    expect((await json("POST", "/api/events", { token: stranger.token, body: oneOff("Stranger", "2030-01-05T15:00:00", 20) })).status).toBe(201);
  });

  it("gives every occurrence exactly once, in (start, event_id) order, at any page size", async () => {
    const expected = await unpaged(owner, ids, roles, titles);
    expect(expected.length).toBeGreaterThan(150);
    expect(expected.some((o) => o.title === "Straddles the window start")).toBe(true);
    expect(expected.some((o) => o.title === "Dead since 1913" || o.title === "Before the window")).toBe(false);
    for (const limit of [1, 7, 50, 100]) {
      const { items, pages } = await allPages(owner, limit);
      expect(items, `limit ${limit}`).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
    }
  });

  it("orders ties on start by event id", async () => {
    const { items } = await allPages(owner, 100);
    const tied = items.filter((o) => o.start_time === "2030-01-05T15:00:00Z");
    expect(tied).toHaveLength(2);
    expect(tied[0].event_id).toBeLessThan(tied[1].event_id);
    expect(tied.map((o) => o.my_role).sort()).toEqual(["editor", "owner"]);
  });

  it("gives one empty page for a window in which nothing runs", async () => {
    expect(await page(owner, 10, null, { start: "1900-01-01T00:00:00Z", end: "1900-01-01T09:00:00Z" })).toEqual({ items: [], next_cursor: null });
  });
});

describe("an agenda over 100 hostile series", () => {
  let owner: TestUser;
  const SHAPES = [
    "FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR",
    "FREQ=DAILY;INTERVAL=29;BYMONTHDAY=13;BYDAY=FR",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "FREQ=WEEKLY;BYMONTH=2;BYDAY=MO",
    "FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=YEARLY;INTERVAL=1000",
    "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=1,3",
    "FREQ=WEEKLY;INTERVAL=7;BYDAY=SU",
    "FREQ=DAILY;INTERVAL=97",
  ];
  const ids: number[] = [];

  beforeAll(async () => {
    owner = await registerUser("aghostile");
    // 100 endless (or 2900-year) series from 1900, each in its own 10-minute slot of the day.
    const all = Array.from({ length: 100 }, (_, i) => {
      const start = Date.UTC(1900, 0, 1, 0, i * 12);
      return { title: `Hostile ${i}`, start_time: iso(start), end_time: iso(start + 10 * 60_000), is_recurring: true, recurrence_pattern: SHAPES[i % SHAPES.length] };
    });
    for (let from = 0; from < all.length; from += 25) {
      const res = await json("POST", "/api/events/batch", { token: owner.token, body: { events: all.slice(from, from + 25) } });
      expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(201);
      ids.push(...res.body.map((e: { id: number }) => e.id));
    }
  });

  it("returns the same items paged as unpaged, each page with bounded steps and rows", async () => {
    const roles = new Map(ids.map((id) => [id, "owner"]));
    const titles = new Map(ids.map((id, i) => [id, `Hostile ${i}`]));
    const expected = await unpaged(owner, ids, roles, titles);
    expect(expected.length).toBeGreaterThan(100);
    const { items } = await allPages(owner, 50);
    expect(items).toEqual(expected);

    const query = { start: at(WINDOW.start), end: at(WINDOW.end), limit: 50 };
    const first = await measure(owner, query);
    expect(first.result.items).toHaveLength(50);
    // Each of the 100 series is probed once from the page's position (at most a year of a sparse
    // rule), then only as far as 50 items need.
    expect(first.steps).toBeLessThan(100 * 60 + 50 * 20);
    // D1: the 100 series (each an index entry and a row, twice: endless and long ranges) plus the short range.
    expect(first.rowsRead).toBeLessThan(2 * 2 * 100 + 4 * 51);
    expect(first.plans.some((p) => p.includes("permissions_user_long_end_idx"))).toBe(true);
    expect(first.plans.some((p) => p.includes("permissions_user_endless_idx"))).toBe(true);

    // A page deep in the window costs what the first one does.
    const last = items.at(-2)!;
    const deep = await measure(owner, { ...query, after: [at(last.start_time), last.event_id] });
    expect(deep.result.items).toHaveLength(1);
    expect(deep.steps).toBeLessThanOrEqual(first.steps + 100);
    expect(deep.rowsRead).toBeLessThanOrEqual(first.rowsRead + 10);
  });

  it("does the same work for the window in 2030 as for the window in 1901", async () => {
    const later = await measure(owner, { start: at(WINDOW.start), end: at(WINDOW.end), limit: 20 });
    const early = await measure(owner, { start: Date.UTC(1901, 0, 1), end: Date.UTC(1902, 0, 1), limit: 20 });
    expect(later.steps).toBeLessThan(early.steps * 2 + 200);
  });

  it("does not read the user's past one-offs", async () => {
    const query = { start: at(WINDOW.start), end: at(WINDOW.end), limit: 20 };
    const before = await measure(owner, query);
    // One-minute events in 2020 between the series' slots (series i holds minutes [12i, 12i + 10)).
    const past = Array.from({ length: 100 }, (_, i) => {
      const start = Date.UTC(2020, 0, 1, 0, i * 12 + 10);
      return { title: `Past ${i}`, start_time: iso(start), end_time: iso(start + 60_000) };
    });
    expect((await json("POST", "/api/events/batch", { token: owner.token, body: { events: past } })).status).toBe(201);
    const after = await measure(owner, query);
    expect(after.rowsRead).toBeLessThanOrEqual(before.rowsRead + 4);
    expect(after.result.items).toEqual(before.result.items);
  });
});

describe("short events", () => {
  it("re-reads only the short events that may still run at the page's position, not a whole day of them", async () => {
    const user = await registerUser("agshort");
    const base = Date.UTC(2030, 4, 1, 0, 0);
    const body = Array.from({ length: 72 }, (_, i) => ({ title: `Slot ${i}`, start_time: iso(base + i * 3600_000), end_time: iso(base + i * 3600_000 + 30 * 60_000) }));
    expect((await json("POST", "/api/events/batch", { token: user.token, body: { events: body.slice(0, 36) } })).status).toBe(201);
    expect((await json("POST", "/api/events/batch", { token: user.token, body: { events: body.slice(36) } })).status).toBe(201);
    const { items } = await allPages(user, 5);
    expect(items.map((o) => o.title)).toEqual(body.map((b) => b.title));
    const cursorAt = items[49];
    const deep = await measure(user, { start: at(WINDOW.start), end: at(WINDOW.end), limit: 5, after: [at(cursorAt.start_time), cursorAt.event_id] });
    expect(deep.result.items.map((o) => o.title)).toEqual(body.slice(50, 55).map((b) => b.title));
    // At most two reads of six rows (an index entry and an event each, plus one entry for the
    // longest span): the look-back is the longest event (30 minutes), not the 24 events of the
    // day before the position, which a fixed day would re-read.
    expect(deep.rowsRead).toBeLessThanOrEqual(2 * (2 * 6 + 1) + 4);
  });
});

describe("agenda limits", () => {
  it(`refuses a window in which more than ${MAX_AGENDA_SERIES} series run, with a 422 naming start`, async () => {
    const user = await registerUser("agcap");
    // Seeded directly: creating 1,001 series through the API would spend minutes on conflict checks.
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         SELECT ?1, 'Seeded ' || i, '', NULL, ?3 + i * 60000, ?3 + i * 60000 + 30000, NULL, 1, 'weekly', 'UTC', 1, ?4, ?4 FROM n`,
      ).bind(user.id, MAX_AGENDA_SERIES + 1, Date.UTC(2029, 0, 1), now),
      env.DB.prepare(`INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end) SELECT id, owner_id, 'owner', owner_id, ?2, start_time, NULL FROM events WHERE owner_id = ?1`).bind(user.id, now),
    ]);
    const res = await json("GET", `/api/agenda?start=${WINDOW.start}&end=${WINDOW.end}`, { token: user.token });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "start", message: expect.stringContaining(`${MAX_AGENDA_SERIES}`) }]);
    // A window before they start is fine.
    expect((await json("GET", "/api/agenda?start=2028-01-01T00:00:00Z&end=2028-12-01T00:00:00Z", { token: user.token })).body).toEqual({ items: [], next_cursor: null });
  });

  it(`refuses a page whose series need more than ${AGENDA_BUDGET} steps with a 422 naming end, and serves a narrower window`, async () => {
    const user = await registerUser("agsteps");
    // A rule every write accepts (its first occurrence is near), but each year of it tests 746 days.
    const heavy = `FREQ=YEARLY;BYMONTHDAY=${Array.from({ length: 31 }, (_, i) => `${i + 1},-${i + 1}`).join(",")};BYDAY=53MO,-53SU`;
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
         SELECT ?1, 'Heavy ' || i, '', NULL, ?3 + i * 60000, ?3 + i * 60000 + 30000, NULL, 1, ?5, 'UTC', 1, ?4, ?4 FROM n`,
      ).bind(user.id, MAX_AGENDA_SERIES, Date.UTC(2029, 0, 1), now, heavy),
      env.DB.prepare(`INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end) SELECT id, owner_id, 'owner', owner_id, ?2, start_time, NULL FROM events WHERE owner_id = ?1`).bind(user.id, now),
    ]);
    const before = expansionWork();
    const wide = await json("GET", `/api/agenda?start=${WINDOW.start}&end=${WINDOW.end}`, { token: user.token });
    expect(expansionWork() - before).toBeLessThanOrEqual(AGENDA_BUDGET + 1000);
    expectProblem(wide, 422, "validation_failed");
    expect(wide.body.errors).toEqual([{ field: "end", message: expect.stringContaining("narrow the window") }]);
    const narrow = await json("GET", "/api/agenda?start=2030-03-01T00:00:00Z&end=2030-04-01T00:00:00Z", { token: user.token });
    expect(narrow.status).toBe(200);
  });

  it("returns at most one occurrence a day from the occurrences endpoint, for the widest window, in bounded steps", async () => {
    const user = await registerUser("agocc");
    const made = await json("POST", "/api/events", { token: user.token, body: { title: "Daily since 1900", start_time: "1900-01-01T23:30:00Z", end_time: "1900-01-02T00:30:00Z", is_recurring: true, recurrence_pattern: "daily" } });
    expect(made.status).toBe(201);
    const before = expansionWork();
    const res = await json("GET", `/api/events/${made.body.id}/occurrences?start=2030-01-01T00:00:00Z&end=2031-01-02T00:00:00Z`, { token: user.token });
    expect(expansionWork() - before).toBeLessThan(367 * 4);
    expect(res.body.items).toHaveLength(367);
    expect(res.body.items[0]).toEqual({ start_time: "2029-12-31T23:30:00Z", end_time: "2030-01-01T00:30:00Z", original_start: "2029-12-31T23:30:00Z" });
  });

  it("binds a cursor to its window", async () => {
    const user = await registerUser("agcursor");
    for (let i = 0; i < 3; i++) await json("POST", "/api/events", { token: user.token, body: { title: `E${i}`, start_time: `2030-02-0${i + 1}T10:00:00Z`, end_time: `2030-02-0${i + 1}T11:00:00Z` } });
    const first = await page(user, 1, null);
    expect(first.next_cursor).not.toBeNull();
    const other = await json("GET", `/api/agenda?start=2030-01-02T00:00:00Z&end=${WINDOW.end}&limit=1&cursor=${encodeURIComponent(first.next_cursor!)}`, { token: user.token });
    expectProblem(other, 422, "validation_failed");
  });
});
