import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, json, registerUser, type TestUser, slotMaker } from "./helpers";
import { requestAs, squeezed } from "./support/faults";

let alice: TestUser;
let bob: TestUser;
const slot = slotMaker(2031);
const create = (user: TestUser, body: Record<string, unknown>) => json("POST", "/api/events", { token: user.token, body });

beforeAll(async () => {
  alice = await registerUser("alice");
  bob = await registerUser("bob");
});

describe("POST /api/events", () => {
  it("creates an event with 201, Location, ETag and the full body", async () => {
    const times = slot();
    const res = await create(alice, { title: "Kickoff", ...times, location: "Room 1" });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/api/events/${res.body.id}`);
    // The tag a GET of the new event returns, so a first conditional write can use it.
    expect(res.headers.get("etag")).toBe((await json("GET", `/api/events/${res.body.id}`, { token: alice.token })).headers.get("etag"));
    expect(res.body).toEqual({
      id: expect.any(Number),
      title: "Kickoff",
      description: "",
      ...times,
      location: "Room 1",
      is_recurring: false,
      recurrence_pattern: null,
      timezone: "UTC",
      owner_id: alice.id,
      version: 1,
      created_at: expect.stringMatching(/Z$/),
      updated_at: expect.stringMatching(/Z$/),
      my_role: "owner",
    });
  });

  it("reads a time without offset in the event's timezone and outputs UTC", async () => {
    const res = await create(alice, { title: "Berlin", start_time: "2031-06-01T10:00:00", end_time: "2031-06-01T11:00:00+02:00", timezone: "Europe/Berlin" });
    expect(res.status).toBe(201);
    expect(res.body.start_time).toBe("2031-06-01T08:00:00Z");
    expect(res.body.end_time).toBe("2031-06-01T09:00:00Z");
  });

  it("ignores unknown and server-owned fields", async () => {
    const res = await create(alice, { title: "Sneaky", ...slot(), id: 424242, owner_id: bob.id, version: 99, created_at: "2000-01-01T00:00:00Z", my_role: "viewer", color: "red" });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(424242);
    expect(res.body.owner_id).toBe(alice.id);
    expect(res.body.version).toBe(1);
    expect(res.body).not.toHaveProperty("color");
  });

  it.each([
    ["title", { title: "" }],
    ["title", { title: "   " }],
    ["title", { title: "x".repeat(201) }],
    ["description", { description: "x".repeat(10_001) }],
    ["location", { location: "x".repeat(501) }],
    ["timezone", { timezone: "Mars/Olympus" }],
    ["start_time", { start_time: "tomorrow" }],
    ["end_time", { end_time: "2031-13-01T00:00:00Z" }],
    ["recurrence_pattern", { recurrence_pattern: "FREQ=DAILY" }],
    ["recurrence_pattern", { is_recurring: true }],
    ["is_recurring", { is_recurring: "yes" }],
  ])("names %s when it is invalid (422)", async (field, patch) => {
    const res = await create(alice, { title: "Valid", ...slot(), ...patch });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it("rejects end_time at or before start_time", async () => {
    const { start_time } = slot();
    const res = await create(alice, { title: "Backwards", start_time, end_time: start_time });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "end_time", message: "Must be after start_time." }]);
  });

  it("requires a title and both times", async () => {
    const res = await create(alice, {});
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["end_time", "start_time", "title"]);
  });

  it("rejects an overlapping event of the same owner with 409 listing the conflict", async () => {
    const times = slot(2);
    const first = await create(alice, { title: "Existing", ...times });
    const start = new Date(Date.parse(times.start_time) + 3600_000).toISOString().replace(".000Z", "Z");
    const res = await create(alice, { title: "Clash", start_time: start, end_time: new Date(Date.parse(start) + 7200_000).toISOString() });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts).toEqual([{ id: first.body.id, title: "Existing", ...times }]);
  });

  it("allows back-to-back events (half-open intervals) and overlaps with other owners", async () => {
    const times = slot(1);
    expect((await create(alice, { title: "A", ...times })).status).toBe(201);
    expect((await create(alice, { title: "B", start_time: times.end_time, end_time: new Date(Date.parse(times.end_time) + 3600_000).toISOString() })).status).toBe(201);
    expect((await create(bob, { title: "Bob's", ...times })).status).toBe(201);
  });

  it("of 10 concurrent overlapping creates exactly one succeeds", async () => {
    const user = await registerUser("racer");
    const times = slot();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create(user, { title: `Race ${i}`, ...times })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    const list = await json("GET", "/api/events", { token: user.token });
    expect(list.body.items).toHaveLength(1);
  });
});

describe("GET /api/events/{id}", () => {
  it("returns the event with my_role, permissions and an ETag, and 304 for a matching If-None-Match", async () => {
    const made = await create(alice, { title: "Detail", ...slot() });
    const res = await json("GET", `/api/events/${made.body.id}`, { token: alice.token });
    expect(res.status).toBe(200);
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^"1-[A-Za-z0-9_-]{16}"$/);
    expect(res.body).toEqual({ ...made.body, exceptions: [], permissions: [{ user_id: alice.id, username: alice.username, role: "owner", granted_by: alice.id, granted_at: expect.any(String) }] });
    const cached = await call("GET", `/api/events/${made.body.id}`, { token: alice.token, headers: { "If-None-Match": etag } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get("etag")).toBe(etag);
    const stale = await call("GET", `/api/events/${made.body.id}`, { token: alice.token, headers: { "If-None-Match": '"1"' } });
    expect(stale.status).toBe(200);
  });

  it("answers 404 for another user's event, an unknown id and ids that are not positive integers", async () => {
    const made = await create(alice, { title: "Private", ...slot() });
    for (const path of [`/api/events/${made.body.id}`, "/api/events/99999999", "/api/events/abc", "/api/events/-1", "/api/events/0", "/api/events/1.5", "/api/events/99999999999999999999"]) {
      const res = await json("GET", path, { token: bob.token });
      expectProblem(res, 404, "not_found");
      expect(JSON.stringify(res.body)).not.toContain("Private");
    }
  });
});

describe("PUT and PATCH /api/events/{id}", () => {
  it("changes only the fields sent and bumps the version", async () => {
    const made = await create(alice, { title: "Before", description: "keep", location: "Here", ...slot() });
    const res = await json("PATCH", `/api/events/${made.body.id}`, { token: alice.token, body: { title: "After" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...made.body, title: "After", version: 2, updated_at: expect.any(String) });
    expect(res.headers.get("etag")).toBe((await json("GET", `/api/events/${made.body.id}`, { token: alice.token })).headers.get("etag"));
    const put = await json("PUT", `/api/events/${made.body.id}`, { token: alice.token, body: { location: null } });
    // RFC 9110 §9.3.4: no validator on a PUT whose stored state is not the body sent.
    expect(put.headers.get("etag")).toBeNull();
    expect(put.body.location).toBeNull();
    expect(put.body.description).toBe("keep");
    expect(put.body.version).toBe(3);
  });

  it("makes no new version for an update that changes nothing", async () => {
    const made = await create(alice, { title: "Same", ...slot() });
    const res = await json("PATCH", `/api/events/${made.body.id}`, { token: alice.token, body: { title: "Same", start_time: made.body.start_time } });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(1);
  });

  it("rejects clearing a required field and an end before the start", async () => {
    const made = await create(alice, { title: "Required", ...slot() });
    expectProblem(await json("PATCH", `/api/events/${made.body.id}`, { token: alice.token, body: { title: null } }), 422, "validation_failed");
    const res = await json("PATCH", `/api/events/${made.body.id}`, { token: alice.token, body: { end_time: "2000-01-01T00:00:00Z" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors[0].field).toBe("end_time");
  });

  it("checks a move against the owner's other events", async () => {
    const a = await create(alice, { title: "Fixed", ...slot() });
    const b = await create(alice, { title: "Mover", ...slot() });
    const res = await json("PATCH", `/api/events/${b.body.id}`, { token: alice.token, body: { start_time: a.body.start_time, end_time: a.body.end_time } });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts.map((c: { id: number }) => c.id)).toEqual([a.body.id]);
    // Moving within its own slot never conflicts with itself.
    const self = await json("PATCH", `/api/events/${b.body.id}`, { token: alice.token, body: { end_time: new Date(Date.parse(b.body.end_time) - 60_000).toISOString() } });
    expect(self.status).toBe(200);
  });

  it("honours If-Match: a stale version gets 412 with the current event", async () => {
    const made = await create(alice, { title: "Guarded", ...slot() });
    const first = made.headers.get("etag")!;
    const ok = await json("PATCH", `/api/events/${made.body.id}`, { token: alice.token, body: { title: "v2" }, headers: { "If-Match": first } });
    expect(ok.status).toBe(200);
    const stale = await json("PATCH", `/api/events/${made.body.id}`, { token: alice.token, body: { title: "v3" }, headers: { "If-Match": first } });
    expectProblem(stale, 412, "precondition_failed");
    expect(stale.body.current).toEqual({ ...ok.body, exceptions: [], permissions: [expect.objectContaining({ user_id: alice.id, role: "owner" })] });
  });

  it("of 10 concurrent PUTs with the same If-Match exactly one wins and nine get 412", async () => {
    const made = await create(alice, { title: "Contended", ...slot() });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => json("PUT", `/api/events/${made.body.id}`, { token: alice.token, body: { title: `Writer ${i}` }, headers: { "If-Match": made.headers.get("etag")! } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(9);
    const after = await json("GET", `/api/events/${made.body.id}`, { token: alice.token });
    expect(after.body.version).toBe(2);
  });

  it("without If-Match, 10 concurrent writers each land exactly once", async () => {
    const made = await create(alice, { title: "Counter", ...slot() });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => json("PATCH", `/api/events/${made.body.id}`, { token: alice.token, body: { description: `writer ${i}` } })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const after = await json("GET", `/api/events/${made.body.id}`, { token: alice.token });
    expect(after.body.version).toBe(11);
  });
});

describe("DELETE /api/events/{id}", () => {
  it("deletes with 204; the event is then 404 everywhere", async () => {
    const made = await create(alice, { title: "Doomed", ...slot() });
    expect((await call("DELETE", `/api/events/${made.body.id}`, { token: alice.token })).status).toBe(204);
    expectProblem(await json("GET", `/api/events/${made.body.id}`, { token: alice.token }), 404, "not_found");
    expectProblem(await json("GET", `/api/events/${made.body.id}/changelog`, { token: alice.token }), 404, "not_found");
    expectProblem(await json("DELETE", `/api/events/${made.body.id}`, { token: alice.token }), 404, "not_found");
  });

  it("honours If-Match", async () => {
    const made = await create(alice, { title: "Careful", ...slot() });
    expectProblem(await json("DELETE", `/api/events/${made.body.id}`, { token: alice.token, headers: { "If-Match": '"7"' } }), 412, "precondition_failed");
    expectProblem(await json("DELETE", `/api/events/${made.body.id}`, { token: alice.token, headers: { "If-Match": '"1"' } }), 412, "precondition_failed");
    expect((await call("DELETE", `/api/events/${made.body.id}`, { token: alice.token, headers: { "If-Match": made.headers.get("etag")! } })).status).toBe(204);
  });
});

describe("GET /api/events", () => {
  let user: TestUser;
  const ids: number[] = [];
  beforeAll(async () => {
    user = await registerUser("lister");
    for (let i = 0; i < 7; i++) {
      const res = await create(user, { title: `Item ${i}${i === 3 ? " Budget_100%" : ""}`, description: i === 5 ? "Quarterly BUDGET" : "", start_time: `2032-01-0${i + 1}T10:00:00Z`, end_time: `2032-01-0${i + 1}T11:00:00Z` });
      ids.push(res.body.id);
    }
  });

  it("pages by start time with an opaque cursor until next_cursor is null", async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await json("GET", `/api/events?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: user.token });
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((e: { id: number }) => e.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it("filters by window, text and role", async () => {
    const window = await json("GET", "/api/events?start=2032-01-02T10:30:00Z&end=2032-01-04T10:00:00Z", { token: user.token });
    expect(window.body.items.map((e: { id: number }) => e.id)).toEqual([ids[1], ids[2]]);
    const text = await json("GET", "/api/events?q=budget", { token: user.token });
    expect(text.body.items.map((e: { id: number }) => e.id)).toEqual([ids[3], ids[5]]);
    const literal = await json("GET", `/api/events?q=${encodeURIComponent("_100%")}`, { token: user.token });
    expect(literal.body.items.map((e: { id: number }) => e.id)).toEqual([ids[3]]);
    const viewer = await json("GET", "/api/events?role=VIEWER", { token: user.token });
    expect(viewer.body.items).toEqual([]);
  });

  it("rejects a bad limit, a bad window and a tampered or foreign cursor with 422", async () => {
    for (const query of ["limit=0", "limit=101", "limit=abc", "start=yesterday", "start=2032-01-02T00:00:00Z&end=2032-01-01T00:00:00Z", "role=admin", "cursor=garbage"]) {
      expectProblem(await json("GET", `/api/events?${query}`, { token: user.token }), 422, "validation_failed");
    }
    const page = await json("GET", "/api/events?limit=1", { token: user.token });
    const foreign = await json("GET", `/api/events?cursor=${encodeURIComponent(page.body.next_cursor)}`, { token: alice.token });
    expectProblem(foreign, 422, "validation_failed");
    const tampered = page.body.next_cursor.replace(/^./, (ch: string) => (ch === "e" ? "f" : "e"));
    expectProblem(await json("GET", `/api/events?cursor=${encodeURIComponent(tampered)}`, { token: user.token }), 422, "validation_failed");
  });
});

describe("POST /api/events/batch", () => {
  it("creates all items, from {events} or a bare array", async () => {
    const user = await registerUser("batch");
    const items = [0, 1, 2].map((i) => ({ title: `B${i}`, start_time: `2033-01-0${i + 1}T10:00:00Z`, end_time: `2033-01-0${i + 1}T11:00:00Z` }));
    const res = await json("POST", "/api/events/batch", { token: user.token, body: { events: items } });
    expect(res.status).toBe(201);
    expect(res.body.map((e: { title: string }) => e.title)).toEqual(["B0", "B1", "B2"]);
    const bare = await json("POST", "/api/events/batch", { token: user.token, body: [{ title: "B3", start_time: "2033-02-01T10:00:00Z", end_time: "2033-02-01T11:00:00Z" }] });
    expect(bare.status).toBe(201);
  });

  it.each([0, 1, 2])("writes nothing when item %i is invalid, naming its index", async (bad) => {
    const user = await registerUser("batchbad");
    const items = [0, 1, 2].map((i) => ({ title: i === bad ? "" : `I${i}`, start_time: `2033-03-0${i + 1}T10:00:00Z`, end_time: `2033-03-0${i + 1}T11:00:00Z` }));
    const res = await json("POST", "/api/events/batch", { token: user.token, body: items });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([expect.objectContaining({ index: bad, field: `events.${bad}.title` })]);
    expect((await json("GET", "/api/events", { token: user.token })).body.items).toEqual([]);
  });

  it.each([0, 1, 2])("writes nothing when item %i conflicts with an existing event", async (bad) => {
    const user = await registerUser("batchclash");
    const existing = await create(user, { title: "Existing", start_time: "2033-04-10T10:00:00Z", end_time: "2033-04-10T11:00:00Z" });
    const items = [0, 1, 2].map((i) => (i === bad ? { title: "Clash", start_time: "2033-04-10T10:30:00Z", end_time: "2033-04-10T11:30:00Z" } : { title: `C${i}`, start_time: `2033-04-0${i + 1}T10:00:00Z`, end_time: `2033-04-0${i + 1}T11:00:00Z` }));
    const res = await json("POST", "/api/events/batch", { token: user.token, body: { events: items } });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts).toEqual([expect.objectContaining({ id: existing.body.id, index: bad })]);
    expect((await json("GET", "/api/events", { token: user.token })).body.items.map((e: { id: number }) => e.id)).toEqual([existing.body.id]);
  });

  it("rejects items that overlap each other, naming the later index", async () => {
    const user = await registerUser("batchself");
    const res = await json("POST", "/api/events/batch", {
      token: user.token,
      body: [
        { title: "One", start_time: "2033-05-01T10:00:00Z", end_time: "2033-05-01T11:00:00Z" },
        { title: "Two", start_time: "2033-05-02T10:00:00Z", end_time: "2033-05-02T11:00:00Z" },
        { title: "Three", start_time: "2033-05-01T10:59:00Z", end_time: "2033-05-01T12:00:00Z" },
      ],
    });
    expectProblem(res, 409, "conflict");
    expect(res.body.errors).toEqual([expect.objectContaining({ index: 2 })]);
    expect((await json("GET", "/api/events", { token: user.token })).body.items).toEqual([]);
  });

  it("accepts 100 items and rejects 0 or 101", async () => {
    const user = await registerUser("batchsize");
    const make = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `N${i}`, start_time: new Date(Date.UTC(2034, 0, 1, i)).toISOString(), end_time: new Date(Date.UTC(2034, 0, 1, i, 30)).toISOString() }));
    expectProblem(await json("POST", "/api/events/batch", { token: user.token, body: [] }), 422, "validation_failed");
    expectProblem(await json("POST", "/api/events/batch", { token: user.token, body: make(101) }), 422, "validation_failed");
    const res = await json("POST", "/api/events/batch", { token: user.token, body: make(100) });
    expect(res.status).toBe(201);
    expect(res.body).toHaveLength(100);
  });
});

