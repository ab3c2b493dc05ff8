export { checkSeries, endOf, firstOverlap, firstOverlapOf, occurrences, occurrencesBetween, seriesEnd, type Occurrence, type SeriesCheck, type SeriesSpec } from "./expand";
export { parseRecurrence, type Frequency, type ParseResult, type RecurrenceRule } from "./rrule";
export { formatUtc, isValidTimeZone, parseDateTimeInput, utcToWallTime, wallTimeToUtc, type WallTime } from "../lib/time-zone";
export { BATCH_RULE_BUDGET, BudgetExceeded, CONFLICT_BUDGET, expansionWork, RULE_BUDGET, spend, WorkBudget } from "./work";

/**
 * How far past the later start two series (endless, or ending later than that) are compared for
 * conflicts, in days. Two years holds every weekly, monthly and ordinary yearly coincidence at
 * least once and keeps the check bounded; rarer ones (a Feb 29 rule, long intervals) can lie
 * beyond it. A one-off is compared with a series exactly, however far away it lies.
 */
export const RECURRENCE_HORIZON_DAYS = 730;
