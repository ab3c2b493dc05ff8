import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../src/env";
import { listEvents, type ListQuery } from "../src/events/service";
import { json, registerUser, type TestUser } from "./helpers";
import { recordingDb, rowsReadOf } from "./support/recording-db";

const actorOf = (user: TestUser): Actor => ({ id: user.id, username: user.username, email: user.email, createdAt: 0, sessionId: "measure" });

const MINUTE = 60_000;
/** A Monday. The windows below are the Tuesday after it, when none of the Monday series meets. */
const MONDAY = Date.UTC(2041, 0, 7);
const TUESDAY = Date.UTC(2041, 0, 8);
const WEDNESDAY = Date.UTC(2041, 0, 9);
const SERIES = 2000;

/** Statements a listEvents page sends, counted through a recording D1 (drizzle's logger skips batches). */
async function statementsOfPage(user: TestUser, query: Partial<ListQuery>) {
  const { db, statements: recorded } = recordingDb();
  const actor: Actor = { id: user.id, username: user.username, email: user.email, createdAt: 0, sessionId: "measure" };
  const page = await listEvents(db, actor, { limit: 1, ...query });
  return { statements: recorded.length, page };
}

let user: TestUser;
let tuesdayId: number;

beforeAll(async () => {
  user = await registerUser("advlist");
  // One weekly 20-second series on Mondays through the API, then SERIES - 1 copies of its rows every
  // 30 seconds later on the same Monday (white-box: the API would take minutes, and what is
  // attacked here is the read). None of them has an occurrence on Tuesday.
  const first = await json("POST", "/api/events", {
    token: user.token,
    body: { title: "Monday", start_time: new Date(MONDAY).toISOString(), end_time: new Date(MONDAY + 20_000).toISOString(), is_recurring: true, recurrence_pattern: "FREQ=WEEKLY" },
  });
  expect(first.status).toBe(201);
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
     SELECT owner_id, title || ' ' || i, description, location, start_time + i * 30000, end_time + i * 30000, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at
     FROM events, n WHERE events.id = ?2`,
  )
    .bind(SERIES - 1, first.body.id)
    .run();
  await env.DB.prepare(
    `INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end)
     SELECT id, owner_id, 'owner', owner_id, created_at, start_time, series_end FROM events WHERE owner_id = ?1 AND id <> ?2`,
  )
    .bind(user.id, first.body.id)
    .run();
  // One series that does meet Tuesday, listed after every Monday one, shared by someone else (the
  // user's own calendar is too full for another series to pass the conflict check).
  const friend = await registerUser("advlistf");
  const tuesday = await json("POST", "/api/events", {
    token: friend.token,
    body: { title: "Tuesday", start_time: new Date(TUESDAY + 20 * 60 * MINUTE).toISOString(), end_time: new Date(TUESDAY + 21 * 60 * MINUTE).toISOString(), is_recurring: true, recurrence_pattern: "FREQ=WEEKLY" },
  });
  expect(tuesday.status).toBe(201);
  tuesdayId = tuesday.body.id;
  expect((await json("POST", `/api/events/${tuesdayId}/share`, { token: friend.token, body: { user_id: user.id, role: "viewer" } })).status).toBe(200);
});

describe("a windowed list over series that miss the window", () => {
  it(`sends a bounded number of statements for a page of one, however many of ${SERIES} series miss the window`, async () => {
    const { statements } = await statementsOfPage(user, { start: TUESDAY, end: WEDNESDAY });
    expect(statements).toBeLessThanOrEqual(24);
  });

  it("still finds the one series that meets the window by following next_cursor, and ends with a null cursor", async () => {
    const found: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `start=${new Date(TUESDAY).toISOString()}&end=${new Date(WEDNESDAY).toISOString()}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await json("GET", `/api/events?${query}`, { token: user.token });
      expect(res.status).toBe(200);
      found.push(...res.body.items.map((e: { id: number }) => e.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 50);
    expect(found).toEqual([tuesdayId]);
    expect(cursor).toBeNull();
  });
});

describe("a windowed list after a stranger shares one long event", () => {
  it("reads a bounded number of rows however long the shared event and however large the past", async () => {
    const victim = await registerUser("advlistv");
    const now = Date.now();
    // Five thousand past half-hour events (seeded), then one of the victim's own in the window.
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4999)
         SELECT ?1, 'Past ' || i, '', NULL, ?2 + i * 3600000, ?2 + i * 3600000 + 1800000, ?2 + i * 3600000 + 1800000, 0, NULL, 'UTC', 1, ?3, ?3 FROM n`,
      ).bind(victim.id, Date.UTC(2030, 0, 1), now),
      env.DB.prepare(`INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end) SELECT id, owner_id, 'owner', owner_id, ?2, start_time, series_end FROM events WHERE owner_id = ?1`).bind(victim.id, now),
    ]);
    const own = await json("POST", "/api/events", { token: victim.token, body: { title: "Dentist", start_time: "2031-01-10T09:00:00Z", end_time: "2031-01-10T10:00:00Z" } });
    expect(own.status).toBe(201);
    const window = { start: Date.UTC(2031, 0, 1), end: Date.UTC(2031, 1, 1) };
    const measure = async () => {
      const { db, statements } = recordingDb();
      const page = await listEvents(db, actorOf(victim), { limit: 5, ...window });
      return { rows: await rowsReadOf(statements), ids: page.items.map((e) => e.id) };
    };
    const alone = await measure();
    expect(alone.ids).toEqual([own.body.id]);
    // A year-long event shared by someone the victim never met.
    const stranger = await registerUser("advlists");
    const long = await json("POST", "/api/events", { token: stranger.token, body: { title: "Sabbatical", start_time: "2030-06-01T00:00:00Z", end_time: "2031-06-01T00:00:00Z" } });
    expect((await json("POST", `/api/events/${long.body.id}/share`, { token: stranger.token, body: { user_id: victim.id, role: "viewer" } })).status).toBe(200);
    const shared = await measure();
    expect(shared.ids).toEqual([long.body.id, own.body.id]);
    expect(shared.rows).toBeLessThanOrEqual(alone.rows + 10);
  });
});
