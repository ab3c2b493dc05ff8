import { civilFromDays, daysFromCivil, daysInMonth, wallTimeToUtc } from "../lib/time-zone";

/** The supported RFC 5545 frequencies; sub-daily ones are refused. */
export type Frequency = "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY";

/** A parsed RRULE. Weekdays are 0 = MO .. 6 = SU; `until` is an inclusive instant (epoch ms). */
export interface RecurrenceRule {
  freq: Frequency;
  interval: number;
  count?: number;
  until?: number;
  byDay?: { weekday: number; ordinal?: number }[];
  byMonthDay?: number[];
  byMonth?: number[];
  /** Days of the year, 1..366 or -366..-1 (YEARLY only, as RFC 5545 says). */
  byYearDay?: number[];
  /** Week numbers, 1..53 or -53..-1, weeks starting on `wkst` (YEARLY only). */
  byWeekNo?: number[];
  /** Positions within each period's set of occurrences, 1..366 or -366..-1. */
  bySetPos?: number[];
  wkst: number;
}

/** Either the rule, or the offending part (e.g. "BYSETPOS", "FREQ") with a sentence for the user. */
export type ParseResult = { ok: true; rule: RecurrenceRule } | { ok: false; part: string; message: string };

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const FREQUENCIES: readonly Frequency[] = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"];
const SUPPORTED_PARTS = new Set(["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYYEARDAY", "BYWEEKNO", "BYSETPOS", "WKST"]);
const UNSUPPORTED_PARTS = new Set(["BYSECOND", "BYMINUTE", "BYHOUR", "BYEASTER", "RSCALE", "SKIP"]);
const MAX_INTERVAL = 1000;
const MAX_COUNT = 5000;

class RuleError extends Error {
  constructor(
    readonly part: string,
    message: string,
  ) {
    super(message);
  }
}

function integer(part: string, value: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(value)) throw new RuleError(part, `${part} must be a whole number, not "${value}".`);
  const n = Number(value);
  if (n < min || n > max) throw new RuleError(part, `${part} must be between ${min} and ${max}.`);
  return n;
}

function list(part: string, value: string): string[] {
  const items = value.split(",");
  if (items.some((item) => item === "")) throw new RuleError(part, `${part} has an empty item.`);
  return items;
}

/** A list of signed numbers 1..max or -max..-1, without repeats. */
function signedList(part: string, value: string, max: number): number[] {
  const numbers = list(part, value).map((item) => {
    const match = /^([+-]?)(\d{1,3})$/.exec(item);
    const n = match ? Number(match[2]) : 0;
    if (!match || n < 1 || n > max) throw new RuleError(part, `${part} items must be 1..${max} or -${max}..-1, not "${item}".`);
    return match[1] === "-" ? -n : n;
  });
  return [...new Set(numbers)];
}

function weekday(part: string, value: string): number {
  const index = WEEKDAYS.indexOf(value.toUpperCase());
  if (index < 0) throw new RuleError(part, `${part} expects weekdays MO, TU, WE, TH, FR, SA or SU, not "${value}".`);
  return index;
}

function parseUntil(value: string, timeZone: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})(?:[Tt](\d{2})(\d{2})(\d{2})([Zz])?)?$/.exec(value);
  const [year, month, day, hour, minute, second] = (match?.slice(1, 7) ?? []).map((field) => (field === undefined ? 0 : Number(field)));
  const valid = match && year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 59;
  if (!valid) throw new RuleError("UNTIL", `UNTIL must be a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS, optionally with Z), not "${value}".`);
  if (match[4] === undefined) {
    // A bare date (strictly invalid with a date-time DTSTART) means "through that day", as people
    // mean it; dateutil would stop at the day's midnight and drop the day's occurrences.
    const next = civilFromDays(daysFromCivil(year, month, day) + 1);
    return wallTimeToUtc({ ...next, hour: 0, minute: 0, second: 0, millisecond: 0 }, timeZone) - 1;
  }
  const wall = { year, month, day, hour, minute, second, millisecond: 0 };
  return wallTimeToUtc(wall, match[7] ? "UTC" : timeZone);
}

