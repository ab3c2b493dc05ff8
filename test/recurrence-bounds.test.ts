import { describe, expect, it } from "vitest";
import {
  BudgetExceeded,
  checkSeries,
  CONFLICT_BUDGET,
  expansionWork,
  firstOverlap,
  formatUtc,
  occurrencesBetween,
  parseDateTimeInput,
  parseRecurrence,
  RULE_BUDGET,
  seriesEnd,
  WorkBudget,
  type SeriesSpec,
} from "../src/recurrence";
import { env } from "cloudflare:workers";
import { MAX_CONFLICT_CANDIDATES } from "../src/events/conflicts";
import { expectProblem, json, registerUser } from "./helpers";

const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);

function series(pattern: string | null, timeZone: string, dtstart: string, minutes = 60): SeriesSpec {
  const startMs = parseDateTimeInput(dtstart, timeZone);
  if (startMs === null) throw new Error(`bad dtstart ${dtstart}`);
  if (pattern === null) return { startMs, endMs: startMs + minutes * 60_000, timeZone, rule: null };
  const parsed = parseRecurrence(pattern, timeZone);
  if (!parsed.ok) throw new Error(`${pattern}: ${parsed.message}`);
  return { startMs, endMs: startMs + minutes * 60_000, timeZone, rule: parsed.rule };
}

/** The series as it is read back from D1: with the end the write stored. */
function stored(spec: SeriesSpec): SeriesSpec {
  const checked = checkSeries(spec, new WorkBudget(Infinity));
  if (!checked.ok) throw new Error(checked.message);
  return { ...spec, seriesEnd: checked.seriesEnd };
}

/** Steps `run` spends, read from the isolate-wide counter. */
function stepsOf(run: () => unknown): number {
  const before = expansionWork();
  run();
  return expansionWork() - before;
}

const SHAPES = [
  "daily",
  "FREQ=WEEKLY;BYDAY=MO,WE,FR",
  "FREQ=MONTHLY;BYDAY=-1FR",
  "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
  "FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR",
  "FREQ=DAILY;INTERVAL=29;BYMONTHDAY=13;BYDAY=FR",
  "FREQ=WEEKLY;BYMONTH=2;BYDAY=MO",
  "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
  "FREQ=DAILY;UNTIL=99991231",
  "FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR",
  "FREQ=YEARLY;BYDAY=MO;COUNT=5000",
  "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
  "FREQ=YEARLY;BYWEEKNO=1,-1;BYDAY=MO",
  "FREQ=YEARLY;BYYEARDAY=-1,60;COUNT=5000",
];

describe("expansion work follows the window, not the series' age", () => {
  // 1900-01-01 and 2029-01-01 are both Mondays, so the two series repeat the same weekdays.
  for (const pattern of SHAPES) {
    for (const zone of ["UTC", "Europe/Berlin"]) {
      it(`costs the same for a window in 2030 whether ${pattern} (${zone}) started in 1900 or in 2029`, () => {
        const old = stored(series(pattern, zone, "1900-01-01T09:00"));
        const recent = stored(series(pattern, zone, "2029-01-01T09:00"));
        const window = [at("2030-03-01T00:00:00Z"), at("2030-09-01T00:00:00Z")] as const;
        const oldSteps = stepsOf(() => occurrencesBetween(old, ...window));
        const recentSteps = stepsOf(() => occurrencesBetween(recent, ...window));
        // A COUNT rule started in 1900 may have run out before 2030; then it costs less, never more.
        expect(oldSteps).toBeLessThanOrEqual(recentSteps);
        expect(recentSteps).toBeLessThan(1000);
      });
    }
  }

  it("enters a COUNT rule with a stored end at the window instead of counting 5,000 occurrences from 1900", () => {
    const spec = series("FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR", "UTC", "1900-01-01T09:00");
    const window = [at("4000-01-01T00:00:00Z"), at("4001-01-01T00:00:00Z")] as const;
    const withEnd = stored(spec);
    const counted = stepsOf(() => occurrencesBetween(spec, ...window));
    const jumped = stepsOf(() => occurrencesBetween(withEnd, ...window));
    expect(counted).toBeGreaterThan(20_000);
    expect(jumped).toBeLessThan(100);
    expect(occurrencesBetween(stored(spec), ...window)).toEqual(occurrencesBetween(spec, ...window));
  });

  it.each([
    ["FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR", "America/New_York"],
    ["FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;COUNT=777", "Europe/Berlin"],
    ["FREQ=MONTHLY;BYDAY=1MO,-1MO;COUNT=500", "Australia/Sydney"],
    ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=40", "Asia/Kolkata"],
    ["FREQ=DAILY;INTERVAL=3;COUNT=4000", "Australia/Lord_Howe"],
  ])("reads %s (%s) through its stored end exactly as counting from DTSTART gives it", (pattern, zone) => {
    const spec = series(pattern, zone, "1990-03-30T23:30");
    const end = stored(spec).seriesEnd!;
    for (const from of [spec.startMs - DAY, spec.startMs + 400 * DAY, end - 300 * DAY, end - 2 * DAY, end]) {
      const window = [from, from + 366 * DAY] as const;
      expect(occurrencesBetween(stored(spec), ...window)).toEqual(occurrencesBetween(spec, ...window));
    }
  });
});