describe("the write pipeline when its premise moves between its read and its batch", () => {
  // A fresh owner of its own: the per-user write limit must not throttle the squeezed request.
  let owner: TestUser;
  beforeAll(async () => {
    owner = await registerUser("race_owner");
  });
  const expectStatus = async (pending: Promise<{ status: number }>, status: number) => expect((await pending).status).toBe(status);
  const count = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n;

  it("re-applies a PATCH without If-Match on top of one that got in first: both land, versions 2 and 3", async () => {
    const made = await create(owner, { title: "Two writers", ...slot() });
    const res = await squeezed(requestAs(owner, "PATCH", `/api/events/${made.body.id}`, { description: "second" }), () => expectStatus(json("PATCH", `/api/events/${made.body.id}`, { token: owner.token, body: { title: "first" } }), 200));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 3, title: "first", description: "second" });
    const changelog = (await json("GET", `/api/events/${made.body.id}/changelog`, { token: owner.token })).body.items;
    expect(changelog.map((e: { version: number; changes: object }) => [e.version, Object.keys(e.changes)])).toEqual([
      [1, expect.any(Array)],
      [2, ["title"]],
      [3, ["description"]],
    ]);
  });

  it("answers 412 to an If-Match PATCH when a share got in first, though the content is unchanged, and writes nothing", async () => {
    const made = await create(owner, { title: "Shared meanwhile", ...slot() });
    const tag = made.headers.get("etag")!;
    const res = await squeezed(requestAs(owner, "PATCH", `/api/events/${made.body.id}`, { title: "Mine" }, { "If-Match": tag }), () =>
      expectStatus(json("POST", `/api/events/${made.body.id}/share`, { token: owner.token, body: { user_id: bob.id, role: "viewer" } }), 200),
    );
    expect(res.status).toBe(412);
    expect((res.body as { current: { version: number; permissions: unknown[] } }).current).toMatchObject({ version: 1, permissions: [expect.anything(), expect.objectContaining({ user_id: bob.id })] });
    expect(await count("SELECT count(*) AS n FROM versions WHERE event_id = ?", made.body.id)).toBe(1);
  });

  it("answers 404 to a PATCH whose event was deleted first, leaving no version, permission or notification of it but the deletion notices", async () => {
    const made = await create(owner, { title: "Gone", ...slot() });
    expect((await json("POST", `/api/events/${made.body.id}/share`, { token: owner.token, body: { user_id: bob.id, role: "editor" } })).status).toBe(200);
    const res = await squeezed(requestAs(bob, "PATCH", `/api/events/${made.body.id}`, { title: "Too late" }), () => expectStatus(call("DELETE", `/api/events/${made.body.id}`, { token: owner.token }), 204));
    expect(res.status).toBe(404);
    expect(await count("SELECT count(*) AS n FROM versions WHERE event_id = ?", made.body.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM permissions WHERE event_id = ?", made.body.id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM notifications WHERE event_id = ? AND type <> 'event_deleted'", made.body.id)).toBe(0);
  });

  it("answers 403 to a DELETE by a co-owner demoted first, and the event keeps its whole history", async () => {
    const made = await create(owner, { title: "Demoted", ...slot() });
    expect((await json("POST", `/api/events/${made.body.id}/share`, { token: owner.token, body: { user_id: bob.id, role: "owner" } })).status).toBe(200);
    const res = await squeezed(requestAs(bob, "DELETE", `/api/events/${made.body.id}`), () => expectStatus(json("PUT", `/api/events/${made.body.id}/permissions/${bob.id}`, { token: owner.token, body: { role: "viewer" } }), 200));
    expect(res.status).toBe(403);
    expect((await json("GET", `/api/events/${made.body.id}`, { token: owner.token })).status).toBe(200);
    expect(await count("SELECT count(*) AS n FROM versions WHERE event_id = ?", made.body.id)).toBe(1);
  });
});

