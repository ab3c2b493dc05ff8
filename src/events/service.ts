import { and, asc, desc, eq, gt, isNull, lt, lte, ne, not, sql, type SQL } from "drizzle-orm";
import { applyChange, candidateOf, changeContent, commit, creationStatements, detailOf, readForChange, sessionStatements, type Delivery } from "../changes/pipeline";
import { isPremiseFailure } from "../changes/guards";
import { liveActor, sessionCheckedBatchOf, unauthorized, type Caller } from "../auth/service";
import type { Snapshot } from "../changes/history";
import { plainBatch, type Batch } from "../db/batch";
import type { Db } from "../db/client";
import { events, notifications, permissions, versions } from "../db/schema";
import type { Actor } from "../env";
import { ApiError, notFound, validationFailed, type FieldError } from "../lib/problem";
import { toDeliveries, type NotificationRow } from "../notifications/service";
import { SHORT_SPAN_MS } from "../calendar/service";
import { BATCH_RULE_BUDGET, formatUtc, WorkBudget } from "../recurrence";
import { seriesOccurrencesBetween } from "../exceptions/expand";
import { conflictsWithinBatch, conflictError, suggestionsFor, writeWithoutConflicts } from "./conflicts";
import { searchEvents } from "./search";
import { contentFromCreate, contentFromPatch, contentOf, seriesSpecOf, toEventBody, type ValidContent } from "./content";
import type { EventRow } from "./policy";
import type { EventCreateInput, EventPatchInput, Role } from "./schemas";
import type { ImportedEvent, ImportWarning } from "../ical/read";
import type { ExceptionItem } from "../exceptions/model";

export type { Delivery };

export async function createEvent(db: Db, caller: Caller, input: EventCreateInput) {
  const content = contentFromCreate(input);
  const now = Date.now();
  const { batch } = sessionCheckedBatchOf(db, caller);
  return refusedSessionIs401(() =>
    writeWithoutConflicts(
      db,
      caller.userId,
      caller.userId,
      [candidateOf(content)],
      async (guard) => {
        const results = await db.batch([...sessionStatements(db, caller), guard!, ...creationStatements(db, caller.userId, content, now)]);
        const actor = liveActor(caller, results[1]);
        const [row] = results[3] as EventRow[];
        // The permission list is just the owner's entry written above, so the tag needs no read.
        const { tags } = await detailOf(row, "owner", [{ userId: actor.id, username: actor.username, role: "owner", grantedBy: actor.id, grantedAt: now }]);
        return { event: toEventBody(row, "owner"), tags, deliveries: toDeliveries(results[6] as NotificationRow[], actor) };
      },
      batch,
    ),
  );
}

/** A creation's session guard aborted its batch: the session is not live, and nothing was written. */
async function refusedSessionIs401<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw isPremiseFailure(error) ? unauthorized() : error;
  }
}

/**
 * All or nothing: every item is validated and conflict-checked (against the calendar and against
 * each other) before one batch writes them all. Two round trips: the conflict read, which carries
 * the session check, and the write (one for a single one-off item, checked in SQL).
 */
export async function createEvents(db: Db, caller: Caller, items: EventCreateInput[], exceptions: ExceptionItem[][] = []) {
  const errors: FieldError[] = [];
  const contents: ValidContent[] = [];
  const rules = new WorkBudget(BATCH_RULE_BUDGET);
  items.forEach((item, index) => {
    try {
      contents.push(contentFromCreate(item, `events.${index}.`, index, rules, exceptions[index]));
    } catch (error) {
      if (error instanceof ApiError && error.options.errors) errors.push(...error.options.errors);
      else throw error;
    }
  });
  if (errors.length) throw validationFailed(errors, "Some items are invalid; nothing was created.");
  const candidates = contents.map((content, index) => candidateOf(content, { index }));
  const internal = conflictsWithinBatch(candidates, contents.map((c) => c.title));
  const { batch } = sessionCheckedBatchOf(db, caller);
  if (internal.length) throw conflictError(internal, await suggestionsFor(db, caller.userId, candidates, internal, batch));
  const now = Date.now();
  return refusedSessionIs401(() =>
    writeWithoutConflicts(
      db,
      caller.userId,
      caller.userId,
      candidates,
      async (guard) => {
        const statements = contents.flatMap((content) => creationStatements(db, caller.userId, content, now));
        const results = await db.batch([...sessionStatements(db, caller), guard!, ...statements]);
        const actor = liveActor(caller, results[1]);
        const created: ReturnType<typeof toEventBody>[] = [];
        const deliveries: Delivery[] = [];
        for (let i = 0; i < contents.length; i++) {
          const [row] = results[3 + i * 4] as EventRow[];
          created.push(toEventBody(row, "owner"));
          deliveries.push(...toDeliveries(results[6 + i * 4] as NotificationRow[], actor));
        }
        return { events: created, deliveries, droppedExceptions: contents.map((c) => c.droppedExceptions) };
      },
      batch,
    ),
  );
}

