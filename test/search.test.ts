import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { beforeAll, describe, expect, it } from "vitest";
import * as schema from "../src/db/schema";
import type { Actor } from "../src/env";
import { SEARCH_SCAN_ROWS, searchEvents } from "../src/events/search";
import { json, registerUser, slotMaker, type TestUser } from "./helpers";

const HOUR = 3600_000;
const slot = slotMaker(2064);
let alice: TestUser;
let bob: TestUser;

const create = (user: TestUser, body: Record<string, unknown>) => json("POST", "/api/events", { token: user.token, body: { ...slot(), ...body } });
const search = (user: TestUser, q: string, extra = "") => json("GET", `/api/events?q=${encodeURIComponent(q)}${extra}`, { token: user.token });
const titles = (res: { body: any }) => res.body.items.map((e: { title: string }) => e.title).sort();

beforeAll(async () => {
  [alice, bob] = await Promise.all([registerUser("search_a"), registerUser("search_b")]);
  for (const title of ["CAFÉ CONCERT", "Morning café", "ΣΟΦΊΑ seminar", "ΦΙΛΟΣΟΦΟΣ talk", "STRAẞE fest", "Straße party", "STRASSE sign", "İSTANBUL trip", "istanbul notes", "IRMAK walk", "Fuß", "Plain meeting"]) {
    expect((await create(alice, { title })).status).toBe(201);
  }
  await create(alice, { title: "Lunch", description: "Bring the ÜBERSICHT slides", location: "Salle Ωmega" });
});

