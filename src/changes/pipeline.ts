import { eq, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import type { Actor } from "../env";
import { sessionCheck, sessionLive, withSessionCheck, type Caller } from "../auth/service";
import { backoff, calendarGuard, writeWithoutConflicts, type Candidate } from "../events/conflicts";
import { contentOf, preconditionFailed, seriesSpecOf, timesChanged, toEventBody, toSnapshot, type ValidContent } from "../events/content";
import { eventTags, ifMatchHolds, type Variant } from "../events/etag";
import { permissionsQuery, toPermissionBody, type PermissionRow } from "../events/permissions";
import { accessQuery, checkAccess, type Action, type EventRow } from "../events/policy";
import type { Role } from "../events/schemas";
import { ApiError } from "../lib/problem";
import { notifyEventAudience, toDeliveries, type NotificationRow, type NotificationSpec } from "../notifications/service";
import { parseExceptions, serializeExceptions } from "../exceptions/model";
import { diffSnapshots, versionRow, type VersionRecord } from "./history";
import { eventExists, isPremiseFailure, mayStill, permissionsAre, permissionsFingerprint, premiseGuard } from "./guards";

/**
 * The one write pipeline. Every change to an existing event (update, rollback, delete, share, set
 * role, revoke, leave) is planned from a read, then committed as one batch in a fixed order:
 *
 *   premise guard, calendar guard, [notification: audience before], writes, version row,
 *   [notification: audience after], postcondition guard, read-back
 *
 * When the premise no longer holds at commit (the event is gone, its version moved, the actor lost
 * the role), the batch aborts and `commit` plans again from a fresh read, which then answers with
 * the 404, 403 or 412 of the lost race, or succeeds on the new state.
 */

export type Delivery = ReturnType<typeof toDeliveries>[number];

export interface Change {
  actor: Actor;
  eventId: number;
  /** What must still hold when the batch runs (see guards.ts); empty: nothing. */
  premise: SQL[];
  calendar?: ReturnType<typeof calendarGuard> | null;
  /**
   * One notification per recipient. `before` reaches who had access before the writes (revoke,
   * delete), `after` who has it after them (update, share).
   */
  notify?: { spec: Omit<NotificationSpec, "actor" | "eventId">; audience: "before" | "after" };
  writes: BatchItem<"sqlite">[];
  version?: VersionRecord;
  /** Must hold after the writes (a cap); a failure aborts like the premise. */
  postcondition?: SQL[];
  /** Reads the result as committed, inside the same transaction. */
  readBack?: BatchItem<"sqlite">[];
}

export interface Applied {
  writes: unknown[];
  readBack: unknown[];
  deliveries: Delivery[];
}

/** Builds a change's batch in the pipeline's order and runs it. */
export async function applyChange(db: Db, change: Change, now = Date.now()): Promise<Applied> {
  const statements: BatchItem<"sqlite">[] = [];
  if (change.premise.length) statements.push(premiseGuard(db, change.actor.id, change.premise));
  if (change.calendar) statements.push(change.calendar);
  const notification = change.notify ? notifyEventAudience(db, { ...change.notify.spec, actor: change.actor, eventId: change.eventId }, now) : null;
  let notifiedAt = -1;
  if (notification && change.notify!.audience === "before") notifiedAt = statements.push(notification) - 1;
  const writesAt = statements.length;
  statements.push(...change.writes);
  if (change.version) statements.push(versionRow(db, change.version));
  if (notification && change.notify!.audience === "after") notifiedAt = statements.push(notification) - 1;
  if (change.postcondition?.length) statements.push(premiseGuard(db, change.actor.id, change.postcondition));
  const readAt = statements.length;
  statements.push(...(change.readBack ?? []));
  const results = await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  return {
    writes: results.slice(writesAt, writesAt + change.writes.length),
    readBack: results.slice(readAt),
    deliveries: notifiedAt < 0 ? [] : toDeliveries(results[notifiedAt] as NotificationRow[], change.actor),
  };
}

/** Plans of a write that keeps losing races before it is refused. */
const MAX_ATTEMPTS = 30;

/**
 * Plans and commits until the premise holds at commit. `plan` reads afresh each time, so a lost
 * race surfaces as the error that read finds (404, 403, 412, 422), never as a 5xx.
 */
export async function commit<T>(plan: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await plan();
    } catch (error) {
      if (!isPremiseFailure(error)) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new ApiError(409, "conflict", "The event is changing too fast; retry the request.");
      await backoff(attempt);
    }
  }
}

