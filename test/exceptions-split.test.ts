import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";
import { faultyDatabase, requestAs, sendWith, type FaultLog } from "./support/faults";
import { expectErrorLogs } from "./support/logs";
import { stateDigest } from "./support/state";

/** Ten Mondays, 09:00-10:00 UTC, from 2040-01-02: the last is 2040-03-05. */
const WEEKLY = { title: "Standup", start_time: "2040-01-02T09:00:00Z", end_time: "2040-01-02T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=10" };
const WINDOW = "start=2040-01-01T00:00:00Z&end=2040-04-01T00:00:00Z";

const path = (id: number, originalStart: string, scope = "following") => `/api/events/${id}/occurrences/${encodeURIComponent(originalStart)}?scope=${scope}`;
const split = (user: TestUser, id: number, originalStart: string, body: Record<string, unknown>, headers?: Record<string, string>) => json("PATCH", path(id, originalStart), { token: user.token, body, headers });
const starts = async (user: TestUser, id: number) => ((await json("GET", `/api/events/${id}/occurrences?${WINDOW}`, { token: user.token })).body.items as { start_time: string }[]).map((o) => o.start_time);
const permissionsOf = async (user: TestUser, id: number) => (await json("GET", `/api/events/${id}/permissions`, { token: user.token })).body as { user_id: number; role: string; granted_by: number }[];

let editor: TestUser;
let viewer: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  [editor, viewer, stranger] = await Promise.all([registerUser("s_editor"), registerUser("s_viewer"), registerUser("s_stranger")]);
});

/** A weekly series of a fresh owner, shared with the editor and the viewer, with one cancelled occurrence before 30 Jan and one cancelled and one moved after. */
async function seriesWithExceptions(body: Record<string, unknown> = {}) {
  const owner = await registerUser("s_owner");
  const made = await json("POST", "/api/events", { token: owner.token, body: { ...WEEKLY, ...body } });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const id = made.body.id as number;
  expect((await json("POST", `/api/events/${id}/share`, { token: owner.token, body: [{ user_id: editor.id, role: "editor" }, { user_id: viewer.id, role: "viewer" }] })).status).toBe(200);
  expect((await json("DELETE", `/api/events/${id}/occurrences/2040-01-16T09:00:00Z`, { token: owner.token })).status).toBe(204);
  expect((await json("DELETE", `/api/events/${id}/occurrences/2040-02-13T09:00:00Z`, { token: owner.token })).status).toBe(204);
  expect((await json("PATCH", `/api/events/${id}/occurrences/2040-02-20T09:00:00Z`, { token: owner.token, body: { start_time: "2040-02-21T15:00:00Z" } })).status).toBe(200);
  return { owner, id };
}

