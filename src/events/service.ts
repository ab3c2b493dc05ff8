import { and, asc, eq, gt, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, permissions, versions } from "../db/schema";
import type { Actor } from "../env";
import { ApiError, validationFailed, type FieldError } from "../lib/problem";
import { notifyEventAudience, toDeliveries, type NotificationRow } from "../notifications/service";
import { occurrencesBetween } from "../recurrence";
import { diffSnapshots, recordVersion, type Changes, type VersionAction } from "../versions/service";
import { backoff, calendarGuard, conflictsWithinBatch, conflictError, isGuardFailure, writeWithoutConflicts, type Candidate } from "./conflicts";
import { searchEvents } from "./search";
import { contentFromCreate, contentOf, preconditionFailed, seriesSpecOf, timesChanged, toEventBody, toSnapshot, type ValidContent } from "./content";
import { authorize, type EventRow } from "./policy";
import type { EventCreateInput, Role } from "./schemas";

export type Delivery = ReturnType<typeof toDeliveries>[number];

/** Inside one batch, the id of the event inserted just before: AUTOINCREMENT makes it the largest. */
const NEW_EVENT_ID = sql`(SELECT max(id) FROM events)`;

const candidateOf = (content: ValidContent, extra: Partial<Candidate> = {}): Candidate => ({ spec: seriesSpecOf(content), seriesEnd: content.seriesEnd, ...extra });

const eventValues = (content: ValidContent) => ({
  title: content.title,
  description: content.description,
  location: content.location,
  startTime: content.startTime,
  endTime: content.endTime,
  seriesEnd: content.seriesEnd,
  isRecurring: content.isRecurring,
  recurrencePattern: content.recurrencePattern,
  timezone: content.timezone,
});

/** The statements that create one event with its owner permission, version 1 and notification. */
function creationStatements(db: Db, actor: Actor, content: ValidContent, now: number) {
  const snapshot = toSnapshot(content);
  return [
    db
      .insert(events)
      .values({ ...eventValues(content), ownerId: actor.id, version: 1, createdAt: now, updatedAt: now })
      .returning(),
    db.insert(permissions).values({ eventId: NEW_EVENT_ID, userId: actor.id, role: "owner", grantedBy: actor.id, grantedAt: now, startTime: content.startTime, seriesEnd: content.seriesEnd }),
    recordVersion(db, { eventId: NEW_EVENT_ID, version: 1, action: "created", changedBy: actor.id, changedAt: now, snapshot, changes: diffSnapshots({}, snapshot) }),
    notifyEventAudience(db, { type: "event_created", eventId: NEW_EVENT_ID, actor, message: `${actor.username} created "${content.title}"`, data: { title: content.title } }, now),
  ] as const;
}

export async function createEvent(db: Db, actor: Actor, input: EventCreateInput) {
  const content = contentFromCreate(input);
  const now = Date.now();
  return writeWithoutConflicts(db, actor.id, actor.id, [candidateOf(content)], async (guard) => {
    const statements = creationStatements(db, actor, content, now);
    const results = await db.batch([guard!, ...statements]);
    const [row] = results[1] as EventRow[];
    return { event: toEventBody(row, "owner"), deliveries: toDeliveries(results[4] as NotificationRow[], actor) };
  });
}

/**
 * All or nothing: every item is validated and conflict-checked (against the calendar and against
 * each other) before one batch writes them all.
 */
export async function createEvents(db: Db, actor: Actor, items: EventCreateInput[]) {
  const errors: FieldError[] = [];
  const contents: ValidContent[] = [];
  items.forEach((item, index) => {
    try {
      contents.push(contentFromCreate(item, `events.${index}.`, index));
    } catch (error) {
      if (error instanceof ApiError && error.options.errors) errors.push(...error.options.errors);
      else throw error;
    }
  });
  if (errors.length) throw validationFailed(errors, "Some items are invalid; nothing was created.");
  const candidates = contents.map((content, index) => candidateOf(content, { index }));
  const internal = conflictsWithinBatch(candidates, contents.map((c) => c.title));
  if (internal.length) throw conflictError(internal);
  const now = Date.now();
  return writeWithoutConflicts(db, actor.id, actor.id, candidates, async (guard) => {
    const statements = contents.flatMap((content) => creationStatements(db, actor, content, now));
    const results = await db.batch([guard!, ...statements]);
    const created: ReturnType<typeof toEventBody>[] = [];
    const deliveries: Delivery[] = [];
    for (let i = 0; i < contents.length; i++) {
      const [row] = results[1 + i * 4] as EventRow[];
      created.push(toEventBody(row, "owner"));
      deliveries.push(...toDeliveries(results[4 + i * 4] as NotificationRow[], actor));
    }
    return { events: created, deliveries };
  });
}

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
 * pre-filtered by their span in SQL, then kept only if an occurrence meets the window.
 */
