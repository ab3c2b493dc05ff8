import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { agenda } from "../src/calendar/service";
import type { Actor } from "../src/env";
import { isoUtc, json, registerUser, type TestUser } from "./helpers";
import { recordingDb } from "./support/recording-db";

const DENSE_DAY = Date.UTC(2042, 2, 2);
const WINDOW = { start: Date.UTC(2042, 2, 1), end: Date.UTC(2042, 3, 1) };
const DENSE = 1440;

/** Runs the agenda service on a recording D1 and counts the statements one page sends. */
async function statementsOfPage(user: TestUser, query: { limit: number; after?: [number, number] }) {
  const { db, statements: recorded } = recordingDb();
  const actor: Actor = { id: user.id, username: user.username, email: user.email, createdAt: 0, sessionId: "measure" };
  const page = await agenda(db, actor, { ...WINDOW, ...query });
  return { statements: recorded.length, page };
}

let user: TestUser;

beforeAll(async () => {
  user = await registerUser("advagenda");
  // A 23-hour event on another day: the user's longest short span, so the look-back is 23 hours.
  const long = await json("POST", "/api/events", { token: user.token, body: { title: "Offsite", start_time: isoUtc(Date.UTC(2042, 2, 10)), end_time: isoUtc(Date.UTC(2042, 2, 10, 23)) } });
  expect(long.status).toBe(201);
  // A day of back-to-back 30-second events, one a minute (seeded: 1,440 creates would take minutes).
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
       WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
       SELECT ?1, 'Minute ' || i, '', NULL, ?3 + i * 60000, ?3 + i * 60000 + 30000, ?3 + i * 60000 + 30000, 0, NULL, 'UTC', 1, ?4, ?4 FROM n`,
    ).bind(user.id, DENSE, DENSE_DAY, now),
    env.DB.prepare(`INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end) SELECT id, owner_id, 'owner', owner_id, ?2, start_time, series_end FROM events WHERE owner_id = ?1 AND title LIKE 'Minute %'`).bind(user.id, now),
  ]);
});

const OVERLAP_DAY = Date.UTC(2042, 2, 20, 1);
const OVERLAPPING = 600;

describe("an agenda page deep in a dense day", () => {
  it("sends a bounded number of statements for a page of one, however many events of the look-back lie before the cursor", async () => {
    const row = await env.DB.prepare("SELECT id, start_time FROM events WHERE owner_id = ? AND title = 'Minute 1400'").bind(user.id).first<{ id: number; start_time: number }>();
    const { statements, page } = await statementsOfPage(user, { limit: 1, after: [row!.start_time, row!.id] });
    expect(page.items.map((i) => i.title)).toEqual(["Minute 1401"]);
    expect(statements).toBeLessThanOrEqual(12);
  });

  it(`sends a bounded number of statements for a page of one inside ${OVERLAPPING} events shared by someone else that all run at the cursor`, async () => {
    const viewer = await registerUser("advagendav");
    const friend = await registerUser("advagendaf");
    // Events of other owners may overlap each other in the viewer's calendar; 22 hours each, so short.
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
         SELECT ?1, 'Shared ' || i, '', NULL, ?3, ?3 + 22 * 3600000, ?3 + 22 * 3600000, 0, NULL, 'UTC', 1, ?4, ?4 FROM n`,
      ).bind(friend.id, OVERLAPPING, OVERLAP_DAY, now),
      env.DB.prepare(`INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end) SELECT id, ?2, 'viewer', owner_id, ?3, start_time, series_end FROM events WHERE owner_id = ?1`).bind(friend.id, viewer.id, now),
    ]);
    const rows = (await env.DB.prepare("SELECT id FROM events WHERE owner_id = ? ORDER BY id").bind(friend.id).all<{ id: number }>()).results;
    const { statements, page } = await statementsOfPage(viewer, { limit: 1, after: [OVERLAP_DAY, rows[499].id] });
    expect(page.items.map((i) => i.event_id)).toEqual([rows[500].id]);
    expect(statements).toBeLessThanOrEqual(16);
  });

  it(`sends a bounded number of statements for the first page of one when ${OVERLAPPING} shared events start at the same instant`, async () => {
    const viewer = await registerUser("advagendat");
    const friend = await registerUser("advagendatf");
    const now = Date.now();
    const at = Date.UTC(2042, 2, 25, 9);
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2 - 1)
         SELECT ?1, 'Tied ' || i, '', NULL, ?3, ?3 + 3600000, ?3 + 3600000, 0, NULL, 'UTC', 1, ?4, ?4 FROM n`,
      ).bind(friend.id, OVERLAPPING, at, now),
      env.DB.prepare(`INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end) SELECT id, ?2, 'viewer', owner_id, ?3, start_time, series_end FROM events WHERE owner_id = ?1`).bind(friend.id, viewer.id, now),
    ]);
    const rows = (await env.DB.prepare("SELECT id FROM events WHERE owner_id = ? ORDER BY id").bind(friend.id).all<{ id: number }>()).results;
    const { statements, page } = await statementsOfPage(viewer, { limit: 1 });
    expect(page.items.map((i) => i.event_id)).toEqual([rows[0].id]);
    expect(statements).toBeLessThanOrEqual(8);
    const second = await statementsOfPage(viewer, { limit: 1, after: [at, rows[0].id] });
    expect(second.page.items.map((i) => i.event_id)).toEqual([rows[1].id]);
    expect(second.statements).toBeLessThanOrEqual(16);
  });

  it("still lists the dense day in order through the API, page after page", async () => {
    const titles: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `start=${isoUtc(WINDOW.start)}&end=${isoUtc(WINDOW.end)}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await json("GET", `/api/agenda?${query}`, { token: user.token });
      expect(res.status).toBe(200);
      titles.push(...res.body.items.map((i: { title: string }) => i.title));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(titles).toEqual([...Array.from({ length: DENSE }, (_, i) => `Minute ${i}`), "Offsite"]);
  });
});
