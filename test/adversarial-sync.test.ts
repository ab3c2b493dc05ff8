import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { issueSyncToken } from "../src/sync/token";
import { expectProblem, json, registerUser, slotMaker, type TestUser } from "./helpers";
import { copyInListOrder, emptyCopy, listedEvents, syncInto } from "./support/sync-client";

const slot = slotMaker(2053);
let alice: TestUser;
let bob: TestUser;
let stranger: TestUser;

const create = async (user: TestUser, body: Record<string, unknown>) => {
  const res = await json("POST", "/api/events", { token: user.token, body: { title: "Busy", ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; version: number };
};
const share = async (user: TestUser, id: number, to: TestUser, role = "viewer") => {
  const res = await json("POST", `/api/events/${id}/share`, { token: user.token, body: { user_id: to.id, role } });
  if (res.status !== 200) throw new Error(`share failed: ${res.status} ${JSON.stringify(res.body)}`);
};
const sync = (user: TestUser, query: string) => json("GET", `/api/sync?${query}`, { token: user.token });
const tokenOf = async (user: TestUser) => {
  let res = await sync(user, "limit=100");
  while (res.body.next_cursor) res = await sync(user, `limit=100&cursor=${encodeURIComponent(res.body.next_cursor)}`);
  return res.body.next_sync_token as string;
};
const freebusy = (user: TestUser, body: unknown) => json("POST", "/api/freebusy", { token: user.token, body });
const findTime = (user: TestUser, body: unknown) => json("POST", "/api/find-time", { token: user.token, body });

beforeAll(async () => {
  [alice, bob, stranger] = await Promise.all([registerUser("as_alice"), registerUser("as_bob"), registerUser("as_str")]);
});

describe("GET /api/sync, hostile tokens", () => {
  it("another user's sync token, a tampered one and one used as a cursor are refused without data", async () => {
    const aliceToken = await tokenOf(alice);
    expectProblem(await sync(bob, `sync_token=${encodeURIComponent(aliceToken)}`), 410, "sync_token_expired");
    const [body, mac] = aliceToken.split(".");
    expectProblem(await sync(alice, `sync_token=${encodeURIComponent(`${body}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`)}`), 410, "sync_token_expired");
    expectProblem(await sync(alice, `sync_token=${encodeURIComponent("x".repeat(500))}`), 410, "sync_token_expired");
    expectProblem(await sync(alice, `cursor=${encodeURIComponent(aliceToken)}`), 422, "validation_failed");
    expectProblem(await sync(alice, `sync_token=&cursor=x`), 422, "validation_failed");
  });

  it("a cursor of another user's sync is refused", async () => {
    await create(alice, { ...slot() });
    await create(alice, { ...slot() });
    const page = await sync(alice, "limit=1");
    expect(typeof page.body.next_cursor).toBe("string");
    expectProblem(await sync(bob, `limit=1&cursor=${encodeURIComponent(page.body.next_cursor)}`), 422, "validation_failed");
  });

  it("an event shared then unshared shows as deleted, with no field of it", async () => {
    const token = await tokenOf(bob);
    const event = await create(alice, { title: "Secret plan", description: "hidden", ...slot() });
    await share(alice, event.id, bob);
    const revoked = await json("DELETE", `/api/events/${event.id}/permissions/${bob.id}`, { token: alice.token });
    expect(revoked.status).toBe(204);
    const res = await sync(bob, `sync_token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([{ kind: "event", id: event.id, deleted: true }]);
    expect(JSON.stringify(res.body)).not.toContain("Secret");
  });

  it("changes of an event the user never saw do not show up", async () => {
    const token = await tokenOf(stranger);
    const event = await create(alice, { ...slot() });
    await json("PATCH", `/api/events/${event.id}`, { token: alice.token, body: { title: "Changed" } });
    await json("DELETE", `/api/events/${event.id}`, { token: alice.token });
    const res = await sync(stranger, `sync_token=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  });
});

describe("availability, hostile requests", () => {
  it("a stranger and an unknown user get the same shape, only the documented error differs", async () => {
    const window = { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z" };
    const res = await freebusy(alice, { ...window, users: [stranger.id, 999_999_999, stranger.username, "nobody_here_xyz", stranger.email, "nobody@example.invalid"] });
    expect(res.status).toBe(200);
    expect(res.body.users).toEqual([
      { index: 0, user: null, error: "not_visible" },
      { index: 1, user: null, error: "not_found" },
      { index: 2, user: null, error: "not_visible" },
      { index: 3, user: null, error: "not_found" },
      { index: 4, user: null, error: "not_visible" },
      { index: 5, user: null, error: "not_found" },
    ]);
  });

  it("too many users is a 422 that does not spend the caller's lookup budget", async () => {
    const caller = await registerUser("as_budget");
    const window = { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z" };
    const names = Array.from({ length: 25 }, (_, i) => `nobody_${i}`);
    expectProblem(await freebusy(caller, { ...window, users: names }), 422, "validation_failed");
    expectProblem(await findTime(caller, { ...window, users: names, duration_minutes: 30 }), 422, "validation_failed");
    // A window too wide is refused before any name is looked up, too.
    expectProblem(await freebusy(caller, { start: "2053-03-01T00:00:00Z", end: "2053-06-01T00:00:00Z", users: names.slice(0, 20) }), 422, "validation_failed");
    const ok = await freebusy(caller, { ...window, users: names.slice(0, 20) });
    expect(ok.status).toBe(200);
    expect(ok.body.users).toHaveLength(20);
  });

  it("1000 names is a 422, not 429 after 30 lookups", async () => {
    const caller = await registerUser("as_many");
    const names = Array.from({ length: 1000 }, (_, i) => `nobody_${i}`);
    expectProblem(await freebusy(caller, { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z", users: names }), 422, "validation_failed");
  });

  it("bad instants and odd working hours are 422s", async () => {
    expectProblem(await freebusy(alice, { start: "nope", end: "2053-03-02T00:00:00Z", users: [alice.id] }), 422, "validation_failed");
    expectProblem(await freebusy(alice, { start: "2053-03-02T00:00:00Z", end: "2053-03-02T00:00:00Z", users: [alice.id] }), 422, "validation_failed");
    expectProblem(await freebusy(alice, { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z", users: [] }), 422, "validation_failed");
    expectProblem(await freebusy(alice, { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z", users: [1.5] }), 422, "validation_failed");
    expectProblem(await freebusy(alice, { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z", users: [Number.MAX_SAFE_INTEGER + 2] }), 422, "validation_failed");
    expectProblem(await findTime(alice, { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z", users: [alice.id], duration_minutes: 30, working_hours: { start: "09:00", end: "09:00", timezone: "UTC" } }), 422, "validation_failed");
    expectProblem(await findTime(alice, { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z", users: [alice.id], duration_minutes: 30, working_hours: { start: "09:00", end: "17:00", timezone: "Mars/Olympus" } }), 422, "validation_failed");
    expectProblem(await findTime(alice, { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z", users: [alice.id], duration_minutes: 30, working_hours: { start: "09:00", end: "17:00", timezone: "UTC", days: ["MO", "MO", "MO", "MO", "MO", "MO", "MO", "MO"] } }), 422, "validation_failed");
  });

  it("a 62-day window of 24-hour working days with 1-minute slots is bounded and answers", async () => {
    const res = await findTime(alice, { start: "2053-03-01T00:00:00Z", end: "2053-05-02T00:00:00Z", users: [alice.id, alice.id, alice.username], duration_minutes: 1440, limit: 100, working_hours: { start: "00:00", end: "24:00", timezone: "Pacific/Kiritimati", days: ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] } });
    expect(res.status).toBe(200);
    expect(res.body.unavailable).toEqual([]);
  });

  it("huge window for a user with a dense recurrence is a 422 or 200, never 5xx", async () => {
    const busy = await registerUser("as_dense");
    await create(busy, { start_time: "2053-03-01T00:00:00Z", end_time: "2053-03-01T00:01:00Z", is_recurring: true, recurrence_pattern: "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,15,30,45" }).catch(() => undefined);
    const res = await freebusy(busy, { start: "2053-03-01T00:00:00Z", end: "2053-05-02T00:00:00Z", users: [busy.id] });
    expect([200, 422]).toContain(res.status);
  });
});

describe("409 suggestions", () => {
  it("suggestions never reveal another user's event, even one shared with the owner", async () => {
    const owner = await registerUser("as_own");
    const other = await registerUser("as_oth");
    // Other's private event, not shared: must not shape owner's suggestions.
    await create(other, { title: "Other private", start_time: "2053-04-01T10:00:00Z", end_time: "2053-04-01T11:00:00Z" });
    await create(owner, { title: "Mine", start_time: "2053-04-01T09:00:00Z", end_time: "2053-04-01T10:00:00Z" });
    const res = await json("POST", "/api/events", { token: owner.token, body: { title: "Clash", start_time: "2053-04-01T09:00:00Z", end_time: "2053-04-01T10:00:00Z" } });
    expect(res.status).toBe(409);
    expect(res.body.suggestions).toContainEqual({ start_time: "2053-04-01T10:00:00Z", end_time: "2053-04-01T11:00:00Z" });
    expect(JSON.stringify(res.body)).not.toContain("Other private");
  });
});

describe("availability lookup budget", () => {
  it("a name repeated costs one lookup unit, not one per repetition", async () => {
    const caller = await registerUser("as_dup");
    const window = { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z" };
    const repeated = Array.from({ length: 20 }, (_, i) => (i % 2 ? stranger.username : stranger.username.toUpperCase()));
    for (let round = 0; round < 3; round++) {
      const res = await freebusy(caller, { ...window, users: repeated });
      expect(res.status).toBe(200);
      expect(res.body.users.every((u: { error: string }) => u.error === "not_visible")).toBe(true);
    }
  });
});

describe("GET /api/sync while writes happen", () => {
  it("writes between full-sync pages (create, change, share, revoke, delete, split) are caught up by the next incremental sync", async () => {
    const user = await registerUser("as_pager");
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push(await create(user, { ...slot() }));
    const shared = await create(alice, { ...slot() });
    await share(alice, shared.id, user, "editor");
    const series = await create(alice, { title: "Series", start_time: "2053-06-02T09:00:00Z", end_time: "2053-06-02T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=5" });
    await share(alice, series.id, user, "viewer");
    const first = await sync(user, "limit=2");
    expect(first.status).toBe(200);
    // Meanwhile:
    await Promise.all([
      json("DELETE", `/api/events/${mine[3].id}`, { token: user.token }),
      json("PATCH", `/api/events/${mine[0].id}`, { token: user.token, body: { title: "Renamed" } }),
      json("DELETE", `/api/events/${shared.id}/permissions/${user.id}`, { token: alice.token }),
      json("PATCH", `/api/events/${series.id}/occurrences/${encodeURIComponent("2053-06-04T09:00:00Z")}?scope=following`, { token: alice.token, body: { title: "Series, later" } }),
      json("DELETE", `/api/events/${series.id}/occurrences/${encodeURIComponent("2053-06-03T09:00:00Z")}`, { token: alice.token }),
      create(user, { ...slot() }),
    ]);
    const copy = emptyCopy();
    for (const item of first.body.items) copy.events.set(item.id, item.event);
    let page = first;
    while (page.body.next_cursor) {
      page = await sync(user, `limit=2&cursor=${encodeURIComponent(page.body.next_cursor)}`);
      expect(page.status).toBe(200);
      for (const item of page.body.items) copy.events.set(item.id, item.event);
    }
    copy.token = page.body.next_sync_token;
    await syncInto(user, copy, 1);
    expect(copyInListOrder(copy)).toEqual(await listedEvents(user));
    // Nothing of the revoked event is left in the copy.
    expect(copy.events.has(shared.id)).toBe(false);
  });
});

describe("availability visibility follows access", () => {
  it("after the only shared event is unshared or deleted, the other user is not_visible again", async () => {
    const [a, b, c] = await Promise.all([registerUser("as_va"), registerUser("as_vb"), registerUser("as_vc")]);
    const window = { start: "2053-03-01T00:00:00Z", end: "2053-03-02T00:00:00Z" };
    const one = await create(a, { ...slot() });
    await share(a, one.id, b);
    const two = await create(a, { ...slot() });
    await share(a, two.id, c);
    expect((await freebusy(a, { ...window, users: [b.id, c.id] })).body.users.map((u: { error?: string }) => u.error ?? "ok")).toEqual(["ok", "ok"]);
    expect((await freebusy(b, { ...window, users: [a.id] })).body.users[0].error).toBeUndefined();
    expect((await json("DELETE", `/api/events/${one.id}/permissions/${b.id}`, { token: a.token })).status).toBe(204);
    expect((await json("DELETE", `/api/events/${two.id}`, { token: a.token })).status).toBe(204);
    expect((await freebusy(a, { ...window, users: [b.id, c.id] })).body.users).toEqual([
      { index: 0, user: null, error: "not_visible" },
      { index: 1, user: null, error: "not_visible" },
    ]);
    expect((await findTime(c, { ...window, users: [a.id], duration_minutes: 30, limit: 1 })).body.unavailable).toEqual([{ index: 0, error: "not_visible" }]);
  });
});

describe("find-time across odd zones", () => {
  for (const timezone of ["America/Santiago", "America/Havana", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia"]) {
    it(`working hours through daylight-saving changes in ${timezone}: slots sorted, aligned, inside the window`, async () => {
      const res = await findTime(alice, {
        start: "2053-08-20T00:00:00Z",
        end: "2053-10-20T00:00:00Z",
        users: [alice.id],
        duration_minutes: 45,
        limit: 100,
        working_hours: { start: "00:00", end: "01:00", timezone, days: ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const starts = res.body.items.map((s: { start_time: string; end_time: string }) => {
        expect(Date.parse(s.end_time) - Date.parse(s.start_time)).toBe(45 * 60_000);
        return Date.parse(s.start_time);
      });
      expect(starts.length).toBeGreaterThan(30);
      for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThan(starts[i - 1]);
      for (const s of starts) expect(s % (15 * 60_000)).toBe(0);
    });
  }
});

describe("GET /api/sync, odd clients", () => {
  it("bad limits are 422s; msgpack answers the same items; HEAD has no body", async () => {
    for (const limit of ["0", "-1", "abc", "1e3", "100000000000000000000"]) expectProblem(await sync(alice, `limit=${limit}`), 422, "validation_failed");
    const plain = await sync(alice, "limit=5");
    const packed = await json("GET", "/api/sync?limit=5", { token: alice.token, accept: "application/msgpack" });
    expect(packed.status).toBe(200);
    expect(packed.body.items).toEqual(plain.body.items);
    const head = await json("HEAD", "/api/sync?limit=5", { token: alice.token });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    expect((await json("GET", "/api/sync")).status).toBe(401);
  });
});

describe("GET /api/sync, expiry", () => {
  it("a token past the 7-day retention is a 410; one just inside it works", async () => {
    const old = await issueSyncToken(env, alice.id, 0, Date.now() - 7 * 86_400_000 - 60_000);
    expectProblem(await sync(alice, `sync_token=${encodeURIComponent(old)}`), 410, "sync_token_expired");
    const recent = await issueSyncToken(env, alice.id, 0, Date.now() - 7 * 86_400_000 + 60_000);
    expect((await sync(alice, `sync_token=${encodeURIComponent(recent)}&limit=1`)).status).toBe(200);
    // Bob's own token, valid in every other way, still cannot read Alice's log.
    const forged = await issueSyncToken(env, bob.id, 0);
    const res = await sync(bob, `sync_token=${encodeURIComponent(forged)}&limit=100`);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain(alice.username);
  });
});
