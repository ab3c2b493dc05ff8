import { describe, expect, it } from "vitest";
import {
  firstOverlap,
  formatUtc,
  isValidTimeZone,
  occurrencesBetween,
  parseDateTimeInput,
  parseRecurrence,
  seriesEnd,
  utcToWallTime,
  wallTimeToUtc,
  type RecurrenceRule,
  type SeriesSpec,
} from "../src/recurrence";
import cases from "./fixtures/rrule-cases.json";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);

function ruleOf(pattern: string, timeZone: string): RecurrenceRule {
  const parsed = parseRecurrence(pattern, timeZone);
  if (!parsed.ok) throw new Error(`${pattern}: ${parsed.part}: ${parsed.message}`);
  return parsed.rule;
}

/** A series starting at a wall time in `timeZone`, lasting `minutes`. */
function series(pattern: string | null, timeZone: string, dtstart: string, minutes = 60): SeriesSpec {
  const startMs = parseDateTimeInput(dtstart, timeZone);
  if (startMs === null) throw new Error(`bad dtstart ${dtstart}`);
  return { startMs, endMs: startMs + minutes * 60_000, timeZone, rule: pattern === null ? null : ruleOf(pattern, timeZone) };
}

function parseError(pattern: string) {
  const parsed = parseRecurrence(pattern, "Europe/Berlin");
  if (parsed.ok) throw new Error(`${pattern} parsed`);
  return parsed;
}

describe("expansion matches python-dateutil (test/fixtures/rrule-cases.json)", () => {
  it("has enough cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(74);
  });

  for (const c of cases) {
    it(`${c.name} (${c.pattern}, ${c.timeZone})`, () => {
      const spec = series(c.pattern, c.timeZone, c.dtstart, c.durationMinutes);
      const got = occurrencesBetween(spec, at(c.windowStart), at(c.windowEnd)).map((o) => formatUtc(o.start));
      expect(got).toEqual(c.expected);
    });
  }
});

