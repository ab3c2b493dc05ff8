import { events } from "../db/schema";
import { ApiError, type FieldError, validationFailed } from "../lib/problem";
import { isSupportedInstant, TIME_RANGE_MESSAGE } from "../lib/time-range";
import { formatUtc } from "../recurrence";
import { checkSeries, isValidTimeZone, parseDateTimeInput, parseRecurrence, RULE_BUDGET, WorkBudget, type SeriesSpec } from "../recurrence";
import type { Snapshot } from "../changes/history";
import type { Series } from "../exceptions/expand";
import { exceptionBoundsError, indexExceptions, parseExceptions, sameExceptions, timesOf, type ExceptionItem } from "../exceptions/model";
import { reconcileExceptions } from "../exceptions/placement";
import type { EventRow } from "./policy";
import type { EventCreateInput, EventPatchInput, Role } from "./schemas";

/** What an event says, apart from who owns it and its bookkeeping. */
export interface EventContent {
  title: string;
  description: string;
  location: string | null;
  startTime: number;
  endTime: number;
  isRecurring: boolean;
  recurrencePattern: string | null;
  timezone: string;
  /** Single-occurrence exceptions, sorted by original start (see exceptions/model). */
  exceptions: ExceptionItem[];
}

/** Content plus what is derived from it: the end of its last occurrence (null when endless). */
export interface ValidContent extends EventContent {
  seriesEnd: number | null;
  /** Exceptions the change dropped: their original start is no longer an occurrence, or their moved times left the series' span. */
  droppedExceptions: ExceptionItem[];
}

export const contentOf = (row: EventRow): EventContent => ({
  title: row.title,
  description: row.description,
  location: row.location,
  startTime: row.startTime,
  endTime: row.endTime,
  isRecurring: row.isRecurring,
  recurrencePattern: row.recurrencePattern,
  timezone: row.timezone,
  exceptions: parseExceptions(row.exceptions),
});

/**
 * The series an event describes. Given the stored `seriesEnd` (an event row, or validated
 * content), a COUNT rule is expanded from any window without counting from its first occurrence.
 */
/**
 * The columns a listing selects so each row can be expanded by seriesSpecOf and named in a reply,
 * without the description (up to 10,000 characters) that conflict checks and the agenda never need.
 */
export const seriesColumns = {
  id: events.id,
  title: events.title,
  startTime: events.startTime,
  endTime: events.endTime,
  seriesEnd: events.seriesEnd,
  isRecurring: events.isRecurring,
  recurrencePattern: events.recurrencePattern,
  timezone: events.timezone,
  exceptions: events.exceptions,
};

/**
 * The series an event describes, with its exceptions (a row's stored JSON, or content's items)
 * ready for seriesOccurrences. Given the stored `seriesEnd`, a COUNT rule is expanded from any
 * window without counting from its first occurrence.
 */
export function seriesSpecOf(
  content: Pick<EventContent, "startTime" | "endTime" | "timezone" | "isRecurring" | "recurrencePattern"> & { seriesEnd?: number | null; exceptions?: string | ExceptionItem[] },
): Series {
  const parsed = content.isRecurring && content.recurrencePattern ? parseRecurrence(content.recurrencePattern, content.timezone) : null;
  const rule = parsed?.ok ? parsed.rule : null;
  const items = typeof content.exceptions === "string" ? parseExceptions(content.exceptions) : (content.exceptions ?? []);
  return {
    startMs: content.startTime,
    endMs: content.endTime,
    timeZone: content.timezone,
    rule,
    seriesEnd: content.seriesEnd,
    exceptions: rule ? indexExceptions(items, content.endTime - content.startTime) : null,
  };
}

export function toSnapshot(content: EventContent): Snapshot {
  return {
    title: content.title,
    description: content.description,
    location: content.location,
    start_time: formatUtc(content.startTime),
    end_time: formatUtc(content.endTime),
    is_recurring: content.isRecurring,
    recurrence_pattern: content.recurrencePattern,
    timezone: content.timezone,
    exceptions: content.exceptions,
  };
}

