import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, slotMaker, type TestUser } from "./helpers";

const slot = slotMaker(2062);
const RANGE = /1900-01-01T00:00:00Z and 9999-12-31T23:59:59Z/;
let user: TestUser;

beforeAll(async () => {
  user = await registerUser("valid");
});

const create = (body: unknown) => json("POST", "/api/events", { token: user.token, body });
const patch = (id: number, body: unknown) => json("PATCH", `/api/events/${id}`, { token: user.token, body });
const fields = (res: { body: any }) => res.body.errors.map((e: { field: string }) => e.field).sort();

describe("one 422 names every failing field", () => {
  it("reports an empty title and an end before the start together", async () => {
    const res = await create({ title: "", start_time: "2062-06-01T10:00:00Z", end_time: "2062-06-01T09:00:00Z" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { field: "title", message: "Must not be empty." },
        { field: "end_time", message: "Must be after start_time." },
      ]),
    );
    expect(res.body.errors).toHaveLength(2);
  });

  it("reports a bad time zone, an unparseable start, a too-long location and a bad rule together", async () => {
    const res = await create({ title: "x", start_time: "tomorrow", end_time: "2062-06-01T09:00:00Z", timezone: "Mars/Olympus", location: "l".repeat(501), is_recurring: true, recurrence_pattern: "FREQ=SOMETIMES" });
    expectProblem(res, 422, "validation_failed");
    expect(fields(res)).toEqual(["location", "recurrence_pattern", "start_time", "timezone"]);
  });

  it("reports a field of the wrong type next to an end before the start", async () => {
    const res = await create({ title: 42, start_time: "2062-06-01T10:00:00Z", end_time: "2062-06-01T10:00:00Z" });
    expectProblem(res, 422, "validation_failed");
    expect(fields(res)).toEqual(["end_time", "title"]);
  });

  it("reports a missing end_time once, not also as out of order", async () => {
    const res = await create({ title: "", start_time: "2062-06-01T10:00:00Z" });
    expectProblem(res, 422, "validation_failed");
    expect(fields(res)).toEqual(["end_time", "title"]);
  });

  it("names every failing field of every batch item with its index", async () => {
    const res = await json("POST", "/api/events/batch", {
      token: user.token,
      body: [
        { title: "fine", ...slot() },
        { title: " ", start_time: "2062-07-01T10:00:00Z", end_time: "2062-07-01T09:00:00Z" },
        { title: "order only", start_time: "2062-07-02T10:00:00Z", end_time: "2062-07-02T09:00:00Z" },
      ],
    });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { field: "events.1.title", message: "Must not be empty.", index: 1 },
        { field: "events.1.end_time", message: "Must be after start_time.", index: 1 },
        { field: "events.2.end_time", message: "Must be after start_time.", index: 2 },
      ]),
    );
    expect(res.body.errors).toHaveLength(3);
  });

  it("reports an empty title and reversed times in one PATCH together, and changes nothing", async () => {
    const event = (await create({ title: "Patch me", ...slot() })).body;
    const res = await patch(event.id, { title: "", start_time: "2062-08-01T10:00:00Z", end_time: "2062-08-01T09:00:00Z" });
    expectProblem(res, 422, "validation_failed");
    expect(fields(res)).toEqual(["end_time", "title"]);
    expect((await json("GET", `/api/events/${event.id}`, { token: user.token })).body.version).toBe(1);
  });

  it("still reports a PATCH end before the stored start", async () => {
    const event = (await create({ title: "Stored start", start_time: "2062-09-01T10:00:00Z", end_time: "2062-09-01T11:00:00Z" })).body;
    const res = await patch(event.id, { end_time: "2062-09-01T09:00:00Z" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "end_time", message: "Must be after start_time." }]);
  });
});

