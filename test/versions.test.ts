import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, type TestUser, slotMaker } from "./helpers";

let owner: TestUser;
let editor: TestUser;
let viewer: TestUser;
let stranger: TestUser;
const slot = slotMaker(2033);
const iso = (ms: number) => new Date(ms).toISOString();
/** Versions are stamped with Date.now(); a short pause keeps consecutive versions apart in time. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A signed history link, as every changelog, snapshot and diff body carries (test/history-links.test.ts checks what it opens). */
const HTML_URL = expect.stringMatching(/^http:\/\/localhost\/history#[\w-]+\.[\w-]{22}$/);
const CONTENT_FIELDS = ["title", "description", "location", "start_time", "end_time", "is_recurring", "recurrence_pattern", "timezone"] as const;
type Content = Record<(typeof CONTENT_FIELDS)[number], unknown>;
const contentOf = (body: Record<string, unknown>): Content => Object.fromEntries(CONTENT_FIELDS.map((f) => [f, body[f]])) as Content;

const create = (user: TestUser, body: Record<string, unknown>) => json("POST", "/api/events", { token: user.token, body });
const patch = (user: TestUser, id: number, body: Record<string, unknown>, headers?: Record<string, string>) => json("PATCH", `/api/events/${id}`, { token: user.token, body, headers });
const share = (id: number, user: TestUser, role: "editor" | "viewer") => json("POST", `/api/events/${id}/share`, { token: owner.token, body: { users: [{ user_id: user.id, role }] } });
const rollback = (user: TestUser, id: number, version: number, headers?: Record<string, string>) => json("POST", `/api/events/${id}/rollback/${version}`, { token: user.token, headers });
const history = (user: TestUser, id: number, version: number) => json("GET", `/api/events/${id}/history/${version}`, { token: user.token });
const diff = (user: TestUser, id: number, a: number, b: number) => json("GET", `/api/events/${id}/diff/${a}/${b}`, { token: user.token });

/** Every changelog entry of an event, following next_cursor to the end. */
async function fullChangelog(user: TestUser, id: number, limit = 100) {
  const entries: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await json("GET", `/api/events/${id}/changelog?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: user.token });
    expect(res.status).toBe(200);
    entries.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return entries;
}

/** An event the owner made, shared with the editor and the viewer. */
async function sharedEvent(body: Record<string, unknown> = {}) {
  const made = await create(owner, { title: "Shared", ...slot(), ...body });
  expect(made.status).toBe(201);
  expect((await share(made.body.id, editor, "editor")).status).toBe(200);
  expect((await share(made.body.id, viewer, "viewer")).status).toBe(200);
  return made.body;
}

beforeAll(async () => {
  owner = await registerUser("v_owner");
  editor = await registerUser("v_editor");
  viewer = await registerUser("v_viewer");
  stranger = await registerUser("v_stranger");
});

describe("GET /api/events/{id}/changelog", () => {
  it("records the creation as version 1 with every set field changed from null", async () => {
    const times = slot();
    const made = await create(owner, { title: "Launch", description: "Go live", location: "HQ", ...times });
    const res = await json("GET", `/api/events/${made.body.id}/changelog`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        {
          version: 1,
          action: "created",
          changed_by: { id: owner.id, username: owner.username },
          changed_at: made.body.created_at,
          changes: {
            title: { from: null, to: "Launch" },
            description: { from: null, to: "Go live" },
            location: { from: null, to: "HQ" },
            start_time: { from: null, to: times.start_time },
            end_time: { from: null, to: times.end_time },
            is_recurring: { from: null, to: false },
            timezone: { from: null, to: "UTC" },
          },
          html_url: HTML_URL,
        },
      ],
      next_cursor: null,
      html_url: HTML_URL,
    });
  });

  it("makes no version for an update that changes nothing", async () => {
    const made = await create(owner, { title: "Steady", description: "same", ...slot() });
    const res = await patch(owner, made.body.id, { title: "Steady", description: "same", start_time: made.body.start_time, timezone: "UTC" });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(1);
    expect((await fullChangelog(owner, made.body.id)).map((e) => e.version)).toEqual([1]);
  });

  it("attributes each change to the user who made it, with only the changed fields", async () => {
    const event = await sharedEvent({ title: "Plan", location: "Room 1" });
    expect((await patch(editor, event.id, { title: "Plan B" })).status).toBe(200);
    expect((await patch(owner, event.id, { location: null })).status).toBe(200);
    const entries = await fullChangelog(viewer, event.id);
    expect(entries.slice(1)).toEqual([
      { version: 2, action: "updated", changed_by: { id: editor.id, username: editor.username }, changed_at: expect.any(String), changes: { title: { from: "Plan", to: "Plan B" } }, html_url: HTML_URL },
      { version: 3, action: "updated", changed_by: { id: owner.id, username: owner.username }, changed_at: expect.any(String), changes: { location: { from: "Room 1", to: null } }, html_url: HTML_URL },
    ]);
  });

  it("lists versions oldest first in pages until next_cursor is null", async () => {
    const made = await create(owner, { title: "t0", ...slot() });
    for (let i = 1; i <= 4; i++) expect((await patch(owner, made.body.id, { title: `t${i}` })).status).toBe(200);
    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const res = await json("GET", `/api/events/${made.body.id}/changelog?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: owner.token });
      expect(res.status).toBe(200);
      pages.push(res.body.items.map((e: { version: number }) => e.version));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(pages).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("ends with next_cursor null when the last page is exactly full", async () => {
    const made = await create(owner, { title: "a", ...slot() });
    expect((await patch(owner, made.body.id, { title: "b" })).status).toBe(200);
    const first = await json("GET", `/api/events/${made.body.id}/changelog?limit=1`, { token: owner.token });
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await json("GET", `/api/events/${made.body.id}/changelog?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`, { token: owner.token });
    expect(second.body).toEqual({ items: [expect.objectContaining({ version: 2 })], next_cursor: null, html_url: HTML_URL });
  });

  it.each(["0", "101", "-1", "abc", "1.5"])("rejects limit=%s with 422 naming limit", async (limit) => {
    const made = await create(owner, { title: "Limits", ...slot() });
    const res = await json("GET", `/api/events/${made.body.id}/changelog?limit=${limit}`, { token: owner.token });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["limit"]);
  });

  it("rejects a tampered cursor, and one from another event or another user, with 422", async () => {
    const event = await sharedEvent({ title: "Paged" });
    const other = await sharedEvent({ title: "Other" });
    for (const id of [event.id, other.id]) expect((await patch(owner, id, { title: "changed" })).status).toBe(200);
    const page = await json("GET", `/api/events/${event.id}/changelog?limit=1`, { token: owner.token });
    const cursor: string = page.body.next_cursor;
    const flip = (ch: string) => (ch === "A" ? "B" : "A");
    const tampered = [cursor.slice(0, 3) + flip(cursor[3]) + cursor.slice(4), cursor.slice(0, -1) + flip(cursor.at(-1)!), "garbage", "a.b"];
    for (const bad of tampered) {
      const res = await json("GET", `/api/events/${event.id}/changelog?cursor=${encodeURIComponent(bad)}`, { token: owner.token });
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors).toEqual([{ field: "cursor", message: expect.any(String) }]);
    }
    expectProblem(await json("GET", `/api/events/${other.id}/changelog?cursor=${encodeURIComponent(cursor)}`, { token: owner.token }), 422, "validation_failed");
    expectProblem(await json("GET", `/api/events/${event.id}/changelog?cursor=${encodeURIComponent(cursor)}`, { token: viewer.token }), 422, "validation_failed");
  });

  it("is readable by a viewer and 404 for a user without access", async () => {
    const event = await sharedEvent();
    expect((await json("GET", `/api/events/${event.id}/changelog`, { token: viewer.token })).status).toBe(200);
    expectProblem(await json("GET", `/api/events/${event.id}/changelog`, { token: stranger.token }), 404, "not_found");
  });
});