export type EventBody = ReturnType<typeof toEventBody>;
export type EventTags = Record<Variant, string>;

/** The detail body `GET /api/events/{id}` shows for this state and reader, and its tags. */
export async function detailOf(event: EventRow, role: Role, rows: PermissionRow[]) {
  const detail = { ...toEventBody(event, role), exceptions: parseExceptions(event.exceptions), permissions: rows.map(toPermissionBody) };
  return { detail, tags: await eventTags(detail) };
}

/**
 * Reads an event for an action, with its permissions and the caller's session, in one consistent
 * read (one round trip: a revoked session is a 401 before anything read is looked at); checks
 * If-Match against the tags of what was read. `also` joins that batch (a rollback's target
 * version), its results in `extra`. The premise it returns pins down what the decision rested
 * on: the session still live, the event at that version, the actor's role, and with a strong
 * If-Match the permission list.
 */
export async function readForChange(db: Db, caller: Caller, eventId: number, action: Action, ifMatch?: string, also: BatchItem<"sqlite">[] = []) {
  const {
    actor,
    results: [[access], rows, ...extra],
  } = await withSessionCheck(db, caller, [accessQuery(db, caller.userId, eventId), permissionsQuery(db, eventId), ...also]);
  const { event, role } = checkAccess(access, action);
  const { detail, tags } = await detailOf(event, role, rows as PermissionRow[]);
  if (ifMatch !== undefined && !ifMatchHolds(ifMatch, tags)) throw preconditionFailed(detail);
  const premise = [sessionLive(caller), eventExists(event.id, event.version), mayStill(event.id, actor.id, action)];
  if (ifMatch !== undefined && ifMatch.trim() !== "*") {
    premise.push(permissionsAre(event.id, permissionsFingerprint(rows as PermissionRow[])));
  }
  return { actor, event, role, rows: rows as PermissionRow[], detail, tags, premise, extra: extra as unknown[] };
}

export const candidateOf = (content: ValidContent, extra: Partial<Candidate> = {}): Candidate => ({ spec: seriesSpecOf(content), seriesEnd: content.seriesEnd, ...extra });

export const eventValues = (content: ValidContent) => ({
  title: content.title,
  description: content.description,
  location: content.location,
  startTime: content.startTime,
  endTime: content.endTime,
  seriesEnd: content.seriesEnd,
  isRecurring: content.isRecurring,
  recurrencePattern: content.recurrencePattern,
  timezone: content.timezone,
  exceptions: serializeExceptions(content.exceptions),
});

/**
 * The two writes that put new content on an existing event: its row (read back) and the copy of its
 * times in every permission row, which the list and agenda indexes range over.
 */
export const contentWrites = (db: Db, eventId: number, content: ValidContent, version: number, now: number) =>
  [
    db.update(events).set({ ...eventValues(content), version, updatedAt: now }).where(eq(events.id, eventId)).returning(),
    db.update(permissions).set({ startTime: content.startTime, seriesEnd: content.seriesEnd }).where(eq(permissions.eventId, eventId)),
  ] as const;

/** Inside one batch, the id of the event inserted just before: AUTOINCREMENT makes it the largest. */
export const NEW_EVENT_ID = sql`(SELECT max(id) FROM events)`;

/**
 * The statements that create one event with its owner permission, version 1 and notification.
 * A creation has no premise to pin (nothing existed); the caller runs them under the owner's
 * calendar guard, which is what can move between the conflict check and the batch, and under its
 * session check. The notice names its author from the users row, so no read must come first.
 */
export function creationStatements(db: Db, ownerId: number, content: ValidContent, now: number) {
  const snapshot = toSnapshot(content);
  const message = sql`(SELECT username FROM users WHERE id = ${ownerId}) || ${` created "${content.title}"`}`;
  return [
    db
      .insert(events)
      .values({ ...eventValues(content), ownerId, version: 1, createdAt: now, updatedAt: now })
      .returning(),
    db.insert(permissions).values({ eventId: NEW_EVENT_ID, userId: ownerId, role: "owner", grantedBy: ownerId, grantedAt: now, startTime: content.startTime, seriesEnd: content.seriesEnd }),
    versionRow(db, { eventId: NEW_EVENT_ID, version: 1, action: "created", changedBy: ownerId, changedAt: now, snapshot, changes: diffSnapshots({}, snapshot) }),
    notifyEventAudience(db, { type: "event_created", eventId: NEW_EVENT_ID, actor: { id: ownerId }, message, data: { title: content.title } }, now),
  ] as const;
}

