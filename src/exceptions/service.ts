import { eq, sql } from "drizzle-orm";
import { applyChange, candidateOf, changeContent, commit, contentWrites, detailOf, eventValues, NEW_EVENT_ID, readForChange, type Delivery } from "../changes/pipeline";
import { diffSnapshots, versionRow } from "../changes/history";
import { plainBatch, type Batch } from "../db/batch";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import type { Caller } from "../auth/service";
import type { Actor } from "../env";
import { conflictError, conflictsWithinBatch, writeWithoutConflicts } from "../events/conflicts";
import { BAD_TIME, contentFromPatch, contentOf, seriesSpecOf, timesChanged, toEventBody, toSnapshot, type EventContent, type ValidContent } from "../events/content";
import { permissionsQuery, type PermissionRow } from "../events/permissions";
import { accessQuery, checkAccess, type EventRow } from "../events/policy";
import type { EventPatchInput } from "../events/schemas";
import { ApiError, validationFailed, type FieldError } from "../lib/problem";
import { isSupportedInstant, TIME_RANGE_MESSAGE } from "../lib/time-range";
import { notifyEventAudience, toDeliveries, type NotificationRow } from "../notifications/service";
import { formatUtc, occurrences, parseDateTimeInput, RULE_BUDGET, WorkBudget } from "../recurrence";
import { seriesOccurrencesBetween, type Series } from "./expand";
import { parseExceptions, timesOf, type ExceptionItem } from "./model";
import { isGeneratedStart, placementError } from "./placement";
import type { OccurrencePatchInput } from "./schemas";

/** `GET /api/events/{id}/exceptions`: the series' exceptions, by original start (any role). */
export async function listExceptions(db: Db, actor: Pick<Actor, "id">, eventId: number, batch: Batch = plainBatch(db)) {
  const [[access]] = await batch([accessQuery(db, actor.id, eventId)]);
  const { event } = checkAccess(access, "read");
  return parseExceptions(event.exceptions);
}

const notAnOccurrence = (detail: string) => new ApiError(404, "not_found", detail);

/**
 * The occurrence `original_start` names (ISO 8601; without an offset read in the event's zone):
 * an instant the series' rule generates. A one-off event has no occurrences to address.
 */
function occurrenceStart(event: EventRow, series: Series, raw: string): number {
  if (!series.rule) throw notAnOccurrence("The event is not recurring; change it through PATCH /api/events/{id}.");
  const ms = parseDateTimeInput(raw, event.timezone);
  if (ms === null || !isSupportedInstant(ms) || !isGeneratedStart(series, ms, new WorkBudget(RULE_BUDGET))) {
    throw notAnOccurrence("No occurrence of the series starts at that original_start.");
  }
  return ms;
}

const upsert = (items: readonly ExceptionItem[], item: ExceptionItem) => [...items.filter((x) => x.original_start !== item.original_start), item];

/** The exceptions after a change, validated with the rest of the content (bounds, rule); nothing is dropped since the rule is unchanged. */
const withExceptions = (current: EventContent, exceptions: ExceptionItem[]): ValidContent => contentFromPatch(current, {}, exceptions);

/**
 * The exception a PATCH of one occurrence makes: the fields sent override the series' (a cancelled
 * occurrence comes back); times are read in the event's zone, a lone start keeps the duration, a
 * lone end the start. A moved occurrence stays inside the series' envelope and may not start when
 * another occurrence of the series does.
 */