describe("GET /api/events/{id}/history/{version}", () => {
  it("returns the event's fields as of that version with who changed it and when", async () => {
    const event = await sharedEvent({ title: "Draft", description: "first", location: "A" });
    const v2 = await patch(editor, event.id, { title: "Final", location: "B" });
    expect((await patch(owner, event.id, { description: "second" })).status).toBe(200);
    const res = await history(viewer, event.id, 2);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...contentOf(event),
      title: "Final",
      location: "B",
      exceptions: [],
      version: 2,
      action: "updated",
      changed_by: { id: editor.id, username: editor.username },
      changed_at: v2.body.updated_at,
      html_url: HTML_URL,
    });
    const first = await history(viewer, event.id, 1);
    expect(first.body).toEqual({ ...contentOf(event), exceptions: [], version: 1, action: "created", changed_by: { id: owner.id, username: owner.username }, changed_at: event.created_at, html_url: HTML_URL });
  });

  it("answers 404 for an unknown version, another event's version and a user without access", async () => {
    const event = await sharedEvent();
    const busy = await sharedEvent();
    for (const title of ["x", "y"]) expect((await patch(owner, busy.id, { title })).status).toBe(200);
    expect((await history(owner, busy.id, 3)).status).toBe(200);
    expectProblem(await history(owner, event.id, 3), 404, "not_found");
    expectProblem(await history(owner, event.id, 2), 404, "not_found");
    expectProblem(await history(owner, event.id, 0), 404, "not_found");
    expectProblem(await json("GET", `/api/events/${event.id}/history/abc`, { token: owner.token }), 404, "not_found");
    expectProblem(await history(stranger, event.id, 1), 404, "not_found");
  });
});