describe("the budget for writing a rule", () => {
  it.each([
    ["FREQ=DAILY;COUNT=5000", "1900-01-01T09:00"],
    ["FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR", "1900-01-01T09:00"],
    ["FREQ=DAILY;COUNT=5000;BYMONTH=2;BYMONTHDAY=29", "1900-01-01T09:00"],
    ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5000", "1900-01-01T09:00"],
    ["FREQ=YEARLY;INTERVAL=1000;COUNT=5000", "1900-01-01T09:00"],
    ["FREQ=DAILY;INTERVAL=1000;COUNT=5000", "1900-01-01T09:00"],
    ["FREQ=WEEKLY;BYMONTH=2;BYDAY=MO;COUNT=5000", "1900-01-01T09:00"],
    ["FREQ=MONTHLY;BYDAY=-1FR;COUNT=5000", "1900-01-01T09:00"],
    ["FREQ=DAILY;UNTIL=99991231", "1900-01-01T09:00"],
    ["FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR;UNTIL=99991231", "1900-01-01T09:00"],
    ["FREQ=DAILY;INTERVAL=29;BYMONTHDAY=13;BYDAY=FR", "1900-01-01T09:00"],
  ])("accepts %s from %s within the budget", (pattern, start) => {
    const spec = series(pattern, "Europe/Berlin", start);
    let checked: ReturnType<typeof checkSeries> | undefined;
    const steps = stepsOf(() => (checked = checkSeries(spec, new WorkBudget(RULE_BUDGET))));
    expect(checked?.ok).toBe(true);
    expect(steps).toBeLessThanOrEqual(RULE_BUDGET);
  });

  it.each([
    "FREQ=DAILY;INTERVAL=15;BYMONTHDAY=13;BYDAY=FR;COUNT=5000",
    "FREQ=DAILY;INTERVAL=16;BYMONTHDAY=13;BYDAY=FR;COUNT=5000",
    "FREQ=DAILY;INTERVAL=29;BYMONTHDAY=13;BYDAY=FR;COUNT=5000",
    `FREQ=YEARLY;BYMONTHDAY=${Array.from({ length: 31 }, (_, i) => `${i + 1},-${i + 1}`).join(",")};BYDAY=53MO,-53SU;COUNT=5000`,
  ])("refuses %s as too expensive, having spent no more than the budget", (pattern) => {
    const spec = series(pattern, "UTC", "1900-01-01T09:00");
    let checked: ReturnType<typeof checkSeries> | undefined;
    const steps = stepsOf(() => (checked = checkSeries(spec, new WorkBudget(RULE_BUDGET))));
    expect(checked).toMatchObject({ ok: false, reason: "too_expensive" });
    // A period's tests are charged at once, so the walk stops within one period of the budget.
    expect(steps).toBeLessThanOrEqual(RULE_BUDGET + 1000);
  });

  it("tells a rule that never matches from one that is too expensive", () => {
    expect(checkSeries(series("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "UTC", "1900-01-01T09:00"), new WorkBudget(RULE_BUDGET))).toMatchObject({ ok: false, reason: "empty" });
    expect(checkSeries(series("FREQ=DAILY;INTERVAL=7;BYDAY=TU", "UTC", "2030-01-07T09:00"), new WorkBudget(RULE_BUDGET))).toMatchObject({ ok: false, reason: "empty" });
  });
});

describe("the end of the supported range", () => {
  it("ends a daily series at the last occurrence that ends by 9999-12-31T23:59:59Z", () => {
    const spec = series("daily", "UTC", "9999-12-25T23:00", 120);
    const found = occurrencesBetween(spec, spec.startMs, Infinity).map((o) => formatUtc(o.end));
    expect(found.at(-1)).toBe("9999-12-31T01:00:00Z");
    expect(found).toHaveLength(6);
    expect(seriesEnd(spec)).toBeNull();
  });

  it("stores an end inside the range for a COUNT rule that would run past it, also west of UTC", () => {
    const spec = series("FREQ=DAILY;COUNT=50", "America/New_York", "9999-12-25T20:00");
    const end = seriesEnd(spec)!;
    expect(formatUtc(end)).toBe("9999-12-31T02:00:00Z");
    expect(new Date(end).toISOString().startsWith("9999-")).toBe(true);
    expect(occurrencesBetween(stored(spec), spec.startMs, Infinity)).toHaveLength(6);
  });

  it("refuses a rule whose first occurrence would lie past the range as yielding nothing", () => {
    const spec = series("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "UTC", "9997-03-01T09:00");
    expect(checkSeries(spec, new WorkBudget(RULE_BUDGET))).toMatchObject({ ok: false, reason: "empty" });
  });
});

describe("the conflict check between series", () => {
  it("stops with BudgetExceeded rather than reporting no overlap when its budget runs out", () => {
    const a = series("daily", "UTC", "2030-01-01T09:00");
    const b = series("daily", "UTC", "2030-01-01T10:00");
    expect(() => firstOverlap(a, b, a.startMs + 730 * DAY, new WorkBudget(1000))).toThrow(BudgetExceeded);
    expect(firstOverlap(a, b, a.startMs + 730 * DAY, new WorkBudget(CONFLICT_BUDGET))).toBeNull();
  });

  it("enters two series where the later one starts, so a series from 1900 costs what one from 2029 does", () => {
    const later = stored(series("FREQ=WEEKLY;BYDAY=TU", "Europe/Berlin", "2029-01-01T10:00"));
    const horizon = later.startMs + 730 * DAY;
    const old = stored(series("FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR", "Europe/Berlin", "1900-01-01T10:00"));
    const recent = stored(series("FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR", "Europe/Berlin", "2029-01-01T10:00"));
    const fromOld = stepsOf(() => firstOverlap(old, later, horizon));
    const fromRecent = stepsOf(() => firstOverlap(recent, later, horizon));
    expect(Math.abs(fromOld - fromRecent)).toBeLessThanOrEqual(10);
    expect(fromRecent).toBeLessThan(1000);
  });
});

const event = (pattern: string, start: string, hours = 1) => ({
  title: `Hostile ${pattern}`.slice(0, 200),
  start_time: `${start}Z`,
  end_time: new Date(Date.parse(`${start}Z`) + hours * 3600_000).toISOString(),
  is_recurring: true,
  recurrence_pattern: pattern,
});

describe("hostile rules through the API", () => {
  it.each([
    ["FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR", "1900-01-01T09:00:00", 201],
    ["FREQ=DAILY;COUNT=5000;BYMONTH=2;BYMONTHDAY=29", "1900-01-01T09:00:00", 201],
    ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "1900-01-01T09:00:00", 201],
    ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5000", "1900-01-01T09:00:00", 201],
    ["FREQ=YEARLY;INTERVAL=1000", "1900-01-01T09:00:00", 201],
    ["FREQ=DAILY;UNTIL=99991231", "1900-01-01T09:00:00", 201],
    ["FREQ=DAILY;INTERVAL=1000;COUNT=5000", "1900-01-01T09:00:00", 201],
    ["FREQ=DAILY;COUNT=5000", "9999-12-20T09:00:00", 201],
    ["FREQ=DAILY;INTERVAL=15;BYMONTHDAY=13;BYDAY=FR;COUNT=5000", "1900-01-01T09:00:00", 422],
    ["FREQ=DAILY;INTERVAL=29;BYMONTHDAY=13;BYDAY=FR;COUNT=5000", "1900-01-01T09:00:00", 422],
    ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "1900-01-01T09:00:00", 422],
  ])("%s from %s is %i, within both budgets", async (pattern, start, status) => {
    const owner = await registerUser("hostile");
    const before = expansionWork();
    const res = await json("POST", "/api/events", { token: owner.token, body: event(pattern, start) });
    expect(expansionWork() - before).toBeLessThanOrEqual(RULE_BUDGET + CONFLICT_BUDGET);
    if (status === 201) {
      expect(res.status).toBe(201);
      expect(res.body.recurrence_pattern).toBe(pattern);
    } else {
      expectProblem(res, 422, "validation_failed");
      expect(res.body.errors).toEqual([{ field: "recurrence_pattern", message: expect.stringMatching(/too sparse or too long|yields no occurrence/) }]);
    }
  });

  it("keeps a series near the end of the range inside it, west of UTC too, so edits and rollbacks re-validate", async () => {
    const owner = await registerUser("endofrange");
    const made = await json("POST", "/api/events", {
      token: owner.token,
      body: { title: "Last days", start_time: "9999-12-29T20:00:00", end_time: "9999-12-29T21:00:00", timezone: "America/New_York", is_recurring: true, recurrence_pattern: "FREQ=DAILY;COUNT=10" },
    });
    expect(made.status).toBe(201);
    const occurrences = await json("GET", `/api/events/${made.body.id}/occurrences?start=9999-12-29T00:00:00Z&end=9999-12-31T23:59:59Z`, { token: owner.token });
    // 9999-12-31T20:00 in New York would be 10000-01-01T01:00Z: not part of the series.
    expect(occurrences.body.items).toEqual([
      { start_time: "9999-12-30T01:00:00Z", end_time: "9999-12-30T02:00:00Z", original_start: "9999-12-30T01:00:00Z" },
      { start_time: "9999-12-31T01:00:00Z", end_time: "9999-12-31T02:00:00Z", original_start: "9999-12-31T01:00:00Z" },
    ]);
    const edited = await json("PATCH", `/api/events/${made.body.id}`, { token: owner.token, body: { title: "Last days, renamed" } });
    expect(edited.status).toBe(200);
    expect((await json("POST", `/api/events/${made.body.id}/rollback/1`, { token: owner.token })).status).toBe(200);
  });

  it("creates the issue's rule from 1900 beside 19 like it in a few steps per neighbour, not seconds of walking", async () => {
    const owner = await registerUser("fri13");
    const pattern = "FREQ=DAILY;COUNT=5000;BYMONTHDAY=13;BYDAY=FR";
    const body = Array.from({ length: 19 }, (_, hour) => event(pattern, `1900-01-01T${String(hour).padStart(2, "0")}:00:00`));
    // Nineteen series in one batch: 171 pairs, each compared over the two-year horizon.
    expect((await json("POST", "/api/events/batch", { token: owner.token, body: { events: body } })).status).toBe(201);
    const before = expansionWork();
    const began = performance.now();
    const res = await json("POST", "/api/events", { token: owner.token, body: event(pattern, "1900-01-01T19:00:00") });
    const steps = expansionWork() - before;
    expect(res.status).toBe(201);
    // The rule's own walk (69,785 steps) plus about 50 per neighbour.
    expect(steps).toBeLessThan(RULE_BUDGET + 19 * 100);
    expect(performance.now() - began).toBeLessThan(2000);
    expectProblem(await json("POST", "/api/events", { token: owner.token, body: event(pattern, "1900-01-01T19:30:00") }), 409, "conflict");
  });

  it("compares two series running to the year 9999 over the horizon, so a different hour is cheap and the same hour conflicts", async () => {
    const owner = await registerUser("until9999");
    expect((await json("POST", "/api/events", { token: owner.token, body: event("FREQ=DAILY;UNTIL=99991231", "1900-01-01T09:00:00") })).status).toBe(201);
    const before = expansionWork();
    expect((await json("POST", "/api/events", { token: owner.token, body: event("FREQ=DAILY;UNTIL=99991231", "1950-06-01T10:00:00") })).status).toBe(201);
    expect(expansionWork() - before).toBeLessThan(10_000);
    const res = await json("POST", "/api/events", { token: owner.token, body: event("FREQ=WEEKLY;UNTIL=99991231", "2030-01-01T09:30:00") });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts[0].start_time).toBe("2030-01-01T09:00:00Z");
  });

  it("accepts two series whose first coincidence lies past the two-year horizon, while a one-off there conflicts with both", async () => {
    const owner = await registerUser("horizon");
    // Mondays, and Monday the 29th of February: they first meet on 2044-02-29, 14 years on.
    const weekly = await json("POST", "/api/events", { token: owner.token, body: event("FREQ=WEEKLY;BYDAY=MO", "2030-01-07T10:00:00") });
    expect(weekly.status).toBe(201);
    const leap = await json("POST", "/api/events", { token: owner.token, body: event("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "2030-01-08T10:00:00") });
    expect(leap.status).toBe(201);
    const res = await json("POST", "/api/events", { token: owner.token, body: { title: "Leap Monday", start_time: "2044-02-29T10:30:00Z", end_time: "2044-02-29T10:45:00Z" } });
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts.map((c: { id: number }) => c.id).sort()).toEqual([weekly.body.id, leap.body.id].sort());
  });

  it("refuses a conflict check past its budget with a 422 on the rule, and writes nothing", async () => {
    const owner = await registerUser("budget");
    // Endless dailies 20 minutes apart never overlap, but each pair is walked for two years.
    const slot = (i: number) => `2030-01-01T${String(Math.floor(i / 3)).padStart(2, "0")}:${String((i % 3) * 20).padStart(2, "0")}:00`;
    const body = Array.from({ length: 60 }, (_, i) => ({ ...event("daily", slot(i)), end_time: new Date(Date.parse(`${slot(i)}Z`) + 10 * 60_000).toISOString() }));
    const res = await json("POST", "/api/events/batch", { token: owner.token, body: { events: body } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toHaveLength(1);
    const { index } = res.body.errors[0];
    expect(index).toBeGreaterThan(0);
    expect(res.body.errors[0]).toEqual({ field: `events.${index}.recurrence_pattern`, index, message: expect.stringContaining(`${CONFLICT_BUDGET} steps`) });
    expect((await json("GET", "/api/events?limit=5", { token: owner.token })).body.items).toEqual([]);
  });

  it(`refuses a write that more than ${MAX_CONFLICT_CANDIDATES} stored events could overlap, before comparing them`, async () => {
    const owner = await registerUser("crowd");
    // Seeded directly: that many endless series through the API would take minutes.
    await env.DB.prepare(
      `INSERT INTO events (owner_id, title, description, location, start_time, end_time, series_end, is_recurring, recurrence_pattern, timezone, version, created_at, updated_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
       SELECT ?1, 'Seeded ' || i, '', NULL, ?3 + i * 1000, ?3 + i * 1000 + 500, NULL, 1, 'FREQ=YEARLY;INTERVAL=1000', 'UTC', 1, 0, 0 FROM n`,
    )
      .bind(owner.id, MAX_CONFLICT_CANDIDATES + 1, Date.UTC(2030, 0, 1))
      .run();
    const before = expansionWork();
    const res = await json("POST", "/api/events", { token: owner.token, body: { title: "One more", start_time: "2031-05-01T10:00:00Z", end_time: "2031-05-01T11:00:00Z" } });
    expect(expansionWork() - before).toBe(0);
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "start_time", message: expect.stringContaining(`More than ${MAX_CONFLICT_CANDIDATES}`) }]);
  });
});