function patchedException(event: EventRow, series: Series, originalStart: number, existing: ExceptionItem | undefined, patch: OccurrencePatchInput): ExceptionItem {
  const errors: FieldError[] = [];
  const base: ExceptionItem = existing && !existing.cancelled ? { ...existing } : { original_start: formatUtc(originalStart), cancelled: false };
  const item: ExceptionItem = { ...base, cancelled: false };
  if (patch.title === null) errors.push({ field: "title", message: "Required; cannot be cleared." });
  else if (patch.title !== undefined) item.title = patch.title;
  if (patch.description !== undefined) item.description = patch.description ?? "";
  if (patch.location !== undefined) item.location = patch.location;
  const duration = event.endTime - event.startTime;
  const before = timesOf(base, duration);
  const parse = (value: string | null | undefined, field: string) => {
    if (value === undefined) return undefined;
    if (value === null) return void errors.push({ field, message: "Required; cannot be cleared." });
    const ms = parseDateTimeInput(value, event.timezone);
    if (ms === null) return void errors.push({ field, message: BAD_TIME });
    if (!isSupportedInstant(ms)) return void errors.push({ field, message: TIME_RANGE_MESSAGE });
    return ms;
  };
  const start = parse(patch.start_time, "start_time");
  const end = parse(patch.end_time, "end_time");
  if (errors.length) throw validationFailed(errors);
  const times = { start: start ?? before.start, end: end ?? (start !== undefined ? start + (before.end - before.start) : before.end) };
  if (times.end <= times.start) throw validationFailed([{ field: "end_time", message: "Must be after start_time." }]);
  delete item.start_time;
  delete item.end_time;
  if (times.start !== originalStart || times.end !== originalStart + duration) {
    const misplaced = placementError(series, event.seriesEnd, times);
    if (misplaced) throw validationFailed([{ field: "start_time", message: misplaced }]);
    const taken = seriesOccurrencesBetween(series, times.start, times.start + 1, 10, new WorkBudget(RULE_BUDGET)).some((o) => o.start === times.start && o.originalStart !== originalStart);
    if (taken) throw validationFailed([{ field: "start_time", message: "Another occurrence of the series starts at that time." }]);
    item.start_time = formatUtc(times.start);
    item.end_time = formatUtc(times.end);
  }
  return item;
}

/** The occurrence as the PATCH answers it: where it is now, with the series' fields it did not override. */
export function occurrenceOf(row: EventRow, originalStart: number) {
  const item = parseExceptions(row.exceptions).find((x) => Date.parse(x.original_start) === originalStart);
  const times = item ? timesOf(item, row.endTime - row.startTime) : { start: originalStart, end: originalStart + row.endTime - row.startTime };
  return {
    event_id: row.id,
    original_start: formatUtc(originalStart),
    start_time: formatUtc(times.start),
    end_time: formatUtc(times.end),
    title: item?.title ?? row.title,
    description: item?.description ?? row.description,
    location: item?.location !== undefined ? item.location : row.location,
    cancelled: item?.cancelled ?? false,
    is_exception: item !== undefined,
  };
}

/**
 * `PATCH /api/events/{id}/occurrences/{original_start}`: changes one occurrence, a new version of
 * the series through the write pipeline. Only a moved (or restored) occurrence is conflict-checked,
 * and only its own slot; the rest of the series did not move.
 */
export async function changeOccurrence(db: Db, caller: Caller, eventId: number, rawStart: string, patch: OccurrencePatchInput, ifMatch?: string) {
  let at = 0;
  const result = await changeContent(db, caller, eventId, {
    action: "update",
    ifMatch,
    nextContent: (current) => {
      const series = seriesSpecOf(current);
      at = occurrenceStart(current, series, rawStart);
      const content = contentOf(current);
      const existing = content.exceptions.find((x) => Date.parse(x.original_start) === at);
      return withExceptions(content, upsert(content.exceptions, patchedException(current, series, at, existing, patch)));
    },
    candidates: (next, current) => {
      const item = next.exceptions.find((x) => Date.parse(x.original_start) === at)!;
      const slot = timesOf(item, next.endTime - next.startTime);
      return [{ spec: { startMs: slot.start, endMs: slot.end, timeZone: next.timezone, rule: null }, seriesEnd: slot.end, excludeId: current.id }];
    },
    // Which occurrence the change touched: the contract's `data.original_start`.
    notifyData: () => ({ original_start: formatUtc(at) }),
    message: (next, actor) => `${actor.username} changed the ${formatUtc(at)} occurrence of "${next.title}"`,
  });
  return { occurrence: occurrenceOf(result.row, at), tags: result.tags, deliveries: result.deliveries };
}