describe("the supported time range, 1900-01-01T00:00:00Z to 9999-12-31T23:59:59Z", () => {
  it("accepts an event at both ends of the range and reads it back", async () => {
    const first = await create({ title: "Earliest", start_time: "1900-01-01T00:00:00Z", end_time: "1900-01-01T01:00:00Z" });
    expect(first.status).toBe(201);
    expect(first.body.start_time).toBe("1900-01-01T00:00:00Z");
    const last = await create({ title: "Latest", start_time: "9999-12-31T22:00:00Z", end_time: "9999-12-31T23:59:59Z" });
    expect(last.status).toBe(201);
    expect((await json("GET", `/api/events/${last.body.id}`, { token: user.token })).body.end_time).toBe("9999-12-31T23:59:59Z");
  });

  it.each([
    ["start_time", { start_time: "1899-12-31T23:59:59Z", end_time: "1900-01-01T01:00:00Z" }],
    ["start_time", { start_time: "1900-01-01T00:30:00+01:00", end_time: "1900-01-01T02:00:00Z" }],
    ["end_time", { start_time: "9999-12-31T20:00:00Z", end_time: "9999-12-31T23:00:00-05:00" }],
    ["end_time", { start_time: "9999-12-31T20:00:00Z", end_time: "9999-12-31T23:00:00", timezone: "America/New_York" }],
    ["start_time", { start_time: "0001-01-01T00:00:00Z", end_time: "1950-01-01T00:00:00Z" }],
  ])("rejects a %s outside the range after conversion to UTC (%j)", async (field, times) => {
    const res = await create({ title: "Out of range", ...times });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(RANGE) }]);
  });

  it("rejects a PATCH that moves the end past the range, read in the stored time zone", async () => {
    const event = (await create({ title: "Honolulu", start_time: "9999-12-31T08:00:00", end_time: "9999-12-31T09:00:00", timezone: "Pacific/Honolulu" })).body;
    expect(event.end_time).toBe("9999-12-31T19:00:00Z");
    const res = await patch(event.id, { end_time: "9999-12-31T20:00:00" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "end_time", message: expect.stringMatching(RANGE) }]);
  });

  it("rolls back to a version whose end is the last supported second", async () => {
    // Its own calendar: the event at the end of the range above would conflict.
    const owner = await registerUser("valid_edge");
    const created = await json("POST", "/api/events", { token: owner.token, body: { title: "Edge", start_time: "9999-12-31T23:00:00Z", end_time: "9999-12-31T23:59:59Z" } });
    expect(created.status).toBe(201);
    const event = created.body;
    expect((await json("PATCH", `/api/events/${event.id}`, { token: owner.token, body: { start_time: "9999-12-30T10:00:00Z", end_time: "9999-12-30T11:00:00Z" } })).status).toBe(200);
    const res = await json("POST", `/api/events/${event.id}/rollback/1`, { token: owner.token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ start_time: "9999-12-31T23:00:00Z", end_time: "9999-12-31T23:59:59Z", version: 3 });
  });

  it.each([
    ["/api/events?start=1899-12-31T00:00:00Z", "start"],
    ["/api/events?end=9999-12-31T23:00:00-05:00", "end"],
    ["/api/agenda?start=1899-12-01T00:00:00Z&end=1900-01-02T00:00:00Z", "start"],
  ])("rejects the query instant of %s naming %s", async (path, field) => {
    const res = await json("GET", path, { token: user.token });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(RANGE) }]);
  });

  it("rejects ?at= outside the range", async () => {
    const event = (await create({ title: "Time travel", ...slot() })).body;
    const res = await json("GET", `/api/events/${event.id}?at=${encodeURIComponent("9999-12-31T23:30:00-01:00")}`, { token: user.token });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "at", message: expect.stringMatching(RANGE) }]);
  });
});

describe("bodies that are not objects", () => {
  it.each([["null"], ["[]"], ["7"], ['"text"']])("answers the create body %s with 422, not 500", async (body) => {
    const res = await json("POST", "/api/events", { token: user.token, body, headers: { "Content-Type": "application/json" } });
    expectProblem(res, 422, "validation_failed");
  });

  it.each([["[null]"], ['{"events":[null, 5, "x"]}'], ['{"events":[[]]}']])("answers the batch body %s with 422, not 500", async (body) => {
    const res = await json("POST", "/api/events/batch", { token: user.token, body, headers: { "Content-Type": "application/json" } });
    expectProblem(res, 422, "validation_failed");
  });

  it("answers a PATCH body of null with 422, not 500", async () => {
    const event = (await create({ title: "Null patch", ...slot() })).body;
    const res = await json("PATCH", `/api/events/${event.id}`, { token: user.token, body: "null", headers: { "Content-Type": "application/json" } });
    expectProblem(res, 422, "validation_failed");
  });
});