describe("PATCH /api/events/{id}/occurrences/{original_start}?scope=following", () => {
  it("ends the series right before the split point and starts a new one there with the changes, split_from, the same collaborators and the later exceptions", async () => {
    const { owner, id } = await seriesWithExceptions();
    const before = await permissionsOf(owner, id);
    const res = await split(editor, id, "2040-01-30T09:00:00Z", { title: "Standup v2", location: "Room 9" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { series, following } = res.body;
    expect(res.body.dropped_exceptions).toBeUndefined();
    expect(series).toMatchObject({ id, title: "Standup", recurrence_pattern: "FREQ=WEEKLY;UNTIL=20400130T085959Z", start_time: "2040-01-02T09:00:00Z", version: 5, my_role: "editor" });
    expect(following).toMatchObject({
      title: "Standup v2",
      location: "Room 9",
      start_time: "2040-01-30T09:00:00Z",
      end_time: "2040-01-30T10:00:00Z",
      is_recurring: true,
      recurrence_pattern: "FREQ=WEEKLY;COUNT=6",
      split_from: id,
      owner_id: owner.id,
      version: 1,
      my_role: "editor",
    });
    expect(res.headers.get("etag")).toBe((await json("GET", `/api/events/${id}`, { token: editor.token })).headers.get("etag"));
    expect(await starts(viewer, id)).toEqual(["2040-01-02T09:00:00Z", "2040-01-09T09:00:00Z", "2040-01-23T09:00:00Z"]);
    expect(await starts(viewer, following.id)).toEqual(["2040-01-30T09:00:00Z", "2040-02-06T09:00:00Z", "2040-02-21T15:00:00Z", "2040-02-27T09:00:00Z", "2040-03-05T09:00:00Z"]);
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: viewer.token })).body.items).toEqual([{ original_start: "2040-01-16T09:00:00Z", cancelled: true }]);
    expect((await json("GET", `/api/events/${following.id}/exceptions`, { token: viewer.token })).body.items).toEqual([
      { original_start: "2040-02-13T09:00:00Z", cancelled: true },
      { original_start: "2040-02-20T09:00:00Z", cancelled: false, start_time: "2040-02-21T15:00:00Z", end_time: "2040-02-21T16:00:00Z" },
    ]);
    expect(await permissionsOf(viewer, following.id)).toEqual(before);
    // Both are versioned: the series' new version names what changed, the following series starts at 1.
    const seriesLog = (await json("GET", `/api/events/${id}/changelog`, { token: viewer.token })).body.items;
    expect(seriesLog.at(-1)).toMatchObject({ version: 5, action: "updated", changed_by: { id: editor.id } });
    expect(Object.keys(seriesLog.at(-1).changes).sort()).toEqual(["exceptions", "recurrence_pattern"]);
    expect((await json("GET", `/api/events/${following.id}/changelog`, { token: viewer.token })).body.items.map((e: { version: number; action: string }) => [e.version, e.action])).toEqual([[1, "created"]]);
    // Both are notified, to everyone with access, naming the occurrence.
    const inbox = (await json("GET", "/api/notifications?limit=3", { token: viewer.token })).body.items as { type: string; event_id: number; data: any }[];
    expect(inbox.find((n) => n.event_id === id && n.type === "event_updated")?.data).toMatchObject({ original_start: "2040-01-30T09:00:00Z", following_id: following.id, version: 5 });
    expect(inbox.find((n) => n.event_id === following.id)).toMatchObject({ type: "event_created", data: { split_from: id, original_start: "2040-01-30T09:00:00Z" } });
  });

  it("moving the following series drops the exceptions it no longer matches and says which", async () => {
    const { owner, id } = await seriesWithExceptions();
    const res = await split(owner, id, "2040-01-30T09:00:00Z", { start_time: "2040-01-30T11:00:00Z", end_time: "2040-01-30T12:00:00Z" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.dropped_exceptions).toEqual(["2040-02-13T09:00:00Z", "2040-02-20T09:00:00Z"]);
    expect((await json("GET", `/api/events/${res.body.following.id}/exceptions`, { token: owner.token })).body.items).toEqual([]);
    expect(await starts(owner, res.body.following.id)).toHaveLength(6);
  });

  it("keeps an UNTIL rule's end and turns a word pattern into an RRULE with an UNTIL", async () => {
    const owner = await registerUser("s_words");
    const made = await json("POST", "/api/events", { token: owner.token, body: { ...WEEKLY, recurrence_pattern: "weekly" } });
    const res = await split(owner, made.body.id, "2040-01-16T09:00:00Z", { title: "Later" });
    expect(res.body.series.recurrence_pattern).toBe("FREQ=WEEKLY;UNTIL=20400116T085959Z");
    expect(res.body.following.recurrence_pattern).toBe("weekly");
    const again = await split(owner, res.body.following.id, "2040-01-30T09:00:00Z", { title: "Even later" });
    expect(again.body.series.recurrence_pattern).toBe("FREQ=WEEKLY;UNTIL=20400130T085959Z");
  });

  it("refuses 409 when the changed following series overlaps another event of the owner, changing nothing", async () => {
    const { owner, id } = await seriesWithExceptions();
    const dentist = await json("POST", "/api/events", { token: owner.token, body: { title: "Dentist", start_time: "2040-02-07T14:00:00Z", end_time: "2040-02-07T15:00:00Z" } });
    const before = await stateDigest(env.DB);
    const res = await split(owner, id, "2040-01-30T09:00:00Z", { start_time: "2040-01-31T14:30:00Z", end_time: "2040-01-31T15:30:00Z" });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts).toEqual([{ id: dentist.body.id, title: "Dentist", start_time: "2040-02-07T14:00:00Z", end_time: "2040-02-07T15:00:00Z" }]);
    expect(await stateDigest(env.DB)).toEqual(before);
  });

  it("answers 422 at the first occurrence, 404 for a non-occurrence, a one-off or a stranger, 403 for a viewer and 412 for a stale If-Match", async () => {
    const { owner, id } = await seriesWithExceptions();
    const stale = (await json("GET", `/api/events/${id}`, { token: owner.token })).headers.get("etag")!;
    expect((await json("PATCH", `/api/events/${id}`, { token: owner.token, body: { description: "moved on" } })).status).toBe(200);
    const oneOff = await json("POST", "/api/events", { token: owner.token, body: { title: "Once", start_time: "2041-01-02T09:00:00Z", end_time: "2041-01-02T10:00:00Z" } });
    const before = await stateDigest(env.DB);
    const first = await split(owner, id, "2040-01-02T09:00:00Z", { title: "All" });
    expectProblem(first, 422, "validation_failed");
    expect(first.body.errors[0].field).toBe("original_start");
    expectProblem(await split(owner, id, "2040-01-31T09:00:00Z", { title: "Nope" }), 404, "not_found");
    expectProblem(await split(owner, oneOff.body.id, "2041-01-02T09:00:00Z", { title: "Nope" }), 404, "not_found");
    expectProblem(await split(stranger, id, "2040-01-30T09:00:00Z", { title: "Nope" }), 404, "not_found");
    expectProblem(await split(viewer, id, "2040-01-30T09:00:00Z", { title: "Nope" }), 403, "forbidden");
    const late = await split(editor, id, "2040-01-30T09:00:00Z", { title: "Nope" }, { "If-Match": stale });
    expectProblem(late, 412, "precondition_failed");
    expect(late.body.current).toMatchObject({ id, description: "moved on" });
    expectProblem(await split(owner, id, "2040-01-30T09:00:00Z", { title: "" }), 422, "validation_failed");
    expectProblem(await json("PATCH", path(id, "2040-01-30T09:00:00Z", "all"), { token: owner.token, body: { title: "Nope" } }), 422, "validation_failed");
    expect(await stateDigest(env.DB)).toEqual(before);
  });

  it("refuses 422 to split after an earlier occurrence that was moved past the split point", async () => {
    const { owner, id } = await seriesWithExceptions();
    expect((await json("PATCH", `/api/events/${id}/occurrences/2040-01-23T09:00:00Z`, { token: owner.token, body: { start_time: "2040-01-31T09:00:00Z" } })).status).toBe(200);
    const res = await split(owner, id, "2040-01-30T09:00:00Z", { title: "Later" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors[0]).toMatchObject({ field: "original_start", message: expect.stringContaining("2040-01-23T09:00:00Z") });
  });
});