describe("GET /api/events/{id}/diff/{v1}/{v2}", () => {
  let event: any;
  beforeAll(async () => {
    event = await sharedEvent({ title: "Offsite", description: "Agenda", location: "Lisbon" });
    expect((await patch(owner, event.id, { title: "Offsite 2033", location: "Porto" })).status).toBe(200);
    expect((await patch(editor, event.id, { description: "Full agenda" })).status).toBe(200);
  });

  it("lists only the fields that differ between two versions", async () => {
    const res = await diff(viewer, event.id, 1, 3);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      event_id: event.id,
      from_version: 1,
      to_version: 3,
      changes: {
        title: { from: "Offsite", to: "Offsite 2033" },
        description: { from: "Agenda", to: "Full agenda" },
        location: { from: "Lisbon", to: "Porto" },
      },
      html_url: HTML_URL,
    });
  });

  it("swaps from and to when the versions are given in the other order", async () => {
    const res = await diff(viewer, event.id, 3, 2);
    expect(res.body).toEqual({ event_id: event.id, from_version: 3, to_version: 2, changes: { description: { from: "Full agenda", to: "Agenda" } }, html_url: HTML_URL });
  });

  it("gives no changes for a version compared with itself", async () => {
    const res = await diff(viewer, event.id, 2, 2);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ event_id: event.id, from_version: 2, to_version: 2, changes: {}, html_url: HTML_URL });
  });

  it("answers 404 when either version is unknown or the user has no access", async () => {
    expectProblem(await diff(owner, event.id, 1, 4), 404, "not_found");
    expectProblem(await diff(owner, event.id, 9, 1), 404, "not_found");
    expectProblem(await diff(stranger, event.id, 1, 2), 404, "not_found");
  });

  it("answers 404 for a version that exists only on another event", async () => {
    const young = await sharedEvent();
    expectProblem(await diff(owner, young.id, 1, 3), 404, "not_found");
  });
});

