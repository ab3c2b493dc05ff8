import { beforeAll, describe, expect, it } from "vitest";
import { MAX_IMPORT_COMPONENTS, MAX_IMPORT_DEPTH } from "../src/ical/read";
import { call, json, registerUser, type TestUser } from "./helpers";

const ics = (...lines: string[]) => ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", ...lines, "END:VCALENDAR"].join("\r\n") + "\r\n";
/** A content line folded (RFC 5545 3.1) right after its first three characters: the same line once unfolded. */
const folded = (line: string) => `${line.slice(0, 3)}\r\n ${line.slice(3)}`;

async function importAs(user: TestUser, body: string) {
  return json("POST", "/api/events/import", { token: user.token, body, headers: { "Content-Type": "text/calendar; charset=utf-8" } });
}

let user: TestUser;
beforeAll(async () => {
  user = await registerUser("adv_ical");
});

describe("import: the shape limits hold for folded BEGIN lines", () => {
  it("refuses a file nesting folded BEGINs deeper than the limit with 422, as it does unfolded ones", async () => {
    const depth = MAX_IMPORT_DEPTH + 2;
    const body = ics(
      "BEGIN:VEVENT", "UID:deep", "DTSTART:20380101T090000Z", "DTEND:20380101T100000Z", "SUMMARY:deep",
      ...Array.from({ length: depth }, () => folded("BEGIN:X-NEST")),
      ...Array.from({ length: depth }, () => "END:X-NEST"),
      "END:VEVENT",
    );
    const res = await importAs(user, body);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "body", message: `Components may nest at most ${MAX_IMPORT_DEPTH} levels deep.` }]);
  });

  it("refuses a file with more folded components than the limit with 422 (not one warning per alarm)", async () => {
    const body = ics(
      "BEGIN:VEVENT", "UID:many", "DTSTART:20380102T090000Z", "DTEND:20380102T100000Z", "SUMMARY:many",
      ...Array.from({ length: MAX_IMPORT_COMPONENTS + 10 }, () => [folded("BEGIN:VALARM"), "END:VALARM"]).flat(),
      "END:VEVENT",
    );
    const res = await importAs(user, body);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "body", message: `A file may hold at most ${MAX_IMPORT_COMPONENTS} components.` }]);
  });

  it("counts 101 VEVENTs whose BEGIN lines are folded: 422, nothing created", async () => {
    const body = ics(...Array.from({ length: 101 }, (_, i) => [folded("BEGIN:VEVENT"), `UID:f${i}`, `DTSTART:20390101T${String(i % 24).padStart(2, "0")}0000Z`, "DURATION:PT1M", `SUMMARY:f${i}`, "END:VEVENT"]).flat());
    const res = await importAs(user, body);
    expect(res.status).toBe(422);
    const list = await json("GET", "/api/events?q=f100", { token: user.token });
    expect(list.body.items).toEqual([]);
  });
});

describe("import: values that overflow or make ical.js loop are 422, never 5xx", () => {
  const series = (uid: string, day: string) => ["BEGIN:VEVENT", `UID:${uid}`, `DTSTART:${day}T090000Z`, `DTEND:${day}T100000Z`, "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:m", "END:VEVENT"];
  const tzEvent = (uid: string, zone: string, day: string) => ["BEGIN:VEVENT", `UID:${uid}`, `DTSTART;TZID=${zone}:${day}T090000`, `DTEND;TZID=${zone}:${day}T100000`, "END:VEVENT"];

  it("a DURATION past the year 275,760 (P99999999W) is a 422 naming the event", async () => {
    const res = await importAs(user, ics("BEGIN:VEVENT", "UID:huge", "DTSTART:20450101T090000Z", "DURATION:P99999999W", "END:VEVENT"));
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "events.0.end_time", message: "The VEVENT's end is out of range.", index: 0 }]);
  });

  it("a changed occurrence with such a DURATION is a 422 naming the series", async () => {
    const res = await importAs(user, ics(...series("hugeo", "20450201"), "BEGIN:VEVENT", "UID:hugeo", "RECURRENCE-ID:20450202T090000Z", "DURATION:P99999999W", "END:VEVENT"));
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "events.0.exceptions", message: "The changed occurrence at 2045-02-02T09:00:00Z ends out of range.", index: 0 }]);
  });

  it("a VTIMEZONE whose parts ical.js cannot read leaves its TZID unknown: 422", async () => {
    const res = await importAs(user, ics("BEGIN:VTIMEZONE", "TZID:Custom", "BEGIN:STANDARD", "DTSTART:garbage", "TZOFFSETFROM:+9999", "TZOFFSETTO:zz", "END:STANDARD", "END:VTIMEZONE", ...tzEvent("vb", "Custom", "20490101")));
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "events.0.start_time", message: 'TZID "Custom" is neither an IANA time zone nor defined by a VTIMEZONE.', index: 0 }]);
  });

  for (const [name, part] of [
    ["FREQ=SECONDLY from 1970", ["DTSTART:19700101T000000", "RRULE:FREQ=SECONDLY"]],
    ["FREQ=YEARLY with every hour, minute and second", ["DTSTART:19700101T000000", "RRULE:FREQ=YEARLY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30;BYSECOND=0,1,2,3,4,5,6,7,8,9"]],
    ["FREQ=YEARLY from year 1", ["DTSTART:00010101T000000", "RRULE:FREQ=YEARLY"]],
    ["FREQ=YEARLY on every day of the month", ["DTSTART:16010101T000000", `RRULE:FREQ=YEARLY;BYMONTHDAY=${Array.from({ length: 31 }, (_, i) => i + 1).join(",")}`]],
  ] as const) {
    it(`a VTIMEZONE part with ${name} is not expanded: the TZID is unknown, 422`, async () => {
      const started = Date.now();
      const res = await importAs(user, ics("BEGIN:VTIMEZONE", "TZID:Spin", "BEGIN:STANDARD", ...part, "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE", ...tzEvent("spin", "Spin", "20500101")));
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
      expect(res.body.errors).toEqual([{ field: "events.0.start_time", message: 'TZID "Spin" is neither an IANA time zone nor defined by a VTIMEZONE.', index: 0 }]);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  }
});

