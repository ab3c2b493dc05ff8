import { beforeAll, describe, expect, it } from "vitest";
import { MAX_EXCEPTIONS, MAX_EXCEPTIONS_BYTES } from "../src/exceptions/model";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";

/** A weekly series of ten Mondays, 09:00-10:00 UTC, from 2040-01-02. */
const WEEKLY = { title: "Standup", start_time: "2040-01-02T09:00:00Z", end_time: "2040-01-02T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=10" };
const WINDOW = "start=2040-01-01T00:00:00Z&end=2040-04-01T00:00:00Z";

const create = (user: TestUser, body: Record<string, unknown>) => json("POST", "/api/events", { token: user.token, body });
const occurrencePath = (id: number, originalStart: string) => `/api/events/${id}/occurrences/${encodeURIComponent(originalStart)}`;
const patchOccurrence = (user: TestUser, id: number, originalStart: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
  json("PATCH", occurrencePath(id, originalStart), { token: user.token, body, headers });
const cancel = (user: TestUser, id: number, originalStart: string, headers?: Record<string, string>) => json("DELETE", occurrencePath(id, originalStart), { token: user.token, headers });
const occurrences = async (user: TestUser, id: number, window = WINDOW) => {
  const res = await json("GET", `/api/events/${id}/occurrences?${window}`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.items as { start_time: string; end_time: string; original_start: string; is_exception?: true; title?: string }[];
};
const exceptionsOf = async (user: TestUser, id: number) => {
  const res = await json("GET", `/api/events/${id}/exceptions`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.items;
};
const etagOf = async (user: TestUser, id: number) => (await json("GET", `/api/events/${id}`, { token: user.token })).headers.get("etag")!;
const changelog = async (user: TestUser, id: number) => (await json("GET", `/api/events/${id}/changelog?limit=100`, { token: user.token })).body.items;

let editor: TestUser;
let viewer: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  [editor, viewer, stranger] = await Promise.all([registerUser("x_editor"), registerUser("x_viewer"), registerUser("x_stranger")]);
});

/** A weekly series of a fresh owner (so series never collide), shared with the editor and the viewer. */
async function sharedSeries(body: Record<string, unknown> = {}) {
  const by = await registerUser("x_owner");
  const made = await create(by, { ...WEEKLY, ...body });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const shared = await json("POST", `/api/events/${made.body.id}/share`, { token: by.token, body: { users: [{ user_id: editor.id, role: "editor" }, { user_id: viewer.id, role: "viewer" }] } });
  expect(shared.status).toBe(200);
  return { id: made.body.id as number, owner: by };
}

describe("GET /api/events/{id}/exceptions", () => {
  it("lists no exceptions for a new series, to every role, and 404 to a stranger", async () => {
    const series = await sharedSeries();
    for (const user of [series.owner, editor, viewer]) expect(await exceptionsOf(user, series.id)).toEqual([]);
    expectProblem(await json("GET", `/api/events/${series.id}/exceptions`, { token: stranger.token }), 404, "not_found");
  });
});

describe("DELETE /api/events/{id}/occurrences/{original_start}", () => {
  it("cancels one occurrence: 204, a new version with changes.exceptions, gone from the occurrences, listed as cancelled", async () => {
    const series = await sharedSeries();
    const res = await cancel(editor, series.id, "2040-01-16T09:00:00Z");
    expect(res.status).toBe(204);
    expect(await exceptionsOf(viewer, series.id)).toEqual([{ original_start: "2040-01-16T09:00:00Z", cancelled: true }]);
    const items = await occurrences(viewer, series.id);
    expect(items.map((o) => o.start_time)).toEqual([
      "2040-01-02T09:00:00Z",
      "2040-01-09T09:00:00Z",
      "2040-01-23T09:00:00Z",
      "2040-01-30T09:00:00Z",
      "2040-02-06T09:00:00Z",
      "2040-02-13T09:00:00Z",
      "2040-02-20T09:00:00Z",
      "2040-02-27T09:00:00Z",
      "2040-03-05T09:00:00Z",
    ]);
    const detail = await json("GET", `/api/events/${series.id}`, { token: viewer.token });
    expect(detail.body).toMatchObject({ version: 2, exceptions: [{ original_start: "2040-01-16T09:00:00Z", cancelled: true }] });
    const last = (await changelog(viewer, series.id)).at(-1);
    expect(last).toMatchObject({ version: 2, action: "updated", changed_by: { id: editor.id, username: editor.username } });
    expect(last.changes).toEqual({ exceptions: { from: [], to: [{ original_start: "2040-01-16T09:00:00Z", cancelled: true }] } });
  });

  it("notifies every collaborator with the occurrence in data.original_start", async () => {
    const series = await sharedSeries();
    expect((await cancel(series.owner, series.id, "2040-01-09T09:00:00Z")).status).toBe(204);
    for (const user of [series.owner, editor, viewer]) {
      const inbox = await json("GET", "/api/notifications?limit=5", { token: user.token });
      const notice = inbox.body.items.find((n: { event_id: number; type: string }) => n.event_id === series.id && n.type === "event_updated");
      expect(notice.data).toMatchObject({ original_start: "2040-01-09T09:00:00Z", version: 2, changes: { exceptions: { to: [{ original_start: "2040-01-09T09:00:00Z", cancelled: true }] } } });
      expect(notice.message).toContain("cancelled the 2040-01-09T09:00:00Z occurrence");
    }
  });

  it("cancelling a cancelled occurrence is 204 and makes no new version", async () => {
    const series = await sharedSeries();
    expect((await cancel(series.owner, series.id, "2040-01-09T09:00:00Z")).status).toBe(204);
    expect((await cancel(series.owner, series.id, "2040-01-09T09:00:00Z")).status).toBe(204);
    expect((await changelog(series.owner, series.id)).map((e: { version: number }) => e.version)).toEqual([1, 2]);
  });

  it("accepts the original start with an offset or as a wall time in the event's zone", async () => {
    const series = await sharedSeries({ timezone: "Europe/Berlin" });
    expect((await cancel(series.owner, series.id, "2040-01-09T10:00:00+01:00")).status).toBe(204);
    expect((await cancel(series.owner, series.id, "2040-01-16T10:00:00")).status).toBe(204);
    expect((await exceptionsOf(series.owner, series.id)).map((x: { original_start: string }) => x.original_start)).toEqual(["2040-01-09T09:00:00Z", "2040-01-16T09:00:00Z"]);
  });
});

describe("PATCH /api/events/{id}/occurrences/{original_start}", () => {
  it("moves one occurrence: 200 with the occurrence and the series' new ETag; occurrences show it at its new time", async () => {
    const series = await sharedSeries();
    const res = await patchOccurrence(editor, series.id, "2040-01-16T09:00:00Z", { start_time: "2040-01-18T14:00:00Z", location: "Room 2" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      event_id: series.id,
      original_start: "2040-01-16T09:00:00Z",
      start_time: "2040-01-18T14:00:00Z",
      end_time: "2040-01-18T15:00:00Z",
      title: "Standup",
      description: "",
      location: "Room 2",
      cancelled: false,
      is_exception: true,
    });
    expect(res.headers.get("etag")).toBe(await etagOf(editor, series.id));
    const items = await occurrences(viewer, series.id, "start=2040-01-09T00:00:00Z&end=2040-01-24T00:00:00Z");
    expect(items).toEqual([
      { start_time: "2040-01-09T09:00:00Z", end_time: "2040-01-09T10:00:00Z", original_start: "2040-01-09T09:00:00Z" },
      { start_time: "2040-01-18T14:00:00Z", end_time: "2040-01-18T15:00:00Z", original_start: "2040-01-16T09:00:00Z", is_exception: true, location: "Room 2" },
      { start_time: "2040-01-23T09:00:00Z", end_time: "2040-01-23T10:00:00Z", original_start: "2040-01-23T09:00:00Z" },
    ]);
    expect(await exceptionsOf(viewer, series.id)).toEqual([
      { original_start: "2040-01-16T09:00:00Z", cancelled: false, location: "Room 2", start_time: "2040-01-18T14:00:00Z", end_time: "2040-01-18T15:00:00Z" },
    ]);
  });

  it("changes only the title of one occurrence, which the agenda then shows, without moving it", async () => {
    const user = await registerUser("x_title");
    const made = await create(user, WEEKLY);
    const res = await patchOccurrence(user, made.body.id, "2040-01-09T09:00:00Z", { title: "Retro instead" });
    expect(res.body).toMatchObject({ start_time: "2040-01-09T09:00:00Z", end_time: "2040-01-09T10:00:00Z", title: "Retro instead", is_exception: true });
    const agenda = await json("GET", "/api/agenda?start=2040-01-01T00:00:00Z&end=2040-01-17T00:00:00Z", { token: user.token });
    expect(agenda.body.items.map((i: { title: string; is_exception?: true; original_start: string }) => [i.title, i.original_start, i.is_exception ?? false])).toEqual([
      ["Standup", "2040-01-02T09:00:00Z", false],
      ["Retro instead", "2040-01-09T09:00:00Z", true],
      ["Standup", "2040-01-16T09:00:00Z", false],
    ]);
  });

  it("a lone end_time keeps the start; a second PATCH merges into the first", async () => {
    const user = await registerUser("x_merge");
    const made = await create(user, WEEKLY);
    expect((await patchOccurrence(user, made.body.id, "2040-01-09T09:00:00Z", { title: "Long one" })).status).toBe(200);
    const res = await patchOccurrence(user, made.body.id, "2040-01-09T09:00:00Z", { end_time: "2040-01-09T11:30:00Z" });
    expect(res.body).toMatchObject({ start_time: "2040-01-09T09:00:00Z", end_time: "2040-01-09T11:30:00Z", title: "Long one" });
  });

  it("restores a cancelled occurrence when it is patched", async () => {
    const user = await registerUser("x_restore");
    const made = await create(user, WEEKLY);
    expect((await cancel(user, made.body.id, "2040-01-09T09:00:00Z")).status).toBe(204);
    const res = await patchOccurrence(user, made.body.id, "2040-01-09T09:00:00Z", { title: "Back" });
    expect(res.body).toMatchObject({ cancelled: false, title: "Back", start_time: "2040-01-09T09:00:00Z" });
    expect((await occurrences(user, made.body.id)).find((o) => o.original_start === "2040-01-09T09:00:00Z")).toMatchObject({ title: "Back", is_exception: true });
  });

  it("moves the 09:00 Europe/Berlin occurrence after the March change to the right instant", async () => {
    const user = await registerUser("x_dst");
    const made = await create(user, { title: "Berlin weekly", start_time: "2031-03-17T09:00:00", end_time: "2031-03-17T10:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=4" });
    // CET (+01:00) until 2031-03-30, CEST (+02:00) after: the 31 March occurrence is 07:00Z.
    const res = await patchOccurrence(user, made.body.id, "2031-03-31T09:00:00", { start_time: "2031-04-01T09:00:00" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ original_start: "2031-03-31T07:00:00Z", start_time: "2031-04-01T07:00:00Z", end_time: "2031-04-01T08:00:00Z" });
    const items = await occurrences(user, made.body.id, "start=2031-03-01T00:00:00Z&end=2031-05-01T00:00:00Z");
    expect(items.map((o) => [o.original_start, o.start_time])).toEqual([
      ["2031-03-17T08:00:00Z", "2031-03-17T08:00:00Z"],
      ["2031-03-24T08:00:00Z", "2031-03-24T08:00:00Z"],
      ["2031-03-31T07:00:00Z", "2031-04-01T07:00:00Z"],
      ["2031-04-07T07:00:00Z", "2031-04-07T07:00:00Z"],
    ]);
  });

  it("refuses 409 a move onto another event of the owner, listing it, and changes nothing", async () => {
    const user = await registerUser("x_collide");
    const made = await create(user, WEEKLY);
    const dentist = await create(user, { title: "Dentist", start_time: "2040-01-17T09:30:00Z", end_time: "2040-01-17T10:30:00Z" });
    const res = await patchOccurrence(user, made.body.id, "2040-01-16T09:00:00Z", { start_time: "2040-01-17T09:00:00Z" });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts).toEqual([{ id: dentist.body.id, title: "Dentist", start_time: "2040-01-17T09:30:00Z", end_time: "2040-01-17T10:30:00Z" }]);
    expect(await exceptionsOf(user, made.body.id)).toEqual([]);
  });

  it("checks only the moved occurrence's new slot, and a move within the series' own slot never conflicts", async () => {
    const user = await registerUser("x_ownslot");
    const made = await create(user, WEEKLY);
    const res = await patchOccurrence(user, made.body.id, "2040-01-16T09:00:00Z", { start_time: "2040-01-16T09:30:00Z" });
    expect(res.status).toBe(200);
    // The original slot is free now: a one-off at 09:00-09:30 fits, one at 09:30 does not.
    expect((await create(user, { title: "Early", start_time: "2040-01-16T09:00:00Z", end_time: "2040-01-16T09:30:00Z" })).status).toBe(201);
    expectProblem(await create(user, { title: "Late", start_time: "2040-01-16T10:00:00Z", end_time: "2040-01-16T10:15:00Z" }), 409, "conflict");
  });

  it("answers 412 with the current event for a stale If-Match on PATCH and DELETE, and succeeds with the current one", async () => {
    const series = await sharedSeries();
    const stale = await etagOf(series.owner, series.id);
    expect((await cancel(series.owner, series.id, "2040-01-09T09:00:00Z", { "If-Match": stale })).status).toBe(204);
    const patched = await patchOccurrence(editor, series.id, "2040-01-16T09:00:00Z", { title: "Late" }, { "If-Match": stale });
    expectProblem(patched, 412, "precondition_failed");
    expect(patched.body.current).toMatchObject({ id: series.id, version: 2, exceptions: [{ original_start: "2040-01-09T09:00:00Z", cancelled: true }] });
    expectProblem(await cancel(editor, series.id, "2040-01-16T09:00:00Z", { "If-Match": stale }), 412, "precondition_failed");
    expect(await exceptionsOf(series.owner, series.id)).toHaveLength(1);
    const fresh = await etagOf(editor, series.id);
    expect((await patchOccurrence(editor, series.id, "2040-01-16T09:00:00Z", { title: "Late" }, { "If-Match": fresh })).status).toBe(200);
  });

  it("answers 404 for a start that is not an occurrence, one that is no date, a one-off event and a stranger", async () => {
    const series = await sharedSeries();
    for (const start of ["2040-01-16T09:30:00Z", "2040-01-17T09:00:00Z", "2039-12-26T09:00:00Z", "2040-03-12T09:00:00Z", "yesterday", "2040-13-01T09:00:00Z"]) {
      expectProblem(await patchOccurrence(series.owner, series.id, start, { title: "Nope" }), 404, "not_found");
      expectProblem(await cancel(series.owner, series.id, start), 404, "not_found");
    }
    const oneOff = await create(series.owner, { title: "Once", start_time: "2041-01-02T09:00:00Z", end_time: "2041-01-02T10:00:00Z" });
    expectProblem(await patchOccurrence(series.owner, oneOff.body.id, "2041-01-02T09:00:00Z", { title: "Nope" }), 404, "not_found");
    expectProblem(await cancel(series.owner, oneOff.body.id, "2041-01-02T09:00:00Z"), 404, "not_found");
    expectProblem(await patchOccurrence(stranger, series.id, "2040-01-16T09:00:00Z", { title: "Nope" }), 404, "not_found");
    expectProblem(await cancel(stranger, series.id, "2040-01-16T09:00:00Z"), 404, "not_found");
    expect(await exceptionsOf(series.owner, series.id)).toEqual([]);
  });

  it("forbids a viewer (403) to change or cancel an occurrence, changing nothing", async () => {
    const series = await sharedSeries();
    expectProblem(await patchOccurrence(viewer, series.id, "2040-01-16T09:00:00Z", { title: "Mine" }), 403, "forbidden");
    expectProblem(await cancel(viewer, series.id, "2040-01-16T09:00:00Z"), 403, "forbidden");
    expectProblem(await patchOccurrence(viewer, series.id, "2040-01-16T09:00:00Z", { title: "Mine" }, undefined), 403, "forbidden");
    expect((await changelog(series.owner, series.id)).map((e: { version: number }) => e.version)).toEqual([1]);
  });

  it("refuses 422 a move out of the series' span, onto another occurrence's start, an end before the start and series-only fields", async () => {
    const user = await registerUser("x_placement");
    const made = await create(user, WEEKLY);
    const id = made.body.id;
    const refuse = async (body: Record<string, unknown>, field: string) => {
      const res = await patchOccurrence(user, id, "2040-01-16T09:00:00Z", body);
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    };
    await refuse({ start_time: "2040-01-01T09:00:00Z" }, "start_time");
    await refuse({ start_time: "2040-03-05T09:30:00Z" }, "start_time");
    await refuse({ start_time: "2040-01-23T09:00:00Z" }, "start_time");
    await refuse({ start_time: "2040-01-16T09:00:00Z", end_time: "2040-01-16T08:00:00Z" }, "end_time");
    await refuse({ start_time: "not a time" }, "start_time");
    await refuse({ title: null }, "title");
    await refuse({ recurrence_pattern: "daily" }, "recurrence_pattern");
    await refuse({ title: "" }, "title");
    expect(await exceptionsOf(user, id)).toEqual([]);
  });

  it(`holds at most ${MAX_EXCEPTIONS_BYTES} bytes of exceptions: a second 10,000-character description is a 422 naming exceptions`, async () => {
    const user = await registerUser("x_bytes");
    const made = await create(user, WEEKLY);
    const long = "x".repeat(10_000);
    expect((await patchOccurrence(user, made.body.id, "2040-01-09T09:00:00Z", { description: long })).status).toBe(200);
    const res = await patchOccurrence(user, made.body.id, "2040-01-16T09:00:00Z", { description: long });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors[0].field).toBe("exceptions");
    expect(await exceptionsOf(user, made.body.id)).toHaveLength(1);
  });

  it(`holds at most ${MAX_EXCEPTIONS} exceptions per series: the next one is a 422 naming exceptions`, async () => {
    const user = await registerUser("x_count");
    const made = await create(user, { title: "Daily", start_time: "2042-01-01T09:00:00Z", end_time: "2042-01-01T09:15:00Z", is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=200" });
    for (let day = 0; day < MAX_EXCEPTIONS; day++) {
      const start = new Date(Date.UTC(2042, 0, 1 + day, 9)).toISOString().replace(".000Z", "Z");
      expect((await cancel(user, made.body.id, start)).status).toBe(204);
    }
    const res = await cancel(user, made.body.id, "2042-06-01T09:00:00Z");
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors[0].field).toBe("exceptions");
    expect(await exceptionsOf(user, made.body.id)).toHaveLength(MAX_EXCEPTIONS);
  });
});
