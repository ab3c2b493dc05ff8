import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";

let user: TestUser;
const create = (u: TestUser, body: Record<string, unknown>) => json("POST", "/api/events", { token: u.token, body });

beforeAll(async () => {
  user = await registerUser("recur");
});

describe("recurring events", () => {
  it("echoes the pattern as given and accepts the plain words", async () => {
    const owner = await registerUser("words");
    const rule = await create(owner, { title: "Standup", start_time: "2031-03-03T09:00:00", end_time: "2031-03-03T09:15:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10" });
    expect(rule.status).toBe(201);
    expect(rule.body.recurrence_pattern).toBe("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10");
    const word = await create(owner, { title: "Monthly", start_time: "2031-03-05T12:00:00Z", end_time: "2031-03-05T13:00:00Z", is_recurring: true, recurrence_pattern: "monthly" });
    expect(word.status).toBe(201);
    expect(word.body.recurrence_pattern).toBe("monthly");
  });

  it.each([
    ["FREQ=HOURLY", "FREQ"],
    ["FREQ=DAILY;BYSETPOS=1", "BYSETPOS"],
    ["FREQ=DAILY;COUNT=3;UNTIL=20310101", "UNTIL"],
    ["FREQ=WEEKLY;BYDAY=1MO", "BYDAY"],
    ["FREQ=DAILY;INTERVAL=0", "INTERVAL"],
  ])("rejects %s with a 422 naming %s", async (pattern, part) => {
    const res = await create(user, { title: "Bad rule", start_time: "2031-03-03T09:00:00Z", end_time: "2031-03-03T10:00:00Z", is_recurring: true, recurrence_pattern: pattern });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors[0].field).toBe("recurrence_pattern");
    expect(res.body.errors[0].message).toContain(part);
  });

  it("keeps a 09:00 Europe/Berlin meeting at 09:00 local across the DST change", async () => {
    const owner = await registerUser("dst");
    const made = await create(owner, { title: "Berlin weekly", start_time: "2031-03-17T09:00:00", end_time: "2031-03-17T10:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=3" });
    const res = await json("GET", `/api/events/${made.body.id}/occurrences?start=2031-03-01T00:00:00Z&end=2031-04-30T00:00:00Z`, { token: owner.token });
    expect(res.status).toBe(200);
    // CET (+01:00) until 2031-03-30, CEST (+02:00) after.
    expect(res.body.items).toEqual([
      { start_time: "2031-03-17T08:00:00Z", end_time: "2031-03-17T09:00:00Z", original_start: "2031-03-17T08:00:00Z" },
      { start_time: "2031-03-24T08:00:00Z", end_time: "2031-03-24T09:00:00Z", original_start: "2031-03-24T08:00:00Z" },
      { start_time: "2031-03-31T07:00:00Z", end_time: "2031-03-31T08:00:00Z", original_start: "2031-03-31T07:00:00Z" },
    ]);
  });
});

describe("recurrence-aware conflicts", () => {
  it("rejects a one-off that hits the third occurrence of a weekly series", async () => {
    const owner = await registerUser("third");
    const series = await create(owner, { title: "Weekly", start_time: "2031-05-05T10:00:00Z", end_time: "2031-05-05T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO" });
    const res = await create(owner, { title: "One-off", start_time: "2031-05-19T10:30:00Z", end_time: "2031-05-19T10:45:00Z" });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts).toEqual([{ id: series.body.id, title: "Weekly", start_time: "2031-05-19T10:00:00Z", end_time: "2031-05-19T11:00:00Z" }]);
    expect((await create(owner, { title: "Tuesday", start_time: "2031-05-20T10:30:00Z", end_time: "2031-05-20T10:45:00Z" })).status).toBe(201);
  });

  it("rejects a series that would run into an existing one-off", async () => {
    const owner = await registerUser("intoone");
    await create(owner, { title: "Dentist", start_time: "2032-02-16T10:00:00Z", end_time: "2032-02-16T11:00:00Z" });
    const res = await create(owner, { title: "Gym", start_time: "2031-06-02T10:00:00Z", end_time: "2031-06-02T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO" });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts[0].title).toBe("Dentist");
  });

  it("rejects two endless weekly series on the same weekday and time", async () => {
    const owner = await registerUser("twoseries");
    await create(owner, { title: "A", start_time: "2031-06-02T10:00:00Z", end_time: "2031-06-02T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY" });
    const res = await create(owner, { title: "B", start_time: "2031-09-01T10:00:00Z", end_time: "2031-09-01T11:00:00Z", is_recurring: true, recurrence_pattern: "weekly" });
    expectProblem(res, 409, "conflict");
  });

  it("allows the same series on different weekdays, and back-to-back occurrences", async () => {
    const owner = await registerUser("diffdays");
    expect((await create(owner, { title: "Mon", start_time: "2031-06-02T10:00:00Z", end_time: "2031-06-02T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY" })).status).toBe(201);
    expect((await create(owner, { title: "Tue", start_time: "2031-06-03T10:00:00Z", end_time: "2031-06-03T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY" })).status).toBe(201);
    expect((await create(owner, { title: "Mon after", start_time: "2031-06-09T11:00:00Z", end_time: "2031-06-09T12:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY" })).status).toBe(201);
  });

  it("checks a change of rule like a move", async () => {
    const owner = await registerUser("rulechange");
    await create(owner, { title: "Fixed", start_time: "2031-07-08T10:00:00Z", end_time: "2031-07-08T11:00:00Z" });
    const daily = await create(owner, { title: "Daily", start_time: "2031-07-01T10:00:00Z", end_time: "2031-07-01T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=3" });
    expect(daily.status).toBe(201);
    expectProblem(await json("PATCH", `/api/events/${daily.body.id}`, { token: owner.token, body: { recurrence_pattern: "FREQ=DAILY;COUNT=10" } }), 409, "conflict");
    const cleared = await json("PATCH", `/api/events/${daily.body.id}`, { token: owner.token, body: { is_recurring: false } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.recurrence_pattern).toBeNull();
  });
});