describe("import: typed values and impossible overrides", () => {
  const series = (uid: string, day: string) => ["BEGIN:VEVENT", `UID:${uid}`, `DTSTART:${day}T090000Z`, `DTEND:${day}T100000Z`, "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:m", "END:VEVENT"];

  it("reads SUMMARY/DESCRIPTION/LOCATION with a VALUE= type as text (RECUR is an object to ical.js): 201, not 500", async () => {
    const res = await importAs(user, ics("BEGIN:VEVENT", "UID:typed", "DTSTART:20530101T090000Z", "DTEND:20530101T100000Z", "SUMMARY;VALUE=INTEGER:12", "DESCRIPTION;VALUE=DATE-TIME:20200101T000000Z", "LOCATION;VALUE=RECUR:FREQ=DAILY", "END:VEVENT"));
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(201);
    expect(res.body.events[0]).toMatchObject({ title: "12", description: "2020-01-01T00:00:00Z", location: '{"freq":"DAILY"}' });
  });

  it("a DTSTART;VALUE=RECUR is a 422 naming the event, not a 500", async () => {
    const res = await importAs(user, ics("BEGIN:VEVENT", "UID:dtr", "DTSTART;VALUE=RECUR:FREQ=DAILY", "DTEND:20560101T100000Z", "END:VEVENT"));
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "events.0.start_time", message: 'DTSTART "{"freq":"DAILY"}" is not a date or date-time.', index: 0 }]);
  });

  it("an EXDATE;VALUE=RECUR is a 422 naming the series, not a 500", async () => {
    const res = await importAs(user, ics("BEGIN:VEVENT", "UID:exr", "DTSTART:20570101T090000Z", "DTEND:20570101T100000Z", "RRULE:FREQ=DAILY;COUNT=3", "EXDATE;VALUE=RECUR:FREQ=DAILY", "END:VEVENT"));
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "events.0.exceptions", message: 'EXDATE "{"freq":"DAILY"}" is not a valid date or date-time.', index: 0 }]);
  });

  for (const [name, lines] of [
    ["a DTEND before its DTSTART", ["DTSTART:20420102T110000Z", "DTEND:20420102T100000Z"]],
    ["a negative DURATION", ["DURATION:-PT5H"]],
  ] as const) {
    it(`a changed occurrence with ${name} is a 422 and creates nothing (it was stored, ending before it started)`, async () => {
      const res = await importAs(user, ics(...series("neg", "20420101"), "BEGIN:VEVENT", "UID:neg", "RECURRENCE-ID:20420102T090000Z", ...lines, "END:VEVENT"));
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
      expect(res.body.errors).toEqual([{ field: "events.0.exceptions", message: "The changed occurrence at 2042-01-02T09:00:00Z must end after it starts.", index: 0 }]);
      const agenda = await json("GET", "/api/agenda?start=2042-01-01T00:00:00Z&end=2042-01-04T00:00:00Z", { token: user.token });
      expect(agenda.body.items).toEqual([]);
    });
  }
});

describe("feeds: conditional fetches", () => {
  it("ignores an If-Modified-Since in the future (a client clock ahead): 200 after an edit, not 304 forever", async () => {
    const feed = (await json("POST", "/api/feeds", { token: user.token, body: {} })).body;
    const path = new URL(feed.url).pathname;
    const ahead = new Date(Date.now() + 30 * 86_400_000).toUTCString();
    const created = await json("POST", "/api/events", { token: user.token, body: { title: "Feed future", start_time: "2039-06-01T09:00:00Z", end_time: "2039-06-01T10:00:00Z" } });
    expect(created.status).toBe(201);
    const first = await call("GET", path, { headers: { "If-Modified-Since": ahead } });
    expect(first.status).toBe(200);
    expect(await first.text()).toContain("SUMMARY:Feed future");
    expect((await json("PATCH", `/api/events/${created.body.id}`, { token: user.token, body: { title: "Feed future, renamed" } })).status).toBe(200);
    const after = await call("GET", path, { headers: { "If-Modified-Since": ahead } });
    expect(after.status).toBe(200);
    expect(await after.text()).toContain("SUMMARY:Feed future\\, renamed");
    // A date that has passed, at or after Last-Modified, still gives 304.
    expect((await call("GET", path, { headers: { "If-Modified-Since": new Date().toUTCString() } })).status).toBe(304);
  });
});