describe("a split is one batch: a fault in any of its statements leaves nothing changed", () => {
  it("fails every statement of the split batch in turn, each time changing nothing, then succeeds", async () => {
    const { owner, id } = await seriesWithExceptions();
    const request = () => requestAs(editor, "PATCH", path(id, "2040-01-30T09:00:00Z"), { title: "Standup v2" });
    const probe: FaultLog = { writeBatches: [] };
    const before = await stateDigest(env.DB);
    // Each injected fault is an unexpected error to the Worker: one 500, one log line naming the request.
    const logs = expectErrorLogs();
    const first = await sendWith({ DB: faultyDatabase(env.DB, "reject", probe) }, request());
    expect(first.status).toBe(500);
    expect(await stateDigest(env.DB)).toEqual(before);
    expect(probe.writeBatches).toHaveLength(1);
    const statements = probe.writeBatches[0];
    // Premise guard, the series' row and its permission copies, the new event, its permissions,
    // its version 1 and notification, the read-back, the series' version and its notification.
    expect(statements).toBe(10);
    for (let failAt = 0; failAt < statements; failAt++) {
      const log: FaultLog = { writeBatches: [] };
      const res = await sendWith({ DB: faultyDatabase(env.DB, failAt, log) }, request());
      expect({ failAt, status: res.status }).toEqual({ failAt, status: 500 });
      expect(log.writeBatches).toEqual([statements]);
      expect({ failAt, digest: await stateDigest(env.DB) }).toEqual({ failAt, digest: before });
    }
    expect(logs.lines).toEqual(Array.from({ length: statements + 1 }, () => expect.stringMatching(/^request [\w-]+ failed: \w*Error: /)));
    const ok = await sendWith({ DB: faultyDatabase(env.DB, statements, { writeBatches: [] }) }, request());
    expect(ok.status).toBe(200);
    expect(logs.count).toBe(statements + 1);
    expect((ok.body as { following: { split_from: number } }).following.split_from).toBe(id);
    expect(await starts(owner, id)).toEqual(["2040-01-02T09:00:00Z", "2040-01-09T09:00:00Z", "2040-01-23T09:00:00Z"]);
  });
});
