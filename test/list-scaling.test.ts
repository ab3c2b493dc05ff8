import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "../src/env";
import { listEvents, type ListQuery } from "../src/events/service";
import { json, registerUser, type TestUser } from "./helpers";
import { queryPlan, recordingDb, rowsReadOf } from "./support/recording-db";

const HOUR = 3600_000;
const BASE = Date.UTC(2040, 0, 1);
const BIG = 5_000;
const SMALL = 10;
/** Rows a page may read beyond two per row (one index entry, one event): the planner's small change. */
const SLACK = 4;
const budget = (limit: number) => 2 * (limit + 1) + SLACK;

interface Measured {
  /** Sum of D1's `meta.rows_read` over every statement the page ran. */
  rowsRead: number;
  statements: { sql: string; params: unknown[] }[];
  plan: string[];
  items: number;
}

/**
 * Runs the service's own listEvents against D1, capturing each SQL statement it sends, then runs
 * those statements again to read what D1 bills (`rows_read`) and how SQLite plans the first one.
 */
async function measurePage(user: TestUser, query: Partial<ListQuery>): Promise<Measured> {
  const { db, statements } = recordingDb();
  const actor: Actor = { id: user.id, username: user.username, email: user.email, createdAt: 0, sessionId: "measure" };
  const page = await listEvents(db, actor, { limit: 50, ...query });
  return { rowsRead: await rowsReadOf(statements), statements, plan: await queryPlan(statements[0]), items: page.items.length };
}

/** `count` half-hour events for `user`, through the batch endpoint, in an order unlike their ids. */
async function seedEvents(user: TestUser, count: number) {
  for (let from = 0; from < count; from += 100) {
    const size = Math.min(100, count - from);
    // Within each batch the slots are shuffled (37 is coprime with 100), so ids do not follow start times.
    const body = Array.from({ length: size }, (_, i) => {
      const start = BASE + (from + ((i * 37) % size)) * HOUR;
      return { title: `Load ${from + i}`, start_time: new Date(start).toISOString(), end_time: new Date(start + HOUR / 2).toISOString() };
    });
    const res = await json("POST", "/api/events/batch", { token: user.token, body });
    if (res.status !== 201) throw new Error(`seeding failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** The position (start_time, event_id) of the user's n-th event in list order, counting from 1. */
async function positionOf(user: TestUser, n: number): Promise<[number, number]> {
  const row = await env.DB.prepare("SELECT start_time, event_id FROM permissions WHERE user_id = ? ORDER BY start_time, event_id LIMIT 1 OFFSET ?")
    .bind(user.id, n - 1)
    .first<{ start_time: number; event_id: number }>();
  return [row!.start_time, row!.event_id];
}

let small: TestUser;
let big: TestUser;
/** Measured while the whole database held only the small calendar's 10 events. */
let atTen: { page50: Measured; page5: Measured };

beforeAll(async () => {
  small = await registerUser("small");
  big = await registerUser("big");
  await seedEvents(small, SMALL);
  atTen = { page50: await measurePage(small, { limit: 50 }), page5: await measurePage(small, { limit: 5 }) };
  await seedEvents(big, BIG);
}, 180_000);

describe("list pages read about `limit` rows at any calendar size", () => {
  it("runs one keyset query over permissions_user_start_idx: no SCAN, no temp B-tree, no OFFSET", async () => {
    const first = await measurePage(big, { limit: 50 });
    const deep = await measurePage(big, { limit: 50, after: await positionOf(big, 4_000) });
    for (const page of [atTen.page50, first, deep]) {
      expect(page.statements).toHaveLength(1);
      expect(page.statements[0].sql).not.toMatch(/\boffset\b/i);
      expect(page.plan[0]).toMatch(/^SEARCH permissions USING (COVERING )?INDEX permissions_user_start_idx \(user_id=\?/);
      expect(page.plan.slice(1)).toEqual(["SEARCH events USING INTEGER PRIMARY KEY (rowid=?)"]);
    }
    expect(deep.plan[0]).toContain("(start_time,event_id)>(?,?)");
  });

  it(`reads at most 2 × (limit + 1) + ${SLACK} rows for a first page of 50, at ${SMALL} and at ${BIG} events`, async () => {
    const first = await measurePage(big, { limit: 50 });
    expect(first.items).toBe(50);
    expect(atTen.page50.items).toBe(SMALL);
    expect(atTen.page50.rowsRead).toBeLessThanOrEqual(budget(50));
    expect(first.rowsRead).toBeLessThanOrEqual(budget(50));
  });

  it("reads no more for a page 4,000 rows deep than for the first page", async () => {
    const first = await measurePage(big, { limit: 50 });
    const deep = await measurePage(big, { limit: 50, after: await positionOf(big, 4_000) });
    expect(deep.items).toBe(50);
    expect(deep.rowsRead).toBeLessThanOrEqual(budget(50));
    expect(Math.abs(deep.rowsRead - first.rowsRead)).toBeLessThanOrEqual(SLACK);
  });

  it(`costs the same at ${SMALL} and at ${BIG} events when both fill the page`, async () => {
    const large = await measurePage(big, { limit: 5 });
    const deep = await measurePage(big, { limit: 5, after: await positionOf(big, 4_000) });
    for (const page of [large, deep]) expect(Math.abs(page.rowsRead - atTen.page5.rowsRead)).toBeLessThanOrEqual(SLACK);
  });

  it(`costs a small calendar the same after another user's ${BIG} events arrive`, async () => {
    const now = await measurePage(small, { limit: 50 });
    // The index range of a calendar now ends at another user's first entry, which is read once.
    expect(Math.abs(now.rowsRead - atTen.page50.rowsRead)).toBeLessThanOrEqual(SLACK);
    expect(now.items).toBe(SMALL);
  });

  it(`reads about limit rows for a page with a start/end window deep in ${BIG} events`, async () => {
    const page = await measurePage(big, { limit: 50, start: BASE + 4_000 * HOUR, end: BASE + 4_100 * HOUR });
    expect(page.items).toBe(50);
    expect(page.rowsRead).toBeLessThanOrEqual(budget(50));
  });

  it(`reads about limit rows for a role-filtered page among ${BIG} events`, async () => {
    const page = await measurePage(big, { limit: 50, role: "viewer" });
    expect(page.items).toBe(0);
    expect(page.rowsRead).toBeLessThanOrEqual(budget(50));
  });
});

describe(`paging GET /api/events through ${BIG} events`, () => {
  it("returns every event exactly once, in (start_time, id) order, in 50 pages of 100", async () => {
    const { results } = await env.DB.prepare("SELECT id FROM events WHERE owner_id = ? ORDER BY start_time, id").bind(big.id).all<{ id: number }>();
    const expected = results.map((r) => r.id);
    expect(expected).toHaveLength(BIG);
    const seen: number[] = [];
    let pages = 0;
    let cursor: string | null = null;
    do {
      const res = await json("GET", `/api/events?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: big.token });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBe(100);
      seen.push(...res.body.items.map((e: { id: number }) => e.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 60);
    expect(pages).toBe(50);
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(BIG);
    expect(seen).toEqual(expected);
  });
});