/** Back from a stored snapshot (a rollback target) to content. */
export function fromSnapshot(snapshot: Snapshot): EventContent {
  return {
    title: snapshot.title,
    description: snapshot.description,
    location: snapshot.location,
    startTime: Date.parse(snapshot.start_time),
    endTime: Date.parse(snapshot.end_time),
    isRecurring: snapshot.is_recurring,
    recurrencePattern: snapshot.recurrence_pattern,
    timezone: snapshot.timezone,
    exceptions: snapshot.exceptions ?? [],
  };
}

/**
 * An event as the API shows it. Its exceptions are not listed here (GET /api/events/{id} and
 * /exceptions show them); `split_from` appears only on a series split off another.
 */
export function toEventBody(row: EventRow, role: Role) {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    location: row.location,
    start_time: formatUtc(row.startTime),
    end_time: formatUtc(row.endTime),
    is_recurring: row.isRecurring,
    recurrence_pattern: row.recurrencePattern,
    timezone: row.timezone,
    ...(row.splitFrom !== null && row.splitFrom !== undefined ? { split_from: row.splitFrom } : {}),
    owner_id: row.ownerId,
    version: row.version,
    created_at: formatUtc(row.createdAt),
    updated_at: formatUtc(row.updatedAt),
    my_role: role,
  };
}

type Draft = { times: { start: string | number; end: string | number } } & Omit<EventContent, "startTime" | "endTime">;
type Fail = (field: string, message: string) => void;

const parseTime = (value: string | number, zone: string) => (typeof value === "number" ? value : parseDateTimeInput(value, zone));
export const BAD_TIME = "Not an ISO 8601 date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]).";

/** Each given time parses and lies in the supported range; returns the instants (null when absent or bad). */
function checkTimes(times: { start?: string | number; end?: string | number }, zone: string, fail: Fail, checkRange = true) {
  const check = (value: string | number | undefined, field: string) => {
    if (value === undefined) return null;
    const ms = parseTime(value, zone);
    if (ms === null) fail(field, BAD_TIME);
    else if (checkRange && !isSupportedInstant(ms)) fail(field, TIME_RANGE_MESSAGE);
    return ms !== null && (!checkRange || isSupportedInstant(ms)) ? ms : null;
  };
  const startTime = check(times.start, "start_time");
  const endTime = check(times.end, "end_time");
  if (startTime !== null && endTime !== null && endTime <= startTime) fail("end_time", "Must be after start_time.");
  return { startTime, endTime };
}

/**
 * Checks what the schema's field rules cannot: times (which need the time zone), their range and
 * order, and the recurrence rule. Reports every failing field through `fail`.
 */
function checkDraft(content: Omit<Draft, "title" | "description" | "location" | "times" | "exceptions"> & { times: { start?: string | number; end?: string | number } }, fail: Fail) {
  const timezoneOk = isValidTimeZone(content.timezone);
  if (!timezoneOk) fail("timezone", "Not an IANA time zone name.");
  const zone = timezoneOk ? content.timezone : "UTC";
  const { startTime, endTime } = checkTimes(content.times, zone, fail);
  if (content.recurrencePattern !== null && !content.isRecurring) fail("recurrence_pattern", "A recurrence pattern needs is_recurring: true.");
  if (content.isRecurring && content.recurrencePattern === null) fail("recurrence_pattern", "Required when is_recurring is true.");
  if (content.isRecurring && content.recurrencePattern !== null) {
    const parsed = parseRecurrence(content.recurrencePattern, zone);
    if (!parsed.ok) fail("recurrence_pattern", `${parsed.part}: ${parsed.message}`);
  }
  return { startTime, endTime };
}

