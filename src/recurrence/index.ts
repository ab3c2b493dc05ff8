export { firstOverlap, occurrencesBetween, seriesEnd, type Occurrence, type SeriesSpec } from "./expand";
export { parseRecurrence, type Frequency, type ParseResult, type RecurrenceRule } from "./rrule";
export { formatUtc, isValidTimeZone, parseDateTimeInput, utcToWallTime, wallTimeToUtc, type WallTime } from "./time-zone";

/**
 * How far past the later start two endless series are compared for conflicts, in days. Two years
 * holds every weekly, monthly and ordinary yearly coincidence at least once and keeps the check
 * bounded; rarer ones (a Feb 29 rule, long intervals) can lie beyond it.
 */
export const RECURRENCE_HORIZON_DAYS = 730;