/**
 * `DELETE /api/events/{id}/occurrences/{original_start}`: cancels one occurrence (a new version;
 * nothing to check, the slot is freed). Cancelling a cancelled occurrence changes nothing.
 */
export async function cancelOccurrence(db: Db, caller: Caller, eventId: number, rawStart: string, ifMatch?: string) {
  let at = 0;
  const { deliveries } = await changeContent(db, caller, eventId, {
    action: "update",
    ifMatch,
    nextContent: (current) => {
      at = occurrenceStart(current, seriesSpecOf(current), rawStart);
      const content = contentOf(current);
      return withExceptions(content, upsert(content.exceptions, { original_start: formatUtc(at), cancelled: true }));
    },
    // Which occurrence the change touched: the contract's `data.original_start`.
    notifyData: () => ({ original_start: formatUtc(at) }),
    message: (next, actor) => `${actor.username} cancelled the ${formatUtc(at)} occurrence of "${next.title}"`,
  });
  return { deliveries };
}

/** The RRULE body with its end replaced (COUNT and UNTIL removed, then the given one added); a word pattern becomes its FREQ. */
function withEnd(pattern: string, end: { until?: number; count?: number }): string {
  const body = pattern.trim().replace(/^RRULE:/i, "");
  const parts = body.includes("=") ? body.split(";").filter((part) => part !== "" && !/^(COUNT|UNTIL)=/i.test(part)) : [`FREQ=${body.toUpperCase()}`];
  if (end.until !== undefined) parts.push(`UNTIL=${new Date(Math.floor(end.until / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "")}`);
  if (end.count !== undefined) parts.push(`COUNT=${end.count}`);
  return parts.join(";");
}

/**
 * The two series a split makes of one: the original ending just before `at` (an UNTIL one second
 * before it, keeping its exceptions before `at`), and the following one starting at `at` with the
 * rest of the occurrences (a COUNT rule keeps the remaining count) and the exceptions from `at` on,
 * then the patch applied to it like a PATCH of an event.
 */
function splitContents(event: EventRow, series: Series, at: number, patch: EventPatchInput) {
  const current = contentOf(event);
  const pattern = current.recurrencePattern!;
  const before = current.exceptions.filter((x) => Date.parse(x.original_start) < at);
  const after = current.exceptions.filter((x) => Date.parse(x.original_start) >= at);
  const old = contentFromPatch(current, { recurrence_pattern: withEnd(pattern, { until: at - 1000 }) }, before);
  if (old.droppedExceptions.length) {
    throw validationFailed([{ field: "original_start", message: `The ${old.droppedExceptions[0].original_start} occurrence was moved past the split point; move it back or cancel it first.` }]);
  }
  let count: number | undefined;
  if (series.rule?.count !== undefined) {
    let earlier = 0;
    for (const _ of occurrences({ ...series, exceptions: null } as Series, -Infinity, at, new WorkBudget(RULE_BUDGET))) earlier++;
    count = series.rule.count - earlier;
  }
  const duration = current.endTime - current.startTime;
  const start: EventContent = {
    ...current,
    startTime: at,
    endTime: at + duration,
    recurrencePattern: count !== undefined ? withEnd(pattern, { count }) : pattern,
    exceptions: after,
  };
  const base = contentFromPatch(start, {}, after);
  // An occurrence from the split point on that was moved before it cannot start the following series: refused like the mirror case above, never dropped.
  if (base.droppedExceptions.length) {
    throw validationFailed([{ field: "original_start", message: `The ${base.droppedExceptions[0].original_start} occurrence was moved before the split point; move it back or cancel it first.` }]);
  }
  const following = contentFromPatch(start, patch, after);
  return { old, base, following };
}

/**
 * `PATCH ...?scope=following`: splits the series at one occurrence, atomically, in one batch under
 * the series' premise: the series gets its UNTIL and a new version; the following series is created
 * with the changes, `split_from`, the same permissions (roles, grantors, grant times) and the
 * exceptions from the split point on, as version 1; both are notified. The following series is
 * conflict-checked when the changes move it, against the owner's calendar and the shortened series.
 */
