import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";

/** Daily 09:00-10:00 UTC for 10 days from 2054-01-05. */
const DAILY = { title: "Daily", start_time: "2054-01-05T09:00:00Z", end_time: "2054-01-05T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=10" };
const WINDOW = "start=2054-01-01T00:00:00Z&end=2054-02-01T00:00:00Z";
const occ = (id: number, originalStart: string, query = "") => `/api/events/${id}/occurrences/${encodeURIComponent(originalStart)}${query}`;

let viewer: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  [viewer, stranger] = await Promise.all([registerUser("ae_viewer"), registerUser("ae_str")]);
});

async function series(body: Record<string, unknown> = {}) {
  const owner = await registerUser("ae_owner");
  const made = await json("POST", "/api/events", { token: owner.token, body: { ...DAILY, ...body } });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const id = made.body.id as number;
  expect((await json("POST", `/api/events/${id}/share`, { token: owner.token, body: { user_id: viewer.id, role: "viewer" } })).status).toBe(200);
  return { owner, id };
}
const occurrencesOf = async (user: TestUser, id: number) =>
  ((await json("GET", `/api/events/${id}/occurrences?${WINDOW}`, { token: user.token })).body.items as { original_start: string; start_time: string }[]).map((o) => [o.original_start, o.start_time]);

describe("exceptions: who", () => {
  it("a viewer cannot write an occurrence (403); a stranger learns nothing (404 on every route)", async () => {
    const { id } = await series();
    expectProblem(await json("PATCH", occ(id, "2054-01-06T09:00:00Z"), { token: viewer.token, body: { title: "x" } }), 403, "forbidden");
    expectProblem(await json("DELETE", occ(id, "2054-01-06T09:00:00Z"), { token: viewer.token }), 403, "forbidden");
    expectProblem(await json("PATCH", occ(id, "2054-01-06T09:00:00Z", "?scope=following"), { token: viewer.token, body: { title: "x" } }), 403, "forbidden");
    for (const start of ["2054-01-06T09:00:00Z", "2054-01-06T09:30:00Z"]) {
      expectProblem(await json("PATCH", occ(id, start), { token: stranger.token, body: { title: "x" } }), 404, "not_found");
      expectProblem(await json("DELETE", occ(id, start), { token: stranger.token }), 404, "not_found");
      expectProblem(await json("PATCH", occ(id, start, "?scope=following"), { token: stranger.token, body: { title: "x" } }), 404, "not_found");
    }
    expectProblem(await json("GET", `/api/events/${id}/exceptions`, { token: stranger.token }), 404, "not_found");
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: viewer.token })).body).toEqual({ items: [] });
  });
});

describe("exceptions: odd original_start spellings", () => {
  it("spellings of one instant address one occurrence; junk is a 404, never a 5xx", async () => {
    const { owner, id } = await series();
    for (const spelling of ["2054-01-06T09:00:00.000Z", "2054-01-06T10:00:00+01:00", "2054-01-06T09:00:00"]) {
      expect((await json("DELETE", occ(id, spelling), { token: owner.token })).status).toBe(204);
    }
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: owner.token })).body).toEqual({ items: [{ original_start: "2054-01-06T09:00:00Z", cancelled: true }] });
    for (const junk of ["garbage", "2054-01-06T09:00:00.001Z", "2054-13-06T09:00:00Z", "2054-01-06", "9999999999999", "+275760-09-13T00:00:00Z", "-000001-01-01T00:00:00Z", "2054-01-04T09:00:00Z", "2054-01-15T09:00:00Z", "%", "\u0000"]) {
      const res = await json("DELETE", `/api/events/${id}/occurrences/${encodeURIComponent(junk)}`, { token: owner.token });
      expect(res.status, `${junk}: ${JSON.stringify(res.body)}`).toBe(404);
    }
    expectProblem(await json("DELETE", `/api/events/${id}/occurrences/${"9".repeat(65)}`, { token: owner.token }), 404, "not_found");
  });
});

