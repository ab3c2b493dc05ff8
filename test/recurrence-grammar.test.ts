import { describe, expect, it } from "vitest";
import { CONFLICT_BUDGET, expansionWork, RULE_BUDGET } from "../src/recurrence";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";

const create = (u: TestUser, body: Record<string, unknown>) => json("POST", "/api/events", { token: u.token, body });
const series = (title: string, start: string, end: string, pattern: string, timezone = "UTC") => ({ title, start_time: start, end_time: end, timezone, is_recurring: true, recurrence_pattern: pattern });
const LAST_WEEKDAY = "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1";
/** 1..100: a long list that still fits the pattern's 500 characters. */
const HUNDRED = Array.from({ length: 100 }, (_, i) => i + 1).join(",");

describe("BYSETPOS, BYWEEKNO and BYYEARDAY through the API", () => {
  it("expands the last weekday of each month in Berlin, DST included, in occurrences and the agenda", async () => {
    const owner = await registerUser("lastweekday");
    const made = await create(owner, series("Month close", "2031-01-31T17:00:00", "2031-01-31T17:30:00", LAST_WEEKDAY, "Europe/Berlin"));
    expect(made.status).toBe(201);
    expect(made.body.recurrence_pattern).toBe(LAST_WEEKDAY);
    const oneOff = await create(owner, { title: "Dentist", start_time: "2031-03-14T10:00:00Z", end_time: "2031-03-14T11:00:00Z" });
    expect(oneOff.status).toBe(201);

    const occurrences = await json("GET", `/api/events/${made.body.id}/occurrences?start=2031-01-01T00:00:00Z&end=2031-07-01T00:00:00Z`, { token: owner.token });
    expect(occurrences.status).toBe(200);
    // Fri 31 Jan, Fri 28 Feb, Mon 31 Mar (CEST from 30 March), Wed 30 Apr, Fri 30 May (31st is a Saturday), Mon 30 Jun.
    expect(occurrences.body.items).toEqual([
      { start_time: "2031-01-31T16:00:00Z", end_time: "2031-01-31T16:30:00Z", original_start: "2031-01-31T16:00:00Z" },
      { start_time: "2031-02-28T16:00:00Z", end_time: "2031-02-28T16:30:00Z", original_start: "2031-02-28T16:00:00Z" },
      { start_time: "2031-03-31T15:00:00Z", end_time: "2031-03-31T15:30:00Z", original_start: "2031-03-31T15:00:00Z" },
      { start_time: "2031-04-30T15:00:00Z", end_time: "2031-04-30T15:30:00Z", original_start: "2031-04-30T15:00:00Z" },
      { start_time: "2031-05-30T15:00:00Z", end_time: "2031-05-30T15:30:00Z", original_start: "2031-05-30T15:00:00Z" },
      { start_time: "2031-06-30T15:00:00Z", end_time: "2031-06-30T15:30:00Z", original_start: "2031-06-30T15:00:00Z" },
    ]);

    const agenda = await json("GET", "/api/agenda?start=2031-02-01T00:00:00Z&end=2031-04-15T00:00:00Z", { token: owner.token });
    expect(agenda.status).toBe(200);
    expect(agenda.body).toEqual({
      items: [
        { event_id: made.body.id, title: "Month close", start_time: "2031-02-28T16:00:00Z", end_time: "2031-02-28T16:30:00Z", original_start: "2031-02-28T16:00:00Z", my_role: "owner" },
        { event_id: oneOff.body.id, title: "Dentist", start_time: "2031-03-14T10:00:00Z", end_time: "2031-03-14T11:00:00Z", original_start: "2031-03-14T10:00:00Z", my_role: "owner" },
        { event_id: made.body.id, title: "Month close", start_time: "2031-03-31T15:00:00Z", end_time: "2031-03-31T15:30:00Z", original_start: "2031-03-31T15:00:00Z", my_role: "owner" },
      ],
      next_cursor: null,
    });
  });

  it("counts the new parts in conflict checks: a one-off on the last weekday conflicts, the day before does not", async () => {
    const owner = await registerUser("setposconflict");
    const made = await create(owner, series("Month close", "2031-01-31T17:00:00", "2031-01-31T17:30:00", LAST_WEEKDAY, "Europe/Berlin"));
    const hit = await create(owner, { title: "Clash", start_time: "2031-04-30T15:15:00Z", end_time: "2031-04-30T15:45:00Z" });
    expectProblem(hit, 409, "conflict");
    expect(hit.body.conflicts).toEqual([{ id: made.body.id, title: "Month close", start_time: "2031-04-30T15:00:00Z", end_time: "2031-04-30T15:30:00Z" }]);
    expect((await create(owner, { title: "Day before", start_time: "2031-04-29T15:15:00Z", end_time: "2031-04-29T15:45:00Z" })).status).toBe(201);
  });

  it("expands Monday of ISO week 1 (often in December) and day 366 (only in leap years)", async () => {
    const owner = await registerUser("weekno");
    const week = await create(owner, series("Kick-off", "2031-12-29T09:00:00Z", "2031-12-29T10:00:00Z", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO"));
    expect(week.status).toBe(201);
    const weeks = await json("GET", `/api/events/${week.body.id}/occurrences?start=2032-06-01T00:00:00Z&end=2033-06-01T00:00:00Z`, { token: owner.token });
    // Week 1 of 2033 starts on Monday 3 January 2033; week 1 of 2032 started on 29 December 2031.
    expect(weeks.body.items).toEqual([{ start_time: "2033-01-03T09:00:00Z", end_time: "2033-01-03T10:00:00Z", original_start: "2033-01-03T09:00:00Z" }]);

    const leap = await create(owner, series("Leap day 366", "2032-12-31T12:00:00Z", "2032-12-31T13:00:00Z", "FREQ=YEARLY;BYYEARDAY=366"));
    expect(leap.status).toBe(201);
    const leaps = await json("GET", `/api/events/${leap.body.id}/occurrences?start=2033-01-01T00:00:00Z&end=2034-01-01T00:00:00Z`, { token: owner.token });
    expect(leaps.body.items).toEqual([]);
    const next = await json("GET", `/api/events/${leap.body.id}/occurrences?start=2036-06-01T00:00:00Z&end=2037-06-01T00:00:00Z`, { token: owner.token });
    expect(next.body.items).toEqual([{ start_time: "2036-12-31T12:00:00Z", end_time: "2036-12-31T13:00:00Z", original_start: "2036-12-31T12:00:00Z" }]);
  });

  it.each([
    ["FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=0", "BYSETPOS", 'BYSETPOS items must be 1..366 or -366..-1, not "0".'],
    ["FREQ=YEARLY;BYWEEKNO=54;BYDAY=MO", "BYWEEKNO", 'BYWEEKNO items must be 1..53 or -53..-1, not "54".'],
    ["FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY", 'BYYEARDAY items must be 1..366 or -366..-1, not "367".'],
    ["FREQ=YEARLY;BYYEARDAY=-367", "BYYEARDAY", 'BYYEARDAY items must be 1..366 or -366..-1, not "-367".'],
    ["FREQ=MONTHLY;BYYEARDAY=100", "BYYEARDAY", "BYYEARDAY needs FREQ=YEARLY."],
    ["FREQ=WEEKLY;BYWEEKNO=1", "BYWEEKNO", "BYWEEKNO needs FREQ=YEARLY."],
    ["FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS", "BYSETPOS picks from the days other parts give; use it with BYDAY, BYMONTHDAY, BYMONTH, BYYEARDAY or BYWEEKNO."],
    ["FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO", "BYDAY", 'Numbered weekdays like "1MO" cannot be used with BYWEEKNO.'],
  ])("refuses %s with a 422 on recurrence_pattern naming %s, writing nothing", async (pattern, part, message) => {
    const owner = await registerUser("badpart");
    const res = await create(owner, series("Bad rule", "2031-03-03T09:00:00Z", "2031-03-03T10:00:00Z", pattern));
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "recurrence_pattern", message: `${part}: ${message}` }]);
    const list = await json("GET", "/api/events", { token: owner.token });
    expect(list.body.items).toEqual([]);
  });

  it("refuses a rule whose BYSETPOS no period can reach as yielding nothing", async () => {
    const owner = await registerUser("setposempty");
    const res = await create(owner, series("Sixth Monday", "2031-03-03T09:00:00Z", "2031-03-03T10:00:00Z", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6"));
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "recurrence_pattern", message: "The rule yields no occurrence from start_time on (before 9999-12-31T23:59:59Z)." }]);
  });
});