/**
 * Collects every failing field, prefixed for batch items, into one 422. A batch passes its shared
 * `batch` budget, from which each rule's check draws (at most RULE_BUDGET each).
 */
function validate(content: Draft, prefix = "", index?: number, batch?: WorkBudget): ValidContent {
  const errors: FieldError[] = [];
  const fail: Fail = (field, message) => errors.push({ field: prefix + field, message, ...(index !== undefined ? { index } : {}) });
  const { startTime, endTime } = checkDraft(content, fail);
  if (errors.length) throw validationFailed(errors);
  const { times: _times, ...rest } = content;
  const valid: EventContent = { ...rest, startTime: startTime!, endTime: endTime! };
  const boundsError = exceptionBoundsError(valid.exceptions);
  if (boundsError) throw validationFailed([{ field: prefix + "exceptions", message: boundsError, ...(index !== undefined ? { index } : {}) }]);
  const spec = seriesSpecOf(valid);
  // A rule that never matches (BYMONTHDAY=30;BYMONTH=2) would make an event with no occurrences;
  // one too sparse or long to walk within the budget would make every later read costly.
  const left = batch ? Math.max(0, batch.limit - batch.used) : RULE_BUDGET;
  const budget = new WorkBudget(Math.min(RULE_BUDGET, left));
  const checked = checkSeries(spec, budget);
  if (batch) batch.used += budget.used;
  if (!checked.ok) {
    const message =
      checked.reason === "too_expensive" && left < RULE_BUDGET
        ? `The batch's rules together need more than ${batch!.limit} steps to check; send this event in another batch.`
        : checked.message;
    throw validationFailed([{ field: prefix + "recurrence_pattern", message, ...(index !== undefined ? { index } : {}) }]);
  }
  if (!valid.exceptions.length) return { ...valid, seriesEnd: checked.seriesEnd, droppedExceptions: [] };
  // Exceptions stay only while their occurrence does: a one-off has none, a new rule or new times keep those that still match.
  const { kept, dropped } = spec.rule ? reconcileExceptions(spec, checked.seriesEnd, valid.exceptions, new WorkBudget(RULE_BUDGET)) : { kept: [], dropped: valid.exceptions };
  return { ...valid, exceptions: kept, seriesEnd: checked.seriesEnd, droppedExceptions: dropped };
}

const text = (value: unknown) => (typeof value === "string" ? value : undefined);

/**
 * The same cross-field checks, run by the request schemas on the body as sent, so that one 422
 * names these fields together with the schema's own (an empty title and an end before the start).
 * Fields of the wrong type are the schema's to report and are skipped. A partial body (PATCH)
 * checks only what it holds by itself; what depends on the stored event is checked by the service.
 */
export function bodyContentErrors(body: Record<string, unknown>, partial: boolean): { field: string; message: string }[] {
  const errors: { field: string; message: string }[] = [];
  const fail: Fail = (field, message) => errors.push({ field, message });
  const timezone = body.timezone === undefined || body.timezone === null ? "UTC" : text(body.timezone);
  const times = { start: text(body.start_time), end: text(body.end_time) };
  const isRecurring = body.is_recurring ?? false;
  const pattern = body.recurrence_pattern ?? null;
  if (partial || timezone === undefined || typeof isRecurring !== "boolean" || (pattern !== null && typeof pattern !== "string")) {
    if (timezone !== undefined && !isValidTimeZone(timezone)) fail("timezone", "Not an IANA time zone name.");
    // A time without offset in a PATCH that names no zone is read in the stored zone, unknown
    // here, so its range is left to the service.
    checkTimes(times, timezone !== undefined && isValidTimeZone(timezone) ? timezone : "UTC", fail, !(partial && body.timezone === undefined));
    return errors;
  }
  checkDraft({ times, timezone, isRecurring, recurrencePattern: pattern }, fail);
  return errors;
}