describe("exceptions: limits", () => {
  it("the 101st exception is a 422 and nothing is written", async () => {
    const owner = await registerUser("ae_lim");
    const made = await json("POST", "/api/events", { token: owner.token, body: { ...DAILY, recurrence_pattern: "FREQ=DAILY;COUNT=200" } });
    const id = made.body.id as number;
    const day = (n: number) => new Date(Date.parse("2054-01-05T09:00:00Z") + n * 86_400_000).toISOString().replace(".000Z", "Z");
    for (let n = 0; n < 100; n++) expect((await json("DELETE", occ(id, day(n + 1)), { token: owner.token })).status).toBe(204);
    const version = (await json("GET", `/api/events/${id}`, { token: owner.token })).body.version;
    expectProblem(await json("DELETE", occ(id, day(150)), { token: owner.token }), 422, "validation_failed");
    expectProblem(await json("PATCH", occ(id, day(150)), { token: owner.token, body: { title: "one more" } }), 422, "validation_failed");
    // Cancelling a cancelled one is room-neutral and changes nothing.
    expect((await json("DELETE", occ(id, day(5)), { token: owner.token })).status).toBe(204);
    expect((await json("GET", `/api/events/${id}`, { token: owner.token })).body.version).toBe(version);
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: owner.token })).body.items).toHaveLength(100);
  });
});