describe("occurrences and agenda", () => {
  it("lists a series in GET /api/events when any occurrence meets the window", async () => {
    const owner = await registerUser("listwin");
    const series = await create(owner, { title: "Monthly", start_time: "2031-01-15T10:00:00Z", end_time: "2031-01-15T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=MONTHLY;COUNT=12" });
    const hit = await json("GET", "/api/events?start=2031-06-15T09:00:00Z&end=2031-06-15T12:00:00Z", { token: owner.token });
    expect(hit.body.items.map((e: { id: number }) => e.id)).toEqual([series.body.id]);
    const miss = await json("GET", "/api/events?start=2031-06-16T00:00:00Z&end=2031-06-20T00:00:00Z", { token: owner.token });
    expect(miss.body.items).toEqual([]);
  });

  it("rejects missing, reversed and too-wide windows with 422", async () => {
    const made = await create(user, { title: "W", start_time: "2035-01-01T10:00:00Z", end_time: "2035-01-01T11:00:00Z" });
    for (const q of ["", "start=2035-01-01T00:00:00Z", "start=2035-02-01T00:00:00Z&end=2035-01-01T00:00:00Z", "start=2035-01-01T00:00:00Z&end=2036-01-03T00:00:00Z", "start=x&end=y"]) {
      expectProblem(await json("GET", `/api/events/${made.body.id}/occurrences?${q}`, { token: user.token }), 422, "validation_failed");
      expectProblem(await json("GET", `/api/agenda?${q}`, { token: user.token }), 422, "validation_failed");
    }
    expect((await json("GET", `/api/events/${made.body.id}/occurrences?start=2035-01-01T00:00:00Z&end=2036-01-02T00:00:00Z`, { token: user.token })).status).toBe(200);
  });

  it("hides another user's event's occurrences (404)", async () => {
    const other = await registerUser("hidden");
    const made = await create(other, { title: "Secret", start_time: "2035-01-01T10:00:00Z", end_time: "2035-01-01T11:00:00Z" });
    expectProblem(await json("GET", `/api/events/${made.body.id}/occurrences?start=2035-01-01T00:00:00Z&end=2035-01-02T00:00:00Z`, { token: user.token }), 404, "not_found");
  });

  it("merges every visible event's occurrences by start, with roles, paged by cursor", async () => {
    const owner = await registerUser("agenda");
    const friend = await registerUser("agendafriend");
    const daily = await create(owner, { title: "Daily", start_time: "2031-08-01T08:00:00Z", end_time: "2031-08-01T08:30:00Z", is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=5" });
    const shared = await create(friend, { title: "Shared", start_time: "2031-08-03T12:00:00Z", end_time: "2031-08-03T13:00:00Z" });
    await json("POST", `/api/events/${shared.body.id}/share`, { token: friend.token, body: { user_id: owner.id, role: "viewer" } });
    const all: { event_id: number; start_time: string; my_role: string }[] = [];
    let cursor: string | null = null;
    do {
      const res = await json("GET", `/api/agenda?start=2031-08-01T00:00:00Z&end=2031-09-01T00:00:00Z&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: owner.token });
      expect(res.status).toBe(200);
      all.push(...res.body.items);
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(all.map((o) => o.start_time)).toEqual(["2031-08-01T08:00:00Z", "2031-08-02T08:00:00Z", "2031-08-03T08:00:00Z", "2031-08-03T12:00:00Z", "2031-08-04T08:00:00Z", "2031-08-05T08:00:00Z"]);
    expect(all[3]).toEqual({ event_id: shared.body.id, title: "Shared", start_time: "2031-08-03T12:00:00Z", end_time: "2031-08-03T13:00:00Z", original_start: "2031-08-03T12:00:00Z", my_role: "viewer" });
    expect(all.filter((o) => o.event_id === daily.body.id).every((o) => o.my_role === "owner")).toBe(true);
  });
});
