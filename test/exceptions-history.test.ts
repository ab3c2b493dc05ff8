import { describe, expect, it } from "vitest";
import { call, expectProblem, json, registerUser, type TestUser } from "./helpers";

/** Ten Mondays, 09:00-10:00 UTC, from 2040-01-02. */
const WEEKLY = { title: "Standup", start_time: "2040-01-02T09:00:00Z", end_time: "2040-01-02T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=10" };
const CANCELLED = { original_start: "2040-01-16T09:00:00Z", cancelled: true };
const MOVED = { original_start: "2040-01-23T09:00:00Z", cancelled: false, start_time: "2040-01-25T14:00:00Z", end_time: "2040-01-25T15:00:00Z" };

const occurrenceStarts = async (user: TestUser, id: number, start = "2040-01-01T00:00:00Z", end = "2040-02-01T00:00:00Z") =>
  ((await json("GET", `/api/events/${id}/occurrences?start=${start}&end=${end}`, { token: user.token })).body.items as { start_time: string }[]).map((o) => o.start_time);

/** Versions are stamped with Date.now(); a short pause keeps consecutive versions apart in time. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

/**
 * A series with one cancelled (16 Jan) and one moved (23 Jan to 25 Jan 14:00) occurrence: versions
 * 1, 2, 3, each stamped at a later millisecond than the one before (`?at=` names an instant, and
 * two versions of one millisecond would make version 3 the one in force at version 2's stamp).
 */
async function seriesWithTwoExceptions() {
  const user = await registerUser("h_owner");
  const made = await json("POST", "/api/events", { token: user.token, body: WEEKLY });
  expect(made.status).toBe(201);
  const id = made.body.id as number;
  await pause();
  expect((await json("DELETE", `/api/events/${id}/occurrences/${CANCELLED.original_start}`, { token: user.token })).status).toBe(204);
  await pause();
  expect((await json("PATCH", `/api/events/${id}/occurrences/${MOVED.original_start}`, { token: user.token, body: { start_time: MOVED.start_time } })).status).toBe(200);
  return { user, id };
}