describe("exceptions: splits", () => {
  it("a split at an occurrence moved before the split point is refused (422); the move is never silently dropped", async () => {
    const { owner, id } = await series();
    // The 10th's occurrence moved to the 9th, 15:00: its original start is the split point.
    expect((await json("PATCH", occ(id, "2054-01-10T09:00:00Z"), { token: owner.token, body: { start_time: "2054-01-09T15:00:00Z" } })).status).toBe(200);
    const before = await occurrencesOf(owner, id);
    const res = await json("PATCH", occ(id, "2054-01-10T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "Later" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "original_start", message: "The 2054-01-10T09:00:00Z occurrence was moved before the split point; move it back or cancel it first." }]);
    expect(await occurrencesOf(owner, id)).toEqual(before);
    // Splitting after it still works and keeps it.
    const later = await json("PATCH", occ(id, "2054-01-11T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "Later" } });
    expect(later.status).toBe(200);
    const after = [...(await occurrencesOf(owner, id)), ...(await occurrencesOf(owner, later.body.following.id))].map(([, start]) => start).sort();
    expect(after).toEqual(before.map(([, start]) => start).sort());
  });

  it("a stale If-Match refuses the split and writes nothing", async () => {
    const { owner, id } = await series();
    const first = await json("GET", `/api/events/${id}`, { token: owner.token });
    expect((await json("DELETE", occ(id, "2054-01-07T09:00:00Z"), { token: owner.token })).status).toBe(204);
    expectProblem(await json("PATCH", occ(id, "2054-01-08T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "x" }, headers: { "If-Match": first.headers.get("etag")! } }), 412, "precondition_failed");
    expect((await json("GET", `/api/events/${id}`, { token: owner.token })).body.recurrence_pattern).toBe("FREQ=DAILY;COUNT=10");
  });

  it("concurrent cancel, split and rule change: every 2xx is reflected, no occurrence is lost or doubled", async () => {
    const { owner, id } = await series();
    const [cancel, split, rule] = await Promise.all([
      json("DELETE", occ(id, "2054-01-12T09:00:00Z"), { token: owner.token }),
      json("PATCH", occ(id, "2054-01-09T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "Second half" } }),
      json("PATCH", `/api/events/${id}`, { token: owner.token, body: { recurrence_pattern: "FREQ=DAILY;COUNT=9" } }),
    ]);
    for (const r of [cancel, split, rule]) expect([200, 204, 404, 409, 412, 422], JSON.stringify(r.body)).toContain(r.status);
    const all = [...(await occurrencesOf(owner, id)), ...(split.status === 200 ? await occurrencesOf(owner, split.body.following.id) : [])].map(([o]) => o);
    expect(new Set(all).size).toBe(all.length);
    if (cancel.status === 204) expect(all).not.toContain("2054-01-12T09:00:00Z");
    if (rule.status === 200 && split.status !== 200) expect(all).toHaveLength(cancel.status === 204 ? 8 : 9);
  });

  it("rolling the original series back past its split does not double the following occurrences", async () => {
    const { owner, id } = await series();
    const split = await json("PATCH", occ(id, "2054-01-09T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "Second half" } });
    expect(split.status).toBe(200);
    const res = await json("POST", `/api/events/${id}/rollback/1`, { token: owner.token });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts.map((c: { id: number }) => c.id)).toContain(split.body.following.id);
    const all = [...(await occurrencesOf(owner, id)), ...(await occurrencesOf(owner, split.body.following.id))].map(([, start]) => start);
    expect(new Set(all).size, `rollback answered ${res.status}`).toBe(all.length);
  });
});

describe("exceptions: 409 for an editor", () => {
  it("an editor moving an occurrence onto the owner's private event learns its times, never its id or title", async () => {
    const { owner, id } = await series();
    const editor = await registerUser("ae_editor");
    expect((await json("POST", `/api/events/${id}/share`, { token: owner.token, body: { user_id: editor.id, role: "editor" } })).status).toBe(200);
    const secret = await json("POST", "/api/events", { token: owner.token, body: { title: "Private doctor", description: "secret", start_time: "2054-01-06T14:00:00Z", end_time: "2054-01-06T15:00:00Z" } });
    expect(secret.status).toBe(201);
    for (const path of [occ(id, "2054-01-06T09:00:00Z"), occ(id, "2054-01-06T09:00:00Z", "?scope=following")]) {
      const res = await json("PATCH", path, { token: editor.token, body: { start_time: "2054-01-06T14:30:00Z", end_time: "2054-01-06T15:30:00Z" } });
      expectProblem(res, 409, "conflict");
      expect(res.body.conflicts).toEqual([{ id: null, title: null, start_time: "2054-01-06T14:00:00Z", end_time: "2054-01-06T15:00:00Z" }]);
      expect(JSON.stringify(res.body)).not.toMatch(/Private doctor|secret|"id":\s*${secret.body.id}\b/);
    }
  });
});

describe("exceptions: interleavings", () => {
  it("concurrent changes of two occurrences: every 200 is kept (no lost update)", async () => {
    const { owner, id } = await series();
    const results = await Promise.all([
      json("PATCH", occ(id, "2054-01-06T09:00:00Z"), { token: owner.token, body: { title: "A" } }),
      json("PATCH", occ(id, "2054-01-07T09:00:00Z"), { token: owner.token, body: { location: "B" } }),
      json("DELETE", occ(id, "2054-01-08T09:00:00Z"), { token: owner.token }),
      json("PATCH", occ(id, "2054-01-09T09:00:00Z"), { token: owner.token, body: { start_time: "2054-01-09T12:00:00Z" } }),
    ]);
    const items = (await json("GET", `/api/events/${id}/exceptions`, { token: owner.token })).body.items as { original_start: string }[];
    const kept = results.map((r) => r.status);
    for (const status of kept) expect([200, 204, 409, 412]).toContain(status);
    const expected = ["2054-01-06T09:00:00Z", "2054-01-07T09:00:00Z", "2054-01-08T09:00:00Z", "2054-01-09T09:00:00Z"].filter((_, i) => kept[i] < 300);
    expect(items.map((x) => x.original_start).sort()).toEqual(expected);
    const version = (await json("GET", `/api/events/${id}`, { token: owner.token })).body.version;
    expect(version).toBe(1 + expected.length);
  });

  it("two concurrent splits never double an occurrence", async () => {
    const { owner, id } = await series();
    const [a, b] = await Promise.all([
      json("PATCH", occ(id, "2054-01-07T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "From 7" } }),
      json("PATCH", occ(id, "2054-01-10T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "From 10" } }),
    ]);
    const ids = [id, ...[a, b].filter((r) => r.status === 200).map((r) => r.body.following.id as number)];
    const all = (await Promise.all(ids.map((e) => occurrencesOf(owner, e)))).flat().map(([, start]) => start);
    expect(new Set(all).size, `${a.status} ${b.status}`).toBe(all.length);
    expect(all).toHaveLength(10);
  });

  it("HEAD and msgpack on the exceptions list", async () => {
    const { owner, id } = await series();
    expect((await json("DELETE", occ(id, "2054-01-06T09:00:00Z"), { token: owner.token })).status).toBe(204);
    const packed = await json("GET", `/api/events/${id}/exceptions`, { token: owner.token, accept: "application/msgpack" });
    expect(packed.status).toBe(200);
    expect(packed.body).toEqual({ items: [{ original_start: "2054-01-06T09:00:00Z", cancelled: true }] });
    const moved = await json("PATCH", occ(id, "2054-01-07T09:00:00Z"), { token: owner.token, body: { title: "Packed" }, msgpack: "application/msgpack", accept: "application/msgpack" });
    expect(moved.status).toBe(200);
    expect(moved.body.title).toBe("Packed");
    const head = await json("HEAD", `/api/events/${id}/exceptions`, { token: stranger.token });
    expect(head.status).toBe(404);
  });
});

describe("exceptions seen by conflicts and free/busy", () => {
  it("a cancelled occurrence frees its slot and a moved one takes its new slot, for conflicts, suggestions and free/busy", async () => {
    const { owner, id } = await series();
    expect((await json("DELETE", occ(id, "2054-01-06T09:00:00Z"), { token: owner.token })).status).toBe(204);
    expect((await json("PATCH", occ(id, "2054-01-07T09:00:00Z"), { token: owner.token, body: { start_time: "2054-01-07T14:00:00Z" } })).status).toBe(200);
    expect((await json("POST", "/api/events", { token: owner.token, body: { title: "In the cancelled slot", start_time: "2054-01-06T09:00:00Z", end_time: "2054-01-06T10:00:00Z" } })).status).toBe(201);
    expect((await json("POST", "/api/events", { token: owner.token, body: { title: "In the vacated slot", start_time: "2054-01-07T09:00:00Z", end_time: "2054-01-07T10:00:00Z" } })).status).toBe(201);
    const clash = await json("POST", "/api/events", { token: owner.token, body: { title: "Onto the moved one", start_time: "2054-01-07T14:00:00Z", end_time: "2054-01-07T15:00:00Z" } });
    expectProblem(clash, 409, "conflict");
    expect(clash.body.conflicts).toEqual([{ id, title: "Daily", start_time: "2054-01-07T14:00:00Z", end_time: "2054-01-07T15:00:00Z" }]);
    expect(clash.body.suggestions).toEqual([
      { start_time: "2054-01-07T13:00:00Z", end_time: "2054-01-07T14:00:00Z" },
      { start_time: "2054-01-07T15:00:00Z", end_time: "2054-01-07T16:00:00Z" },
      { start_time: "2054-01-07T12:00:00Z", end_time: "2054-01-07T13:00:00Z" },
    ]);
    const fb = await json("POST", "/api/freebusy", { token: viewer.token, body: { start: "2054-01-06T00:00:00Z", end: "2054-01-08T00:00:00Z", users: [owner.id] } });
    expect(fb.status).toBe(200);
    expect(fb.body.users[0].busy).toEqual([
      { start_time: "2054-01-06T09:00:00Z", end_time: "2054-01-06T10:00:00Z" },
      { start_time: "2054-01-07T09:00:00Z", end_time: "2054-01-07T10:00:00Z" },
      { start_time: "2054-01-07T14:00:00Z", end_time: "2054-01-07T15:00:00Z" },
    ]);
  });
});

describe("exceptions: byte limit", () => {
  it("overridden descriptions past 16 KiB are a 422 and nothing is written", async () => {
    const { owner, id } = await series();
    const long = "d".repeat(9_000);
    expect((await json("PATCH", occ(id, "2054-01-06T09:00:00Z"), { token: owner.token, body: { description: long } })).status).toBe(200);
    expectProblem(await json("PATCH", occ(id, "2054-01-07T09:00:00Z"), { token: owner.token, body: { description: long } }), 422, "validation_failed");
    const items = (await json("GET", `/api/events/${id}/exceptions`, { token: owner.token })).body.items;
    expect(items.map((x: { original_start: string }) => x.original_start)).toEqual(["2054-01-06T09:00:00Z"]);
    // A split carries the big exception into the following series only if it fits there (it does: one of them).
    const split = await json("PATCH", occ(id, "2054-01-06T09:00:00Z", "?scope=following"), { token: owner.token, body: { location: "Room" } });
    expect(split.status).toBe(200);
  });
});

describe("exceptions: splits that move", () => {
  it("a following series moved back over the original's occurrences is a 409, nothing written", async () => {
    const { owner, id } = await series();
    const before = await occurrencesOf(owner, id);
    const res = await json("PATCH", occ(id, "2054-01-08T09:00:00Z", "?scope=following"), { token: owner.token, body: { start_time: "2054-01-05T09:30:00Z", end_time: "2054-01-05T10:30:00Z" } });
    expectProblem(res, 409, "conflict");
    expect(await occurrencesOf(owner, id)).toEqual(before);
  });

  it("a split into a one-off keeps the rest of the series' occurrences out, and the original ends before it", async () => {
    const { owner, id } = await series();
    const res = await json("PATCH", occ(id, "2054-01-08T09:00:00Z", "?scope=following"), { token: owner.token, body: { is_recurring: false } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await occurrencesOf(owner, id)).map(([o]) => o)).toEqual(["2054-01-05T09:00:00Z", "2054-01-06T09:00:00Z", "2054-01-07T09:00:00Z"]);
    expect((await occurrencesOf(owner, res.body.following.id)).map(([, s]) => s)).toEqual(["2054-01-08T09:00:00Z"]);
  });
});

describe("exceptions: If-Match spellings", () => {
  it("the answer's ETag chains the next change; *, a list and a stale tag behave as on the event", async () => {
    const { owner, id } = await series();
    const first = await json("PATCH", occ(id, "2054-01-06T09:00:00Z"), { token: owner.token, body: { title: "One" } });
    expect(first.status).toBe(200);
    const tag = first.headers.get("etag")!;
    expect((await json("GET", `/api/events/${id}`, { token: owner.token })).headers.get("etag")).toBe(tag);
    expect((await json("DELETE", occ(id, "2054-01-07T09:00:00Z"), { token: owner.token, headers: { "If-Match": `"nope", ${tag}` } })).status).toBe(204);
    expectProblem(await json("DELETE", occ(id, "2054-01-08T09:00:00Z"), { token: owner.token, headers: { "If-Match": tag } }), 412, "precondition_failed");
    expect((await json("DELETE", occ(id, "2054-01-08T09:00:00Z"), { token: owner.token, headers: { "If-Match": "*" } })).status).toBe(204);
    expectProblem(await json("PATCH", occ(id, "2054-01-09T09:00:00Z"), { token: owner.token, body: { title: "x" }, headers: { "If-Match": "garbage" } }), 412, "precondition_failed");
    // A 404 for a stranger even with a matching tag: the tag does not reveal the event.
    expectProblem(await json("DELETE", occ(id, "2054-01-09T09:00:00Z"), { token: stranger.token, headers: { "If-Match": "*" } }), 404, "not_found");
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: owner.token })).body.items.map((x: { original_start: string }) => x.original_start).sort()).toEqual([
      "2054-01-06T09:00:00Z",
      "2054-01-07T09:00:00Z",
      "2054-01-08T09:00:00Z",
    ]);
  });
});

describe("exceptions: lifecycles across a split", () => {
  it("deleting the original series after a split leaves the following one whole; deleting the following leaves the original", async () => {
    const { owner, id } = await series();
    const split = await json("PATCH", occ(id, "2054-01-09T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "Second half" } });
    expect(split.status).toBe(200);
    const following = split.body.following.id as number;
    expect((await json("DELETE", `/api/events/${id}`, { token: owner.token })).status).toBe(204);
    const after = await json("GET", `/api/events/${following}`, { token: viewer.token });
    expect(after.status).toBe(200);
    expect(after.body.title).toBe("Second half");
    expect((await occurrencesOf(viewer, following)).map(([o]) => o)).toEqual(["2054-01-09T09:00:00Z", "2054-01-10T09:00:00Z", "2054-01-11T09:00:00Z", "2054-01-12T09:00:00Z", "2054-01-13T09:00:00Z", "2054-01-14T09:00:00Z"]);
    expect((await json("PATCH", occ(following, "2054-01-10T09:00:00Z", "?scope=following"), { token: owner.token, body: { title: "Third" } })).status).toBe(200);
    expect((await json("DELETE", `/api/events/${following}`, { token: owner.token })).status).toBe(204);
    expectProblem(await json("GET", `/api/events/${following}/exceptions`, { token: viewer.token }), 404, "not_found");
  });
});
