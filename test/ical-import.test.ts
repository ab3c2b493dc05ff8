import { beforeAll, describe, expect, it } from "vitest";
import google from "./fixtures/google-export.ics?raw";
import { call, expectProblem, json, registerUser, type TestUser } from "./helpers";
import { parseCalendar } from "./support/ical";

const ics = (...lines: string[]) => ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", ...lines, "END:VCALENDAR"].join("\r\n") + "\r\n";
const vevent = (uid: string, start: string, end: string, ...extra: string[]) => ["BEGIN:VEVENT", `UID:${uid}`, `DTSTAMP:20300101T000000Z`, `DTSTART:${start}`, `DTEND:${end}`, `SUMMARY:${uid}`, ...extra, "END:VEVENT"];

async function importAs(user: TestUser, body: string | Uint8Array, type = "text/calendar; charset=utf-8") {
  return json("POST", "/api/events/import", { token: user.token, body, headers: { "Content-Type": type } });
}

/** The VEVENTs of a calendar as what they mean, without what names our copy of them (UID, stamps, SEQUENCE). */
function meaning(text: string) {
  const unfolded = text.replace(/\r\n[ \t]/g, "");
  const blocks = unfolded.split("BEGIN:VEVENT").slice(1).map((b) => b.split("END:VEVENT")[0]);
  return blocks
    .map((block) =>
      block
        .split("\r\n")
        .filter((line) => line && !/^(UID|DTSTAMP|SEQUENCE|CREATED|LAST-MODIFIED)[:;]/.test(line))
        .sort()
        .join("\n"),
    )
    .sort();
}

let user: TestUser;
beforeAll(async () => {
  user = await registerUser("ics_import");
});

