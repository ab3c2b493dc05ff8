import { SQL, and, asc, count, desc, eq, gt, is, isNull, lt, lte, sql } from "drizzle-orm";
import { plainBatch, type Batch } from "../db/batch";
import type { Db } from "../db/client";
import { notifications, permissions, sessions, users } from "../db/schema";
import { formatUtc } from "../recurrence";

export const NOTIFICATION_TYPES = [
  "event_created",
  "event_updated",
  "event_deleted",
  "event_rolled_back",
  "event_shared",
  "permission_updated",
  "permission_revoked",
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export interface NotificationBody {
  id: number;
  type: string;
  event_id: number | null;
  actor: { id: number; username: string };
  message: string;
  data: unknown;
  is_read: boolean;
  created_at: string;
}

export interface NotificationSpec {
  type: NotificationType;
  /** A number, or SQL naming an event inserted earlier in the same batch. */
  eventId: number | SQL;
  actor: { id: number };
  /** Text, or SQL computing it (a creation names its author before the batch has read them). */
  message: string | SQL;
  /** The same for every recipient, or SQL computing each recipient's copy (it may name `permissions.user_id`). */
  data: Record<string, unknown> | SQL;
}

/**
 * One statement that notifies everyone who holds a permission on the event at that point of the
 * batch: put it after a grant to include the new user, before a revoke or delete to include the
 * ones losing access. The actor's copy is stored already read. Meant for `db.batch`, so the change
 * and its notifications commit together.
 */
export function notifyEventAudience(db: Db, spec: NotificationSpec, now = Date.now()) {
  return db
    .insert(notifications)
    .select(
      db
        // Every column, in table order: drizzle's INSERT ... SELECT requires it (NULL id = next id).
        .select({
          id: sql<number>`NULL`.as("id"),
          userId: permissions.userId,
          type: sql`${spec.type}`.as("type"),
          eventId: sql`${spec.eventId}`.as("event_id"),
          actorId: sql`${spec.actor.id}`.as("actor_id"),
          message: sql`${spec.message}`.as("message"),
          data: (is(spec.data, SQL) ? spec.data : sql`${JSON.stringify(spec.data)}`).as("data"),
          isRead: sql`${permissions.userId} = ${spec.actor.id}`.as("is_read"),
          createdAt: sql`${now}`.as("created_at"),
        })
        .from(permissions)
        .where(eq(permissions.eventId, spec.eventId))
        .orderBy(permissions.userId),
    )
    .returning();
}

/** Pairs inserted rows with the actor that the caller already knows, ready to deliver. */
export type NotificationRow = typeof notifications.$inferSelect;

export function toDeliveries(rows: NotificationRow[], actor: { id: number; username: string }) {
  return rows.map((row) => ({
    userId: row.userId,
    notification: toBody({ ...row, actorName: actor.username }),
  }));
}

const selectBody = {
  id: notifications.id,
  type: notifications.type,
  eventId: notifications.eventId,
  actorId: notifications.actorId,
  actorName: users.username,
  message: notifications.message,
  data: notifications.data,
  isRead: notifications.isRead,
  createdAt: notifications.createdAt,
};

interface SelectedRow {
  id: number;
  type: string;
  eventId: number | null;
  actorId: number;
  actorName: string | null;
  message: string;
  data: string;
  isRead: boolean;
  createdAt: number;
}

function toBody(row: SelectedRow): NotificationBody {
  return {
    id: row.id,
    type: row.type,
    event_id: row.eventId,
    actor: { id: row.actorId, username: row.actorName ?? "" },
    message: row.message,
    data: JSON.parse(row.data) as unknown,
    is_read: row.isRead,
    created_at: formatUtc(row.createdAt),
  };
}

export async function lastNotificationId(db: Db, userId: number): Promise<number> {
  const [row] = await db.select({ id: sql<number | null>`max(${notifications.id})` }).from(notifications).where(eq(notifications.userId, userId));
  return row?.id ?? 0;
}

/**
 * What a socket needs to start, in one round trip at the primary: the user's last notification id
 * and whether the session is still live (a logout may have landed between the Worker's token check
 * and the upgrade reaching the hub).
 */
export async function socketStart(db: Db, userId: number, sessionId: string): Promise<{ lastId: number; sessionLive: boolean }> {
  const [[last], live] = await db.batch([
    db.select({ id: sql<number | null>`max(${notifications.id})` }).from(notifications).where(eq(notifications.userId, userId)),
    db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, Date.now()))),
  ]);
  return { lastId: last?.id ?? 0, sessionLive: live.length > 0 };
}

/**
 * At most `limit` notifications with `since < id <= upTo`, oldest first: one page of the replay of
 * a reconnecting socket. Keyset on (user_id, id), so it reads about `limit` rows whatever the inbox.
 */
export async function notificationsAfter(db: Db, userId: number, since: number, upTo: number, limit: number): Promise<NotificationBody[]> {
  const rows = await db
    .select(selectBody)
    .from(notifications)
    .leftJoin(users, eq(users.id, notifications.actorId))
    .where(and(eq(notifications.userId, userId), gt(notifications.id, since), lte(notifications.id, upTo)))
    .orderBy(asc(notifications.id))
    .limit(limit);
  return rows.map(toBody);
}

/**
 * Most unread notifications a page counts: the count is an index walk as long as the unread list,
 * which strangers can grow (an event shared with you and updated 120 times every 10 s), so a page
 * that counted them all would cost what the inbox holds. At the cap it means "this many or more".
 */
export const UNREAD_COUNT_CAP = 1000;

export interface ListQuery {
  limit: number;
  unread?: boolean;
  since?: number;
  /** Last id of the previous page. */
  after?: number;
}

/**
 * A page of the user's inbox: newest first, or with `since` the ones after it, oldest first.
 * Keyset on the id, so every page reads about `limit` rows.
 */
export async function listNotifications(db: Db, userId: number, query: ListQuery, batch: Batch = plainBatch(db)) {
  const ascending = query.since !== undefined;
  const conditions = [eq(notifications.userId, userId)];
  if (query.unread) conditions.push(eq(notifications.isRead, false));
  if (ascending) conditions.push(gt(notifications.id, Math.max(query.since ?? 0, query.after ?? 0)));
  else if (query.after !== undefined) conditions.push(lt(notifications.id, query.after));
  const [rows, [unread]] = await batch([
    db
      .select(selectBody)
      .from(notifications)
      .leftJoin(users, eq(users.id, notifications.actorId))
      .where(and(...conditions))
      .orderBy(ascending ? asc(notifications.id) : desc(notifications.id))
      .limit(query.limit + 1),
    db
      .select({ n: count() })
      .from(db.select({ one: sql`1` }).from(notifications).where(and(eq(notifications.userId, userId), eq(notifications.isRead, false))).limit(UNREAD_COUNT_CAP).as("unread")),
  ]);
  const page = rows.slice(0, query.limit).map(toBody);
  return { items: page, hasMore: rows.length > query.limit, unreadCount: unread?.n ?? 0 };
}

/** Marks one notification read; false when it is not the user's. */
export async function markRead(db: Db, userId: number, id: number): Promise<boolean> {
  const rows = await db
    .update(notifications)
    .set({ isRead: true })
    .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
    .returning({ id: notifications.id });
  return rows.length > 0;
}

export async function markAllRead(db: Db, userId: number): Promise<void> {
  await db.update(notifications).set({ isRead: true }).where(and(eq(notifications.userId, userId), eq(notifications.isRead, false)));
}