/**
 * A new event's content. `exceptions` (an import's EXDATEs and RECURRENCE-ID overrides) are kept
 * while their occurrence exists; the others come back as `droppedExceptions`.
 */
export function contentFromCreate(input: EventCreateInput, prefix = "", index?: number, batch?: WorkBudget, exceptions: ExceptionItem[] = []): ValidContent {
  return validate(
    {
      title: input.title,
      description: input.description,
      location: input.location ?? null,
      times: { start: input.start_time, end: input.end_time },
      isRecurring: input.is_recurring,
      recurrencePattern: input.recurrence_pattern ?? null,
      timezone: input.timezone,
      exceptions,
    },
    prefix,
    index,
    batch,
  );
}

/**
 * Merges a partial update into the current content. Absent fields stay; `null` clears an optional
 * field to its default. Turning recurrence off also drops the pattern unless one is sent. The
 * exceptions are the current ones unless given (a rollback restores a version's); those that no
 * longer match an occurrence are dropped (`droppedExceptions`).
 */
export function contentFromPatch(current: EventContent, patch: EventPatchInput, exceptions: ExceptionItem[] = current.exceptions): ValidContent {
  if (patch.title === null || patch.start_time === null || patch.end_time === null) {
    const field = patch.title === null ? "title" : patch.start_time === null ? "start_time" : "end_time";
    throw validationFailed([{ field, message: "Required; cannot be cleared." }]);
  }
  const isRecurring = patch.is_recurring === undefined ? current.isRecurring : (patch.is_recurring ?? false);
  let recurrencePattern = patch.recurrence_pattern === undefined ? current.recurrencePattern : patch.recurrence_pattern;
  if (patch.is_recurring === false || patch.is_recurring === null) recurrencePattern = patch.recurrence_pattern ?? null;
  return validate({
    title: patch.title ?? current.title,
    description: patch.description === undefined ? current.description : (patch.description ?? ""),
    location: patch.location === undefined ? current.location : patch.location,
    times: { start: patch.start_time ?? current.startTime, end: patch.end_time ?? current.endTime },
    isRecurring,
    recurrencePattern,
    timezone: patch.timezone === undefined ? current.timezone : (patch.timezone ?? "UTC"),
    exceptions,
  });
}

/**
 * True when the change moves the event in time, so it needs a conflict check: its times or rule,
 * or an exception that puts an occurrence where there was none (a moved one, or a cancelled one
 * brought back by a rollback). Cancelling, or changing only texts, frees or keeps slots.
 */
export const timesChanged = (a: EventContent, b: EventContent) =>
  a.startTime !== b.startTime ||
  a.endTime !== b.endTime ||
  a.isRecurring !== b.isRecurring ||
  a.recurrencePattern !== b.recurrencePattern ||
  a.timezone !== b.timezone ||
  (!sameExceptions(a.exceptions, b.exceptions) && occupiesNewSlots(a, b));

function occupiesNewSlots(a: EventContent, b: EventContent): boolean {
  const duration = a.endTime - a.startTime;
  const slot = (items: ExceptionItem[], originalStart: string) => {
    const item = items.find((x) => x.original_start === originalStart);
    if (item?.cancelled) return null;
    const { start, end } = item ? timesOf(item, duration) : { start: Date.parse(originalStart), end: Date.parse(originalStart) + duration };
    return `${start}/${end}`;
  };
  return b.exceptions.some((x) => {
    const after = slot(b.exceptions, x.original_start);
    return after !== null && after !== slot(a.exceptions, x.original_start);
  }) || a.exceptions.some((x) => !b.exceptions.some((y) => y.original_start === x.original_start) && slot(a.exceptions, x.original_start) !== slot(b.exceptions, x.original_start));
}

export const preconditionFailed = (current: ReturnType<typeof toEventBody>) =>
  new ApiError(412, "precondition_failed", `If-Match does not match the current version (${current.version}).`, { extra: { current } });