export async function listEvents(db: Db, actor: Actor, query: ListQuery) {
  const conditions: (SQL | undefined)[] = [eq(permissions.userId, actor.id)];
  if (query.role) conditions.push(eq(permissions.role, query.role));
  if (query.end !== undefined) conditions.push(lt(permissions.startTime, query.end));
  if (query.q) return searchEvents(db, actor, { ...query, q: query.q });
  // With a window start, "still running at start" splits into two index ranges so the scan never
  // walks the whole past: finite events that started at most the user's longest span before it,
  // and endless series. Their pages are merged in (start_time, event_id) order.
  const parts: (SQL | undefined)[][] =
    query.start === undefined
      ? [conditions]
      : [
          [
            ...conditions,
            gt(permissions.seriesEnd, query.start),
            // A bare max() over the index, so SQLite reads one entry (coalesce inside would scan).
            sql`${permissions.startTime} > ${query.start} - coalesce((SELECT max(p2.series_end - p2.start_time) FROM permissions p2 WHERE p2.user_id = ${actor.id}), 0)`,
          ],
          [...conditions, isNull(permissions.seriesEnd)],
        ];
  const page = (where: (SQL | undefined)[], after: [number, number] | undefined) =>
    db
      .select({ event: events, role: permissions.role })
      .from(permissions)
      .innerJoin(events, eq(events.id, permissions.eventId))
      .where(and(...where, after ? sql`(${permissions.startTime}, ${permissions.eventId}) > (${after[0]}, ${after[1]})` : undefined))
      .orderBy(asc(permissions.startTime), asc(permissions.eventId))
      .limit(query.limit + 1);

  const items: ReturnType<typeof toEventBody>[] = [];
  let after = query.after;
  let exhausted = false;
  // Occurrence filtering may drop series rows, so read on until the page is full.
  while (items.length <= query.limit && !exhausted) {
    const results = parts.length === 1 ? [await page(parts[0], after)] : await db.batch([page(parts[0], after), page(parts[1], after)]);
    exhausted = results.every((rows) => rows.length <= query.limit);
    const rows = results
      .flat()
      .sort((x, y) => x.event.startTime - y.event.startTime || x.event.id - y.event.id)
      .slice(0, query.limit + 1);
    for (const row of rows) {
      after = [row.event.startTime, row.event.id];
      if (!matchesWindow(row.event, query)) continue;
      items.push(toEventBody(row.event, row.role));
      if (items.length > query.limit) break;
    }
  }
  const result = items.slice(0, query.limit);
  const last = result.at(-1);
  return { items: result, next: items.length > query.limit && last ? ([Date.parse(last.start_time), last.id] as [number, number]) : null };
}

function matchesWindow(row: EventRow, query: ListQuery): boolean {
  if (!row.isRecurring || (query.start === undefined && query.end === undefined)) return true;
  return occurrencesBetween(seriesSpecOf(contentOf(row)), query.start ?? -8.64e15, query.end ?? 8.64e15, 1).length > 0;
}

/** Retries of a write without If-Match that lost a race; each retry re-applies it to the fresh state. */
const MAX_WRITE_ATTEMPTS = 30;

/**
 * Every change to an existing event (update or rollback) in one batch: the event row under a
 * version guard, its copy of the times in permissions, the new version and the notifications.
 * With If-Match a stale version is a 412; without it the write is re-applied to the fresh state,
 * so no update is lost and the version counter never forks.
 */
