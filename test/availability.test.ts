import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";

// Mondays: 2051-02-06 and 2051-02-13 (no daylight-saving change in Berlin or New York around them).
let alice: TestUser; // works in Europe/Berlin
let bob: TestUser; // works in America/New_York
let carol: TestUser;
let stranger: TestUser;

const create = async (user: TestUser, body: Record<string, unknown>) => {
  const res = await json("POST", "/api/events", { token: user.token, body: { title: "Busy", ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number };
};
const share = async (user: TestUser, id: number, users: TestUser[]) => {
  const res = await json("POST", `/api/events/${id}/share`, { token: user.token, body: { users: users.map((u) => ({ user_id: u.id, role: "viewer" })) } });
  if (res.status !== 200) throw new Error(`share failed: ${res.status}`);
};
const freebusy = (user: TestUser, body: unknown) => json("POST", "/api/freebusy", { token: user.token, body });
const findTime = (user: TestUser, body: unknown) => json("POST", "/api/find-time", { token: user.token, body });
const interval = (start: string, end: string) => ({ start_time: start, end_time: end });

beforeAll(async () => {
  [alice, bob, carol, stranger] = await Promise.all([registerUser("av_alice"), registerUser("av_bob"), registerUser("av_carol"), registerUser("av_stranger")]);
  // Alice's weekly Monday stand-up at 09:00 Berlin (08:00Z in February), shared with Bob and Carol.
  const standup = await create(alice, { title: "Stand-up", start_time: "2051-02-06T09:00:00", end_time: "2051-02-06T10:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO" });
  await share(alice, standup.id, [bob, carol]);
  // Bob's own call at 04:00-06:00 New York (09:00-11:00Z), not shared with anyone.
  await create(bob, { title: "Private call", start_time: "2051-02-06T04:00:00", end_time: "2051-02-06T06:00:00", timezone: "America/New_York" });
  // Carol's lunch 13:00-14:00Z, and her review at 10:30-11:30Z shared with Bob: it overlaps his call.
  await create(carol, { title: "Lunch", start_time: "2051-02-06T13:00:00Z", end_time: "2051-02-06T14:00:00Z" });
  const review = await create(carol, { title: "Review", start_time: "2051-02-06T10:30:00Z", end_time: "2051-02-06T11:30:00Z" });
  await share(carol, review.id, [bob]);
  // The stranger is busy too, but shares nothing with Alice.
  await create(stranger, { start_time: "2051-02-06T15:00:00Z", end_time: "2051-02-06T16:00:00Z" });
});

describe("POST /api/freebusy", () => {
  it("gives merged busy intervals with occurrences, for yourself and for users sharing an event with you, by id, username or email", async () => {
    const res = await freebusy(alice, { start: "2051-02-06T00:00:00Z", end: "2051-02-14T00:00:00Z", users: [alice.id, bob.username, carol.email.toUpperCase()] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      users: [
        { index: 0, user: { id: alice.id, username: alice.username }, busy: [interval("2051-02-06T08:00:00Z", "2051-02-06T09:00:00Z"), interval("2051-02-13T08:00:00Z", "2051-02-13T09:00:00Z")] },
        {
          index: 1,
          user: { id: bob.id, username: bob.username },
          // The stand-up (08:00-09:00), the private call (09:00-11:00) and the review (10:30-11:30), merged.
          busy: [interval("2051-02-06T08:00:00Z", "2051-02-06T11:30:00Z"), interval("2051-02-13T08:00:00Z", "2051-02-13T09:00:00Z")],
        },
        {
          index: 2,
          user: { id: carol.id, username: carol.username },
          busy: [interval("2051-02-06T08:00:00Z", "2051-02-06T09:00:00Z"), interval("2051-02-06T10:30:00Z", "2051-02-06T11:30:00Z"), interval("2051-02-06T13:00:00Z", "2051-02-06T14:00:00Z"), interval("2051-02-13T08:00:00Z", "2051-02-13T09:00:00Z")],
        },
      ],
    });
    // No titles anywhere.
    expect(JSON.stringify(res.body)).not.toMatch(/Stand-up|Private|Lunch|Review/);
  });

  it("leaves out a cancelled occurrence and counts a moved one at its new time", async () => {
    const owner = await registerUser("av_exceptions");
    const series = await create(owner, { start_time: "2051-05-01T09:00:00Z", end_time: "2051-05-01T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=4" });
    expect((await json("DELETE", `/api/events/${series.id}/occurrences/2051-05-02T09:00:00Z`, { token: owner.token })).status).toBe(204);
    const moved = await json("PATCH", `/api/events/${series.id}/occurrences/2051-05-03T09:00:00Z`, { token: owner.token, body: { start_time: "2051-05-03T15:00:00Z", end_time: "2051-05-03T16:30:00Z" } });
    expect(moved.status).toBe(200);
    const res = await freebusy(owner, { start: "2051-05-01T00:00:00Z", end: "2051-05-05T00:00:00Z", users: [owner.id] });
    expect(res.body.users[0].busy).toEqual([
      interval("2051-05-01T09:00:00Z", "2051-05-01T10:00:00Z"),
      interval("2051-05-03T15:00:00Z", "2051-05-03T16:30:00Z"),
      interval("2051-05-04T09:00:00Z", "2051-05-04T10:00:00Z"),
    ]);
    const slots = await findTime(owner, { users: [owner.id], duration_minutes: 60, start: "2051-05-02T09:00:00Z", end: "2051-05-03T16:00:00Z", working_hours: { start: "09:00", end: "10:00", timezone: "UTC", days: ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] } });
    // The cancelled 2nd is free; the 3rd's 09:00 is free too, its occurrence having moved to 15:00.
    expect(slots.body.items).toEqual([interval("2051-05-02T09:00:00Z", "2051-05-02T10:00:00Z"), interval("2051-05-03T09:00:00Z", "2051-05-03T10:00:00Z")]);
  });

  it("clips busy intervals to the window", async () => {
    const res = await freebusy(alice, { start: "2051-02-06T08:30:00Z", end: "2051-02-06T10:00:00Z", users: [bob.id] });
    expect(res.body.users[0].busy).toEqual([interval("2051-02-06T08:30:00Z", "2051-02-06T10:00:00Z")]);
  });

  it("answers not_visible for a stranger and not_found for unknown users, without echoing the name", async () => {
    const res = await freebusy(alice, { start: "2051-02-06T00:00:00Z", end: "2051-02-07T00:00:00Z", users: [stranger.id, "no_such_user_av", "nobody@example.invalid", 987654321] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      users: [
        { index: 0, user: null, error: "not_visible" },
        { index: 1, user: null, error: "not_found" },
        { index: 2, user: null, error: "not_found" },
        { index: 3, user: null, error: "not_found" },
      ],
    });
    expect(JSON.stringify(res.body)).not.toContain("no_such_user_av");
  });

  it("answers 422 past 62 days or 20 users, and for an end before the start, naming each field", async () => {
    const long = await freebusy(alice, { start: "2051-02-01T00:00:00Z", end: "2051-04-04T00:00:01Z", users: Array.from({ length: 21 }, () => alice.id) });
    expectProblem(long, 422, "validation_failed");
    expect(long.body.errors.map((e: { field: string }) => e.field)).toEqual(["end", "users"]);
    // Exactly 62 days and 20 users are fine.
    const ok = await freebusy(alice, { start: "2051-02-01T00:00:00Z", end: "2051-04-04T00:00:00Z", users: Array.from({ length: 20 }, () => alice.id) });
    expect(ok.status).toBe(200);
    expectProblem(await freebusy(alice, { start: "2051-02-02T00:00:00Z", end: "2051-02-01T00:00:00Z", users: [alice.id] }), 422, "validation_failed");
    expectProblem(await freebusy(alice, { start: "yesterday", end: "2051-02-01T00:00:00Z", users: [alice.id] }), 422, "validation_failed");
    expectProblem(await freebusy(alice, { start: "2051-02-01T00:00:00Z", end: "2051-02-02T00:00:00Z", users: [] }), 422, "validation_failed");
    expectProblem(await freebusy(alice, { start: "2051-02-01T00:00:00Z", end: "2051-02-02T00:00:00Z", users: [0] }), 422, "validation_failed");
  });

  it("answers 401 without a token and 400 to a malformed body", async () => {
    expectProblem(await json("POST", "/api/freebusy", { body: { start: "2051-02-01T00:00:00Z", end: "2051-02-02T00:00:00Z", users: [1] } }), 401, "unauthorized");
    expectProblem(await json("POST", "/api/freebusy", { token: alice.token, body: "{not json", headers: { "Content-Type": "application/json" } }), 400, "malformed_body");
  });
});

describe("POST /api/find-time", () => {
  it("finds quarter-hour slots where all three users are free within Berlin working hours, around a recurring meeting, earliest first", async () => {
    const res = await findTime(alice, {
      users: [alice.id, bob.id, carol.id],
      duration_minutes: 60,
      start: "2051-02-06T00:00:00Z",
      end: "2051-02-14T00:00:00Z",
      working_hours: { start: "09:00", end: "17:00", timezone: "Europe/Berlin" },
      limit: 8,
    });
    expect(res.status).toBe(200);
    // Working hours are 08:00-16:00Z; busy 08:00-11:30 (stand-up, Bob), 13:00-14:00 (Carol).
    expect(res.body).toEqual({
      items: [
        interval("2051-02-06T11:30:00Z", "2051-02-06T12:30:00Z"),
        interval("2051-02-06T11:45:00Z", "2051-02-06T12:45:00Z"),
        interval("2051-02-06T12:00:00Z", "2051-02-06T13:00:00Z"),
        interval("2051-02-06T14:00:00Z", "2051-02-06T15:00:00Z"),
        interval("2051-02-06T14:15:00Z", "2051-02-06T15:15:00Z"),
        interval("2051-02-06T14:30:00Z", "2051-02-06T15:30:00Z"),
        interval("2051-02-06T14:45:00Z", "2051-02-06T15:45:00Z"),
        interval("2051-02-06T15:00:00Z", "2051-02-06T16:00:00Z"),
      ],
      unavailable: [],
    });
  });

  it("uses New York working hours on chosen days, skipping the weekend and the stand-up's next occurrence", async () => {
    const res = await findTime(bob, {
      users: [alice.username, bob.username, carol.username],
      duration_minutes: 120,
      start: "2051-02-10T00:00:00Z",
      end: "2051-02-14T00:00:00Z",
      // 03:00-05:00 New York is 08:00-10:00Z: on Monday the 13th the stand-up takes 08:00-09:00Z.
      working_hours: { start: "03:00", end: "05:00", timezone: "America/New_York", days: ["FR", "SA", "MO"] },
    });
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([interval("2051-02-10T08:00:00Z", "2051-02-10T10:00:00Z"), interval("2051-02-11T08:00:00Z", "2051-02-11T10:00:00Z")]);
  });

  it("leaves out users who are not visible or unknown and lists them", async () => {
    const res = await findTime(alice, { users: [alice.id, stranger.id, "ghost_user_av"], duration_minutes: 30, start: "2051-02-06T15:00:00Z", end: "2051-02-06T16:00:00Z" });
    expect(res.status).toBe(200);
    // The stranger's 15:00-16:00 is not counted.
    expect(res.body).toEqual({
      items: [interval("2051-02-06T15:00:00Z", "2051-02-06T15:30:00Z"), interval("2051-02-06T15:15:00Z", "2051-02-06T15:45:00Z"), interval("2051-02-06T15:30:00Z", "2051-02-06T16:00:00Z")],
      unavailable: [
        { index: 1, error: "not_visible" },
        { index: 2, error: "not_found" },
      ],
    });
  });

  it("aligns slots to quarter hours even when the window starts off one", async () => {
    const res = await findTime(alice, { users: [alice.id], duration_minutes: 15, start: "2051-02-07T10:07:00Z", end: "2051-02-07T11:00:00Z", limit: 2 });
    expect(res.body.items).toEqual([interval("2051-02-07T10:15:00Z", "2051-02-07T10:30:00Z"), interval("2051-02-07T10:30:00Z", "2051-02-07T10:45:00Z")]);
  });

  it("answers 422 to bad working hours, durations and limits, naming the fields", async () => {
    const base = { users: [alice.id], start: "2051-02-06T00:00:00Z", end: "2051-02-07T00:00:00Z" };
    const res = await findTime(alice, { ...base, duration_minutes: 0, working_hours: { start: "17:00", end: "09:00", timezone: "Mars/Olympus", days: ["XX"] }, limit: 101 });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["duration_minutes", "limit", "working_hours.days.0", "working_hours.timezone"].sort());
    const order = await findTime(alice, { ...base, duration_minutes: 30, working_hours: { start: "17:00", end: "09:00", timezone: "UTC" } });
    expect(order.body.errors).toEqual([{ field: "working_hours.end", message: "Must be after start." }]);
    expectProblem(await findTime(alice, { ...base, duration_minutes: 30, end: "2051-04-10T00:00:00Z" }), 422, "validation_failed");
  });
});