describe("search is case-insensitive over all of Unicode", () => {
  it.each([
    ["café", ["CAFÉ CONCERT", "Morning café"]],
    ["CAFÉ", ["CAFÉ CONCERT", "Morning café"]],
    ["σοφία", ["ΣΟΦΊΑ seminar"]],
    ["σοφος", ["ΦΙΛΟΣΟΦΟΣ talk"]],
    ["straße", ["STRAẞE fest", "Straße party"]],
    ["STRAẞE", ["STRAẞE fest", "Straße party"]],
    ["istanbul", ["istanbul notes", "İSTANBUL trip"]],
    ["İstanbul", ["istanbul notes", "İSTANBUL trip"]],
    ["ırmak", ["IRMAK walk"]],
  ])("q=%s finds %j", async (q, expected) => {
    const res = await search(alice, q);
    expect(res.status).toBe(200);
    expect(titles(res)).toEqual([...expected].sort());
  });

  it("finds text whose non-ASCII letters fold to ASCII ones: the Kelvin sign, dotless ı, i with a combining dot", async () => {
    await create(alice, { title: "Absolute \u212A scale" });
    await create(alice, { title: "Ci\u0307ty hall", location: "Diyarbakır" });
    expect(titles(await search(alice, "te k sc"))).toEqual(["Absolute \u212A scale"]);
    expect(titles(await search(alice, "city h"))).toEqual(["Ci\u0307ty hall"]);
    expect(titles(await search(alice, "DIYARBAKIR"))).toEqual(["Ci\u0307ty hall"]);
  });

  it("matches %, _ and backslash literally in titles that hold them", async () => {
    const carol = await registerUser("search_c");
    await create(carol, { title: "Done: 100% of _tasks_ \\o/" });
    expect(titles(await search(carol, "0% OF _T"))).toEqual(["Done: 100% of _tasks_ \\o/"]);
    expect(titles(await search(carol, "\\O/"))).toEqual(["Done: 100% of _tasks_ \\o/"]);
    expect(titles(await search(carol, "0%_"))).toEqual([]);
  });

  it("answers a query of invalid UTF-8 or a lone surrogate with 200", async () => {
    const res = await json("GET", "/api/events?q=%ED%A0%80plain", { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
    const page = await measureSearch(alice, "\uD800plain");
    expect(page.page.items).toEqual([]);
  });

  it("treats ß and ss as different letters (simple case folding)", async () => {
    expect(titles(await search(alice, "strasse"))).toEqual(["STRASSE sign"]);
  });

  it("searches the description and the location too", async () => {
    expect(titles(await search(alice, "übersicht"))).toEqual(["Lunch"]);
    expect(titles(await search(alice, "ωMEGA"))).toEqual(["Lunch"]);
  });

  it.each([
    ["ẞ", ["Fuß", "STRAẞE fest", "Straße party"]],
    ["uß", ["Fuß"]],
    ["İs", ["istanbul notes", "İSTANBUL trip"]],
    ["ΣΟ", ["ΣΟΦΊΑ seminar", "ΦΙΛΟΣΟΦΟΣ talk"]],
    ["é", ["CAFÉ CONCERT", "Morning café"]],
  ])("a short query q=%s (under three characters) finds %j the same way", async (q, expected) => {
    const res = await search(alice, q);
    expect(res.status).toBe(200);
    expect(titles(res)).toEqual([...expected].sort());
    expect(res.body.next_cursor).toBe(null);
  });

  it.each(['"', '" OR "a', "caf*", "NEAR(a b)", "a'b", "%", "_", "   "])("answers the query %j, which is FTS or LIKE syntax, with 200 and literal matching", async (q) => {
    const res = await search(alice, q);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  });

  it("matches a query holding a NUL literally instead of failing", async () => {
    await create(alice, { title: "nul\u0000byte title" });
    for (const q of ["l\u0000b", "nul\u0000byte", "\u0000"]) {
      const res = await search(alice, q);
      expect(res.status).toBe(200);
      expect(titles(res)).toEqual(["nul\u0000byte title"]);
    }
    expect(titles(await search(alice, "x\u0000y"))).toEqual([]);
    // The text after the NUL is matched too.
    expect(titles(await search(alice, "byte title"))).toEqual(["nul\u0000byte title"]);
  });

  it("combines q with role and a window", async () => {
    const event = (await create(bob, { title: "Shared Kaffee", start_time: "2064-11-01T10:00:00Z", end_time: "2064-11-01T11:00:00Z" })).body;
    await json("POST", `/api/events/${event.id}/share`, { token: bob.token, body: { user_id: alice.id, role: "viewer" } });
    expect(titles(await search(alice, "kaffee", "&role=viewer"))).toEqual(["Shared Kaffee"]);
    expect(titles(await search(alice, "kaffee", "&role=owner"))).toEqual([]);
    expect(titles(await search(alice, "kaffee", "&start=2064-11-01T10:30:00Z&end=2064-11-02T00:00:00Z"))).toEqual(["Shared Kaffee"]);
    expect(titles(await search(alice, "kaffee", "&start=2064-11-01T11:00:00Z"))).toEqual([]);
  });
});

describe("search sees only what the caller may see, and follows every write", () => {
  it("never finds another user's events, until they are shared", async () => {
    const secret = (await create(bob, { title: "Zanzibar secret plan" })).body;
    expect(titles(await search(alice, "zanzibar"))).toEqual([]);
    expect(titles(await search(bob, "zanzibar"))).toEqual(["Zanzibar secret plan"]);
    await json("POST", `/api/events/${secret.id}/share`, { token: bob.token, body: { user_id: alice.id, role: "viewer" } });
    expect(titles(await search(alice, "zanzibar"))).toEqual(["Zanzibar secret plan"]);
    await json("DELETE", `/api/events/${secret.id}/permissions/${alice.id}`, { token: bob.token });
    expect(titles(await search(alice, "zanzibar"))).toEqual([]);
  });

  it("finds the new text after an update, not the old one", async () => {
    const event = (await create(alice, { title: "Quokka review" })).body;
    expect((await json("PATCH", `/api/events/${event.id}`, { token: alice.token, body: { title: "Wombat review", location: "Kängurusaal" } })).status).toBe(200);
    expect(titles(await search(alice, "quokka"))).toEqual([]);
    expect(titles(await search(alice, "wombat"))).toEqual(["Wombat review"]);
    expect(titles(await search(alice, "KÄNGURU"))).toEqual(["Wombat review"]);
  });

  it("no longer finds a deleted event", async () => {
    const event = (await create(alice, { title: "Xylophone recital" })).body;
    expect(titles(await search(alice, "xylophone"))).toEqual(["Xylophone recital"]);
    expect((await json("DELETE", `/api/events/${event.id}`, { token: alice.token })).status).toBe(204);
    expect(titles(await search(alice, "xylophone"))).toEqual([]);
  });

  it("keeps no search index that writes would have to maintain (migration 0010 drops 0004's)", async () => {
    const { results } = await env.DB.prepare("SELECT type, name FROM sqlite_master WHERE name LIKE 'events_fts%'").all();
    expect(results).toEqual([]);
  });
});

/** Sum of D1's rows_read over every statement one search page runs, through the service itself. */
async function measureSearch(user: TestUser, q: string, after?: [number, number], window: { start?: number; end?: number } = {}) {
  const statements: { sql: string; params: unknown[] }[] = [];
  const recording = {
    prepare: (text: string) => {
      const statement = env.DB.prepare(text);
      return new Proxy(statement, {
        get(target, key) {
          if (key === "bind") return (...params: unknown[]) => (statements.push({ sql: text, params }), target.bind(...params));
          const value = Reflect.get(target, key);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
    batch: (list: D1PreparedStatement[]) => env.DB.batch(list),
  } as unknown as D1Database;
  const actor: Actor = { id: user.id, username: user.username, email: user.email, createdAt: 0, sessionId: "measure" };
  const page = await searchEvents(drizzle(recording, { schema }), actor, { limit: 50, q, after, ...window });
  let rowsRead = 0;
  for (const { sql, params } of statements) rowsRead += (await env.DB.prepare(sql).bind(...params).all()).meta.rows_read;
  return { rowsRead, page };
}

describe("a search page reads a bounded number of rows", () => {
  const SIZE = 3_000;
  const RARE = [5, 1_500, 2_990];
  let big: TestUser;

  beforeAll(async () => {
    big = await registerUser("search_big");
    const base = Date.UTC(2070, 0, 1);
    for (let from = 0; from < SIZE; from += 100) {
      const body = Array.from({ length: 100 }, (_, i) => {
        const n = from + i;
        const start = base + n * HOUR;
        return { title: RARE.includes(n) ? `Okapi sighting ${n}` : `Routine ${n}`, start_time: new Date(start).toISOString(), end_time: new Date(start + HOUR / 2).toISOString() };
      });
      const res = await json("POST", "/api/events/batch", { token: big.token, body });
      if (res.status !== 201) throw new Error(`seeding failed: ${res.status}`);
    }
    // Another user's many matches must cost this user nothing.
    for (let from = 0; from < 1_000; from += 100) {
      const body = Array.from({ length: 100 }, (_, i) => ({ title: `okapi ${from + i}`, start_time: new Date(Date.UTC(2071, 0, 1) + (from + i) * HOUR).toISOString(), end_time: new Date(Date.UTC(2071, 0, 1) + (from + i) * HOUR + HOUR / 2).toISOString() }));
      await json("POST", "/api/events/batch", { token: bob.token, body });
    }
  }, 120_000);

  it(`reads ${SEARCH_SCAN_ROWS} rows and their events for a rare match in ${SIZE} events`, async () => {
    const { rowsRead, page } = await measureSearch(big, "okapi");
    console.log(`search "okapi" over ${SIZE} events: rows_read ${rowsRead}, ${page.items.length} items`);
    // Each row of the slice is one permissions index entry and one events lookup.
    expect(rowsRead).toBeLessThanOrEqual(2 * SEARCH_SCAN_ROWS + 4);
    expect(page.items.map((e: { title: string }) => e.title)).toEqual(["Okapi sighting 5"]);
    // The second page starts where the first one stopped, and costs the same.
    const second = await measureSearch(big, "okapi", page.next!);
    expect(second.page.items).toEqual([]);
    expect(second.rowsRead).toBeLessThanOrEqual(2 * SEARCH_SCAN_ROWS + 4);
    expect(page.next).not.toBe(null);
  });

  it("stays within the same bound with a window", async () => {
    const { rowsRead, page } = await measureSearch(big, "okapi", undefined, { start: Date.UTC(2070, 0, 1), end: Date.UTC(2071, 0, 1) });
    console.log(`search "okapi" with a window over ${SIZE} events: rows_read ${rowsRead}`);
    expect(page.items.map((e: { title: string }) => e.title)).toEqual(["Okapi sighting 5"]);
    expect(rowsRead).toBeLessThanOrEqual(2 * SEARCH_SCAN_ROWS + 4);
  });

  it(`reads the same ${SEARCH_SCAN_ROWS} rows and their events for a one-character query`, async () => {
    const { rowsRead, page } = await measureSearch(big, "ø");
    console.log(`search "ø" over ${SIZE} events: rows_read ${rowsRead}`);
    expect(rowsRead).toBeLessThanOrEqual(2 * SEARCH_SCAN_ROWS + 4);
    expect(page.items).toEqual([]);
    expect(page.next).not.toBe(null);
  });

  it("fills a page when hits are dense and stops reading there", async () => {
    // Every row after the first page is a hit: one read of limit + 1 rows fills the page.
    const first = await measureSearch(big, "routine");
    const { rowsRead, page } = await measureSearch(big, "routine", first.page.next!);
    console.log(`search "routine" over ${SIZE} events: rows_read ${first.rowsRead}, then ${rowsRead}`);
    expect(page.items).toHaveLength(50);
    expect(page.next).toEqual([Date.parse(page.items[49].start_time), page.items[49].id]);
    expect(rowsRead).toBeLessThanOrEqual(2 * (50 + 1) + 4);
    // The first 51 rows hold one miss (Okapi sighting 5): the next read, twice as large, ends the page.
    expect(first.page.items).toHaveLength(50);
    expect(first.rowsRead).toBeLessThanOrEqual(2 * (3 * (50 + 1)) + 4);
  });

  it("costs the same however many matching events other users add", async () => {
    const before = await measureSearch(big, "okapi");
    const body = Array.from({ length: 100 }, (_, i) => ({ title: `Okapi herd ${i}`, description: "okapi ".repeat(1_000), start_time: new Date(Date.UTC(2070, 0, 1) + i * HOUR).toISOString(), end_time: new Date(Date.UTC(2070, 0, 1) + i * HOUR + HOUR / 2).toISOString() }));
    expect((await json("POST", "/api/events/batch", { token: bob.token, body })).status).toBe(201);
    const after = await measureSearch(big, "okapi");
    expect(after.rowsRead).toBe(before.rowsRead);
    expect(after.page).toEqual(before.page);
  });

  it.each([
    ["the longest query (200 characters)", "Okapi sighting ".repeat(14).slice(0, 200)],
    ["a query of one repeated letter", "o".repeat(200)],
    ["a query matching every event's trigrams", "Routine Routine Routine Routine"],
  ])("answers %s over the big calendar quickly", async (_name, q) => {
    const started = performance.now();
    const res = await search(big, q);
    const elapsed = performance.now() - started;
    console.log(`search of ${q.length} characters over ${SIZE} events: ${elapsed.toFixed(0)} ms`);
    expect(res.status).toBe(200);
    expect(elapsed).toBeLessThan(2_000);
  });

  it("walks the whole calendar in bounded pages, partial ones included, and finds every match once", async () => {
    const found: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await search(big, "OKAPI", `&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      found.push(...res.body.items.map((e: { title: string }) => e.title));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(found).toEqual(RARE.map((n) => `Okapi sighting ${n}`));
    expect(pages).toBe(Math.ceil(SIZE / SEARCH_SCAN_ROWS) + 1);
  });
});

describe("a search over 10 KB descriptions", () => {
  const COUNT = 250;
  let wide: TestUser;

  beforeAll(async () => {
    wide = await registerUser("search_wide");
    const base = Date.UTC(2072, 0, 1);
    for (let from = 0; from < COUNT; from += 50) {
      const body = Array.from({ length: 50 }, (_, k) => {
        const n = from + k;
        const tail = n === 200 ? " needle ab ΣΟΦΊΑ" : "";
        return { title: `Wide ${n}`, description: "a".repeat(10_000 - tail.length) + tail, start_time: new Date(base + n * HOUR).toISOString(), end_time: new Date(base + n * HOUR + HOUR / 2).toISOString() };
      });
      const res = await json("POST", "/api/events/batch", { token: wide.token, body });
      if (res.status !== 201) throw new Error(`seeding failed: ${res.status}`);
    }
  }, 120_000);

  it.each([
    ["a run of the text's own letter that ends otherwise (200 characters)", "A".repeat(199) + "B", []],
    ["the end of one description, in other case", "A NEEDLE AB", ["Wide 200"]],
    ["Greek at the end of one description, which SQLite cannot fold", "σοφία", ["Wide 200"]],
  ])("finds %s within one bounded page, quickly", async (_name, q, expected) => {
    const started = performance.now();
    const { rowsRead, page } = await measureSearch(wide, q as string);
    const elapsed = performance.now() - started;
    console.log(`search over ${COUNT} 10 KB descriptions for ${(q as string).slice(0, 12)}: ${elapsed.toFixed(0)} ms, rows_read ${rowsRead}`);
    expect(page.items.map((e: { title: string }) => e.title)).toEqual(expected);
    expect(page.next).toBe(null);
    expect(rowsRead).toBeLessThanOrEqual(2 * (COUNT + 1) + 4);
    expect(elapsed).toBeLessThan(2_000);
  });
});