export async function changeEvent(
  db: Db,
  actor: Actor,
  eventId: number,
  options: { action: "update" | "rollback"; ifMatch?: number; restoredFrom?: number; nextContent: (current: EventRow) => ValidContent | Promise<ValidContent> },
) {
  for (let attempt = 1; ; attempt++) {
    const { event, role } = await authorize(db, actor.id, eventId, options.action);
    if (options.ifMatch !== undefined && options.ifMatch !== event.version) throw preconditionFailed(toEventBody(event, role));
    const current = contentOf(event);
    const next = await options.nextContent(event);
    const changes = diffSnapshots(toSnapshot(current), toSnapshot(next));
    if (options.action === "update" && Object.keys(changes).length === 0) return { event: toEventBody(event, role), deliveries: [] as Delivery[] };
    const moved = timesChanged(current, next);
    try {
      return await writeWithoutConflicts(db, event.ownerId, actor.id, moved ? [candidateOf(next, { excludeId: event.id })] : [], (guard) =>
        writeChange(db, actor, event, role, next, changes, options.action === "rollback" ? "rolled_back" : "updated", options.restoredFrom, guard),
      );
    } catch (error) {
      if (!isGuardFailure(error, "events.version")) throw error;
      if (options.ifMatch !== undefined) {
        const fresh = await authorize(db, actor.id, eventId, "read");
        throw preconditionFailed(toEventBody(fresh.event, fresh.role));
      }
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new ApiError(409, "conflict", "The event is changing too fast; retry the update.");
      await backoff(attempt);
    }
  }
}

async function writeChange(
  db: Db,
  actor: Actor,
  event: EventRow,
  role: Role,
  next: ValidContent,
  changes: Changes,
  action: VersionAction,
  restoredFrom: number | undefined,
  guard: ReturnType<typeof calendarGuard> | null,
) {
  // Never before the previous version, so `?at=` stays exact even if Workers' clocks disagree.
  const now = Math.max(Date.now(), event.updatedAt);
  const version = event.version + 1;
  const type = action === "rolled_back" ? "event_rolled_back" : "event_updated";
  const verb = action === "rolled_back" ? `rolled back to version ${restoredFrom}` : "updated";
  const statements = [
    // NULL when another writer got there first, or the actor lost the role meanwhile: the NOT NULL
    // constraint then aborts the batch, and the caller re-reads.
    db
      .update(events)
      .set({
        ...eventValues(next),
        version: sql`CASE WHEN ${events.version} = ${event.version} AND EXISTS (
          SELECT 1 FROM permissions WHERE event_id = ${event.id} AND user_id = ${actor.id} AND role IN ('owner', 'editor')) THEN ${version} END`,
        updatedAt: now,
      })
      .where(eq(events.id, event.id))
      .returning(),
    db.update(permissions).set({ startTime: next.startTime, seriesEnd: next.seriesEnd }).where(eq(permissions.eventId, event.id)),
    recordVersion(db, { eventId: event.id, version, action, changedBy: actor.id, changedAt: now, snapshot: toSnapshot(next), changes, restoredFrom }),
    notifyEventAudience(db, {
      type,
      eventId: event.id,
      actor,
      message: `${actor.username} ${verb} "${next.title}"`,
      data: { changes, version, ...(restoredFrom !== undefined ? { restored_from: restoredFrom } : {}) },
    }, now),
  ] as const;
  const results = guard ? await db.batch([guard, ...statements]) : await db.batch(statements);
  const offset = guard ? 1 : 0;
  const [row] = results[offset] as EventRow[];
  return { event: toEventBody(row, role), deliveries: toDeliveries(results[offset + 3] as NotificationRow[], actor) };
}

/** Deletes the event with its permissions and history; everyone who had access is notified first. */
export async function deleteEvent(db: Db, actor: Actor, eventId: number, ifMatch?: number) {
  const { event, role } = await authorize(db, actor.id, eventId, "delete");
  if (ifMatch !== undefined && ifMatch !== event.version) throw preconditionFailed(toEventBody(event, role));
  try {
    const [, notified] = await db.batch([
      // With If-Match, a concurrent change aborts the batch (see changeEvent).
      db
        .update(events)
        .set({ version: sql`CASE WHEN ${ifMatch === undefined} OR ${events.version} = ${event.version} THEN ${events.version} END` })
        .where(eq(events.id, event.id)),
      notifyEventAudience(db, { type: "event_deleted", eventId: event.id, actor, message: `${actor.username} deleted "${event.title}"`, data: { title: event.title } }),
      db.delete(permissions).where(eq(permissions.eventId, event.id)),
      db.delete(versions).where(eq(versions.eventId, event.id)),
      db.delete(events).where(eq(events.id, event.id)),
    ]);
    return { deliveries: toDeliveries(notified as NotificationRow[], actor) };
  } catch (error) {
    if (ifMatch !== undefined && isGuardFailure(error, "events.version")) {
      const fresh = await authorize(db, actor.id, eventId, "read");
      throw preconditionFailed(toEventBody(fresh.event, fresh.role));
    }
    throw error;
  }
}
