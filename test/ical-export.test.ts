import { beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, json, registerUser, type TestUser } from "./helpers";
import { expandCalendar, parseCalendar } from "./support/ical";

const CALENDAR = "text/calendar; charset=utf-8";
let user: TestUser;

async function create(body: Record<string, unknown>, who: TestUser = user) {
  const res = await json("POST", "/api/events", { token: who.token, body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; version: number };
}

async function exportOf(id: number, headers: Record<string, string> = {}) {
  const res = await call("GET", `/api/events/${id}`, { token: user.token, accept: "text/calendar", headers });
  return { res, text: await res.text() };
}

const vevent = (text: string) => parseCalendar(text).getFirstSubcomponent("vevent")!;
/** Unfolded lines of the VEVENTs that start with `name`. */
const rawLines = (text: string, name: string) =>
  text
    .slice(text.indexOf("BEGIN:VEVENT"))
    .replace(/\r\n[ \t]/g, "")
    .split("\r\n")
    .filter((l) => l.startsWith(name));

beforeAll(async () => {
  user = await registerUser("ics_export");
});

describe("GET /api/events/{id} with Accept: text/calendar", () => {
  it("answers a VCALENDAR with the properties calendar apps need, parsed by ical.js", async () => {
    const event = await create({ title: "Design review", description: "Agenda", location: "Room 4", start_time: "2031-03-01T10:00:00", end_time: "2031-03-01T11:00:00", timezone: "Europe/Berlin" });
    const { res, text } = await exportOf(event.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(CALENDAR);
    expect(res.headers.get("vary")).toContain("Accept");
    expect(text.startsWith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")).toBe(true);
    const root = parseCalendar(text);
    expect(root.getFirstPropertyValue("version")).toBe("2.0");
    expect(root.getFirstPropertyValue("prodid")).toBe("-//collab-events-api//iCalendar export//EN");
    expect(root.getFirstPropertyValue("calscale")).toBe("GREGORIAN");
    expect(root.getFirstPropertyValue("method")).toBe("PUBLISH");
    expect(root.getFirstPropertyValue("x-wr-calname")).toBe("Design review");
    const v = vevent(text);
    expect(v.getFirstPropertyValue("uid")).toBe(`event-${event.id}@localhost`);
    expect(v.getFirstPropertyValue("summary")).toBe("Design review");
    expect(v.getFirstPropertyValue("description")).toBe("Agenda");
    expect(v.getFirstPropertyValue("location")).toBe("Room 4");
    expect(v.getFirstPropertyValue("sequence")).toBe(0);
    expect(v.getFirstProperty("dtstamp")).not.toBeNull();
    expect(v.getFirstProperty("last-modified")).not.toBeNull();
    expect(rawLines(text, "DTSTART")).toEqual(["DTSTART;TZID=Europe/Berlin:20310301T100000"]);
    expect(rawLines(text, "DTEND")).toEqual(["DTEND;TZID=Europe/Berlin:20310301T110000"]);
    expect((v.getFirstPropertyValue("dtstart") as { toUnixTime(): number }).toUnixTime() * 1000).toBe(Date.parse("2031-03-01T09:00:00Z"));
  });

  it("declares each zone used once as a VTIMEZONE of yearly-RRULE STANDARD/DAYLIGHT pairs, never RDATE lists", async () => {
    const event = await create({ title: "Berlin", start_time: "2031-03-02T10:00:00", end_time: "2031-03-02T11:00:00", timezone: "Europe/Berlin" });
    const { text } = await exportOf(event.id);
    const zones = parseCalendar(text).getAllSubcomponents("vtimezone");
    expect(zones.map((z) => z.getFirstPropertyValue("tzid"))).toEqual(["Europe/Berlin"]);
    const parts = zones[0].getAllSubcomponents();
    expect(parts.map((p) => p.name).sort()).toEqual(["daylight", "standard"]);
    for (const part of parts) {
      expect(String(part.getFirstPropertyValue("rrule"))).toMatch(/^FREQ=YEARLY;BYMONTH=\d+;BYDAY=-?\dSU$/);
      expect(part.hasProperty("rdate")).toBe(false);
    }
    expect(text).not.toContain("RDATE");
  });

  it("writes a zone link under the name the event uses, so every TZID has its VTIMEZONE", async () => {
    const event = await create({ title: "Kolkata", start_time: "2031-03-03T10:00:00", end_time: "2031-03-03T11:00:00", timezone: "Asia/Calcutta" });
    const { text } = await exportOf(event.id);
    expect(parseCalendar(text).getAllSubcomponents("vtimezone").map((z) => z.getFirstPropertyValue("tzid"))).toEqual(["Asia/Calcutta"]);
    expect(rawLines(text, "DTSTART")).toEqual(["DTSTART;TZID=Asia/Calcutta:20310303T100000"]);
  });

  it("writes UTC events as Z times with no VTIMEZONE", async () => {
    const event = await create({ title: "UTC", start_time: "2031-03-04T10:00:00Z", end_time: "2031-03-04T11:00:00Z" });
    const { text } = await exportOf(event.id);
    expect(rawLines(text, "DTSTART")).toEqual(["DTSTART:20310304T100000Z"]);
    expect(text).not.toContain("VTIMEZONE");
  });

  it("keeps the UID and raises SEQUENCE (version - 1) and LAST-MODIFIED with every change", async () => {
    const event = await create({ title: "Changing", start_time: "2031-03-05T10:00:00Z", end_time: "2031-03-05T11:00:00Z" });
    const before = vevent((await exportOf(event.id)).text);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await json("PATCH", `/api/events/${event.id}`, { token: user.token, body: { start_time: "2031-03-05T12:00:00Z", end_time: "2031-03-05T13:00:00Z" } })).status).toBe(200);
    expect((await json("PATCH", `/api/events/${event.id}`, { token: user.token, body: { title: "Changed" } })).status).toBe(200);
    const after = vevent((await exportOf(event.id)).text);
    expect(after.getFirstPropertyValue("uid")).toBe(before.getFirstPropertyValue("uid"));
    expect([before.getFirstPropertyValue("sequence"), after.getFirstPropertyValue("sequence")]).toEqual([0, 2]);
    const stamp = (v: typeof before) => (v.getFirstPropertyValue("last-modified") as { toUnixTime(): number }).toUnixTime();
    expect(stamp(after)).toBeGreaterThan(stamp(before));
  });

  it("escapes text and folds lines at 75 octets without splitting a UTF-8 character", async () => {
    const title = "Plan; review, and \\ sign-off — Überprüfung 日本語の会議 🎉🎉".repeat(2).slice(0, 200);
    const description = "First line\nSecond; line, with \\ backslash\n" + "ünïcödé 🎉 ".repeat(200);
    const event = await create({ title, description, location: "Café, 2nd floor; east", start_time: "2031-03-06T10:00:00Z", end_time: "2031-03-06T11:00:00Z" });
    const { text } = await exportOf(event.id);
    const bytes = new TextEncoder();
    for (const line of text.split("\r\n")) {
      expect(bytes.encode(line).length).toBeLessThanOrEqual(75);
      // A fold inside a character would leave an unpaired surrogate or a replacement character.
      expect(line).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/);
    }
    expect(text.endsWith("END:VCALENDAR")).toBe(true);
    expect(rawLines(text, "LOCATION")).toEqual(["LOCATION:Café\\, 2nd floor\\; east"]);
    const v = vevent(text);
    expect(v.getFirstPropertyValue("summary")).toBe(title);
    expect(v.getFirstPropertyValue("description")).toBe(description);
    expect(v.getFirstPropertyValue("location")).toBe("Café, 2nd floor; east");
  });

  it("escapes the calendar's name too: a title with commas, semicolons and a line break stays one X-WR-CALNAME", async () => {
    const title = "Plan, review; ship\nBEGIN:VEVENT";
    const event = await create({ title, start_time: "2031-03-06T14:00:00Z", end_time: "2031-03-06T15:00:00Z" });
    const { text } = await exportOf(event.id);
    // ical.js hands X- properties over raw; the line is what RFC 5545 TEXT escaping makes of the title.
    expect(text.split("\r\n").filter((l) => l.startsWith("X-WR-CALNAME:"))).toEqual(["X-WR-CALNAME:Plan\\, review\\; ship\\nBEGIN:VEVENT"]);
    expect(parseCalendar(text).getAllSubcomponents("vevent")).toHaveLength(1);
    expect(text.split("\r\n").filter((l) => l === "BEGIN:VEVENT")).toHaveLength(1);
  });

  it("writes a series' rule on the master in strict form: words as FREQ, UNTIL in UTC", async () => {
    const word = await create({ title: "Word", start_time: "2031-03-07T10:00:00Z", end_time: "2031-03-07T11:00:00Z", is_recurring: true, recurrence_pattern: "weekly" });
    expect(rawLines((await exportOf(word.id)).text, "RRULE")).toEqual(["RRULE:FREQ=WEEKLY"]);
    const until = await create({ title: "Until", start_time: "2031-03-07T12:00:00", end_time: "2031-03-07T13:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "freq=daily;until=20310310T120000" });
    expect(rawLines((await exportOf(until.id)).text, "RRULE")).toEqual(["RRULE:FREQ=DAILY;UNTIL=20310310T110000Z"]);
  });

  it("excludes a first start the rule does not match, so RFC 5545 readers (which count DTSTART) expand what the API does", async () => {
    // 2031-03-04 is a Tuesday; the rule names Mondays.
    const event = await create({ title: "Off-rule start", start_time: "2031-03-04T10:00:00Z", end_time: "2031-03-04T11:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO;COUNT=3" });
    const { text } = await exportOf(event.id);
    expect(rawLines(text, "EXDATE")).toEqual(["EXDATE:20310304T100000Z"]);
    const api = await json("GET", `/api/events/${event.id}/occurrences?start=2031-03-01T00:00:00Z&end=2031-04-01T00:00:00Z`, { token: user.token });
    const expanded = expandCalendar(text, Date.parse("2031-03-01T00:00:00Z"), Date.parse("2031-04-01T00:00:00Z"));
    expect(expanded.map((o) => new Date(o.start).toISOString().replace(".000Z", "Z"))).toEqual(api.body.items.map((o: { start_time: string }) => o.start_time));
    expect(expanded).toHaveLength(3);
  });

  it("writes cancelled occurrences as EXDATE and each changed one as a VEVENT with the master's UID and a RECURRENCE-ID", async () => {
    const event = await create({ title: "Series", description: "Main", location: "Room 1", start_time: "2031-06-02T09:00:00", end_time: "2031-06-02T10:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=6" });
    expect((await call("DELETE", `/api/events/${event.id}/occurrences/2031-06-09T07:00:00Z`, { token: user.token })).status).toBe(204);
    expect((await call("DELETE", `/api/events/${event.id}/occurrences/2031-06-30T07:00:00Z`, { token: user.token })).status).toBe(204);
    const moved = await json("PATCH", `/api/events/${event.id}/occurrences/2031-06-16T07:00:00Z`, { token: user.token, body: { start_time: "2031-06-17T12:00:00Z", end_time: "2031-06-17T13:00:00Z", title: "Series, moved", location: null } });
    expect(moved.status).toBe(200);
    const { text } = await exportOf(event.id);
    expect(rawLines(text, "EXDATE")).toEqual(["EXDATE;TZID=Europe/Berlin:20310609T090000,20310630T090000"]);
    const vevents = parseCalendar(text).getAllSubcomponents("vevent");
    expect(vevents).toHaveLength(2);
    expect(new Set(vevents.map((v) => v.getFirstPropertyValue("uid")))).toEqual(new Set([`event-${event.id}@localhost`]));
    expect(vevents.map((v) => v.getFirstPropertyValue("sequence"))).toEqual([3, 3]);
    expect(rawLines(text, "RECURRENCE-ID")).toEqual(["RECURRENCE-ID;TZID=Europe/Berlin:20310616T090000"]);
    const override = vevents[1];
    expect(override.getFirstPropertyValue("summary")).toBe("Series, moved");
    expect(override.getFirstPropertyValue("description")).toBe("Main");
    expect(override.hasProperty("location")).toBe(false);
    expect(override.hasProperty("rrule")).toBe(false);
    expect(rawLines(text, "DTSTART")).toEqual(["DTSTART;TZID=Europe/Berlin:20310602T090000", "DTSTART;TZID=Europe/Berlin:20310617T140000"]);
    const expanded = expandCalendar(text, Date.parse("2031-06-01T00:00:00Z"), Date.parse("2031-08-01T00:00:00Z"));
    const api = await json("GET", `/api/events/${event.id}/occurrences?start=2031-06-01T00:00:00Z&end=2031-08-01T00:00:00Z`, { token: user.token });
    expect(expanded.map((o) => [o.start, o.end])).toEqual(api.body.items.map((o: { start_time: string; end_time: string }) => [Date.parse(o.start_time), Date.parse(o.end_time)]));
    expect(expanded).toHaveLength(4);
  });

  it("has an ETag of its own: If-None-Match gives 304, and the JSON tag does not match it", async () => {
    const event = await create({ title: "Tagged", start_time: "2031-03-08T10:00:00Z", end_time: "2031-03-08T11:00:00Z" });
    const { res } = await exportOf(event.id);
    const etag = res.headers.get("etag")!;
    const jsonTag = (await call("GET", `/api/events/${event.id}`, { token: user.token })).headers.get("etag")!;
    expect(etag).not.toBe(jsonTag);
    expect((await exportOf(event.id, { "If-None-Match": etag })).res.status).toBe(304);
    expect((await exportOf(event.id, { "If-None-Match": jsonTag })).res.status).toBe(200);
  });

  it("answers JSON when text/calendar is not preferred, and problems as JSON for an event you cannot see", async () => {
    const event = await create({ title: "Negotiated", start_time: "2031-03-09T10:00:00Z", end_time: "2031-03-09T11:00:00Z" });
    for (const accept of ["*/*", "application/json, text/calendar;q=0.5"]) {
      const res = await call("GET", `/api/events/${event.id}`, { token: user.token, accept });
      expect(res.headers.get("content-type")).toBe("application/json");
    }
    expect((await call("GET", `/api/events/${event.id}`, { token: user.token, accept: "text/*" })).headers.get("content-type")).toBe(CALENDAR);
    const stranger = await registerUser("ics_stranger");
    const hidden = await json("GET", `/api/events/${event.id}`, { token: stranger.token, accept: "text/calendar" });
    expectProblem(hidden, 404, "not_found");
  });

  it("exports the event as it was with ?at=", async () => {
    const event = await create({ title: "Old name", start_time: "2031-03-11T15:00:00Z", end_time: "2031-03-11T16:00:00Z" });
    const at = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await json("PATCH", `/api/events/${event.id}`, { token: user.token, body: { title: "New name" } });
    const res = await call("GET", `/api/events/${event.id}?at=${encodeURIComponent(at)}`, { token: user.token, accept: "text/calendar" });
    expect(res.status).toBe(200);
    expect(vevent(await res.text()).getFirstPropertyValue("summary")).toBe("Old name");
  });
});

describe("GET /api/events with Accept: text/calendar", () => {
  it("answers the list's page as one VCALENDAR, honouring its filters, with the next page in a Link header", async () => {
    const lister = await registerUser("ics_list");
    const ids: number[] = [];
    for (const [title, day] of [["March A", 1], ["March B", 2], ["March C", 3], ["May", 60]] as const) {
      ids.push((await create({ title, start_time: new Date(Date.UTC(2032, 2, day, 9)).toISOString(), end_time: new Date(Date.UTC(2032, 2, day, 10)).toISOString(), timezone: "America/New_York" }, lister)).id);
    }
    const summariesOf = (text: string) => parseCalendar(text).getAllSubcomponents("vevent").map((v) => v.getFirstPropertyValue("summary"));
    const window = "start=2032-03-01T00:00:00Z&end=2032-04-01T00:00:00Z";
    const first = await call("GET", `/api/events?${window}&limit=2`, { token: lister.token, accept: "text/calendar" });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe(CALENDAR);
    const text = await first.text();
    expect(summariesOf(text)).toEqual(["March A", "March B"]);
    expect(parseCalendar(text).getAllSubcomponents("vtimezone").map((z) => z.getFirstPropertyValue("tzid"))).toEqual(["America/New_York"]);
    const link = /^<([^>]+)>; rel="next"$/.exec(first.headers.get("link") ?? "");
    expect(link).not.toBeNull();
    const second = await call("GET", link![1], { token: lister.token, accept: "text/calendar" });
    expect(summariesOf(await second.text())).toEqual(["March C"]);
    expect(second.headers.get("link")).toBeNull();
    const searched = await call("GET", `/api/events?q=may`, { token: lister.token, accept: "text/calendar" });
    expect(summariesOf(await searched.text())).toEqual(["May"]);
  });

  it("still needs a bearer token and validates the filters", async () => {
    expectProblem(await json("GET", "/api/events", { accept: "text/calendar" }), 401, "unauthorized");
    expectProblem(await json("GET", "/api/events?limit=0", { token: user.token, accept: "text/calendar" }), 422, "validation_failed");
  });
});