describe("POST /api/events/import", () => {
  it("round-trips a file we exported: imported into another user and exported again, the same events and rules", async () => {
    const author = await registerUser("ics_author");
    const reader = await registerUser("ics_reader");
    const bodies = [
      { title: "Planning; weekly, Berlin", description: "Line one\nLine two, with \\", location: "Room 4", start_time: "2034-03-06T09:00:00", end_time: "2034-03-06T10:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20341110T235959Z" },
      { title: "Last Friday", start_time: "2034-01-27T14:00:00", end_time: "2034-01-27T15:00:00", timezone: "America/New_York", is_recurring: true, recurrence_pattern: "FREQ=MONTHLY;BYDAY=-1FR;COUNT=12" },
      { title: "Endless", start_time: "2034-01-02T22:00:00", end_time: "2034-01-02T22:30:00", timezone: "Australia/Sydney", is_recurring: true, recurrence_pattern: "FREQ=DAILY;INTERVAL=3" },
      { title: "Once — ünïcödé 🎉", start_time: "2034-05-05T15:00:00Z", end_time: "2034-05-05T16:00:00Z" },
    ];
    const ids: number[] = [];
    for (const body of bodies) {
      const res = await json("POST", "/api/events", { token: author.token, body });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    // The weekly series loses one occurrence and has another moved and retitled; the monthly one has a new location once.
    expect((await call("DELETE", `/api/events/${ids[0]}/occurrences/2034-03-08T08:00:00Z`, { token: author.token })).status).toBe(204);
    expect((await json("PATCH", `/api/events/${ids[0]}/occurrences/2034-03-13T08:00:00Z`, { token: author.token, body: { start_time: "2034-03-13T12:00:00Z", end_time: "2034-03-13T13:30:00Z", title: "Planning, moved" } })).status).toBe(200);
    expect((await json("PATCH", `/api/events/${ids[1]}/occurrences/2034-02-24T19:00:00Z`, { token: author.token, body: { location: "Elsewhere" } })).status).toBe(200);
    const exported = await (await call("GET", "/api/events", { token: author.token, accept: "text/calendar" })).text();
    const imported = await importAs(reader, exported);
    expect(imported.status).toBe(201);
    expect(imported.body.warnings).toEqual([]);
    expect(imported.body.events.map((e: { title: string }) => e.title).sort()).toEqual(bodies.map((b) => b.title).sort());
    expect(imported.body.events.every((e: { owner_id: number }) => e.owner_id === reader.id)).toBe(true);
    const again = await (await call("GET", "/api/events", { token: reader.token, accept: "text/calendar" })).text();
    expect(meaning(again)).toEqual(meaning(exported));
    expect(meaning(again)).toHaveLength(6);
    const exceptionsOf = async (who: TestUser, id: number) => (await json("GET", `/api/events/${id}/exceptions`, { token: who.token })).body.items;
    const weekly = imported.body.events.find((e: { title: string }) => e.title === bodies[0].title).id;
    expect(await exceptionsOf(reader, weekly)).toEqual(await exceptionsOf(author, ids[0]));
    expect(await exceptionsOf(reader, weekly)).toHaveLength(2);
  });

  it("keeps RRULE and TZID from a Google Calendar export, and warns about what it drops", async () => {
    const res = await importAs(user, google);
    expect(res.status).toBe(201);
    const byTitle = Object.fromEntries(res.body.events.map((e: { title: string }) => [e.title, e]));
    expect(Object.keys(byTitle).sort()).toEqual(["Company holiday", "Dentist", "Monday planning"]);
    expect(byTitle["Monday planning"]).toMatchObject({
      description: "Weekly planning.\nBring numbers, please.",
      location: "Room 4, Berlin",
      start_time: "2033-03-07T08:30:00Z",
      end_time: "2033-03-07T09:00:00Z",
      timezone: "Europe/Berlin",
      is_recurring: true,
      recurrence_pattern: "FREQ=WEEKLY;WKST=MO;UNTIL=20330502T215959Z;BYDAY=MO",
    });
    expect(byTitle["Dentist"]).toMatchObject({ start_time: "2033-03-10T15:00:00Z", end_time: "2033-03-10T16:00:00Z", timezone: "UTC", is_recurring: false, location: "" });
    expect(byTitle["Company holiday"]).toMatchObject({ start_time: "2033-03-14T23:00:00Z", end_time: "2033-03-15T23:00:00Z", timezone: "Europe/Berlin" });
    const warned = res.body.warnings.map((w: { index?: number; property?: string }) => `${w.index}:${w.property}`);
    expect(warned).toEqual(expect.arrayContaining(["0:ORGANIZER", "0:ATTENDEE", "0:X-GOOGLE-CONFERENCE", "0:VALARM", "2:DTSTART"]));
    // The override without an EXDATE (Google's way) and the cancelled instance are the series' exceptions.
    const exceptions = await json("GET", `/api/events/${byTitle["Monday planning"].id}/exceptions`, { token: user.token });
    expect(exceptions.body.items).toEqual([
      { original_start: "2033-03-21T08:30:00Z", cancelled: false, title: "Monday planning (moved)", start_time: "2033-03-21T10:00:00Z", end_time: "2033-03-21T10:30:00Z" },
      { original_start: "2033-04-04T07:30:00Z", cancelled: true },
    ]);
    const occurrences = await json("GET", `/api/events/${byTitle["Monday planning"].id}/occurrences?start=2033-03-01T00:00:00Z&end=2033-06-01T00:00:00Z`, { token: user.token });
    expect(occurrences.body.items.map((o: { start_time: string }) => o.start_time)).toEqual([
      "2033-03-07T08:30:00Z", "2033-03-14T08:30:00Z", "2033-03-21T10:00:00Z", "2033-03-28T07:30:00Z", "2033-04-11T07:30:00Z", "2033-04-18T07:30:00Z", "2033-04-25T07:30:00Z", "2033-05-02T07:30:00Z",
    ]);
  });

  it("refuses a file with 101 VEVENTs with 422 and creates nothing", async () => {
    const lines = Array.from({ length: 101 }, (_, i) => vevent(`many-${i}`, `2035${String(1 + Math.floor(i / 28)).padStart(2, "0")}${String(1 + (i % 28)).padStart(2, "0")}T090000Z`, `2035${String(1 + Math.floor(i / 28)).padStart(2, "0")}${String(1 + (i % 28)).padStart(2, "0")}T100000Z`)).flat();
    const fresh = await registerUser("ics_many");
    const res = await importAs(fresh, ics(...lines));
    expectProblem(res, 422, "validation_failed");
    expect(res.body.detail).toContain("at most 100 events");
    expect((await json("GET", "/api/events", { token: fresh.token })).body.items).toEqual([]);
    const hundred = await importAs(fresh, ics(...lines.slice(0, lines.length - 7)));
    expect(hundred.status).toBe(201);
    expect(hundred.body.events).toHaveLength(100);
  });

  it("answers 409 naming the item that conflicts, with an existing event or with another item, and creates nothing", async () => {
    const fresh = await registerUser("ics_conflict");
    expect((await json("POST", "/api/events", { token: fresh.token, body: { title: "Existing", start_time: "2036-01-05T09:00:00Z", end_time: "2036-01-05T10:00:00Z" } })).status).toBe(201);
    const existing = await importAs(fresh, ics(...vevent("free", "20360106T090000Z", "20360106T100000Z"), ...vevent("clash", "20360105T093000Z", "20360105T103000Z")));
    expectProblem(existing, 409, "conflict");
    expect(existing.body.conflicts).toEqual([expect.objectContaining({ index: 1, title: "Existing" })]);
    const internal = await importAs(fresh, ics(...vevent("a", "20360107T090000Z", "20360107T100000Z"), ...vevent("b", "20360107T093000Z", "20360107T103000Z")));
    expectProblem(internal, 409, "conflict");
    expect(JSON.stringify(internal.body.conflicts)).toContain('"index":1');
    expect((await json("GET", "/api/events", { token: fresh.token })).body.items.map((e: { title: string }) => e.title)).toEqual(["Existing"]);
  });

  it("answers 422 naming the index of an item the batch path refuses (an end before its start)", async () => {
    const res = await importAs(user, ics(...vevent("ok", "20370101T090000Z", "20370101T100000Z"), ...vevent("backwards", "20370102T100000Z", "20370102T090000Z")));
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "events.1.end_time", message: "Must be after start_time.", index: 1 }]);
  });

  it("drops an EXDATE or override that names no occurrence of the series, with a warning", async () => {
    const res = await importAs(
      user,
      ics(...vevent("s", "20370301T090000Z", "20370301T100000Z", "RRULE:FREQ=DAILY;COUNT=5", "EXDATE:20370302T090000Z,20370302T093000Z"), ...vevent("s", "20370310T090000Z", "20370310T100000Z", "RECURRENCE-ID:20370310T090000Z")),
    );
    expect(res.status).toBe(201);
    expect(res.body.warnings.map((w: { index: number; property: string }) => `${w.index}:${w.property}`).sort()).toEqual(["0:EXDATE", "0:RECURRENCE-ID"]);
    expect((await json("GET", `/api/events/${res.body.events[0].id}/exceptions`, { token: user.token })).body.items).toEqual([{ original_start: "2037-03-02T09:00:00Z", cancelled: true }]);
  });

  it("imports a rule outside the grammar as its first occurrence, with a warning", async () => {
    const res = await importAs(user, ics(...vevent("hourly", "20370201T090000Z", "20370201T093000Z", "RRULE:FREQ=HOURLY;COUNT=3")));
    expect(res.status).toBe(201);
    expect(res.body.events[0]).toMatchObject({ is_recurring: false, recurrence_pattern: null });
    expect(res.body.warnings).toEqual([expect.objectContaining({ index: 0, property: "RRULE" })]);
  });

  it("reads a VEVENT with two DTSTARTs and two SUMMARYs by the first of each, and names both in warnings", async () => {
    const twice = vevent("twice", "20370205T090000Z", "20370205T100000Z", "DTSTART:20370206T090000Z", "SUMMARY:Second title");
    const res = await importAs(user, ics(...twice));
    expect(res.status).toBe(201);
    expect(res.body.events[0]).toMatchObject({ title: "twice", start_time: "2037-02-05T09:00:00Z", end_time: "2037-02-05T10:00:00Z" });
    expect(res.body.warnings).toEqual([
      { index: 0, property: "DTSTART", message: "The VEVENT has 2 DTSTART properties; RFC 5545 allows one, so the first was used." },
      { index: 0, property: "SUMMARY", message: "The VEVENT has 2 SUMMARY properties; RFC 5545 allows one, so the first was used." },
    ]);
  });

  it("reads a TZID that ends in an IANA name, and a VTIMEZONE-defined zone for a one-off (as UTC instants, with a warning)", async () => {
    const custom = ["BEGIN:VTIMEZONE", "TZID:Custom Standard Time", "BEGIN:STANDARD", "DTSTART:16010101T000000", "TZOFFSETFROM:+0300", "TZOFFSETTO:+0300", "END:STANDARD", "END:VTIMEZONE"];
    const res = await importAs(
      user,
      ics(...custom, ...vevent("mozilla", "X", "X").map((l) => (l.startsWith("DTSTART") ? "DTSTART;TZID=/mozilla.org/20050126_1/Europe/Paris:20370301T090000" : l.startsWith("DTEND") ? "DTEND;TZID=/mozilla.org/20050126_1/Europe/Paris:20370301T100000" : l)), ...vevent("windows", "X", "X").map((l) => (l.startsWith("DTSTART") ? "DTSTART;TZID=Custom Standard Time:20370302T090000" : l.startsWith("DTEND") ? "DTEND;TZID=Custom Standard Time:20370302T100000" : l))),
    );
    expect(res.status).toBe(201);
    expect(res.body.events[0]).toMatchObject({ timezone: "Europe/Paris", start_time: "2037-03-01T08:00:00Z" });
    expect(res.body.events[1]).toMatchObject({ timezone: "UTC", start_time: "2037-03-02T06:00:00Z", end_time: "2037-03-02T07:00:00Z" });
    expect(res.body.warnings).toEqual([expect.objectContaining({ index: 1, property: "DTSTART" })]);
  });

  it("answers 422 for a series in a zone that is neither IANA nor defined, naming the index", async () => {
    const res = await importAs(user, ics(...vevent("x", "X", "X").map((l) => (l.startsWith("DTSTART") ? "DTSTART;TZID=Nowhere/Special:20370401T090000" : l.startsWith("DTEND") ? "DTEND;TZID=Nowhere/Special:20370401T100000" : l)), "RRULE:FREQ=DAILY"));
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "events.0.start_time", message: 'TZID "Nowhere/Special" is neither an IANA time zone nor defined by a VTIMEZONE.', index: 0 }]);
  });

  it("takes only text/calendar (415 otherwise), needs a bearer token, and bounds the body at 1 MiB", async () => {
    expectProblem(await json("POST", "/api/events/import", { token: user.token, body: { events: [] } }), 415, "unsupported_media_type");
    expectProblem(await json("POST", "/api/events/import", { body: ics(...vevent("a", "20380101T090000Z", "20380101T100000Z")), headers: { "Content-Type": "text/calendar" } }), 401, "unauthorized");
    const huge = ics("X-PAD:" + "a".repeat(1024 * 1024));
    expectProblem(await importAs(user, huge), 413, "payload_too_large");
    expectProblem(await json("POST", "/api/events", { token: user.token, body: ics(), headers: { "Content-Type": "text/calendar" } }), 415, "unsupported_media_type");
  });

  describe("malformed or hostile iCalendar is 400 or 422, never 5xx", () => {
    const manyComponents = ics(...Array.from({ length: 10_000 }, () => ["BEGIN:X-THING", "END:X-THING"]).flat());
    const deep = ics(...Array.from({ length: 10_000 }, () => "BEGIN:VEVENT"), ...Array.from({ length: 10_000 }, () => "END:VEVENT"));
    const foldedLine = ics("BEGIN:VEVENT", "UID:f", "DTSTART:20380101T090000Z", "DTEND:20380101T100000Z", "SUMMARY:" + Array.from({ length: 12_000 }, () => "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrst").join("\r\n "), "END:VEVENT");
    const cases: [string, string | Uint8Array, number[]][] = [
      ["an empty body", "", [400, 422]],
      ["plain text", "hello, world", [400]],
      ["a VCALENDAR that never ends", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\n", [400]],
      ["END without BEGIN", "END:VCALENDAR\r\n", [400, 422]],
      ["a calendar without events", ics(), [422]],
      ["a VEVENT without DTSTART", ics("BEGIN:VEVENT", "UID:x", "SUMMARY:x", "END:VEVENT"), [422]],
      ["a month 13 and hour 99", ics(...vevent("bad", "20381345T999999Z", "20381346T100000Z")), [422]],
      ["a date-time without digits", ics(...vevent("bad", "2038--T::", "2038--T::")), [422]],
      ["February 30", ics(...vevent("bad", "20380230T090000Z", "20380230T100000Z")), [422]],
      ["the year 10000", ics(...vevent("bad", "100000101T090000Z", "100000101T100000Z")), [422]],
      ["a year before 1900", ics(...vevent("old", "18000101T090000Z", "18000101T100000Z")), [422]],
      ["an unknown TZID", ics(...vevent("tz", "X", "X").map((l) => (l.startsWith("DTSTART") ? "DTSTART;TZID=Mars/Olympus:20380101T090000" : l))), [422]],
      ["a bad DURATION", ics("BEGIN:VEVENT", "UID:d", "DTSTART:20380101T090000Z", "DURATION:forever", "END:VEVENT"), [422]],
      ["a bad RRULE", ics(...vevent("r", "20380101T090000Z", "20380101T100000Z", "RRULE:FREQ=;;;COUNT=abc")), [201, 400, 422]],
      ["a bad EXDATE", ics(...vevent("e", "20380101T090000Z", "20380101T100000Z", "RRULE:FREQ=DAILY;COUNT=3", "EXDATE:notadate")), [422]],
      ["a bad RECURRENCE-ID", ics(...vevent("o", "20380101T090000Z", "20380101T100000Z", "RRULE:FREQ=DAILY;COUNT=3"), ...vevent("o", "20380102T090000Z", "20380102T100000Z", "RECURRENCE-ID:garbage")), [422]],
      ["10,000 components", manyComponents, [422]],
      ["10,000 nested VEVENTs", deep, [422]],
      ["a huge folded line", foldedLine, [201, 422]],
      ["bytes that are not UTF-8", new Uint8Array([0x42, 0x45, 0x47, 0xff, 0xfe, 0x0d, 0x0a]), [400]],
      ["a parameter without a value", ics("BEGIN:VEVENT", "UID:p", 'DTSTART;TZID="unterminated:20380101T090000Z', "END:VEVENT"), [400, 422]],
    ];
    for (const [name, body, statuses] of cases) {
      it(`${name}: ${statuses.join(" or ")}`, async () => {
        const res = await importAs(user, body);
        expect(statuses, JSON.stringify(res.body).slice(0, 300)).toContain(res.status);
        if (res.status >= 400) expect(res.headers.get("content-type")).toBe("application/problem+json");
      });
    }
  });

  it("parses what it wrote with ical.js: the export of the imported Google file", async () => {
    const text = await (await call("GET", "/api/events?q=planning", { token: user.token, accept: "text/calendar" })).text();
    const summaries = parseCalendar(text)
      .getAllSubcomponents("vevent")
      .map((v) => v.getFirstPropertyValue("summary"));
    expect(summaries).toContain("Monday planning");
  });
});
