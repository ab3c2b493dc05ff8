/** A local (wall-clock) date and time in some zone; `month` is 1..12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm; exact for any year, unlike `Date.UTC`, which maps years 0..99 to 1900..1999). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Inverse of {@link daysFromCivil}. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day: doy - Math.floor((153 * mp + 2) / 5) + 1 };
}

/** Weekday of a day number, 0 = Monday .. 6 = Sunday (the RFC 5545 order used by the rule types). */
export function weekdayOfDays(days: number): number {
  // 1970-01-01 was a Thursday (3).
  return (((days + 3) % 7) + 7) % 7;
}

/** True in Gregorian leap years. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Number of days in `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Reads a wall time as if it were UTC: the "local epoch" that offsets are added to. */
function wallToLocalMs(wall: WallTime): number {
  return daysFromCivil(wall.year, wall.month, wall.day) * DAY_MS + ((wall.hour * 60 + wall.minute) * 60 + wall.second) * 1000 + wall.millisecond;
}

function localMsToWall(localMs: number): WallTime {
  const days = Math.floor(localMs / DAY_MS);
  let rest = localMs - days * DAY_MS;
  const { year, month, day } = civilFromDays(days);
  const millisecond = rest % 1000;
  rest = (rest - millisecond) / 1000;
  const second = rest % 60;
  rest = (rest - second) / 60;
  return { year, month, day, hour: Math.floor(rest / 60), minute: rest % 60, second, millisecond };
}

interface Zone {
  format: Intl.DateTimeFormat;
  /** Offset (ms) at each UTC midnight, keyed by day number: `Intl` calls cost microseconds each. */
  midnightOffsets: Map<number, number>;
}

// Names come from requests and Intl accepts endless case variants of each, so names map onto one
// Zone per canonical zone, and both the names and the memoised offsets are bounded.
const MAX_NAMES = 1000;
const MAX_MIDNIGHTS = 100_000;
const zonesByName = new Map<string, Zone>();
const zonesByCanonicalName = new Map<string, Zone>();
let midnightCount = 0;

/** Throws RangeError for names `Intl` does not know. */
function zoneFor(timeZone: string): Zone {
  let zone = zonesByName.get(timeZone);
  if (!zone) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      // The era tells 1 BC (year 0) from AD 1, which the day before 0001-01-01 needs.
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    const canonical = format.resolvedOptions().timeZone;
    zone = zonesByCanonicalName.get(canonical) ?? { format, midnightOffsets: new Map() };
    zonesByCanonicalName.set(canonical, zone);
    if (zonesByName.size >= MAX_NAMES) zonesByName.clear();
    zonesByName.set(timeZone, zone);
  }
  return zone;
}

/** The zone's UTC offset at an instant, straight from `Intl` (second precision, like tzdb). */
function exactOffset(zone: Zone, epochMs: number): number {
  const wholeSeconds = Math.floor(epochMs / 1000) * 1000;
  const fields: Record<string, number> = {};
  let beforeChrist = false;
  for (const part of zone.format.formatToParts(wholeSeconds)) {
    if (part.type === "era") beforeChrist = part.value === "BC";
    else if (part.type !== "literal") fields[part.type] = Number(part.value);
  }
  const local = wallToLocalMs({ year: beforeChrist ? 1 - fields.year : fields.year, month: fields.month, day: fields.day, hour: fields.hour, minute: fields.minute, second: fields.second, millisecond: 0 });
  return local - wholeSeconds;
}

function midnightOffset(zone: Zone, day: number): number {
  let offset = zone.midnightOffsets.get(day);
  if (offset === undefined) {
    offset = exactOffset(zone, day * DAY_MS);
    if (++midnightCount > MAX_MIDNIGHTS) {
      for (const other of zonesByCanonicalName.values()) other.midnightOffsets.clear();
      midnightCount = 1;
    }
    zone.midnightOffsets.set(day, offset);
  }
  return offset;
}