/**
 * Creates the events of an iCalendar file (src/ical/read.ts) through the batch path, so conflict
 * checks and rule budgets apply as to POST /api/events/batch.
 */
export async function importEvents(db: Db, caller: Caller, items: ImportedEvent[]) {
  const { events, deliveries, droppedExceptions } = await createEvents(
    db,
    caller,
    items.map((item) => ({ ...item.event })),
    items.map((item) => item.exceptions),
  );
  const dropped: ImportWarning[] = droppedExceptions.flatMap((list, index) =>
    list.map((x) => ({ index, property: x.cancelled ? "EXDATE" : "RECURRENCE-ID", message: `${x.original_start} is not an occurrence of the series (or its new times leave the series' span); dropped.` })),
  );
  return { events, deliveries, dropped };
}

/**
 * Rows of the caller's calendar one page with a `start`/`end` window examines at most. Series are
 * kept only when an occurrence meets the window, which SQL cannot tell, so a page may drop rows;
 * past this many it is partial (even empty) and `next_cursor` continues after the last row read.
 */
export const WINDOW_SCAN_ROWS = 500;

export interface ListQuery {
  limit: number;
  start?: number;
  end?: number;
  q?: string;
  role?: Role;
  after?: [number, number];
}

/**
 * The caller's events (own and shared) in (start_time, id) order. Keyset pagination over the
 * permissions index: a page reads about `limit` rows however large the calendar. Series are
 * pre-filtered by their span in SQL, then kept only if an occurrence meets the window. Every read
 * goes through `batch`, so a route can fold its session check into the first.
 */
export async function listEvents(db: Db, actor: Pick<Actor, "id">, query: ListQuery, batch: Batch = plainBatch(db)) {
  const conditions: (SQL | undefined)[] = [eq(permissions.userId, actor.id)];
  if (query.role) conditions.push(eq(permissions.role, query.role));
  if (query.end !== undefined) conditions.push(lt(permissions.startTime, query.end));
  if (query.q) return searchEvents(db, actor, { ...query, q: query.q }, batch);
  // With a window start, "still running at start" splits into three index ranges so the scan never
  // walks the whole past: short finite events (a day at most) that started at most the user's
  // longest such span before it, long finite ones still running (the partial index of migration
  // 0006), and endless series. Their pages are merged in (start_time, event_id) order. One look-back
  // for all finite events would let one long series, which anyone can share with you, make every
  // page read your whole past.
  const short = sql`${permissions.seriesEnd} - ${permissions.startTime} <= ${sql.raw(String(SHORT_SPAN_MS))}`;
  const parts: (SQL | undefined)[][] =
    query.start === undefined
      ? [conditions]
      : [
          [
            ...conditions,
            gt(permissions.seriesEnd, query.start),
            short,
            // A bare max() over the index, so SQLite reads one entry (coalesce inside would scan).
            sql`${permissions.startTime} > ${query.start} - coalesce((SELECT max(p2.series_end - p2.start_time) FROM permissions p2 WHERE p2.user_id = ${actor.id} AND p2.series_end - p2.start_time <= ${sql.raw(String(SHORT_SPAN_MS))}), 0)`,
          ],
          [...conditions, gt(permissions.seriesEnd, query.start), sql`${permissions.seriesEnd} - ${permissions.startTime} > ${sql.raw(String(SHORT_SPAN_MS))}`],
          [...conditions, isNull(permissions.seriesEnd)],
        ];
  const page = (where: (SQL | undefined)[], after: [number, number] | undefined, rows: number, part = 0) =>
    db
      .select({ event: events, role: permissions.role })
      .from(permissions)
      .innerJoin(events, eq(events.id, permissions.eventId))
      .where(and(...where, after ? sql`(${permissions.startTime}, ${permissions.eventId}) > (${after[0]}, ${after[1]})` : undefined))
      // The long part sorts what the partial index finds: ordered by the start index instead,
      // SQLite would walk the whole past to spare that sort.
      .orderBy(part === 1 ? asc(sql`+${permissions.startTime}`) : asc(permissions.startTime), asc(permissions.eventId))
      .limit(rows);

  const items: ReturnType<typeof toEventBody>[] = [];
  // The rows behind the items, for renderings that show more than the body (iCalendar: exceptions).
  const shown: EventRow[] = [];
  let after = query.after;
  let exhausted = false;
  let left = WINDOW_SCAN_ROWS;
  let size = query.limit + 1;
  // Occurrence filtering may drop series rows, so read on until the page is full, doubling each
  // read, but examine at most WINDOW_SCAN_ROWS: series that all miss the window (a weekly Monday
  // series and a Tuesday window) would otherwise make one page read the whole calendar.
  while (items.length <= query.limit && !exhausted && left > 0) {
    size = Math.min(size, left);
    const results = parts.length === 1 ? await batch([page(parts[0], after, size)]) : await batch([page(parts[0], after, size), page(parts[1], after, size, 1), page(parts[2], after, size)]);
    exhausted = results.every((rows) => rows.length < size);
    const rows = results
      .flat()
      .sort((x, y) => x.event.startTime - y.event.startTime || x.event.id - y.event.id)
      .slice(0, size);
    for (const row of rows) {
      after = [row.event.startTime, row.event.id];
      if (!matchesWindow(row.event, query)) continue;
      items.push(toEventBody(row.event, row.role));
      shown.push(row.event);
      if (items.length > query.limit) break;
    }
    left -= size;
    size *= 2;
  }
  const result = items.slice(0, query.limit);
  const rows = shown.slice(0, query.limit);
  const last = result.at(-1);
  if (items.length > query.limit && last) return { items: result, rows, next: [Date.parse(last.start_time), last.id] as [number, number] };
  // The scan budget ran out first: a partial page, continued after the last row examined.
  return { items: result, rows, next: exhausted || !after ? null : after };
}