describe("parseRecurrence", () => {
  it("reads the plain words as FREQ with INTERVAL=1", () => {
    expect(parseRecurrence("Weekly", "UTC")).toEqual({ ok: true, rule: { freq: "WEEKLY", interval: 1, wkst: 0 } });
  });

  it("reads an RRULE body with ordinals, lists and WKST", () => {
    const parsed = parseRecurrence("RRULE:freq=monthly;BYDAY=-1FR,2tu;BYMONTH=1,6;interval=2;wkst=SU", "UTC");
    expect(parsed).toEqual({
      ok: true,
      rule: { freq: "MONTHLY", interval: 2, byMonth: [1, 6], byDay: [{ weekday: 4, ordinal: -1 }, { weekday: 1, ordinal: 2 }], wkst: 6 },
    });
  });

  it("reads UNTIL in UTC, as a floating wall time in the zone, and as a whole day", () => {
    expect(ruleOf("FREQ=DAILY;UNTIL=20250410T070000Z", "Europe/Berlin").until).toBe(at("2025-04-10T07:00:00Z"));
    expect(ruleOf("FREQ=DAILY;UNTIL=20250410T090000", "Europe/Berlin").until).toBe(at("2025-04-10T07:00:00Z"));
    expect(ruleOf("FREQ=DAILY;UNTIL=20250410", "Europe/Berlin").until).toBe(at("2025-04-10T22:00:00Z") - 1);
  });

  it("reads BYSETPOS, BYWEEKNO and BYYEARDAY with negative values", () => {
    expect(ruleOf("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,1", "UTC").bySetPos).toEqual([-1, 1]);
    expect(ruleOf("FREQ=YEARLY;BYWEEKNO=1,-1,53;BYDAY=MO", "UTC").byWeekNo).toEqual([1, -1, 53]);
    expect(ruleOf("FREQ=YEARLY;BYYEARDAY=+1,-366,366,1", "UTC").byYearDay).toEqual([1, -366, 366]);
  });

  it.each([
    ["FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS", "BYSETPOS items must be 1..366 or -366..-1, not \"0\"."],
    ["FREQ=MONTHLY;BYDAY=MO;BYSETPOS=367", "BYSETPOS", "BYSETPOS items must be 1..366 or -366..-1, not \"367\"."],
    ["FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS", "BYSETPOS picks from the days other parts give; use it with BYDAY, BYMONTHDAY, BYMONTH, BYYEARDAY or BYWEEKNO."],
    ["FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO", "BYWEEKNO items must be 1..53 or -53..-1, not \"54\"."],
    ["FREQ=YEARLY;BYWEEKNO=0", "BYWEEKNO", "BYWEEKNO items must be 1..53 or -53..-1, not \"0\"."],
    ["FREQ=MONTHLY;BYWEEKNO=1", "BYWEEKNO", "BYWEEKNO needs FREQ=YEARLY."],
    ["FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO", "BYDAY", "Numbered weekdays like \"1MO\" cannot be used with BYWEEKNO."],
    ["FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY", "BYYEARDAY items must be 1..366 or -366..-1, not \"367\"."],
    ["FREQ=YEARLY;BYYEARDAY=-0", "BYYEARDAY", "BYYEARDAY items must be 1..366 or -366..-1, not \"-0\"."],
    ["FREQ=YEARLY;BYYEARDAY=1,,2", "BYYEARDAY", "BYYEARDAY has an empty item."],
    ["FREQ=DAILY;BYYEARDAY=1", "BYYEARDAY", "BYYEARDAY needs FREQ=YEARLY."],
  ])("refuses %s, naming %s", (pattern, part, message) => {
    expect(parseError(pattern)).toEqual({ ok: false, part, message });
  });

  it("refuses COUNT together with UNTIL", () => {
    expect(parseError("FREQ=DAILY;COUNT=3;UNTIL=20250101T000000Z").part).toBe("UNTIL");
  });

  it("refuses a BYDAY ordinal with WEEKLY", () => {
    expect(parseError("FREQ=WEEKLY;BYDAY=1MO").part).toBe("BYDAY");
  });

  it("requires FREQ", () => {
    expect(parseError("BYDAY=MO;COUNT=3").part).toBe("FREQ");
    expect(parseError("fortnightly").part).toBe("FREQ");
    expect(parseError("FREQ=HOURLY").part).toBe("FREQ");
  });

  it("refuses INTERVAL=0 and out-of-range numbers", () => {
    expect(parseError("FREQ=DAILY;INTERVAL=0").part).toBe("INTERVAL");
    expect(parseError("FREQ=DAILY;COUNT=5001").part).toBe("COUNT");
    expect(parseError("FREQ=MONTHLY;BYMONTHDAY=0").part).toBe("BYMONTHDAY");
    expect(parseError("FREQ=YEARLY;BYMONTH=13").part).toBe("BYMONTH");
    expect(parseError("FREQ=MONTHLY;BYDAY=6MO").part).toBe("BYDAY");
  });

  it("refuses duplicate parts, empty values, unknown parts and garbage", () => {
    expect(parseError("FREQ=DAILY;FREQ=WEEKLY").part).toBe("FREQ");
    expect(parseError("FREQ=DAILY;COUNT=").part).toBe("COUNT");
    expect(parseError("FREQ=WEEKLY;BYDAY=MO,,TU").part).toBe("BYDAY");
    expect(parseError("FREQ=DAILY;BYHOUR=9").part).toBe("BYHOUR");
    expect(parseError("FREQ=DAILY;COLOR=red").part).toBe("COLOR");
    expect(parseError("FREQ=DAILY;UNTIL=20250230").part).toBe("UNTIL");
    expect(parseError("FREQ=WEEKLY;BYMONTHDAY=1").part).toBe("BYMONTHDAY");
    expect(parseError("FREQ=DAILY;").part).toBe("RRULE");
  });
});