describe("what a delete leaves behind", () => {
  it("removes every notification about the event but the deletion notices, one per person who had access", async () => {
    const made = await create(alice, { title: "Short-lived", ...slot() });
    expect((await json("POST", `/api/events/${made.body.id}/share`, { token: alice.token, body: { user_id: bob.id, role: "editor" } })).status).toBe(200);
    expect((await json("PATCH", `/api/events/${made.body.id}`, { token: bob.token, body: { title: "Renamed" } })).status).toBe(200);
    expect((await call("DELETE", `/api/events/${made.body.id}`, { token: alice.token })).status).toBe(204);
    const { results } = await env.DB.prepare("SELECT user_id, type, is_read FROM notifications WHERE event_id = ? ORDER BY user_id").bind(made.body.id).all();
    expect(results).toEqual([
      { user_id: alice.id, type: "event_deleted", is_read: 1 },
      { user_id: bob.id, type: "event_deleted", is_read: 0 },
    ].sort((x, y) => x.user_id - y.user_id));
    const inbox = await json("GET", "/api/notifications", { token: bob.token });
    expect(inbox.body.items.filter((n: { event_id: number }) => n.event_id === made.body.id)).toEqual([expect.objectContaining({ type: "event_deleted", message: `${alice.username} deleted "Renamed"` })]);
  });
});