describe("POST /api/events/{id}/rollback/{version}", () => {
  it("lets the owner restore a version as a new version with restored_from", async () => {
    const event = await sharedEvent({ title: "Original", description: "one", location: "Here" });
    expect((await patch(owner, event.id, { title: "Edited", location: null })).status).toBe(200);
    expect((await patch(owner, event.id, { description: "two" })).status).toBe(200);
    const res = await rollback(owner, event.id, 1);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe((await json("GET", `/api/events/${event.id}`, { token: owner.token })).headers.get("etag"));
    expect(res.body).toEqual({ ...event, version: 4, updated_at: expect.any(String) });
    const entries = await fullChangelog(owner, event.id);
    expect(entries.at(-1)).toEqual({
      version: 4,
      action: "rolled_back",
      restored_from: 1,
      changed_by: { id: owner.id, username: owner.username },
      changed_at: res.body.updated_at,
      changes: { title: { from: "Edited", to: "Original" }, description: { from: "two", to: "one" }, location: { from: null, to: "Here" } },
      html_url: HTML_URL,
    });
    const restored = await history(owner, event.id, 4);
    expect(restored.body).toMatchObject({ version: 4, action: "rolled_back", restored_from: 1, changed_by: { id: owner.id, username: owner.username } });
    expect(contentOf(restored.body)).toEqual(contentOf((await history(owner, event.id, 1)).body));
    expect((await diff(owner, event.id, 1, 4)).body.changes).toEqual({});
  });

  it("lets an editor roll back, attributed to the editor", async () => {
    const event = await sharedEvent({ title: "Before" });
    expect((await patch(owner, event.id, { title: "After" })).status).toBe(200);
    const res = await rollback(editor, event.id, 1);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ title: "Before", version: 3, my_role: "editor" });
    const last = (await fullChangelog(owner, event.id)).at(-1);
    expect(last).toMatchObject({ version: 3, action: "rolled_back", restored_from: 1, changed_by: { id: editor.id, username: editor.username } });
  });

  it("forbids a viewer (403) and hides the event from a stranger (404), changing nothing", async () => {
    const event = await sharedEvent({ title: "Locked" });
    expect((await patch(owner, event.id, { title: "Moved on" })).status).toBe(200);
    expectProblem(await rollback(viewer, event.id, 1), 403, "forbidden");
    expectProblem(await rollback(stranger, event.id, 1), 404, "not_found");
    expect((await fullChangelog(owner, event.id)).map((e) => e.version)).toEqual([1, 2]);
  });

  it("answers 404 for an unknown version and for a version that exists only on another event", async () => {
    const event = await sharedEvent();
    const busy = await sharedEvent();
    for (const title of ["x", "y"]) expect((await patch(owner, busy.id, { title })).status).toBe(200);
    expectProblem(await rollback(owner, event.id, 3), 404, "not_found");
    expectProblem(await rollback(owner, event.id, 99), 404, "not_found");
    expectProblem(await json("POST", `/api/events/${event.id}/rollback/0`, { token: owner.token }), 404, "not_found");
    expect((await fullChangelog(owner, event.id)).map((e) => e.version)).toEqual([1]);
  });

  it("honours If-Match: a stale version gets 412 with the current event, a current one succeeds", async () => {
    const event = await sharedEvent({ title: "Guarded" });
    const v2 = await patch(owner, event.id, { title: "Guarded v2" });
    const stale = await rollback(editor, event.id, 1, { "If-Match": '"1"' });
    expectProblem(stale, 412, "precondition_failed");
    expect(stale.body.current).toEqual({ ...v2.body, my_role: "editor", exceptions: [], permissions: expect.any(Array) });
    const current = (await json("GET", `/api/events/${event.id}`, { token: editor.token })).headers.get("etag")!;
    expect(current).toMatch(/^"2-/);
    const fresh = await rollback(editor, event.id, 1, { "If-Match": current });
    expect(fresh.status).toBe(200);
    expect(fresh.body.version).toBe(3);
  });

  it("is conflict-checked: restoring a slot another event now holds is 409 with the conflicts", async () => {
    const oldSlot = slot();
    const newSlot = slot();
    const event = await sharedEvent({ title: "Wanderer", ...oldSlot });
    expect((await patch(owner, event.id, newSlot)).status).toBe(200);
    const squatter = await create(owner, { title: "Squatter", ...oldSlot });
    expect(squatter.status).toBe(201);
    const res = await rollback(editor, event.id, 1);
    expectProblem(res, 409, "conflict");
    // The editor cannot see the squatter: only its times are told.
    expect(res.body.conflicts).toEqual([{ id: null, title: null, ...oldSlot }]);
    expect(JSON.stringify(res.body)).not.toContain("Squatter");
    const current = await json("GET", `/api/events/${event.id}`, { token: owner.token });
    expect(current.body).toMatchObject({ ...newSlot, version: 2 });
  });

  it("undoes a rollback when rolled back to the version before it", async () => {
    const event = await sharedEvent({ title: "First", location: "North" });
    const v2 = await patch(owner, event.id, { title: "Second", location: "South" });
    expect((await rollback(owner, event.id, 1)).body).toMatchObject({ title: "First", location: "North", version: 3 });
    const res = await rollback(owner, event.id, 2);
    expect(res.status).toBe(200);
    expect(contentOf(res.body)).toEqual(contentOf(v2.body));
    expect(res.body.version).toBe(4);
    expect((await fullChangelog(owner, event.id)).at(-1)).toMatchObject({ version: 4, action: "rolled_back", restored_from: 2, changes: { title: { from: "First", to: "Second" }, location: { from: "North", to: "South" } } });
  });
});

