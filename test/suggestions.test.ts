import { describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";

const slot = (start: string, end: string) => ({ start_time: start, end_time: end });
const create = async (user: TestUser, body: Record<string, unknown>) => {
  const res = await json("POST", "/api/events", { token: user.token, body: { title: "Busy", ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number };
};
const weekly = (start: string, end: string, extra = "") => ({ start_time: start, end_time: end, is_recurring: true, recurrence_pattern: `FREQ=WEEKLY;BYDAY=MO${extra}` });

describe("suggestions in a 409", () => {
  it("offers the nearest gap first on a calendar of one-offs, then equally near slots earlier first, none overlapping another", async () => {
    const owner = await registerUser("sg_oneoff");
    await create(owner, slot("2053-03-03T07:00:00Z", "2053-03-03T10:30:00Z"));
    await create(owner, slot("2053-03-03T11:30:00Z", "2053-03-03T14:00:00Z"));
    const res = await json("POST", "/api/events", { token: owner.token, body: { title: "Clash", ...slot("2053-03-03T10:00:00Z", "2053-03-03T11:00:00Z") } });
    expectProblem(res, 409, "conflict");
    // The one-hour gap at 10:30 is 30 minutes away; 06:00 and 14:00 are both four hours away.
    expect(res.body.suggestions).toEqual([slot("2053-03-03T10:30:00Z", "2053-03-03T11:30:00Z"), slot("2053-03-03T06:00:00Z", "2053-03-03T07:00:00Z"), slot("2053-03-03T14:00:00Z", "2053-03-03T15:00:00Z")]);
    expect(res.body.conflicts).toHaveLength(1);
  });

  it("counts every occurrence of a weekly series: a one-off on its third Monday gets the gap between two series", async () => {
    const owner = await registerUser("sg_weekly");
    await create(owner, weekly("2053-03-03T08:00:00Z", "2053-03-03T12:00:00Z"));
    await create(owner, weekly("2053-03-03T13:00:00Z", "2053-03-03T17:00:00Z"));
    const res = await json("POST", "/api/events", { token: owner.token, body: { title: "Clash", ...slot("2053-03-17T10:00:00Z", "2053-03-17T11:00:00Z") } });
    expectProblem(res, 409, "conflict");
    expect(res.body.suggestions).toEqual([slot("2053-03-17T12:00:00Z", "2053-03-17T13:00:00Z"), slot("2053-03-17T07:00:00Z", "2053-03-17T08:00:00Z"), slot("2053-03-17T06:00:00Z", "2053-03-17T07:00:00Z")]);
  });

  it("shifts a conflicting series only where every occurrence is free, checked beyond the 14 days too", async () => {
    const owner = await registerUser("sg_series");
    await create(owner, weekly("2053-06-02T08:00:00Z", "2053-06-02T12:00:00Z"));
    await create(owner, weekly("2053-06-02T13:00:00Z", "2053-06-02T17:00:00Z"));
    // Six weeks on, the 12:00 gap is taken: a weekly series at 12:00 would clash there.
    await create(owner, slot("2053-07-14T12:00:00Z", "2053-07-14T12:30:00Z"));
    const res = await json("POST", "/api/events", { token: owner.token, body: { title: "Series clash", ...weekly("2053-06-02T10:00:00Z", "2053-06-02T11:00:00Z", ";COUNT=10") } });
    expectProblem(res, 409, "conflict");
    expect(res.body.suggestions).toEqual([slot("2053-06-02T07:00:00Z", "2053-06-02T08:00:00Z"), slot("2053-06-02T06:00:00Z", "2053-06-02T07:00:00Z"), slot("2053-06-02T05:00:00Z", "2053-06-02T06:00:00Z")]);
    // Each suggestion is accepted as it stands.
    const taken = await json("POST", "/api/events", { token: owner.token, body: { title: "Moved series", ...weekly(res.body.suggestions[0].start_time, res.body.suggestions[0].end_time, ";COUNT=10") } });
    expect(taken.status).toBe(201);
  });

  it("on a move, treats the moved event's own slot as free", async () => {
    const owner = await registerUser("sg_move");
    await create(owner, slot("2053-09-01T09:00:00Z", "2053-09-01T12:00:00Z"));
    const moving = await create(owner, slot("2053-09-01T12:00:00Z", "2053-09-01T13:00:00Z"));
    const res = await json("PATCH", `/api/events/${moving.id}`, { token: owner.token, body: slot("2053-09-01T10:00:00Z", "2053-09-01T11:00:00Z") });
    expectProblem(res, 409, "conflict");
    expect(res.body.suggestions).toEqual([slot("2053-09-01T08:00:00Z", "2053-09-01T09:00:00Z"), slot("2053-09-01T12:00:00Z", "2053-09-01T13:00:00Z"), slot("2053-09-01T07:00:00Z", "2053-09-01T08:00:00Z")]);
  });

  it("in a batch, counts the other items as busy and suggests for the first conflicting item", async () => {
    const owner = await registerUser("sg_batch");
    await create(owner, slot("2053-09-08T09:00:00Z", "2053-09-08T10:00:00Z"));
    const res = await json("POST", "/api/events/batch", {
      token: owner.token,
      body: { events: [{ title: "First", ...slot("2053-09-08T10:00:00Z", "2053-09-08T11:00:00Z") }, { title: "Second", ...slot("2053-09-08T09:30:00Z", "2053-09-08T10:30:00Z") }] },
    });
    expectProblem(res, 409, "conflict");
    // For item 1 (09:30): 09:00-10:00 is taken by the calendar and 10:00-11:00 by item 0; 08:00 and
    // 11:00 are equally near, then 07:00 and 12:00.
    expect(res.body.suggestions).toEqual([slot("2053-09-08T08:00:00Z", "2053-09-08T09:00:00Z"), slot("2053-09-08T11:00:00Z", "2053-09-08T12:00:00Z"), slot("2053-09-08T07:00:00Z", "2053-09-08T08:00:00Z")]);
  });

  it("on a moved occurrence, suggests slots for that occurrence as the conflict check sees them", async () => {
    const owner = await registerUser("sg_occurrence");
    const series = await create(owner, { ...slot("2053-10-06T09:00:00Z", "2053-10-06T10:00:00Z"), is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=5" });
    await create(owner, slot("2053-10-07T11:00:00Z", "2053-10-07T12:00:00Z"));
    const res = await json("PATCH", `/api/events/${series.id}/occurrences/2053-10-07T09:00:00Z`, { token: owner.token, body: slot("2053-10-07T11:30:00Z", "2053-10-07T12:30:00Z") });
    expectProblem(res, 409, "conflict");
    // 12:00 is 30 minutes away; 10:00 and 13:00 are 90 minutes away, the earlier first. The series'
    // own occurrences do not block it, as they do not in the conflict check of a moved occurrence.
    expect(res.body.suggestions).toEqual([slot("2053-10-07T12:00:00Z", "2053-10-07T13:00:00Z"), slot("2053-10-07T10:00:00Z", "2053-10-07T11:00:00Z"), slot("2053-10-07T13:00:00Z", "2053-10-07T14:00:00Z")]);
    const moved = await json("PATCH", `/api/events/${series.id}/occurrences/2053-10-07T09:00:00Z`, { token: owner.token, body: res.body.suggestions[0] });
    expect(moved.status).toBe(200);
  });

  it("on a rollback into a taken slot, suggests too", async () => {
    const owner = await registerUser("sg_rollback");
    const event = await create(owner, slot("2053-09-15T09:00:00Z", "2053-09-15T10:00:00Z"));
    expect((await json("PATCH", `/api/events/${event.id}`, { token: owner.token, body: slot("2053-09-15T14:00:00Z", "2053-09-15T15:00:00Z") })).status).toBe(200);
    await create(owner, slot("2053-09-15T08:30:00Z", "2053-09-15T09:30:00Z"));
    const res = await json("POST", `/api/events/${event.id}/rollback/1`, { token: owner.token });
    expectProblem(res, 409, "conflict");
    expect(res.body.suggestions).toEqual([slot("2053-09-15T09:30:00Z", "2053-09-15T10:30:00Z"), slot("2053-09-15T07:30:00Z", "2053-09-15T08:30:00Z"), slot("2053-09-15T10:30:00Z", "2053-09-15T11:30:00Z")]);
  });
});