/**
 * Offset at an instant. When the offsets at the surrounding UTC midnights agree, there was no
 * transition that day: in all of tzdb (1900..2100) an offset change and its reversal are at
 * least four days apart. Only days with a transition need an exact lookup.
 */
function offsetAt(zone: Zone, epochMs: number): number {
  const day = Math.floor(epochMs / DAY_MS);
  const before = midnightOffset(zone, day);
  return before === midnightOffset(zone, day + 1) ? before : exactOffset(zone, epochMs);
}

/**
 * True for a time zone name `Intl` knows (IANA names and links such as "UTC" or "Asia/Calcutta").
 * Offset strings like "+01:00", which newer engines also accept, are refused: they are not zones.
 *
 * @example isValidTimeZone("Europe/Berlin") // true
 */
export function isValidTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) return false;
  try {
    zoneFor(tz);
    return true;
  } catch {
    return false;
  }
}

/**
 * The instant of a wall-clock time in `timeZone`, resolved as RFC 5545 (3.3.5) demands: a time in
 * a DST gap is read with the offset in force before the gap (02:30 becomes 03:30 when clocks jump
 * from 02:00 to 03:00); an ambiguous time in a fall-back overlap is its first (earlier) instant.
 *
 * @example wallTimeToUtc({ year: 2031, month: 3, day: 1, hour: 9, minute: 0, second: 0, millisecond: 0 }, "Europe/Berlin") // Date.parse("2031-03-01T08:00:00Z")
 */
export function wallTimeToUtc(wall: WallTime, timeZone: string): number {
  const local = wallToLocalMs(wall);
  if (timeZone === "UTC") return local;
  const zone = zoneFor(timeZone);
  // Real offsets stay within ±15 h, so a day either side of `local` brackets any transition near it.
  const before = offsetAt(zone, local - DAY_MS);
  const after = offsetAt(zone, local + DAY_MS);
  const earlier = local - before;
  if (offsetAt(zone, earlier) === before) return earlier;
  const later = local - after;
  if (before !== after && offsetAt(zone, later) === after) return later;
  return earlier;
}

/**
 * The wall-clock time in `timeZone` at an instant.
 *
 * @example utcToWallTime(Date.parse("2031-03-01T08:00:00Z"), "Europe/Berlin").hour // 9
 */
export function utcToWallTime(epochMs: number, timeZone: string): WallTime {
  const offset = timeZone === "UTC" ? 0 : offsetAt(zoneFor(timeZone), epochMs);
  return localMsToWall(epochMs + offset);
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/;

/**
 * Reads an ISO 8601 date-time `YYYY-MM-DDTHH:MM[:SS[.fff]]`, optionally followed by `Z` or
 * `±HH:MM`. With an offset it is that instant; without one it is a wall time in `timeZone`
 * (resolved like {@link wallTimeToUtc}). Anything else, including impossible dates such as
 * Feb 30 or hour 24, is null. Throws RangeError when `timeZone` is needed and unknown.
 *
 * @example parseDateTimeInput("2031-03-01T09:00", "Europe/Berlin") // Date.parse("2031-03-01T08:00:00Z")
 */
export function parseDateTimeInput(input: string, timeZone: string): number | null {
  const match = DATE_TIME.exec(input);
  if (!match) return null;
  const [year, month, day, hour, minute] = match.slice(1, 6).map(Number);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  const millisecond = match[7] === undefined ? 0 : Number(match[7].padEnd(3, "0"));
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const wall: WallTime = { year, month, day, hour, minute, second, millisecond };
  if (match[8]) return wallToLocalMs(wall);
  if (match[9]) {
    const offsetHours = Number(match[10]);
    const offsetMinutes = Number(match[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
    return wallToLocalMs(wall) - (match[9] === "-" ? -offset : offset);
  }
  return wallTimeToUtc(wall, timeZone);
}

/**
 * An instant as ISO 8601 UTC, with milliseconds only when there are some.
 *
 * @example formatUtc(Date.parse("2031-03-01T08:00:00Z")) // "2031-03-01T08:00:00Z"
 */
export function formatUtc(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(".000Z", "Z");
}
