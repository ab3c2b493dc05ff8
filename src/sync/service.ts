import { and, asc, eq, gt, isNotNull, lte, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Batch } from "../db/batch";
import type { Db } from "../db/client";
import { events, notifications, permissions } from "../db/schema";
import type { Actor } from "../env";
import { toEventBody } from "../events/content";
import { listEvents } from "../events/service";

/**
 * Sync reads the notifications table as its change log: every change to an event writes one row
 * per affected user in the change's own batch (the audience after the change, or before it for
 * deletes and revocations), with ids that only grow, and the rows that record a loss of access
 * (`event_deleted`, the revoked user's own `permission_revoked`) outlive the event. So "what
 * changed for me since notification n" is the user's rows after n, and a sync token needs nothing
 * but n.
 */

export type SyncItem = { kind: "event"; id: number; event: ReturnType<typeof toEventBody> } | { kind: "event"; id: number; deleted: true };

/** Where a paged sync stands: the listing's keyset, or the change log read so far; `upTo` is fixed at page one. */
export type SyncPosition = { mode: "full"; after: [number, number]; upTo: number } | { mode: "changes"; after: number; upTo: number };

export interface SyncPage {
  items: SyncItem[];
  /** Set while pages remain. */
  next: SyncPosition | null;
  /** Set on the last page: the change-log position the next sync starts after. */
  syncedTo: number | null;
}

/** The user's newest change-log id, or `floor` if greater (a token is never moved back). */
const newestChange = (db: Db, userId: number, floor = 0) =>
  db.select({ id: sql<number>`max(coalesce(max(${notifications.id}), 0), ${floor})` }).from(notifications).where(eq(notifications.userId, userId));

/**
 * A page of the full listing: the events list's keyset pages (the same order and bodies as
 * `GET /api/events`). The change-log position is read in the first page's batch, before any event,
 * so whatever changes while the client pages is replayed by the next incremental sync.
 */
export async function fullSyncPage(db: Db, actor: Pick<Actor, "id">, limit: number, position: Extract<SyncPosition, { mode: "full" }> | undefined, batch: Batch): Promise<SyncPage> {
  let upTo = position?.upTo;
  const withPosition: Batch = async (queries) => {
    if (upTo !== undefined) return batch(queries);
    const results = (await batch([...queries, newestChange(db, actor.id)] as unknown as typeof queries)) as unknown[];
    upTo = (results.pop() as { id: number }[])[0]?.id ?? 0;
    return results as never;
  };
  const page = await listEvents(db, actor, { limit, after: position?.after }, withPosition);
  const items: SyncItem[] = page.items.map((event) => ({ kind: "event", id: event.id, event }));
  return page.next ? { items, next: { mode: "full", after: page.next, upTo: upTo! }, syncedTo: null } : { items, next: null, syncedTo: upTo! };
}

/**
 * A page of what changed since change-log id `since`: each event once, at its latest change up to
 * the position fixed on page one (`upTo`), as the user now sees it, or `deleted` when they no
 * longer do. A page reads at most `limit` change-log rows (one index probe each decides whether a
 * later change of the same event follows), so it may hold fewer items than `limit`, even none,
 * while pages remain. Changes after `upTo` wait for the next sync: none is lost.
 */
export async function changesPage(db: Db, actor: Pick<Actor, "id">, limit: number, position: Extract<SyncPosition, { mode: "changes" }>, first: boolean, batch: Batch): Promise<SyncPage> {
  const userId = actor.id;
  const upTo: SQL = first ? sql`(SELECT max(coalesce(max(n0.id), 0), ${position.after}) FROM ${notifications} n0 WHERE n0.user_id = ${userId})` : sql`${position.upTo}`;
  const scanned = db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), gt(notifications.id, position.after), lte(notifications.id, upTo)))
    .orderBy(asc(notifications.id))
    .limit(limit)
    .as("scanned");
  const statements: BatchItem<"sqlite">[] = [
    db.select({ n: sql<number>`count(*)`, last: sql<number | null>`max(${scanned.id})`, upTo: sql<number>`${upTo}` }).from(scanned),
    db
      // Aliased: D1 hands batch rows back keyed by column name, and events has an `id` too.
      .select({ eventId: sql<number>`${notifications.eventId}`.as("changed_event_id"), role: permissions.role, event: events })
      .from(notifications)
      .leftJoin(permissions, and(eq(permissions.eventId, notifications.eventId), eq(permissions.userId, userId)))
      .leftJoin(events, eq(events.id, permissions.eventId))
      .where(
        and(
          sql`${notifications.id} IN (SELECT ${scanned.id} FROM ${scanned})`,
          isNotNull(notifications.eventId),
          // The event's latest change up to upTo is the one that shows it (index of migration 0013).
          sql`NOT EXISTS (SELECT 1 FROM ${notifications} n2 WHERE n2.user_id = ${userId} AND n2.event_id = ${notifications.eventId} AND n2.id > ${notifications.id} AND n2.id <= ${upTo})`,
        ),
      )
      .orderBy(asc(notifications.id)),
  ];
  const [[window], rows] = (await batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]])) as [
    { n: number; last: number | null; upTo: number }[],
    { eventId: number; role: (typeof permissions.$inferSelect)["role"] | null; event: typeof events.$inferSelect | null }[],
  ];
  const end = window.upTo;
  const items = rows.map((row): SyncItem => (row.event && row.role ? { kind: "event", id: row.eventId, event: toEventBody(row.event, row.role) } : { kind: "event", id: row.eventId, deleted: true }));
  if (window.n < limit || window.last === null || window.last >= end) return { items, next: null, syncedTo: end };
  return { items, next: { mode: "changes", after: window.last, upTo: end }, syncedTo: null };
}