function matchesWindow(row: EventRow, query: ListQuery): boolean {
  if (!row.isRecurring || (query.start === undefined && query.end === undefined)) return true;
  return seriesOccurrencesBetween(seriesSpecOf(row), query.start ?? -8.64e15, query.end ?? 8.64e15, 1).length > 0;
}

/** PUT/PATCH: merges the patch into the current content, through the write pipeline. */
export function updateEvent(db: Db, caller: Caller, eventId: number, patch: EventPatchInput, ifMatch?: string) {
  return changeContent(db, caller, eventId, { action: "update", ifMatch, nextContent: (current) => contentFromPatch(contentOf(current), patch) });
}

const revokedUsersOwnNotice = sql`(${notifications.type} = 'permission_revoked' AND json_extract(${notifications.data}, '$.user_id') = ${notifications.userId})`;

/**
 * Deletes the event with its permissions, its history and the notifications about it; everyone
 * who had access is notified. The `event_deleted` notices, and the revocation notice each user removed
 * earlier got, are the only rows that still name the event afterwards: they are what tells
 * collaborators (and sync, which reads notifications as its change log) that it is gone.
 */
export async function deleteEvent(db: Db, caller: Caller, eventId: number, ifMatch?: string) {
  return commit(async () => {
    const { actor, event, premise } = await readForChange(db, caller, eventId, "delete", ifMatch);
    const { deliveries } = await applyChange(db, {
      actor,
      eventId: event.id,
      premise,
      notify: { audience: "before", spec: { type: "event_deleted", message: `${actor.username} deleted "${event.title}"`, data: { title: event.title } } },
      writes: [
        // A revoked user's own revocation notice stays too: it is that user's tombstone for sync.
        db.delete(notifications).where(and(eq(notifications.eventId, event.id), ne(notifications.type, "event_deleted"), not(revokedUsersOwnNotice))),
        db.delete(permissions).where(eq(permissions.eventId, event.id)),
        db.delete(versions).where(eq(versions.eventId, event.id)),
        db.delete(events).where(eq(events.id, event.id)),
      ],
    });
    return { deliveries };
  });
}

/**
 * The event as it was at an instant (`GET /api/events/{id}?at=`): the newest version written at
 * or before it; before its creation, 404. Newest by number, not by timestamp: the clocks of
 * different Workers may disagree, and the version order is the truth.
 */
export async function eventAt(db: Db, event: EventRow, role: Role, at: number) {
  const [entry] = await db
    .select({ version: versions.version, changedAt: versions.changedAt, snapshot: versions.snapshot })
    .from(versions)
    .where(and(eq(versions.eventId, event.id), lte(versions.changedAt, at)))
    .orderBy(desc(versions.version))
    .limit(1);
  if (!entry) throw notFound("event at that time");
  const snapshot = JSON.parse(entry.snapshot) as Snapshot;
  return {
    id: event.id,
    ...snapshot,
    exceptions: snapshot.exceptions ?? [],
    owner_id: event.ownerId,
    version: entry.version,
    created_at: formatUtc(event.createdAt),
    updated_at: formatUtc(entry.changedAt),
    my_role: role,
  };
}