describe("every reader of occurrences agrees on a series with one cancelled and one moved occurrence", () => {
  it("occurrences, the agenda, the list's window filter and the conflict check all skip the cancelled one and see the moved one only at its new time", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const expected = ["2040-01-02T09:00:00Z", "2040-01-09T09:00:00Z", "2040-01-25T14:00:00Z", "2040-01-30T09:00:00Z"];
    // Occurrences.
    expect(await occurrenceStarts(user, id)).toEqual(expected);
    // Agenda, paged one item at a time.
    const agenda: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { event_id: number; start_time: string }[]; next_cursor: string | null } } = await json(
        "GET",
        `/api/agenda?start=2040-01-01T00:00:00Z&end=2040-02-01T00:00:00Z&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        { token: user.token },
      );
      expect(page.status).toBe(200);
      agenda.push(...page.body.items.filter((i) => i.event_id === id).map((i) => i.start_time));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(agenda).toEqual(expected);
    // The list's window filter: a day holding only the cancelled or the moved-away occurrence
    // does not list the series; the moved occurrence's new day and an ordinary one do.
    const listed = async (start: string, end: string) => ((await json("GET", `/api/events?start=${start}&end=${end}`, { token: user.token })).body.items as { id: number }[]).some((e) => e.id === id);
    expect(await listed("2040-01-16T00:00:00Z", "2040-01-17T00:00:00Z")).toBe(false);
    expect(await listed("2040-01-23T00:00:00Z", "2040-01-24T00:00:00Z")).toBe(false);
    expect(await listed("2040-01-25T00:00:00Z", "2040-01-26T00:00:00Z")).toBe(true);
    expect(await listed("2040-01-09T00:00:00Z", "2040-01-10T00:00:00Z")).toBe(true);
    // Conflict checks: the cancelled slot and the moved-away slot are free; the new slot is taken.
    const create = (title: string, start_time: string, end_time: string) => json("POST", "/api/events", { token: user.token, body: { title, start_time, end_time } });
    expect((await create("In the cancelled slot", "2040-01-16T09:00:00Z", "2040-01-16T10:00:00Z")).status).toBe(201);
    expect((await create("In the moved-away slot", "2040-01-23T09:00:00Z", "2040-01-23T10:00:00Z")).status).toBe(201);
    const clash = await create("On the moved occurrence", "2040-01-25T14:30:00Z", "2040-01-25T15:30:00Z");
    expectProblem(clash, 409, "conflict");
    expect(clash.body.conflicts).toEqual([{ id, title: "Standup", start_time: "2040-01-25T14:00:00Z", end_time: "2040-01-25T15:00:00Z" }]);
    expectProblem(await create("On an ordinary one", "2040-01-30T09:30:00Z", "2040-01-30T10:30:00Z"), 409, "conflict");
  });

  it("a second series is checked against the first one's exceptions too", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const other = await json("POST", "/api/events", { token: user.token, body: { ...WEEKLY, title: "Only on the 16th", recurrence_pattern: "FREQ=WEEKLY;COUNT=1;BYDAY=MO", start_time: "2040-01-16T09:00:00Z", end_time: "2040-01-16T10:00:00Z" } });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const clash = await json("POST", "/api/events", { token: user.token, body: { ...WEEKLY, title: "Wednesdays", recurrence_pattern: "FREQ=WEEKLY;COUNT=4;BYDAY=WE", start_time: "2040-01-04T14:30:00Z", end_time: "2040-01-04T15:00:00Z" } });
    expectProblem(clash, 409, "conflict");
    expect(clash.body.conflicts).toEqual([{ id, title: "Standup", start_time: "2040-01-25T14:00:00Z", end_time: "2040-01-25T15:00:00Z" }]);
  });
});

describe("exceptions in the history", () => {
  it("changelog and diff show each exception change; history and ?at= give the exceptions as of then", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const log = (await json("GET", `/api/events/${id}/changelog`, { token: user.token })).body.items;
    expect(log.map((e: { version: number; action: string; changes: unknown }) => [e.version, e.action, e.changes])).toEqual([
      [1, "created", expect.any(Object)],
      [2, "updated", { exceptions: { from: [], to: [CANCELLED] } }],
      [3, "updated", { exceptions: { from: [CANCELLED], to: [CANCELLED, MOVED] } }],
    ]);
    expect((await json("GET", `/api/events/${id}/diff/1/3`, { token: user.token })).body.changes).toEqual({ exceptions: { from: [], to: [CANCELLED, MOVED] } });
    expect((await json("GET", `/api/events/${id}/diff/3/2`, { token: user.token })).body.changes).toEqual({ exceptions: { from: [CANCELLED, MOVED], to: [CANCELLED] } });
    expect((await json("GET", `/api/events/${id}/history/2`, { token: user.token })).body).toMatchObject({ version: 2, exceptions: [CANCELLED] });
    expect((await json("GET", `/api/events/${id}/history/1`, { token: user.token })).body).toMatchObject({ version: 1, exceptions: [] });
    const at = await json("GET", `/api/events/${id}?at=${encodeURIComponent(log[1].changed_at)}`, { token: user.token });
    expect(at.body).toMatchObject({ version: 2, exceptions: [CANCELLED] });
    expect((await json("GET", `/api/events/${id}`, { token: user.token })).body).toMatchObject({ version: 3, exceptions: [CANCELLED, MOVED] });
    const page = await call("GET", `/api/events/${id}/diff/1/3`, { token: user.token, accept: "text/html" });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("2040-01-25T14:00:00Z");
  });

  it("rolling back to before the cancellation brings the occurrence back, and forward again restores both exceptions", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const back = await json("POST", `/api/events/${id}/rollback/1`, { token: user.token });
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body).toMatchObject({ version: 4 });
    expect(await occurrenceStarts(user, id)).toEqual(["2040-01-02T09:00:00Z", "2040-01-09T09:00:00Z", "2040-01-16T09:00:00Z", "2040-01-23T09:00:00Z", "2040-01-30T09:00:00Z"]);
    const entry = (await json("GET", `/api/events/${id}/changelog`, { token: user.token })).body.items.at(-1);
    expect(entry).toMatchObject({ version: 4, action: "rolled_back", restored_from: 1, changes: { exceptions: { from: [CANCELLED, MOVED], to: [] } } });
    expect((await json("POST", `/api/events/${id}/rollback/3`, { token: user.token })).status).toBe(200);
    expect(await occurrenceStarts(user, id)).toEqual(["2040-01-02T09:00:00Z", "2040-01-09T09:00:00Z", "2040-01-25T14:00:00Z", "2040-01-30T09:00:00Z"]);
  });

  it("a rollback that brings back an occurrence whose slot was taken meanwhile is a 409", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const dentist = await json("POST", "/api/events", { token: user.token, body: { title: "Dentist", start_time: "2040-01-16T09:00:00Z", end_time: "2040-01-16T09:30:00Z" } });
    expect(dentist.status).toBe(201);
    const res = await json("POST", `/api/events/${id}/rollback/1`, { token: user.token });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts).toEqual([{ id: dentist.body.id, title: "Dentist", start_time: "2040-01-16T09:00:00Z", end_time: "2040-01-16T09:30:00Z" }]);
  });
});

describe("rule and time changes keep the exceptions that still match", () => {
  it("a shorter rule keeps the exceptions still inside it and names the dropped ones in the response and the changelog", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const res = await json("PATCH", `/api/events/${id}`, { token: user.token, body: { recurrence_pattern: "FREQ=WEEKLY;COUNT=3" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.dropped_exceptions).toEqual([MOVED.original_start]);
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: user.token })).body.items).toEqual([CANCELLED]);
    const entry = (await json("GET", `/api/events/${id}/changelog`, { token: user.token })).body.items.at(-1);
    expect(entry.changes.exceptions).toEqual({ from: [CANCELLED, MOVED], to: [CANCELLED], dropped: [MOVED.original_start] });
    expect(await occurrenceStarts(user, id)).toEqual(["2040-01-02T09:00:00Z", "2040-01-09T09:00:00Z"]);
  });

  it("new times drop every exception, and a title change keeps them all without a dropped_exceptions member", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const renamed = await json("PATCH", `/api/events/${id}`, { token: user.token, body: { title: "Daily standup" } });
    expect(renamed.body.dropped_exceptions).toBeUndefined();
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: user.token })).body.items).toEqual([CANCELLED, MOVED]);
    const moved = await json("PUT", `/api/events/${id}`, { token: user.token, body: { start_time: "2040-01-02T10:00:00Z", end_time: "2040-01-02T11:00:00Z" } });
    expect(moved.body.dropped_exceptions).toEqual([CANCELLED.original_start, MOVED.original_start]);
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: user.token })).body.items).toEqual([]);
    // Rolling back to the version before restores the rule and its exceptions.
    expect((await json("POST", `/api/events/${id}/rollback/4`, { token: user.token })).status).toBe(200);
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: user.token })).body.items).toEqual([CANCELLED, MOVED]);
  });

  it("turning the series into a one-off drops all its exceptions", async () => {
    const { user, id } = await seriesWithTwoExceptions();
    const res = await json("PATCH", `/api/events/${id}`, { token: user.token, body: { is_recurring: false } });
    expect(res.body.dropped_exceptions).toEqual([CANCELLED.original_start, MOVED.original_start]);
  });
});