describe("the work budgets hold for sparse rules with the new parts", () => {
  it("stores a rule that matches once in 28 years (day 366 on a Monday in December) and reads a window of it in a few steps", async () => {
    const owner = await registerUser("sparse366");
    const before = expansionWork();
    const made = await create(owner, series("Rare", "1900-01-01T09:00:00Z", "1900-01-01T10:00:00Z", "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=12;BYDAY=MO;COUNT=5000"));
    expect(made.status).toBe(201);
    expect(expansionWork() - before).toBeLessThanOrEqual(RULE_BUDGET + CONFLICT_BUDGET);
    const read = expansionWork();
    const res = await json("GET", `/api/events/${made.body.id}/occurrences?start=2040-06-01T00:00:00Z&end=2041-06-01T00:00:00Z`, { token: owner.token });
    expect(res.body.items).toEqual([{ start_time: "2040-12-31T09:00:00Z", end_time: "2040-12-31T10:00:00Z", original_start: "2040-12-31T09:00:00Z" }]);
    // Read through the stored end: the window's two years, not the 140 years since 1900.
    expect(expansionWork() - read).toBeLessThan(50);
  });

  it.each([
    ["100 BYYEARDAY values, on a Monday 29 February, COUNT=5000", `FREQ=YEARLY;BYYEARDAY=${HUNDRED};BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5000`],
    ["all 106 BYWEEKNO values, on a Monday 29 February, COUNT=5000", `FREQ=YEARLY;BYWEEKNO=${Array.from({ length: 53 }, (_, i) => `${i + 1},-${i + 1}`).join(",")};BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5000`],
    ["Mondays with 100 BYSETPOS values, COUNT=5000", `FREQ=MONTHLY;BYDAY=MO;BYSETPOS=${HUNDRED};COUNT=5000`],
  ])("refuses a rule with %s as too expensive within the budget, writing nothing", async (_label, pattern) => {
    const owner = await registerUser("sparselist");
    const before = expansionWork();
    const res = await create(owner, series("Long lists", "1900-01-01T09:00:00Z", "1900-01-01T10:00:00Z", pattern));
    // The walk stops within one period of the budget (a period's tests are charged at once).
    expect(expansionWork() - before).toBeLessThanOrEqual(RULE_BUDGET + 2000);
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "recurrence_pattern", message: expect.stringContaining("too sparse or too long") }]);
    expect((await json("GET", "/api/events", { token: owner.token })).body.items).toEqual([]);
  });

  it("accepts the last weekday of the month for 250 years with COUNT, and endlessly", async () => {
    const owner = await registerUser("setposcount");
    const counted = await create(owner, series("Counted", "1900-01-31T09:00:00Z", "1900-01-31T10:00:00Z", `${LAST_WEEKDAY};COUNT=3000`));
    expect(counted.status).toBe(201);
    const endless = await create(owner, series("Endless", "1900-01-31T11:00:00Z", "1900-01-31T12:00:00Z", LAST_WEEKDAY));
    expect(endless.status).toBe(201);
    const read = expansionWork();
    const res = await json("GET", `/api/events/${endless.body.id}/occurrences?start=2031-01-01T00:00:00Z&end=2031-03-01T00:00:00Z`, { token: owner.token });
    expect(res.body.items).toEqual([
      { start_time: "2031-01-31T11:00:00Z", end_time: "2031-01-31T12:00:00Z", original_start: "2031-01-31T11:00:00Z" },
      { start_time: "2031-02-28T11:00:00Z", end_time: "2031-02-28T12:00:00Z", original_start: "2031-02-28T11:00:00Z" },
    ]);
    expect(expansionWork() - read).toBeLessThan(200);
  });
});
