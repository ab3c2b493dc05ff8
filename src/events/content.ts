import { ApiError, type FieldError, validationFailed } from "../lib/problem";
import { formatUtc } from "../recurrence";
import { isValidTimeZone, occurrencesBetween, parseDateTimeInput, parseRecurrence, seriesEnd, type SeriesSpec } from "../recurrence";
import type { Snapshot } from "../versions/service";
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
}

/** Content plus what is derived from it: the end of its last occurrence (null when endless). */
export interface ValidContent extends EventContent {
  seriesEnd: number | null;
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
});

export function seriesSpecOf(content: EventContent): SeriesSpec {
  const parsed = content.isRecurring && content.recurrencePattern ? parseRecurrence(content.recurrencePattern, content.timezone) : null;
  return { startMs: content.startTime, endMs: content.endTime, timeZone: content.timezone, rule: parsed?.ok ? parsed.rule : null };
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
  };
}

export function toEventBody(row: EventRow, role: Role) {
  return {
    id: row.id,
    ...toSnapshot(contentOf(row)),
    owner_id: row.ownerId,
    version: row.version,
    created_at: formatUtc(row.createdAt),
    updated_at: formatUtc(row.updatedAt),
    my_role: role,
  };
}

/**
 * Checks what the schema cannot: times (which need the time zone), their order, and the
 * recurrence rule. Collects every failing field, prefixed for batch items.
 */
function validate(content: { times: { start: string | number; end: string | number } } & Omit<EventContent, "startTime" | "endTime">, prefix = "", index?: number): ValidContent {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field: prefix + field, message, ...(index !== undefined ? { index } : {}) });
  const timezoneOk = isValidTimeZone(content.timezone);
  if (!timezoneOk) fail("timezone", "Not an IANA time zone name.");
  const zone = timezoneOk ? content.timezone : "UTC";
  const parse = (value: string | number) => (typeof value === "number" ? value : parseDateTimeInput(value, zone));
  const startTime = parse(content.times.start);
  const endTime = parse(content.times.end);
  if (startTime === null) fail("start_time", "Not an ISO 8601 date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]).");
  if (endTime === null) fail("end_time", "Not an ISO 8601 date-time (YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]).");
  if (startTime !== null && endTime !== null && endTime <= startTime) fail("end_time", "Must be after start_time.");
  if (content.recurrencePattern !== null && !content.isRecurring) fail("recurrence_pattern", "A recurrence pattern needs is_recurring: true.");
  if (content.isRecurring && content.recurrencePattern === null) fail("recurrence_pattern", "Required when is_recurring is true.");
  if (content.isRecurring && content.recurrencePattern !== null) {
    const parsed = parseRecurrence(content.recurrencePattern, zone);
    if (!parsed.ok) fail("recurrence_pattern", `${parsed.part}: ${parsed.message}`);
  }
  if (errors.length) throw validationFailed(errors);
  const { times: _times, ...rest } = content;
  const valid: EventContent = { ...rest, startTime: startTime!, endTime: endTime! };
  const spec = seriesSpecOf(valid);
  // A rule that can never match (BYMONTHDAY=30;BYMONTH=2) would make an event with no occurrences.
  if (spec.rule && occurrencesBetween(spec, spec.startMs, 8.64e15, 1).length === 0) {
    throw validationFailed([{ field: prefix + "recurrence_pattern", message: "The rule yields no occurrence from start_time on.", ...(index !== undefined ? { index } : {}) }]);
  }
  return { ...valid, seriesEnd: seriesEnd(spec) };
}

export function contentFromCreate(input: EventCreateInput, prefix = "", index?: number): ValidContent {
  return validate(
    {
      title: input.title,
      description: input.description,
      location: input.location ?? null,
      times: { start: input.start_time, end: input.end_time },
      isRecurring: input.is_recurring,
      recurrencePattern: input.recurrence_pattern ?? null,
      timezone: input.timezone,
    },
    prefix,
    index,
  );
}

/**
 * Merges a partial update into the current content. Absent fields stay; `null` clears an optional
 * field to its default. Turning recurrence off also drops the pattern unless one is sent.
 */
export function contentFromPatch(current: EventContent, patch: EventPatchInput): ValidContent {
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
  });
}

/** True when the change moves the event in time, so it needs a conflict check. */
export const timesChanged = (a: EventContent, b: EventContent) =>
  a.startTime !== b.startTime || a.endTime !== b.endTime || a.isRecurring !== b.isRecurring || a.recurrencePattern !== b.recurrencePattern || a.timezone !== b.timezone;

export const preconditionFailed = (current: ReturnType<typeof toEventBody>) =>
  new ApiError(412, "precondition_failed", `If-Match does not match the current version (${current.version}).`, { extra: { current } });
