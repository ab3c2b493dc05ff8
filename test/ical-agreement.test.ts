import { beforeAll, describe, expect, it } from "vitest";
import { call, json, registerUser, type TestUser } from "./helpers";
import { expandCalendar } from "./support/ical";

/**
 * Done-means 2 of issue 15: the feed, parsed and expanded by ical.js (an independent RFC 5545
 * implementation), yields exactly the occurrences GET /api/agenda gives for the same window.
 */
let user: TestUser;
let feedPath: string;
const ids: Record<string, number> = {};

async function create(who: TestUser, name: string, body: Record<string, unknown>) {
  const res = await json("POST", "/api/events", { token: who.token, body: { title: name, ...body } });
  if (res.status !== 201) throw new Error(`${name}: ${res.status} ${JSON.stringify(res.body)}`);
  ids[name] = res.body.id;
  return res.body.id as number;
}

async function agenda(start: string, end: string) {
  const items: { event_id: number; start_time: string; end_time: string }[] = [];
  let cursor: string | null = null;
  do {
    const res = await json("GET", `/api/agenda?start=${start}&end=${end}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: user.token });
    if (res.status !== 200) throw new Error(`agenda: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return items.map((i) => ({ id: i.event_id, start: Date.parse(i.start_time), end: Date.parse(i.end_time) })).sort((a, b) => a.start - b.start || a.id - b.id);
}

async function feedOccurrences(start: string, end: string) {
  const res = await call("GET", feedPath);
  expect(res.status).toBe(200);
  return expandCalendar(await res.text(), Date.parse(start), Date.parse(end))
    .map((o) => ({ id: Number(/^event-(\d+)@localhost$/.exec(o.uid)![1]), start: o.start, end: o.end }))
    .sort((a, b) => a.start - b.start || a.id - b.id);
}

beforeAll(async () => {
  user = await registerUser("ics_agree");
  const friend = await registerUser("ics_agree_friend");
  await create(user, "One-off UTC", { start_time: "2031-05-05T15:00:00Z", end_time: "2031-05-05T16:00:00Z" });
  await create(user, "One-off across midnight in Paris", { start_time: "2031-07-14T23:30:00", end_time: "2031-07-15T01:00:00", timezone: "Europe/Paris" });
  await create(user, "One-off New York", { start_time: "2031-12-01T12:00:00", end_time: "2031-12-01T13:00:00", timezone: "America/New_York" });
  // Mondays and Wednesdays 09:00 Berlin from early March to November: both DST changes of 2031.
  await create(user, "Weekly Berlin", { start_time: "2031-03-03T09:00:00", end_time: "2031-03-03T10:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20311110T235959Z" });
  // The last weekday of each month (BYSETPOS), 14:00 New York (US DST changes in March and November).
  await create(user, "Monthly last weekday", { start_time: "2031-01-31T14:00:00", end_time: "2031-01-31T15:00:00", timezone: "America/New_York", is_recurring: true, recurrence_pattern: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=12" });
  // One occurrence cancelled, one moved two days later, retitled.
  const monthly = ids["Monthly last weekday"];
  const cancel = await json("DELETE", `/api/events/${monthly}/occurrences/${encodeURIComponent("2031-03-31T18:00:00Z")}`, { token: user.token });
  if (cancel.status !== 204) throw new Error(`cancel: ${cancel.status} ${JSON.stringify(cancel.body)}`);
  const move = await json("PATCH", `/api/events/${monthly}/occurrences/${encodeURIComponent("2031-04-30T18:00:00Z")}`, { token: user.token, body: { start_time: "2031-05-02T16:00:00Z", end_time: "2031-05-02T17:30:00Z", title: "Moved review" } });
  if (move.status !== 200) throw new Error(`move: ${move.status} ${JSON.stringify(move.body)}`);
  // Every third day at 22:00 Sydney, forever (southern-hemisphere DST).
  await create(user, "Endless Sydney", { start_time: "2030-06-01T22:00:00", end_time: "2030-06-01T22:30:00", timezone: "Australia/Sydney", is_recurring: true, recurrence_pattern: "FREQ=DAILY;INTERVAL=3" });
  const shared = await create(friend, "Shared yearly", { start_time: "2029-02-10T10:00:00Z", end_time: "2029-02-10T10:30:00Z", is_recurring: true, recurrence_pattern: "yearly" });
  const share = await json("POST", `/api/events/${shared}/share`, { token: friend.token, body: { user_id: user.id, role: "viewer" } });
  if (share.status !== 200) throw new Error(`share: ${share.status}`);
  const feed = await json("POST", "/api/feeds", { token: user.token, body: { name: "Agreement" } });
  feedPath = new URL(feed.body.url).pathname;
});

describe("a feed expanded by ical.js agrees with GET /api/agenda", () => {
  for (const [start, end] of [
    ["2031-01-01T00:00:00Z", "2031-12-31T00:00:00Z"],
    ["2031-03-25T00:00:00Z", "2031-04-05T00:00:00Z"],
    ["2031-10-20T12:00:00Z", "2031-11-08T00:00:00Z"],
    ["2031-03-30T00:00:00Z", "2031-05-03T00:00:00Z"],
  ]) {
    it(`gives the same occurrences as instants over ${start} .. ${end}`, async () => {
      const [api, feed] = await Promise.all([agenda(start, end), feedOccurrences(start, end)]);
      expect(api.length).toBeGreaterThan(0);
      expect(feed).toEqual(api);
    });
  }

  it("covers every kind of event in the year window, the series across both DST changes", async () => {
    const api = await agenda("2031-01-01T00:00:00Z", "2031-12-31T00:00:00Z");
    const counts = Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, api.filter((o) => o.id === id).length]));
    expect(counts).toEqual({
      "One-off UTC": 1,
      "One-off across midnight in Paris": 1,
      "One-off New York": 1,
      "Weekly Berlin": 73,
      "Monthly last weekday": 10,
      "Endless Sydney": 121,
      "Shared yearly": 1,
    });
    const monthly = api.filter((o) => o.id === ids["Monthly last weekday"]).map((o) => new Date(o.start).toISOString());
    expect(monthly).not.toContain("2031-03-31T18:00:00.000Z");
    expect(monthly).not.toContain("2031-04-30T18:00:00.000Z");
    expect(api).toContainEqual({ id: ids["Monthly last weekday"], start: Date.parse("2031-05-02T16:00:00Z"), end: Date.parse("2031-05-02T17:30:00Z") });
    const berlin = api.filter((o) => o.id === ids["Weekly Berlin"]).map((o) => new Date(o.start).getUTCHours());
    expect(new Set(berlin)).toEqual(new Set([7, 8]));
  });
});