/**
 * What runs in front of a write batch that no session-checked read preceded (a creation): aborts
 * it as a premise failure when the caller's session is not live (the caller answers 401), then
 * reads the actor.
 */
export const sessionStatements = (db: Db, caller: Caller) => [premiseGuard(db, caller.userId, [sessionLive(caller)]), sessionCheck(db, caller)] as const;

/**
 * A change of an event's content (update or rollback): the event row, its copy of the times in
 * permissions, the new version and the notifications, under the premise that the event is still
 * at the version read and the actor still an editor or owner. Without If-Match a lost race is
 * re-applied to the fresh state, so no update is lost and versions never fork; with it, a moved
 * state is a 412.
 */
export async function changeContent(
  db: Db,
  caller: Caller,
  eventId: number,
  options: {
    action: "update" | "rollback";
    ifMatch?: string;
    restoredFrom?: number;
    /** Reads that join the first batch (see readForChange); their results reach `nextContent`. */
    also?: BatchItem<"sqlite">[];
    nextContent: (current: EventRow, extra: unknown[]) => ValidContent | Promise<ValidContent>;
    /** What to conflict-check instead of the whole series when times moved (one changed occurrence). */
    candidates?: (next: ValidContent, current: EventRow) => Candidate[];
    /** Merged into the notification's `data` (which occurrence an exception change touched). */
    notifyData?: (next: ValidContent) => Record<string, unknown>;
    /** The notification's message, instead of "<actor> updated <title>". */
    message?: (next: ValidContent, actor: Actor) => string;
  },
): Promise<{ event: EventBody & { dropped_exceptions?: string[] }; row: EventRow; tags: EventTags; deliveries: Delivery[] }> {
  return commit(async () => {
    const { actor, event, role, premise, tags, extra } = await readForChange(db, caller, eventId, options.action, options.ifMatch, options.also);
    const current = contentOf(event);
    const next = await options.nextContent(event, extra);
    const changes = diffSnapshots(toSnapshot(current), toSnapshot(next));
    if (options.action === "update" && Object.keys(changes).length === 0) return { event: toEventBody(event, role), row: event, tags, deliveries: [] };
    const dropped = next.droppedExceptions.map((x) => x.original_start);
    if (dropped.length && changes.exceptions) changes.exceptions.dropped = dropped;
    const rollback = options.action === "rollback";
    // Never before the previous version, so `?at=` stays exact even if Workers' clocks disagree.
    const now = Math.max(Date.now(), event.updatedAt);
    const version = event.version + 1;
    const verb = rollback ? `rolled back to version ${options.restoredFrom}` : "updated";
    const moved = timesChanged(current, next);
    const candidates = !moved ? [] : options.candidates ? options.candidates(next, event) : [candidateOf(next, { excludeId: event.id })];
    return writeWithoutConflicts(db, event.ownerId, actor.id, candidates, async (calendar) => {
      const applied = await applyChange(
        db,
        {
          actor,
          eventId: event.id,
          premise,
          calendar,
          writes: [...contentWrites(db, event.id, next, version, now)],
          version: { eventId: event.id, version, action: rollback ? "rolled_back" : "updated", changedBy: actor.id, changedAt: now, snapshot: toSnapshot(next), changes, restoredFrom: options.restoredFrom },
          notify: {
            audience: "after",
            spec: {
              type: rollback ? "event_rolled_back" : "event_updated",
              message: options.message?.(next, actor) ?? `${actor.username} ${verb} "${next.title}"`,
              data: { changes, version, ...(options.restoredFrom !== undefined ? { restored_from: options.restoredFrom } : {}), ...options.notifyData?.(next) },
            },
          },
          readBack: [permissionsQuery(db, event.id)],
        },
        now,
      );
      const [row] = applied.writes[0] as EventRow[];
      const after = await detailOf(row, role, applied.readBack[0] as PermissionRow[]);
      return { event: { ...toEventBody(row, role), ...(dropped.length ? { dropped_exceptions: dropped } : {}) }, row, tags: after.tags, deliveries: applied.deliveries };
    });
  });
}