describe("time zones", () => {
  it("knows IANA names and refuses the rest", () => {
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Asia/Kathmandu")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isValidTimeZone("+01:00")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });

  it("moves a time in the spring-forward gap forward and picks the first of an ambiguous time", () => {
    const wall = { year: 2025, month: 3, day: 9, hour: 2, minute: 30, second: 0, millisecond: 0 };
    expect(formatUtc(wallTimeToUtc(wall, "America/New_York"))).toBe("2025-03-09T07:30:00Z");
    expect(formatUtc(wallTimeToUtc({ ...wall, month: 11, day: 2, hour: 1 }, "America/New_York"))).toBe("2025-11-02T05:30:00Z");
  });

  it("reads wall time back at a non-whole-hour offset", () => {
    expect(utcToWallTime(at("2025-06-01T00:00:00Z"), "Asia/Kathmandu")).toEqual({ year: 2025, month: 6, day: 1, hour: 5, minute: 45, second: 0, millisecond: 0 });
  });

  it("formats without milliseconds unless there are some", () => {
    expect(formatUtc(at("2031-03-01T08:00:00Z"))).toBe("2031-03-01T08:00:00Z");
    expect(formatUtc(at("2031-03-01T08:00:00.123Z"))).toBe("2031-03-01T08:00:00.123Z");
  });
});

describe("parseDateTimeInput", () => {
  it("reads Z and numeric offsets as instants", () => {
    expect(parseDateTimeInput("2031-03-01T08:00:00Z", "Europe/Berlin")).toBe(at("2031-03-01T08:00:00Z"));
    expect(parseDateTimeInput("2031-03-01t08:00z", "Europe/Berlin")).toBe(at("2031-03-01T08:00:00Z"));
    expect(parseDateTimeInput("2031-03-01T09:30:00+05:45", "UTC")).toBe(at("2031-03-01T03:45:00Z"));
    expect(parseDateTimeInput("2031-03-01T03:00:00.5-05:00", "UTC")).toBe(at("2031-03-01T08:00:00.500Z"));
  });

  it("reads a time without offset as wall time in the zone, DST included", () => {
    expect(parseDateTimeInput("2031-03-01T09:00", "Europe/Berlin")).toBe(at("2031-03-01T08:00:00Z"));
    expect(parseDateTimeInput("2031-07-01T09:00:00", "Europe/Berlin")).toBe(at("2031-07-01T07:00:00Z"));
  });

  it("refuses anything that is not a full, real date-time", () => {
    for (const input of [
      "2031-03-01",
      "2031-03-01 08:00:00Z",
      "0000-01-01T00:00:00Z",
      "10000-01-01T00:00:00Z",
      "2031-13-01T00:00:00Z",
      "2031-02-29T00:00:00Z",
      "2032-02-30T00:00:00Z",
      "2031-03-01T24:00:00Z",
      "2031-03-01T08:60:00Z",
      "2031-03-01T08:00:60Z",
      "2031-03-01T08:00:00+0100",
      "2031-03-01T08:00:00+01:60",
      "2031-03-01T08:00:00.1234Z",
      "31-03-01T08:00:00Z",
      " 2031-03-01T08:00:00Z",
      "tomorrow",
      "",
    ]) {
      expect(parseDateTimeInput(input, "Europe/Berlin"), input).toBeNull();
    }
  });

  it("accepts Feb 29 in a leap year", () => {
    expect(parseDateTimeInput("2032-02-29T12:00:00Z", "UTC")).toBe(at("2032-02-29T12:00:00Z"));
  });
});

describe("seriesEnd", () => {
  it("is the end of the last occurrence with COUNT", () => {
    expect(seriesEnd(series("FREQ=WEEKLY;COUNT=3", "Europe/Berlin", "2025-03-17T09:00"))).toBe(at("2025-03-31T08:00:00Z"));
  });

  it("is the end of the last occurrence on or before UNTIL", () => {
    expect(seriesEnd(series("FREQ=DAILY;UNTIL=20250405T100000Z", "UTC", "2025-04-01T10:00"))).toBe(at("2025-04-05T11:00:00Z"));
    expect(seriesEnd(series("FREQ=DAILY;UNTIL=20250405T095959Z", "UTC", "2025-04-01T10:00"))).toBe(at("2025-04-04T11:00:00Z"));
  });

  it("is null for an endless series and endMs for a one-off", () => {
    expect(seriesEnd(series("FREQ=MONTHLY;BYDAY=-1FR", "Europe/Berlin", "2025-01-31T09:00"))).toBeNull();
    const oneOff = series(null, "UTC", "2025-01-31T09:00", 30);
    expect(seriesEnd(oneOff)).toBe(oneOff.endMs);
  });

  it("terminates on a rule that never matches", () => {
    const never = series("FREQ=YEARLY;BYMONTHDAY=30;BYMONTH=2", "UTC", "2025-01-30T09:00");
    expect(seriesEnd(never)).toBe(never.endMs);
    expect(seriesEnd({ ...never, rule: ruleOf("FREQ=DAILY;BYMONTHDAY=30;BYMONTH=2;COUNT=3", "UTC") })).toBe(never.endMs);
    expect(occurrencesBetween({ ...never, rule: ruleOf("FREQ=DAILY;BYMONTHDAY=30;BYMONTH=2", "UTC") }, never.startMs, at("9999-01-01T00:00:00Z"))).toEqual([]);
  });
});

describe("occurrencesBetween", () => {
  it("returns at most max occurrences, even for a window over all time", () => {
    const daily = series("daily", "Europe/Berlin", "2025-01-01T09:00");
    expect(occurrencesBetween(daily, -8.64e15, 8.64e15, 1)).toEqual([{ start: daily.startMs, end: daily.endMs }]);
    expect(occurrencesBetween(daily, -8.64e15, 8.64e15, 3).map((o) => formatUtc(o.start))).toEqual(["2025-01-01T08:00:00Z", "2025-01-02T08:00:00Z", "2025-01-03T08:00:00Z"]);
  });

  it("skips ahead to a window decades away and counts COUNT from DTSTART", () => {
    const daily = series("FREQ=DAILY;INTERVAL=2", "America/New_York", "2025-01-01T09:00");
    expect(occurrencesBetween(daily, at("2065-07-01T00:00:00Z"), at("2065-07-05T00:00:00Z")).map((o) => formatUtc(o.start))).toEqual(["2065-07-02T13:00:00Z", "2065-07-04T13:00:00Z"]);
    const counted = series("FREQ=DAILY;COUNT=1000", "UTC", "2025-01-01T09:00");
    expect(occurrencesBetween(counted, at("2027-09-26T00:00:00Z"), at("2030-01-01T00:00:00Z")).map((o) => formatUtc(o.start))).toEqual(["2027-09-26T09:00:00Z", "2027-09-27T09:00:00Z"]);
  });

  it("unions plain and numbered weekdays in BYDAY, as RFC 5545 says (dateutil intersects them)", () => {
    const mixed = series("FREQ=MONTHLY;BYDAY=1MO,FR", "UTC", "2025-09-01T09:00");
    expect(occurrencesBetween(mixed, at("2025-09-01T00:00:00Z"), at("2025-10-01T00:00:00Z")).map((o) => formatUtc(o.start).slice(0, 10))).toEqual(["2025-09-01", "2025-09-05", "2025-09-12", "2025-09-19", "2025-09-26"]);
  });

  it("includes an occurrence that started before the window but ends inside it", () => {
    const weekly = series("weekly", "UTC", "2025-01-01T23:00", 120);
    expect(occurrencesBetween(weekly, at("2025-01-09T00:30:00Z"), at("2025-01-09T01:00:00Z")).map((o) => formatUtc(o.start))).toEqual(["2025-01-08T23:00:00Z"]);
    expect(occurrencesBetween(weekly, at("2025-01-09T01:00:00Z"), at("2025-01-15T23:00:00Z"))).toEqual([]);
  });
});

describe("BYSETPOS, BYWEEKNO and BYYEARDAY where dateutil differs", () => {
  const days = (spec: SeriesSpec, from: string, to: string) => occurrencesBetween(spec, at(from), at(to)).map((o) => formatUtc(o.start).slice(0, 10));

  it("counts BYSETPOS in DTSTART's whole week, not from DTSTART on (dateutil starts that week at DTSTART)", () => {
    // Weeks from Monday; DTSTART is a Wednesday. The first of Monday and Friday in that week is the
    // Monday before DTSTART, so the first week has no occurrence; dateutil would give that Friday.
    const spec = series("FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1", "UTC", "2025-01-08T09:00");
    expect(days(spec, "2025-01-01T00:00:00Z", "2025-01-25T00:00:00Z")).toEqual(["2025-01-13", "2025-01-20"]);
  });

  it("puts January days of a 52-week year's successor in week 52, not 53 (dateutil 2.9 gives 2039-01-01)", () => {
    const spec = series("FREQ=YEARLY;BYWEEKNO=53;BYDAY=FR,SA,SU", "UTC", "2026-01-02T18:00");
    expect(days(spec, "2037-06-01T00:00:00Z", "2040-06-01T00:00:00Z")).toEqual(["2038-01-01", "2038-01-02", "2038-01-03"]);
    const lastWeek = series("FREQ=YEARLY;BYWEEKNO=-1;BYDAY=SA", "UTC", "2026-01-03T18:00");
    expect(days(lastWeek, "2038-06-01T00:00:00Z", "2039-06-01T00:00:00Z")).toEqual(["2039-01-01"]);
  });

  it("never matches a DAILY BYSETPOS other than 1 or -1, since a day holds one candidate", () => {
    expect(days(series("FREQ=DAILY;BYDAY=MO;BYSETPOS=2", "UTC", "2025-01-06T09:00"), "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")).toEqual([]);
  });
});

describe("firstOverlap", () => {
  const horizon = at("2030-01-01T00:00:00Z");

  it("finds a one-off that hits the third occurrence of a weekly series", () => {
    const weekly = series("FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin", "2025-03-17T09:00");
    const oneOff = series(null, "Europe/Berlin", "2025-03-31T09:30", 30);
    expect(firstOverlap(weekly, oneOff, horizon)).toEqual({ a: { start: at("2025-03-31T07:00:00Z"), end: at("2025-03-31T08:00:00Z") }, b: { start: oneOff.startMs, end: oneOff.endMs } });
  });

  it("finds two endless weekly series on the same weekday and time", () => {
    const a = series("FREQ=WEEKLY;BYDAY=TU", "America/New_York", "2025-01-07T10:00");
    const b = series("FREQ=WEEKLY;INTERVAL=3;BYDAY=TU", "America/New_York", "2025-02-04T10:30");
    const hit = firstOverlap(a, b, b.startMs + 730 * DAY);
    expect(hit && formatUtc(hit.a.start)).toBe("2025-02-04T15:00:00Z");
    expect(hit && formatUtc(hit.b.start)).toBe("2025-02-04T15:30:00Z");
  });

  it("finds nothing between different weekdays of the same series", () => {
    const a = series("FREQ=WEEKLY;BYDAY=MO", "Europe/Berlin", "2025-03-17T09:00");
    const b = series("FREQ=WEEKLY;BYDAY=WE", "Europe/Berlin", "2025-03-19T09:00");
    expect(firstOverlap(a, b, b.startMs + 730 * DAY)).toBeNull();
  });

  it("treats back-to-back occurrences as no overlap", () => {
    const a = series("daily", "Europe/Berlin", "2025-03-17T09:00", 60);
    const b = series("daily", "Europe/Berlin", "2025-03-17T10:00", 60);
    expect(firstOverlap(a, b, horizon)).toBeNull();
    expect(firstOverlap(b, series(null, "Europe/Berlin", "2025-06-01T08:00", 60), horizon)).toBeNull();
  });

  it("stops when a bounded series ends before the other starts", () => {
    const counted = series("FREQ=DAILY;COUNT=5", "UTC", "2025-01-01T09:00");
    const later = series("daily", "UTC", "2025-02-01T09:00");
    expect(firstOverlap(counted, later, Infinity)).toBeNull();
  });

  it("finds a one-off 1.9 years into an endless daily series without walking it occurrence by occurrence", () => {
    const daily = series("daily", "Australia/Sydney", "2025-01-01T09:00", 30);
    const oneOff = series(null, "Australia/Sydney", "2026-11-24T09:15", 60);
    const began = performance.now();
    const hit = firstOverlap(daily, oneOff, daily.startMs + 730 * DAY);
    expect(hit).toEqual({ a: { start: at("2026-11-23T22:00:00Z"), end: at("2026-11-23T22:30:00Z") }, b: { start: oneOff.startMs, end: oneOff.endMs } });
    expect(firstOverlap(oneOff, daily, daily.startMs + 730 * DAY)).toEqual({ a: hit?.b, b: hit?.a });
    // Generous: the real cost is well under a millisecond; a walk through Intl would take far longer.
    expect(performance.now() - began).toBeLessThan(200);
  });

  it("respects the horizon", () => {
    const daily = series("daily", "UTC", "2025-01-01T09:00");
    const farOff = series(null, "UTC", "2028-01-01T09:00");
    expect(firstOverlap(daily, farOff, at("2027-01-01T00:00:00Z"))).toBeNull();
  });
});
