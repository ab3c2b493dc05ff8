import type { Frequency, RecurrenceRule } from "./rrule";
import { LATEST_INSTANT } from "../lib/time-range";
import { civilFromDays, daysFromCivil, daysInMonth, isLeapYear, utcToWallTime, wallTimeToUtc, weekdayOfDays, type WallTime } from "../lib/time-zone";
import { BudgetExceeded, spend, type WorkBudget } from "./work";

/**
 * A series: its first occurrence (DTSTART/DTEND as instants), the zone it repeats in, and its rule
 * (null for a one-off). `seriesEnd` is the stored end of the last occurrence (events.series_end):
 * with it a COUNT rule is expanded as if it had the matching UNTIL, so a window far from DTSTART
 * is reached by arithmetic instead of by counting every occurrence before it.
 */
export interface SeriesSpec {
  startMs: number;
  endMs: number;
  timeZone: string;
  rule: RecurrenceRule | null;
  seriesEnd?: number | null;
}

/** One occurrence as half-open instants [start, end), epoch ms. */
export interface Occurrence {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;
const LAST_DAY = daysFromCivil(9999, 12, 31);
/** The Gregorian calendar, weekdays included, repeats every 400 years; counted in periods of each frequency. */
const CYCLE_PERIODS: Record<Frequency, number> = { DAILY: 146_097, WEEKLY: 20_871, MONTHLY: 4_800, YEARLY: 400 };
/** Local days either side of an instant's UTC day that cover any zone offset and DST shift. */
const DAY_MARGIN = 2;
const DEFAULT_MAX = 10_000;
/**
 * Below this INTERVAL a DAILY rule with BYMONTHDAY or BYDAY is expanded a month at a time from
 * the matching days themselves; at or above it, stepping period by period visits fewer days.
 */
const DAILY_BY_MONTH_BELOW = 16;
const ALL_MONTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/** A rule with RFC 5545's defaults from DTSTART filled in, in the shape expansion needs. */
interface Expansion {
  freq: Frequency;
  interval: number;
  count: number | undefined;
  /** Sorted, or null for every month. */
  months: number[] | null;
  monthDays: number[] | null;
  /** Weekdays without an ordinal (all BYDAY weekdays for DAILY and WEEKLY, where ordinals are meaningless). */
  weekdays: Set<number> | null;
  ordinals: { weekday: number; ordinal: number }[];
  /** YEARLY without BYMONTH counts "20MO" within the year; otherwise within the month. */
  ordinalsInYear: boolean;
  /** BYYEARDAY and BYWEEKNO (YEARLY only), or null. */
  yearDays: number[] | null;
  weekNos: number[] | null;
  /** BYSETPOS: positions kept within each period's candidates, or null for all of them. */
  setPos: number[] | null;
  /** The rule can never match (a DAILY BYSETPOS other than 1 or -1: a day holds one candidate). */
  never: boolean;
  wkst: number;
}

interface Series {
  spec: SeriesSpec;
  expansion: Expansion;
  /** DTSTART's local day number and wall-clock time, which every occurrence repeats. */
  firstDay: number;
  time: WallTime;
  duration: number;
  /** Latest start an occurrence may have: UNTIL, the stored end of a COUNT rule, and the supported range, whichever is first. */
  lastStart: number;
}

function expansionOf(rule: RecurrenceRule, first: WallTime, firstDay: number, count: number | undefined): Expansion {
  const byDay = rule.byDay?.length ? rule.byDay : null;
  let monthDays = rule.byMonthDay?.length ? [...rule.byMonthDay] : null;
  let months = rule.byMonth?.length ? [...rule.byMonth].sort((x, y) => x - y) : null;
  let weekdays: Set<number> | null = null;
  const yearDays = rule.freq === "YEARLY" && rule.byYearDay?.length ? [...rule.byYearDay] : null;
  const weekNos = rule.freq === "YEARLY" && rule.byWeekNo?.length ? [...rule.byWeekNo] : null;
  // RFC 5545 3.3.10: missing BYxxx parts are taken from DTSTART (as dateutil does).
  if (!byDay && !monthDays && !yearDays && !weekNos) {
    if (rule.freq === "YEARLY") {
      months ??= [first.month];
      monthDays = [first.day];
    } else if (rule.freq === "MONTHLY") monthDays = [first.day];
    else if (rule.freq === "WEEKLY") weekdays = new Set([weekdayOfDays(firstDay)]);
  }
  const ordinalsAllowed = rule.freq === "MONTHLY" || rule.freq === "YEARLY";
  const ordinals: Expansion["ordinals"] = [];
  if (byDay) {
    weekdays = new Set();
    for (const { weekday, ordinal } of byDay) {
      if (ordinal && ordinalsAllowed) ordinals.push({ weekday, ordinal });
      else weekdays.add(weekday);
    }
  }
  let setPos = rule.bySetPos?.length ? [...rule.bySetPos] : null;
  let never = false;
  // A DAILY period is one day with at most one candidate: position 1 or -1 keeps it, any other none.
  if (setPos && rule.freq === "DAILY") {
    never = !setPos.includes(1) && !setPos.includes(-1);
    setPos = null;
  }
  return {
    freq: rule.freq,
    interval: Math.max(1, Math.floor(rule.interval)),
    count,
    months,
    monthDays,
    weekdays,
    ordinals,
    ordinalsInYear: rule.freq === "YEARLY" && !rule.byMonth?.length,
    yearDays,
    weekNos,
    setPos,
    never,
    wkst: rule.wkst,
  };
}

/** Day numbers of `weekday` in [first, first + length), ascending. */
function weekdaysIn(first: number, length: number, weekday: number, out: number[]): void {
  for (let n = first + ((weekday - weekdayOfDays(first) + 7) % 7); n < first + length; n += 7) out.push(n);
}

/** The `ordinal`-th (from the end when negative) `weekday` in [first, first + length), if there is one. */
function nthWeekday(first: number, length: number, weekday: number, ordinal: number, out: number[]): void {
  const firstMatch = first + ((weekday - weekdayOfDays(first) + 7) % 7);
  const lastMatch = firstMatch + 7 * Math.floor((first + length - 1 - firstMatch) / 7);
  const n = ordinal > 0 ? firstMatch + 7 * (ordinal - 1) : lastMatch + 7 * (ordinal + 1);
  if (n >= first && n < first + length) out.push(n);
}

/** The days BYDAY's numbered weekdays ("2TU", "-1FR") pick in [first, first + length). */
function ordinalDays(x: Expansion, first: number, length: number): number[] {
  const out: number[] = [];
  for (const o of x.ordinals) nthWeekday(first, length, o.weekday, o.ordinal, out);
  return out;
}

const ascendingUnique = (days: number[]) => (days.length < 2 ? days : [...new Set(days)].sort((x, y) => x - y));

/**
 * Candidate days of one month, ascending, computed from the rule's days rather than by testing
 * each day of the month: BYMONTHDAY (filtered by BYDAY), else BYDAY's weekdays and ordinals.
 * `yearOrdinals` holds the days a YEARLY rule without BYMONTH numbers within the whole year.
 */
function monthCandidates(x: Expansion, year: number, month: number, yearOrdinals: number[] | null): number[] {
  const length = daysInMonth(year, month);
  const first = daysFromCivil(year, month, 1);
  const out: number[] = [];
  if (x.monthDays) {
    const numbered = x.weekdays && x.ordinals.length ? new Set(yearOrdinals ?? ordinalDays(x, first, length)) : null;
    for (const d of x.monthDays) {
      const day = d > 0 ? d : length + d + 1;
      if (day < 1 || day > length) continue;
      const n = first + day - 1;
      if (!x.weekdays || x.weekdays.has(weekdayOfDays(n)) || numbered?.has(n)) out.push(n);
    }
  } else if (x.weekdays) {
    for (const weekday of x.weekdays) weekdaysIn(first, length, weekday, out);
    if (yearOrdinals) {
      for (const n of yearOrdinals) if (n >= first && n < first + length) out.push(n);
    } else out.push(...ordinalDays(x, first, length));
  } else {
    for (let n = first; n < first + length; n++) out.push(n);
  }
  return ascendingUnique(out);
}

/** Day number of the first day of week 1 of `year` with weeks starting on `wkst`: the week holding January 4th. */
function weekOneStart(year: number, wkst: number): number {
  const jan4 = daysFromCivil(year, 1, 4);
  return jan4 - ((weekdayOfDays(jan4) - wkst + 7) % 7);
}

/**
 * Days of `year` in the weeks BYWEEKNO names, ascending. Week 1 is the first week (from WKST)
 * with at least four days in its year, as in ISO 8601; a year has 52 or 53 weeks, and -1 is the
 * last. The weeks of the years before and after count too, for the days they have in this one
 * (January 1st may lie in week 53 of the year before, December 31st in week 1 of the next).
 */
function weekNoDays(x: Expansion, year: number, first: number, length: number): number[] {
  const out: number[] = [];
  for (let y = year - 1; y <= year + 1; y++) {
    const start = weekOneStart(y, x.wkst);
    const weeks = (weekOneStart(y + 1, x.wkst) - start) / 7;
    for (const w of x.weekNos!) {
      const n = w > 0 ? w : weeks + w + 1;
      if (n < 1 || n > weeks) continue;
      const weekStart = start + 7 * (n - 1);
      for (let d = Math.max(weekStart, first); d < Math.min(weekStart + 7, first + length); d++) out.push(d);
    }
  }
  return ascendingUnique(out);
}

/**
 * Candidate days of one year of a YEARLY rule with BYYEARDAY or BYWEEKNO: the days those name,
 * then limited by every other part (BYMONTH, BYWEEKNO, BYMONTHDAY, BYDAY), as dateutil does.
 */
function yearDayCandidates(x: Expansion, year: number): number[] {
  const first = daysFromCivil(year, 1, 1);
  const length = isLeapYear(year) ? 366 : 365;
  let days: number[];
  if (x.yearDays) {
    days = [];
    for (const d of x.yearDays) {
      const n = d > 0 ? first + d - 1 : first + length + d;
      if (n >= first && n < first + length) days.push(n);
    }
    days = ascendingUnique(days);
    if (x.weekNos) {
      const inWeeks = new Set(weekNoDays(x, year, first, length));
      days = days.filter((n) => inWeeks.has(n));
    }
  } else days = weekNoDays(x, year, first, length);
  if (x.months || x.monthDays) days = days.filter((n) => passesMonthFilters(x, n));
  if (x.weekdays || x.ordinals.length) {
    let numbered: Set<number> | null = null;
    if (x.ordinals.length) {
      const picked = x.ordinalsInYear ? ordinalDays(x, first, length) : (x.months ?? ALL_MONTHS).flatMap((m) => ordinalDays(x, daysFromCivil(year, m, 1), daysInMonth(year, m)));
      numbered = new Set(picked);
    }
    days = days.filter((n) => x.weekdays?.has(weekdayOfDays(n)) || numbered?.has(n));
  }
  return days;
}

/** Candidate days of one year of a YEARLY rule, ascending. */
function yearCandidates(x: Expansion, year: number): number[] {
  if (x.yearDays || x.weekNos) return yearDayCandidates(x, year);
  const yearOrdinals = x.ordinalsInYear ? ordinalDays(x, daysFromCivil(year, 1, 1), isLeapYear(year) ? 366 : 365) : null;
  const out: number[] = [];
  for (const month of x.months ?? ALL_MONTHS) out.push(...monthCandidates(x, year, month, yearOrdinals));
  return out;
}

function passesMonthFilters(x: Expansion, n: number): boolean {
  if (!x.months && !x.monthDays) return true;
  const { year, month, day } = civilFromDays(n);
  if (x.months && !x.months.includes(month)) return false;
  if (!x.monthDays) return true;
  const length = daysInMonth(year, month);
  return x.monthDays.some((d) => (d > 0 ? d === day : length + d + 1 === day));
}

/**
 * Elementary tests one month's candidates take (each BYMONTHDAY value, each weekday's days, each
 * numbered weekday), charged even when none matches, so a rule with long lists that rarely match
 * pays for what it makes the walk do.
 */
function monthCost(x: Expansion, ordinalsInMonth = true): number {
  return (x.monthDays ? x.monthDays.length : (x.weekdays?.size ?? 0) * 5) + (ordinalsInMonth ? x.ordinals.length : 0);
}

/** Tests one period's candidates take; see {@link monthCost}. */
function periodCost(x: Expansion): number {
  return candidateCost(x) + (x.setPos?.length ?? 0);
}

function candidateCost(x: Expansion): number {
  if (x.yearDays || x.weekNos) {
    // Each named day is computed and tested; each week number is resolved in three week-years
    // and yields up to seven days, which the filters then test.
    const named = (x.yearDays?.length ?? 0) + 10 * (x.weekNos?.length ?? 0);
    return named + (x.monthDays?.length ?? 0) + x.ordinals.length * (x.months?.length ?? 1);
  }
  switch (x.freq) {
    case "DAILY":
      return 1;
    case "WEEKLY":
      return x.weekdays?.size ?? 7;
    case "MONTHLY":
      return monthCost(x);
    case "YEARLY":
      return (x.months?.length ?? 12) * monthCost(x, !x.ordinalsInYear) + (x.ordinalsInYear ? x.ordinals.length : 0);
  }
}

/** The rule's periods: numbered so that period p of the series is `base + p * step`. */
const periods = {
  DAILY: { of: (day: number) => day, step: 1 },
  WEEKLY: { of: (day: number, wkst: number) => day - ((weekdayOfDays(day) - wkst + 7) % 7), step: 7 },
  MONTHLY: {
    of: (day: number) => {
      const { year, month } = civilFromDays(day);
      return year * 12 + month - 1;
    },
    step: 1,
  },
  YEARLY: { of: (day: number) => civilFromDays(day).year, step: 1 },
} satisfies Record<Frequency, { of: (day: number, wkst: number) => number; step: number }>;

/** The candidates at BYSETPOS's positions (1 the first, -1 the last), ascending. */
function atPositions(candidates: number[], positions: number[]): number[] {
  const out: number[] = [];
  for (const p of positions) {
    const i = p > 0 ? p - 1 : candidates.length + p;
    if (i >= 0 && i < candidates.length) out.push(candidates[i]);
  }
  return ascendingUnique(out);
}

/**
 * Candidate days of the period numbered `period`, ascending, BYSETPOS applied to the whole
 * period (a week is the whole week from WKST, also the first one, though DTSTART may lie inside
 * it: RFC 5545's reading; dateutil starts the first week at DTSTART).
 */
function periodCandidates(x: Expansion, period: number): number[] {
  const days = periodDays(x, period);
  return x.setPos && days.length ? atPositions(days, x.setPos) : days;
}

/** Candidate days of the period numbered `period` before BYSETPOS, ascending; empty past year 9999. */
function periodDays(x: Expansion, period: number): number[] {
  switch (x.freq) {
    case "DAILY":
      if (period > LAST_DAY || !passesMonthFilters(x, period) || (x.weekdays && !x.weekdays.has(weekdayOfDays(period)))) return [];
      return [period];
    case "WEEKLY": {
      const out: number[] = [];
      const days = x.weekdays ? [...x.weekdays].map((w) => period + ((w - x.wkst + 7) % 7)).sort((a, b) => a - b) : [0, 1, 2, 3, 4, 5, 6].map((i) => period + i);
      // BYMONTHDAY is not allowed with WEEKLY; a hand-built rule is limited by it, as in dateutil.
      for (const n of days) if (n <= LAST_DAY && passesMonthFilters(x, n)) out.push(n);
      return out;
    }
    case "MONTHLY": {
      const year = Math.floor(period / 12);
      const month = period - year * 12 + 1;
      return year <= 9999 && (!x.months || x.months.includes(month)) ? monthCandidates(x, year, month, null) : [];
    }
    case "YEARLY":
      return period > 9999 ? [] : yearCandidates(x, period);
  }
}

function periodStart(freq: Frequency, period: number): number {
  switch (freq) {
    case "DAILY":
    case "WEEKLY":
      return period;
    case "MONTHLY":
      return daysFromCivil(Math.floor(period / 12), (period % 12) + 1, 1);
    case "YEARLY":
      return daysFromCivil(period, 1, 1);
  }
}

/** First day of the next month BYMONTH allows after the month holding `day`. */
function nextAllowedMonth(months: number[], day: number): number {
  const { year, month } = civilFromDays(day);
  const next = months.find((m) => m > month);
  return next === undefined ? daysFromCivil(year + 1, months[0], 1) : daysFromCivil(year, next, 1);
}

/**
 * Local day numbers of the occurrences in [fromDay, toDay], ascending, honouring COUNT (UNTIL
 * needs instants; see {@link seriesDays}). A day passed to `next()` is one before which nothing is
 * wanted. Without COUNT, periods before `fromDay` or such a day are skipped arithmetically, and
 * months that BYMONTH excludes are jumped over; with COUNT they must be walked, but cheaply, as
 * day numbers. Each period visited costs a step of `budget`, and its candidates what testing
 * them takes (see {@link periodCost}).
 *
 * Like python-dateutil, and unlike RFC 5545 (which always counts DTSTART as the first occurrence),
 * DTSTART is only an occurrence if it matches the rule.
 */
function* ruleDays(x: Expansion, firstDay: number, fromDay: number, toDay: number, budget?: WorkBudget): Generator<number, void, number | undefined> {
  const last = Math.min(toDay, LAST_DAY);
  if (x.never) return;
  // Every 7th day is always DTSTART's weekday.
  if (x.freq === "DAILY" && x.interval % 7 === 0 && x.weekdays && !x.weekdays.has(weekdayOfDays(firstDay))) return;
  if (fromDay > last) return;
  if (x.freq === "DAILY" && (x.monthDays || x.weekdays) && x.interval < DAILY_BY_MONTH_BELOW) {
    yield* dailyByMonth(x, firstDay, fromDay, last, budget);
    return;
  }
  const period = periods[x.freq];
  const base = period.of(firstDay, x.wkst);
  const step = period.step * x.interval;
  // The first whole period at or after `day`'s period (periods between those of the series hold nothing).
  const indexAt = (day: number) => Math.max(0, Math.ceil((period.of(day, x.wkst) - base) / step));
  const counted = x.count !== undefined;
  const cost = periodCost(x);
  let wanted = fromDay;
  let produced = 0;
  let emptyPeriods = 0;
  // A rule that never matches (BYMONTHDAY=30;BYMONTH=2) gives up after a full calendar cycle.
  for (let p = counted ? 0 : indexAt(Math.max(fromDay, firstDay)); emptyPeriods < CYCLE_PERIODS[x.freq]; p++) {
    const current = base + p * step;
    const start = periodStart(x.freq, current);
    if (start > last) return;
    spend(budget, 1);
    if (x.months && x.freq !== "YEARLY") {
      // Jump over months BYMONTH excludes instead of visiting their periods one by one.
      const lastOfPeriod = x.freq === "DAILY" ? start : x.freq === "WEEKLY" ? start + 6 : start + daysInMonth(civilFromDays(start).year, civilFromDays(start).month) - 1;
      const touches = x.months.includes(civilFromDays(start).month) || x.months.includes(civilFromDays(lastOfPeriod).month);
      if (!touches) {
        const target = indexAt(nextAllowedMonth(x.months, start));
        emptyPeriods += target - p;
        p = target - 1;
        continue;
      }
    }
    const candidates = periodCandidates(x, current);
    spend(budget, Math.max(candidates.length, cost));
    let matched = false;
    for (const day of candidates) {
      if (day < firstDay) continue;
      if (day > last) return;
      matched = true;
      produced++;
      if (day >= wanted) {
        const seek = yield day;
        if (seek !== undefined && seek > wanted) wanted = seek;
      }
      if (counted && produced >= x.count!) return;
    }
    emptyPeriods = matched ? 0 : emptyPeriods + 1;
    if (!counted && wanted > start) {
      const target = indexAt(wanted);
      if (target > p + 1) p = target - 1;
    }
  }
}

/**
 * A DAILY rule filtered by BYMONTHDAY or BYDAY, a month at a time: the month's matching days come
 * from the filters themselves, then INTERVAL keeps every n-th day from DTSTART. A sparse rule
 * (Friday the 13th) costs a couple of steps a month instead of one a day.
 */
function* dailyByMonth(x: Expansion, firstDay: number, fromDay: number, last: number, budget?: WorkBudget): Generator<number, void, number | undefined> {
  const counted = x.count !== undefined;
  const cost = monthCost(x);
  let wanted = fromDay;
  let produced = 0;
  let emptyMonths = 0;
  let { year, month } = civilFromDays(counted ? firstDay : Math.max(firstDay, fromDay));
  // Days INTERVAL apart fall on every phase of the 400-year cycle only after INTERVAL cycles.
  while (emptyMonths < CYCLE_PERIODS.MONTHLY * x.interval) {
    const first = daysFromCivil(year, month, 1);
    if (first > last) return;
    spend(budget, 1);
    if (x.months && !x.months.includes(month)) {
      const next = civilFromDays(nextAllowedMonth(x.months, first));
      emptyMonths += (next.year - year) * 12 + next.month - month;
      ({ year, month } = next);
      continue;
    }
    const candidates = monthCandidates(x, year, month, null);
    spend(budget, Math.max(candidates.length, cost));
    let matched = false;
    for (const day of candidates) {
      if (day < firstDay || (day - firstDay) % x.interval !== 0) continue;
      if (day > last) return;
      matched = true;
      produced++;
      if (day >= wanted) {
        const seek = yield day;
        if (seek !== undefined && seek > wanted) wanted = seek;
      }
      if (counted && produced >= x.count!) return;
    }
    emptyMonths = matched ? 0 : emptyMonths + 1;
    const next = !counted && wanted > first + 31 ? civilFromDays(wanted) : month === 12 ? { year: year + 1, month: 1 } : { year, month: month + 1 };
    ({ year, month } = next);
  }
}

/**
 * The series with what expansion derives from it once. With `trustStoredEnd` (expansion for
 * reading), a COUNT rule whose stored end is known becomes an UNTIL at its last start, so it can
 * be jumped into. Occurrences must end by 9999-12-31T23:59:59Z: one that would end later is not
 * part of the series, which keeps everything stored inside the supported range.
 */
function seriesOf(spec: SeriesSpec, rule: RecurrenceRule, trustStoredEnd: boolean): Series {
  const time = utcToWallTime(spec.startMs, spec.timeZone);
  const firstDay = daysFromCivil(time.year, time.month, time.day);
  const duration = spec.endMs - spec.startMs;
  let lastStart = Math.min(rule.until ?? Infinity, LATEST_INSTANT - duration);
  let count = rule.count;
  if (count !== undefined && trustStoredEnd && typeof spec.seriesEnd === "number") {
    lastStart = Math.min(lastStart, spec.seriesEnd - duration);
    count = undefined;
  }
  return { spec, expansion: expansionOf(rule, time, firstDay, count), firstDay, time, duration, lastStart };
}

function startOn(series: Series, day: number): number {
  if (day === series.firstDay) return series.spec.startMs;
  return wallTimeToUtc({ ...series.time, ...civilFromDays(day) }, series.spec.timeZone);
}

/**
 * Local days of the occurrences in [fromDay, toDay] that also start by `lastStart`. Only days
 * within a couple of days of it are converted to instants to check; `next(day)` is passed on to
 * {@link ruleDays}.
 */
function* seriesDays(series: Series, fromDay: number, toDay: number, budget?: WorkBudget): Generator<number, void, number | undefined> {
  const { lastStart } = series;
  const surelyBefore = Math.floor(lastStart / DAY_MS) - DAY_MARGIN;
  const surelyAfter = Math.floor(lastStart / DAY_MS) + DAY_MARGIN;
  const days = ruleDays(series.expansion, series.firstDay, fromDay, Math.min(toDay, surelyAfter), budget);
  let seek: number | undefined;
  for (let r = days.next(); !r.done; r = days.next(seek)) {
    const day = r.value;
    if (day > surelyBefore && startOn(series, day) > lastStart) return;
    seek = yield day;
  }
}

/** First local day that can hold an occurrence ending after `ms`. */
function firstUsefulDay(series: Series, ms: number): number {
  return Math.floor((ms - series.duration) / DAY_MS) - DAY_MARGIN;
}

/** Last local day that can hold an occurrence starting before `ms`. */
const lastUsefulDay = (ms: number) => (ms === Infinity ? Infinity : Math.floor(ms / DAY_MS) + DAY_MARGIN);

/** A zero-length occurrence still occupies its instant, so it is found and can conflict. */
/** An occurrence's end for overlap tests: a zero-length occurrence still occupies its instant. */
export const endOf = (o: Occurrence) => Math.max(o.end, o.start + 1);

/**
 * The occurrences that end after `from` and start before `to`, in order, lazily. The walk starts
 * at `from` (arithmetic, not a walk from DTSTART, when the rule has no COUNT or the spec carries
 * its stored end) and stops at `to`, so its work follows the window, not the series' age. A value
 * passed to `next()` is an instant: occurrences ending at or before it are skipped unconverted.
 *
 * @example for (const o of occurrences(spec, Date.parse("2031-03-01T00:00:00Z"), Date.parse("2031-04-01T00:00:00Z"))) console.log(o.start);
 */
export function* occurrences(spec: SeriesSpec, from = -Infinity, to = Infinity, budget?: WorkBudget): Generator<Occurrence, void, number | undefined> {
  if (!spec.rule) {
    if (spec.startMs < to && endOf({ start: spec.startMs, end: spec.endMs }) > from) yield { start: spec.startMs, end: spec.endMs };
    return;
  }
  const series = seriesOf(spec, spec.rule, true);
  let skipBefore = firstUsefulDay(series, from);
  const days = seriesDays(series, skipBefore, lastUsefulDay(to), budget);
  for (let r = days.next(); !r.done; r = days.next(skipBefore)) {
    if (r.value < skipBefore) continue;
    const start = startOn(series, r.value);
    if (start >= to) return;
    spend(budget, 1);
    const occurrence = { start, end: start + series.duration };
    if (endOf(occurrence) <= from) continue;
    const seek = yield occurrence;
    if (seek !== undefined) skipBefore = Math.max(skipBefore, firstUsefulDay(series, seek));
  }
}

/**
 * Occurrences whose [start, end) intersects [windowStart, windowEnd), in order, at most `max`.
 *
 * @example occurrencesBetween(spec, Date.parse("2031-03-01T00:00:00Z"), Date.parse("2031-04-01T00:00:00Z"))
 */
export function occurrencesBetween(spec: SeriesSpec, windowStart: number, windowEnd: number, max = DEFAULT_MAX, budget?: WorkBudget): Occurrence[] {
  const found: Occurrence[] = [];
  if (max <= 0) return found;
  for (const occurrence of occurrences(spec, windowStart, windowEnd, budget)) {
    if (found.push(occurrence) >= max) break;
  }
  return found;
}

/**
 * The end of the series' last occurrence, or null when it never ends. A one-off ends at `endMs`;
 * a rule that yields nothing at all ends there too, since nothing follows DTSTART. Computed from
 * the rule alone (a stored `seriesEnd` is ignored): this is what gets stored.
 *
 * @example seriesEnd({ startMs, endMs, timeZone: "UTC", rule: { freq: "DAILY", interval: 1, count: 3, wkst: 0 } }) // endMs + 2 days
 */
export function seriesEnd(spec: SeriesSpec, budget?: WorkBudget): number | null {
  if (!spec.rule) return spec.endMs;
  const series = seriesOf(spec, spec.rule, false);
  if (series.expansion.count !== undefined) {
    let last: number | undefined;
    for (const day of seriesDays(series, -Infinity, Infinity, budget)) last = day;
    return last === undefined ? spec.endMs : startOn(series, last) + series.duration;
  }
  // An endless rule stays endless (null), though its expansion stops at the end of the range.
  if (spec.rule.until === undefined) return seriesDays(series, -Infinity, Infinity, budget).next().done ? spec.endMs : null;
  // Without COUNT nothing before UNTIL needs counting: look back from it, widening the look
  // until an occurrence turns up, rather than walking (say) a daily series to the year 9999.
  const untilDay = Math.floor(series.lastStart / DAY_MS) + DAY_MARGIN;
  for (let lookback = 64; ; lookback *= 8) {
    const from = untilDay - lookback;
    let last: number | undefined;
    for (const day of seriesDays(series, from, Infinity, budget)) last = day;
    if (last !== undefined) return startOn(series, last) + series.duration;
    if (from <= series.firstDay) return spec.endMs;
  }
}

/**
 * The earliest pair of overlapping occurrences of two series (half-open: back-to-back is no
 * overlap), among occurrences starting before `horizonEnd`; null when there is none. Each series
 * is entered where the other begins (nothing earlier can overlap), then both are walked lazily in
 * step, the one behind skipping ahead, until either ends or the horizon is reached.
 *
 * @example firstOverlap(weeklyStandup, oneOffMeeting, Date.parse("2033-01-01T00:00:00Z")) // { a: {...}, b: {...} } or null
 */
export function firstOverlap(a: SeriesSpec, b: SeriesSpec, horizonEnd: number, budget?: WorkBudget): { a: Occurrence; b: Occurrence } | null {
  return firstOverlapOf(occurrences(a, b.startMs, horizonEnd, budget), occurrences(b, a.startMs, horizonEnd, budget));
}

/**
 * Walks two occurrence streams in start order in step, the one behind skipping ahead, and returns
 * the first overlapping pair; shared by plain series and series with exceptions applied.
 */
export function firstOverlapOf<T extends Occurrence>(streamA: Generator<T, void, number | undefined>, streamB: Generator<T, void, number | undefined>): { a: T; b: T } | null {
  let nextA = streamA.next();
  let nextB = streamB.next();
  while (!nextA.done && !nextB.done) {
    const x = nextA.value;
    const y = nextB.value;
    // An occurrence ending before the other stream's current start overlaps nothing later in it.
    if (endOf(x) <= y.start) nextA = streamA.next(y.start);
    else if (endOf(y) <= x.start) nextB = streamB.next(x.start);
    else return { a: x, b: y };
  }
  return null;
}

/** What a write learns about a rule: the end to store, or why the rule is refused. */
export type SeriesCheck = { ok: true; seriesEnd: number | null } | { ok: false; reason: "empty" | "too_expensive"; message: string };

/**
 * The write-time walk of a rule (is there any occurrence, where does it end), within `budget`.
 * A rule that needs more steps than that is refused rather than stored: every later read of it
 * is then bounded by what this walk could afford.
 *
 * @example checkSeries(spec, new WorkBudget(RULE_BUDGET)) // { ok: true, seriesEnd: 1962... } or { ok: false, reason: "too_expensive", ... }
 */
export function checkSeries(spec: SeriesSpec, budget: WorkBudget): SeriesCheck {
  const plain = { ...spec, seriesEnd: undefined };
  try {
    if (plain.rule && occurrencesBetween(plain, plain.startMs, Infinity, 1, budget).length === 0) {
      return { ok: false, reason: "empty", message: "The rule yields no occurrence from start_time on (before 9999-12-31T23:59:59Z)." };
    }
    return { ok: true, seriesEnd: seriesEnd(plain, budget) };
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
    return {
      ok: false,
      reason: "too_expensive",
      message: `The rule is too sparse or too long to expand within ${budget.limit} steps; use fewer filters, a smaller COUNT or an earlier UNTIL.`,
    };
  }
}