function parseParts(body: string, timeZone: string): RecurrenceRule {
  const values = new Map<string, string>();
  for (const segment of body.split(";")) {
    const eq = segment.indexOf("=");
    if (eq < 0) throw new RuleError("RRULE", segment.trim() ? `"${segment.trim()}" is not a NAME=VALUE part.` : "The rule has an empty part (a stray semicolon?).");
    const name = segment.slice(0, eq).trim().toUpperCase();
    if (UNSUPPORTED_PARTS.has(name)) throw new RuleError(name, `${name} is not supported.`);
    if (!SUPPORTED_PARTS.has(name)) throw new RuleError(name || "RRULE", name ? `${name} is not a recurrence rule part.` : "A part has no name.");
    if (values.has(name)) throw new RuleError(name, `${name} is given more than once.`);
    const value = segment.slice(eq + 1).trim();
    if (value === "") throw new RuleError(name, `${name} has no value.`);
    values.set(name, value);
  }

  const freqValue = values.get("FREQ")?.toUpperCase();
  if (freqValue === undefined) throw new RuleError("FREQ", "FREQ is required (DAILY, WEEKLY, MONTHLY or YEARLY).");
  const freq = FREQUENCIES.find((f) => f === freqValue);
  if (!freq) throw new RuleError("FREQ", `FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY, not "${freqValue}".`);
  const rule: RecurrenceRule = { freq, interval: 1, wkst: 0 };

  const get = (name: string) => values.get(name);
  let value: string | undefined;
  if ((value = get("INTERVAL")) !== undefined) rule.interval = integer("INTERVAL", value, 1, MAX_INTERVAL);
  if ((value = get("COUNT")) !== undefined) rule.count = integer("COUNT", value, 1, MAX_COUNT);
  if ((value = get("UNTIL")) !== undefined) {
    if (rule.count !== undefined) throw new RuleError("UNTIL", "COUNT and UNTIL cannot both be given.");
    rule.until = parseUntil(value, timeZone);
  }
  if ((value = get("WKST")) !== undefined) rule.wkst = weekday("WKST", value);
  if ((value = get("BYMONTH")) !== undefined) {
    rule.byMonth = [...new Set(list("BYMONTH", value).map((item) => integer("BYMONTH", item, 1, 12)))];
  }
  if ((value = get("BYMONTHDAY")) !== undefined) {
    // RFC 5545 3.3.10: BYMONTHDAY MUST NOT be used with WEEKLY.
    if (freq === "WEEKLY") throw new RuleError("BYMONTHDAY", "BYMONTHDAY cannot be used with FREQ=WEEKLY.");
    rule.byMonthDay = signedList("BYMONTHDAY", value, 31);
  }
  // RFC 5545 3.3.10: BYYEARDAY MUST NOT be used with DAILY, WEEKLY or MONTHLY, BYWEEKNO only with YEARLY.
  if ((value = get("BYYEARDAY")) !== undefined) {
    if (freq !== "YEARLY") throw new RuleError("BYYEARDAY", "BYYEARDAY needs FREQ=YEARLY.");
    rule.byYearDay = signedList("BYYEARDAY", value, 366);
  }
  if ((value = get("BYWEEKNO")) !== undefined) {
    if (freq !== "YEARLY") throw new RuleError("BYWEEKNO", "BYWEEKNO needs FREQ=YEARLY.");
    rule.byWeekNo = signedList("BYWEEKNO", value, 53);
  }
  if ((value = get("BYDAY")) !== undefined) {
    const seen = new Set<string>();
    rule.byDay = [];
    for (const item of list("BYDAY", value)) {
      const match = /^([+-]?\d{1,2})?([A-Za-z]{2})$/.exec(item);
      if (!match) throw new RuleError("BYDAY", `BYDAY items look like MO, 1MO or -1FR, not "${item}".`);
      const entry: { weekday: number; ordinal?: number } = { weekday: weekday("BYDAY", match[2]) };
      if (match[1] !== undefined) {
        const ordinal = Number(match[1]);
        if (freq !== "MONTHLY" && freq !== "YEARLY") throw new RuleError("BYDAY", `Numbered weekdays like "${item}" need FREQ=MONTHLY or FREQ=YEARLY.`);
        if (rule.byWeekNo) throw new RuleError("BYDAY", `Numbered weekdays like "${item}" cannot be used with BYWEEKNO.`);
        // Within a month (MONTHLY, or YEARLY narrowed by BYMONTH) there are at most five of a weekday.
        const limit = freq === "MONTHLY" || rule.byMonth ? 5 : 53;
        if (ordinal === 0 || Math.abs(ordinal) > limit) throw new RuleError("BYDAY", `The number in "${item}" must be 1..${limit} or -${limit}..-1 here.`);
        entry.ordinal = ordinal;
      }
      const key = `${entry.ordinal ?? ""}${entry.weekday}`;
      if (!seen.has(key)) rule.byDay.push(entry);
      seen.add(key);
    }
  }
  if ((value = get("BYSETPOS")) !== undefined) {
    // RFC 5545 3.3.10: BYSETPOS MUST only be used together with another BYxxx part.
    if (!rule.byDay && !rule.byMonthDay && !rule.byMonth && !rule.byYearDay && !rule.byWeekNo) {
      throw new RuleError("BYSETPOS", "BYSETPOS picks from the days other parts give; use it with BYDAY, BYMONTHDAY, BYMONTH, BYYEARDAY or BYWEEKNO.");
    }
    rule.bySetPos = signedList("BYSETPOS", value, 366);
  }
  return rule;
}

/**
 * Parses a recurrence pattern: one of the words daily, weekly, monthly, yearly (any case), or an
 * RRULE body such as `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10` (an `RRULE:` prefix is allowed). Supports
 * FREQ, INTERVAL, COUNT or UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYYEARDAY and BYWEEKNO (YEARLY
 * only, as RFC 5545 says), BYSETPOS and WKST; anything else fails, naming the part. A floating UNTIL is read as a wall time in `timeZone`.
 *
 * @example parseRecurrence("FREQ=MONTHLY;BYDAY=-1FR", "Europe/Berlin") // { ok: true, rule: { freq: "MONTHLY", interval: 1, byDay: [{ weekday: 4, ordinal: -1 }], wkst: 0 } }
 */
export function parseRecurrence(pattern: string, timeZone: string): ParseResult {
  const trimmed = pattern.trim();
  const word = FREQUENCIES.find((f) => f === trimmed.toUpperCase());
  if (word) return { ok: true, rule: { freq: word, interval: 1, wkst: 0 } };
  if (!trimmed.includes("=")) {
    return { ok: false, part: "FREQ", message: "Expected daily, weekly, monthly, yearly or an RRULE such as FREQ=WEEKLY;BYDAY=MO,WE." };
  }
  try {
    return { ok: true, rule: parseParts(trimmed.replace(/^RRULE:/i, ""), timeZone) };
  } catch (error) {
    if (error instanceof RuleError) return { ok: false, part: error.part, message: error.message };
    throw error;
  }
}