export async function splitSeries(db: Db, caller: Caller, eventId: number, rawStart: string, patch: EventPatchInput, ifMatch?: string) {
  return commit(async () => {
    const { actor, event, role, premise } = await readForChange(db, caller, eventId, "update", ifMatch);
    const series = seriesSpecOf(event);
    const at = occurrenceStart(event, series, rawStart);
    if (at === event.startTime) {
      throw validationFailed([{ field: "original_start", message: "That is the series' first occurrence: change the whole series with PATCH /api/events/{id}." }]);
    }
    const { old, base, following } = splitContents(event, series, at, patch);
    const moved = timesChanged(base, following);
    if (moved) {
      const internal = conflictsWithinBatch([candidateOf(old), candidateOf(following)], [old.title, following.title]);
      if (internal.length) throw conflictError(internal.map((c) => ({ ...c, id: event.id, title: old.title, index: undefined })));
    }
    const now = Math.max(Date.now(), event.updatedAt);
    const version = event.version + 1;
    const changes = diffSnapshots(toSnapshot(contentOf(event)), toSnapshot(old));
    const followingSnapshot = toSnapshot(following);
    const originalStart = formatUtc(at);
    return writeWithoutConflicts(db, event.ownerId, actor.id, moved ? [candidateOf(following, { excludeId: event.id })] : [], async (calendar) => {
      const applied = await applyChange(
        db,
        {
          actor,
          eventId: event.id,
          premise,
          calendar,
          writes: [
            ...contentWrites(db, event.id, old, version, now),
            db
              .insert(events)
              .values({ ...eventValues(following), ownerId: event.ownerId, splitFrom: event.id, version: 1, createdAt: now, updatedAt: now })
              .returning(),
            db.insert(permissions).select(
              db
                .select({
                  eventId: sql<number>`${NEW_EVENT_ID}`.as("event_id"),
                  userId: permissions.userId,
                  role: permissions.role,
                  grantedBy: permissions.grantedBy,
                  grantedAt: permissions.grantedAt,
                  startTime: sql<number>`${following.startTime}`.as("start_time"),
                  seriesEnd: sql<number | null>`${following.seriesEnd}`.as("series_end"),
                })
                .from(permissions)
                .where(eq(permissions.eventId, event.id)),
            ),
            versionRow(db, { eventId: NEW_EVENT_ID, version: 1, action: "created", changedBy: actor.id, changedAt: now, snapshot: followingSnapshot, changes: diffSnapshots({}, followingSnapshot) }),
            notifyEventAudience(
              db,
              {
                type: "event_created",
                eventId: NEW_EVENT_ID,
                actor,
                message: `${actor.username} split "${following.title}" off "${old.title}" from ${originalStart} on`,
                data: { title: following.title, split_from: event.id, original_start: originalStart },
              },
              now,
            ),
            permissionsQuery(db, event.id),
          ],
          version: { eventId: event.id, version, action: "updated", changedBy: actor.id, changedAt: now, snapshot: toSnapshot(old), changes },
          notify: {
            audience: "after",
            spec: {
              type: "event_updated",
              message: `${actor.username} ended "${old.title}" before ${originalStart} and split the rest off`,
              data: sql`json_set(${JSON.stringify({ changes, version, original_start: originalStart })}, '$.following_id', ${NEW_EVENT_ID})`,
            },
          },
        },
        now,
      );
      const [seriesRow] = applied.writes[0] as EventRow[];
      const [followingRow] = applied.writes[2] as EventRow[];
      const tags = (await detailOf(seriesRow, role, applied.writes[6] as PermissionRow[])).tags;
      const deliveries: Delivery[] = [...toDeliveries(applied.writes[5] as NotificationRow[], actor), ...applied.deliveries];
      const dropped = following.droppedExceptions.map((x) => x.original_start);
      return {
        body: { series: toEventBody(seriesRow, role), following: toEventBody(followingRow, role), ...(dropped.length ? { dropped_exceptions: dropped } : {}) },
        tags,
        deliveries,
      };
    });
  });
}