describe("GET /api/events/{id}?at=<time>", () => {
  let event: any;
  let stamps: number[];
  beforeAll(async () => {
    event = await sharedEvent({ title: "Timeline v1", location: "One" });
    await pause();
    expect((await patch(owner, event.id, { title: "Timeline v2" })).status).toBe(200);
    await pause();
    expect((await patch(editor, event.id, { location: "Three" })).status).toBe(200);
    // changed_at keeps milliseconds whenever they are nonzero, so it is the exact write instant.
    stamps = (await fullChangelog(owner, event.id)).map((e) => Date.parse(e.changed_at));
    expect(stamps[0]).toBeLessThan(stamps[1]);
    expect(stamps[1]).toBeLessThan(stamps[2]);
  });
  const at = (user: TestUser, ms: number) => json("GET", `/api/events/${event.id}?at=${encodeURIComponent(iso(ms))}`, { token: user.token });

  it("answers 404 before the event was created", async () => {
    expectProblem(await at(owner, stamps[0] - 1), 404, "not_found");
  });

  it("returns the version in force at each instant, from its write onwards", async () => {
    for (const [ms, version] of [[stamps[0], 1], [stamps[1] - 1, 1], [stamps[1], 2], [stamps[2] - 1, 2]] as const) {
      const snapshot = await history(owner, event.id, version);
      const res = await at(viewer, ms);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: event.id, ...contentOf(snapshot.body), version, owner_id: owner.id, my_role: "viewer", created_at: event.created_at });
    }
  });

  it("returns the current content after the last version", async () => {
    const current = await json("GET", `/api/events/${event.id}`, { token: owner.token });
    for (const ms of [stamps[2], Date.now() + 86_400_000]) {
      const res = await at(owner, ms);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(current.body);
    }
  });

  it("reads an offset in the instant and rejects a malformed one with 422", async () => {
    const berlin = new Date(stamps[1] + 3600_000).toISOString().replace("Z", "+01:00");
    expect((await json("GET", `/api/events/${event.id}?at=${encodeURIComponent(berlin)}`, { token: owner.token })).body.version).toBe(2);
    const bad = await json("GET", `/api/events/${event.id}?at=yesterday`, { token: owner.token });
    expectProblem(bad, 422, "validation_failed");
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(["at"]);
  });

  it("answers 404 to a user without access", async () => {
    expectProblem(await at(stranger, stamps[2]), 404, "not_found");
  });
});

describe("concurrent writers", () => {
  it("leave a gapless history whose snapshots and changes replay to the current event", async () => {
    const writers = [owner, ...(await Promise.all(Array.from({ length: 7 }, (_, i) => registerUser(`v_w${i}`))))];
    const times = slot();
    const made = await create(owner, { title: "Hot", description: "", location: null, ...times });
    const id: number = made.body.id;
    await Promise.all(writers.slice(1).map((w) => share(id, w, "editor")));
    const startMs = Date.parse(times.start_time);
    const ROUNDS = 5;
    /** Writer i in round r: a value nobody else ever writes, so the write is never a no-op. */
    const patchFor = (i: number, r: number): Record<string, unknown> => {
      const tag = `w${i}r${r}`;
      switch (i % 4) {
        case 0: return { title: `title ${tag}` };
        case 1: return { description: `description ${tag}`, location: `location ${tag}` };
        case 2: return { location: `location ${tag}` };
        default: return { end_time: iso(startMs + (61 + i * ROUNDS + r) * 60_000) };
      }
    };
    /** Never changed by anyone, so always a no-op. */
    const noop = { timezone: "UTC", is_recurring: false };
    const outcomes = await Promise.all(
      writers.map(async (writer, i) => {
        const results: { writer: TestUser; changed: boolean; status: number; version: number }[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const changed = (i + r) % 5 !== 0;
          const res = await patch(writer, id, changed ? patchFor(i, r) : noop);
          results.push({ writer, changed, status: res.status, version: res.body.version });
        }
        return results;
      }),
    );
    const writes = outcomes.flat();
    expect(writes.filter((w) => w.status !== 200)).toEqual([]);
    const real = writes.filter((w) => w.changed);

    const entries = await fullChangelog(owner, id, 7);
    const n = entries.length;
    expect(entries.map((e) => e.version)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
    expect(n - 1).toBe(real.length);
    expect(real.map((w) => w.version).sort((a, b) => a - b)).toEqual(Array.from({ length: n - 1 }, (_, k) => k + 2));
    for (const w of real) expect(entries[w.version - 1].changed_by).toEqual({ id: w.writer.id, username: w.writer.username });
    for (let k = 1; k < n; k++) expect(Date.parse(entries[k].changed_at)).toBeGreaterThanOrEqual(Date.parse(entries[k - 1].changed_at));

    const state: Record<string, unknown> = Object.fromEntries(CONTENT_FIELDS.map((f) => [f, null]));
    for (const entry of entries) {
      for (const [field, { from, to }] of Object.entries(entry.changes as Record<string, { from: unknown; to: unknown }>)) {
        expect({ version: entry.version, field, from }).toEqual({ version: entry.version, field, from: state[field] });
        state[field] = to;
      }
      const snapshot = await history(owner, id, entry.version);
      expect({ version: entry.version, ...contentOf(snapshot.body) }).toEqual({ version: entry.version, ...state });
    }
    const current = await json("GET", `/api/events/${id}`, { token: owner.token });
    expect(current.body.version).toBe(n);
    expect(contentOf(current.body)).toEqual(state);
  });
});
