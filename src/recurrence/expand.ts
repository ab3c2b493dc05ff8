import type { Frequency, RecurrenceRule } from "./rrule";
import { civilFromDays, daysFromCivil, daysInMonth, isLeapYear, utcToWallTime, wallTimeToUtc, weekdayOfDays, type WallTime } from "./time-zone";

/** A series: its first occurrence (DTSTART/DTEND as instants), the zone it repeats in, and its rule (null for a one-off). */
export interface SeriesSpec {
  startMs: number;
  endMs: number;
  timeZone: string;
  rule: RecurrenceRule | null;
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
  wkst: number;
}

interface Series {
  spec: SeriesSpec;
  rule: RecurrenceRule;
  expansion: Expansion;
  /** DTSTART's local day number and wall-clock time, which every occurrence repeats. */
  firstDay: number;
  time: WallTime;
  duration: number;
}

function expansionOf(rule: RecurrenceRule, first: WallTime, firstDay: number): Expansion {
  const byDay = rule.byDay?.length ? rule.byDay : null;
  let monthDays = rule.byMonthDay?.length ? [...rule.byMonthDay] : null;
  let months = rule.byMonth?.length ? [...rule.byMonth].sort((x, y) => x - y) : null;
  let weekdays: Set<number> | null = null;
  // RFC 5545 3.3.10: missing BYxxx parts are taken from DTSTART (as dateutil does).
  if (!byDay && !monthDays) {
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
  return {
    freq: rule.freq,
    interval: Math.max(1, Math.floor(rule.interval)),
    count: rule.count,
    months,
    monthDays,
    weekdays,
    ordinals,
    ordinalsInYear: rule.freq === "YEARLY" && !rule.byMonth?.length,
    wkst: rule.wkst,
  };
}

function matchesMonthDay(x: Expansion, day: number, monthLength: number): boolean {
  return !x.monthDays || x.monthDays.some((d) => (d > 0 ? d === day : monthLength + d + 1 === day));
}

/** BYDAY within a scope (month or year) where the day has 0-based `index` among `length` days. */
function matchesByDay(x: Expansion, weekday: number, index: number, length: number): boolean {
  if (!x.weekdays) return true;
  if (x.weekdays.has(weekday)) return true;
  return x.ordinals.some((o) => o.weekday === weekday && (o.ordinal > 0 ? Math.floor(index / 7) + 1 === o.ordinal : Math.floor((length - 1 - index) / 7) + 1 === -o.ordinal));
}

/** Candidate days of one month of a MONTHLY or YEARLY period, ascending. */
function monthCandidates(x: Expansion, year: number, month: number, out: number[]): void {
  const length = daysInMonth(year, month);
  const firstOfMonth = daysFromCivil(year, month, 1);
  const yearStart = daysFromCivil(year, 1, 1);
  const yearLength = isLeapYear(year) ? 366 : 365;
  for (let day = 1; day <= length; day++) {
    if (!matchesMonthDay(x, day, length)) continue;
    const n = firstOfMonth + day - 1;
    const matches = x.ordinalsInYear ? matchesByDay(x, weekdayOfDays(n), n - yearStart, yearLength) : matchesByDay(x, weekdayOfDays(n), day - 1, length);
    if (matches) out.push(n);
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

/** Candidate days of the period numbered `period`, ascending; empty past year 9999. */
function periodCandidates(x: Expansion, period: number): number[] {
  const out: number[] = [];
  switch (x.freq) {
    case "DAILY": {
      const { year, month, day } = civilFromDays(period);
      if (period > LAST_DAY || (x.months && !x.months.includes(month))) break;
      if (matchesMonthDay(x, day, daysInMonth(year, month)) && (!x.weekdays || x.weekdays.has(weekdayOfDays(period)))) out.push(period);
      break;
    }
    case "WEEKLY":
      for (let n = period; n < period + 7 && n <= LAST_DAY; n++) {
        const { year, month, day } = civilFromDays(n);
        if (x.weekdays && !x.weekdays.has(weekdayOfDays(n))) continue;
        // BYMONTHDAY is not allowed with WEEKLY; a hand-built rule is limited by it, as in dateutil.
        if ((x.months && !x.months.includes(month)) || !matchesMonthDay(x, day, daysInMonth(year, month))) continue;
        out.push(n);
      }
      break;
    case "MONTHLY": {
      const year = Math.floor(period / 12);
      const month = period - year * 12 + 1;
      if (year <= 9999 && (!x.months || x.months.includes(month))) monthCandidates(x, year, month, out);
      break;
    }
    case "YEARLY":
      if (period > 9999) break;
      for (const month of x.months ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) monthCandidates(x, period, month, out);
      break;
  }
  return out;
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

/**
 * Local day numbers of the occurrences from `fromDay` on, ascending, honouring COUNT (UNTIL needs
 * instants; see {@link seriesDays}). A day passed to `next()` is one before which nothing is
 * wanted. Without COUNT, whole periods before `fromDay` or such a day are skipped arithmetically;
 * with COUNT they must be walked, but cheaply, as day numbers.
 *
 * Like python-dateutil, and unlike RFC 5545 (which always counts DTSTART as the first occurrence),
 * DTSTART is only an occurrence if it matches the rule.
 */
function* ruleDays(x: Expansion, firstDay: number, fromDay = -Infinity): Generator<number, void, number | undefined> {
  const period = periods[x.freq];
  const base = period.of(firstDay, x.wkst);
  const step = period.step * x.interval;
  const indexOf = (day: number) => Math.floor((period.of(day, x.wkst) - base) / step);
  // Every 7th day is always DTSTART's weekday.
  if (x.freq === "DAILY" && x.interval % 7 === 0 && x.weekdays && !x.weekdays.has(weekdayOfDays(firstDay))) return;
  if (fromDay > LAST_DAY) return;
  let produced = 0;
  let emptyPeriods = 0;
  // A rule that never matches (BYMONTHDAY=30;BYMONTH=2) gives up after a full calendar cycle.
  for (let p = x.count === undefined && fromDay > firstDay ? indexOf(fromDay) : 0; emptyPeriods < CYCLE_PERIODS[x.freq]; p++) {
    const current = base + p * step;
    if (periodStart(x.freq, current) > LAST_DAY) return;
    if (x.freq === "DAILY" && x.months) {
      // Jump over months BYMONTH excludes instead of testing their days one by one.
      const { year, month } = civilFromDays(current);
      if (!x.months.includes(month)) {
        const nextMonth = x.months.find((m) => m > month);
        const next = nextMonth === undefined ? daysFromCivil(year + 1, x.months[0], 1) : daysFromCivil(year, nextMonth, 1);
        const target = Math.ceil((next - base) / step);
        emptyPeriods += target - p;
        p = target - 1;
        continue;
      }
    }
    let matched = false;
    for (const day of periodCandidates(x, current)) {
      if (day < firstDay) continue;
      matched = true;
      const seek = yield day;
      if (x.count !== undefined && ++produced >= x.count) return;
      if (seek !== undefined && seek > day && x.count === undefined) {
        if (seek > LAST_DAY) return;
        const target = indexOf(seek);
        if (target > p) {
          p = target - 1;
          break;
        }
      }
    }
    emptyPeriods = matched ? 0 : emptyPeriods + 1;
  }
}

function seriesOf(spec: SeriesSpec, rule: RecurrenceRule): Series {
  const time = utcToWallTime(spec.startMs, spec.timeZone);
  const firstDay = daysFromCivil(time.year, time.month, time.day);
  return { spec, rule, expansion: expansionOf(rule, time, firstDay), firstDay, time, duration: spec.endMs - spec.startMs };
}

function startOn(series: Series, day: number): number {
  if (day === series.firstDay) return series.spec.startMs;
  return wallTimeToUtc({ ...series.time, ...civilFromDays(day) }, series.spec.timeZone);
}

/**
 * Local days of the occurrences that also satisfy UNTIL. Only days within a couple of days of
 * UNTIL are converted to instants to check it; `next(day)` is passed on to {@link ruleDays}.
 */
function* seriesDays(series: Series, fromDay = -Infinity): Generator<number, void, number | undefined> {
  const { until } = series.rule;
  const surelyBefore = until === undefined ? Infinity : Math.floor(until / DAY_MS) - DAY_MARGIN;
  const surelyAfter = until === undefined ? Infinity : Math.floor(until / DAY_MS) + DAY_MARGIN;
  const days = ruleDays(series.expansion, series.firstDay, fromDay);
  let seek: number | undefined;
  for (let r = days.next(); !r.done; r = days.next(seek)) {
    const day = r.value;
    if (day > surelyAfter) return;
    if (until !== undefined && day > surelyBefore && startOn(series, day) > until) return;
    seek = yield day;
  }
}

/** First local day that can hold an occurrence ending after `ms`. */
function firstUsefulDay(series: Series, ms: number): number {
  return Math.floor((ms - series.duration) / DAY_MS) - DAY_MARGIN;
}

/**
 * The occurrences in order. A value passed to `next()` is an instant: occurrences ending at or
 * before it may be dropped unconverted, which is what makes skipping ahead cheap.
 */
function* occurrenceStream(spec: SeriesSpec, from = -Infinity): Generator<Occurrence, void, number | undefined> {
  if (!spec.rule) {
    yield { start: spec.startMs, end: spec.endMs };
    return;
  }
  const series = seriesOf(spec, spec.rule);
  let skipBefore = firstUsefulDay(series, from);
  const days = seriesDays(series, skipBefore);
  for (let r = days.next(); !r.done; r = days.next(skipBefore)) {
    if (r.value < skipBefore) continue;
    const start = startOn(series, r.value);
    const seek = yield { start, end: start + series.duration };
    if (seek !== undefined) skipBefore = Math.max(skipBefore, firstUsefulDay(series, seek));
  }
}

/** A zero-length occurrence still occupies its instant, so it is found and can conflict. */
const endOf = (o: Occurrence) => Math.max(o.end, o.start + 1);

/**
 * Occurrences whose [start, end) intersects [windowStart, windowEnd), in order, at most `max`.
 *
 * @example occurrencesBetween(spec, Date.parse("2031-03-01T00:00:00Z"), Date.parse("2031-04-01T00:00:00Z"))
 */
export function occurrencesBetween(spec: SeriesSpec, windowStart: number, windowEnd: number, max = DEFAULT_MAX): Occurrence[] {
  const found: Occurrence[] = [];
  if (max <= 0) return found;
  for (const occurrence of occurrenceStream(spec, windowStart)) {
    if (occurrence.start >= windowEnd) break;
    if (endOf(occurrence) > windowStart && found.push(occurrence) >= max) break;
  }
  return found;
}

/**
 * The end of the series' last occurrence, or null when it never ends. A one-off ends at `endMs`;
 * a rule that yields nothing at all ends there too, since nothing follows DTSTART.
 *
 * @example seriesEnd({ startMs, endMs, timeZone: "UTC", rule: { freq: "DAILY", interval: 1, count: 3, wkst: 0 } }) // endMs + 2 days
 */
export function seriesEnd(spec: SeriesSpec): number | null {
  if (!spec.rule) return spec.endMs;
  const series = seriesOf(spec, spec.rule);
  const { count, until } = spec.rule;
  if (count === undefined && until === undefined) return seriesDays(series).next().done ? spec.endMs : null;
  // Without COUNT nothing before UNTIL needs counting: look back from UNTIL, widening the look
  // until an occurrence turns up, rather than walking (say) a daily series to the year 9999.
  for (let lookback = 64; ; lookback *= 8) {
    const from = count === undefined && until !== undefined ? Math.floor(until / DAY_MS) - lookback : -Infinity;
    let last: number | undefined;
    for (const day of seriesDays(series, from)) last = day;
    if (last !== undefined) return startOn(series, last) + series.duration;
    if (from <= series.firstDay) return spec.endMs;
  }
}

/**
 * The earliest pair of overlapping occurrences of two series (half-open: back-to-back is no
 * overlap), among occurrences starting before `horizonEnd`; null when there is none. Walks both
 * series lazily in step, letting the one behind skip ahead, and stops when either ends.
 *
 * @example firstOverlap(weeklyStandup, oneOffMeeting, Date.parse("2033-01-01T00:00:00Z")) // { a: {...}, b: {...} } or null
 */
export function firstOverlap(a: SeriesSpec, b: SeriesSpec, horizonEnd: number): { a: Occurrence; b: Occurrence } | null {
  const streamA = occurrenceStream(a);
  const streamB = occurrenceStream(b);
  let nextA = streamA.next();
  let nextB = streamB.next();
  while (!nextA.done && !nextB.done) {
    const x = nextA.value;
    const y = nextB.value;
    if (x.start >= horizonEnd || y.start >= horizonEnd) return null;
    // An occurrence ending before the other stream's current start overlaps nothing later in it.
    if (endOf(x) <= y.start) nextA = streamA.next(y.start);
    else if (endOf(y) <= x.start) nextB = streamB.next(x.start);
    else return { a: x, b: y };
  }
  return null;
}
