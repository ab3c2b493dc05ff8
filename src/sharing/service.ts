import { and, asc, desc, eq, or, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import { events, permissions, users } from "../db/schema";
import type { Actor } from "../env";
import type { Role } from "../events/schemas";
import { isGuardFailure } from "../events/conflicts";
import { authorize, type EventRow } from "../events/policy";
import { ApiError, notFound, validationFailed } from "../lib/problem";
import { formatUtc } from "../recurrence";
import { notifyEventAudience, toDeliveries, type NotificationRow } from "../notifications/service";
import { MAX_COLLABORATORS, type ShareItemInput } from "./schemas";

/** An event's permission list, the creator first, then in the order access was granted. */
export const permissionsQuery = (db: Db, eventId: number) =>
  db
    .select({ userId: permissions.userId, username: users.username, role: permissions.role, grantedBy: permissions.grantedBy, grantedAt: permissions.grantedAt })
    .from(permissions)
    .innerJoin(users, eq(users.id, permissions.userId))
    .where(eq(permissions.eventId, eventId))
    .orderBy(desc(sql`${permissions.userId} = (SELECT ${events.ownerId} FROM ${events} WHERE ${events.id} = ${eventId})`), asc(permissions.grantedAt), asc(permissions.userId));

export type PermissionRow = Awaited<ReturnType<typeof permissionsQuery>>[number];

export const toPermissionBody = (row: PermissionRow) => ({
  user_id: row.userId,
  username: row.username,
  role: row.role,
  granted_by: row.grantedBy,
  granted_at: formatUtc(row.grantedAt),
});

export async function listPermissions(db: Db, event: Pick<EventRow, "id">) {
  return (await permissionsQuery(db, event.id)).map(toPermissionBody);
}

export async function readPermissions(db: Db, actor: Actor, eventId: number) {
  const { event } = await authorize(db, actor.id, eventId, "read");
  return listPermissions(db, event);
}

const creatorEntry = (field: string, index?: number) =>
  validationFailed([{ field, message: "The creator's entry cannot be changed or removed.", ...(index !== undefined ? { index } : {}) }]);

/**
 * `column IN (values)` with one bound parameter: D1 allows at most 100 per statement, and a share
 * names up to MAX_COLLABORATORS users. The indexes on id and lower(username|email) still apply.
 */
const inJsonArray = (column: SQL | typeof users.id, values: (number | string)[]) => sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;

/** Resolves share items to users; an unknown user fails the whole request, granting nothing. */
async function resolveUsers(db: Db, items: ShareItemInput[]) {
  const ids = items.flatMap((i) => (i.user_id !== undefined ? [i.user_id] : []));
  const names = items.flatMap((i) => (i.user_id === undefined && i.username !== undefined ? [i.username.toLowerCase()] : []));
  const emails = items.flatMap((i) => (i.user_id === undefined && i.username === undefined && i.email !== undefined ? [i.email.toLowerCase()] : []));
  const found = await db
    .select({ id: users.id, username: users.username, email: users.email })
    .from(users)
    .where(or(ids.length ? inJsonArray(users.id, ids) : undefined, names.length ? inJsonArray(sql`lower(${users.username})`, names) : undefined, emails.length ? inJsonArray(sql`lower(${users.email})`, emails) : undefined));
  return items.map((item, index) => {
    const user = found.find((u) =>
      item.user_id !== undefined ? u.id === item.user_id : item.username !== undefined ? u.username.toLowerCase() === item.username.toLowerCase() : u.email.toLowerCase() === item.email!.toLowerCase(),
    );
    if (!user) {
      const named = item.user_id ?? item.username ?? item.email;
      throw new ApiError(404, "not_found", `No user ${JSON.stringify(named)} exists; nothing was shared.`, { errors: [{ field: `users.${index}`, message: "Unknown user.", index }] });
    }
    return { user, role: item.role, index };
  });
}

/**
 * Grants or changes roles (upsert) in one batch with the notifications. Sharing with yourself or
 * touching the creator's entry is a 422; at most MAX_COLLABORATORS people besides the creator.
 */
export async function share(db: Db, actor: Actor, eventId: number, items: ShareItemInput[]) {
  const { event } = await authorize(db, actor.id, eventId, "share");
  return grant(db, actor, event, items);
}

/** The write behind share and setRole, for an event the caller was already authorized on. */
async function grant(db: Db, actor: Actor, event: EventRow, items: ShareItemInput[]) {
  const grants = await resolveUsers(db, items);
  const byUser = new Map<number, (typeof grants)[number]>();
  for (const grant of grants) {
    if (grant.user.id === actor.id) throw validationFailed([{ field: `users.${grant.index}`, message: "You cannot share an event with yourself.", index: grant.index }]);
    if (grant.user.id === event.ownerId) throw creatorEntry(`users.${grant.index}`, grant.index);
    byUser.set(grant.user.id, grant);
  }
  const existing = await db.select({ userId: permissions.userId, role: permissions.role }).from(permissions).where(eq(permissions.eventId, event.id));
  const current = new Map(existing.map((p) => [p.userId, p.role]));
  const changed = [...byUser.values()].filter((g) => current.get(g.user.id) !== g.role);
  const newcomers = changed.filter((g) => !current.has(g.user.id)).length;
  if (existing.length - 1 + newcomers > MAX_COLLABORATORS) throw tooManyCollaborators();
  const now = Date.now();
  const statements = changed.flatMap((g) => {
    const previous = current.get(g.user.id);
    return [
      upsertPermission(db, event, g.user.id, g.role, actor.id, now),
      notifyEventAudience(db, {
        type: previous ? "permission_updated" : "event_shared",
        eventId: event.id,
        actor,
        message: previous
          ? `${actor.username} changed ${g.user.username}'s role on "${event.title}" to ${g.role}`
          : `${actor.username} shared "${event.title}" with ${g.user.username} as ${g.role}`,
        data: { user_id: g.user.id, username: g.user.username, role: g.role, previous_role: previous ?? null },
      }, now),
    ];
  });
  let results: unknown[] = [];
  if (statements.length) {
    try {
      const batch: BatchItem<"sqlite">[] = [...statements, shareGuard(db, event.id, actor.id)];
      results = await db.batch(batch as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    } catch (error) {
      if (!isGuardFailure(error, "events.version")) throw error;
      // Another request got in first: either the actor lost the owner role (authorize says so) or
      // concurrent shares filled the event.
      await authorize(db, actor.id, event.id, "share");
      throw tooManyCollaborators();
    }
  }
  const deliveries = results.slice(0, statements.length).filter((_, i) => i % 2 === 1).flatMap((rows) => toDeliveries(rows as NotificationRow[], actor));
  return { permissions: await listPermissions(db, event), deliveries };
}

const tooManyCollaborators = () => validationFailed([{ field: "users", message: `An event can have at most ${MAX_COLLABORATORS} collaborators.` }]);

/**
 * Grants or changes one role. The event's times are copied from the event row as the batch runs,
 * not as authorize read them, so a concurrent move is never undone for the new row, and a
 * concurrently deleted event gets no orphan permission.
 */
function upsertPermission(db: Db, event: EventRow, userId: number, role: Role, grantedBy: number, now: number) {
  return db
    .insert(permissions)
    .select(
      db
        // Every column, in table order: drizzle's INSERT ... SELECT requires it.
        .select({
          eventId: events.id,
          userId: sql<number>`${userId}`.as("user_id"),
          role: sql<Role>`${role}`.as("role"),
          grantedBy: sql<number>`${grantedBy}`.as("granted_by"),
          grantedAt: sql<number>`${now}`.as("granted_at"),
          startTime: events.startTime,
          seriesEnd: events.seriesEnd,
        })
        .from(events)
        .where(eq(events.id, event.id)),
    )
    .onConflictDoUpdate({ target: [permissions.eventId, permissions.userId], set: { role, grantedBy, grantedAt: now } });
}

/**
 * The last statement of a share's batch. When the grants left the event with more than
 * MAX_COLLABORATORS collaborators, or the actor is no longer an owner, the CASE yields NULL and
 * the NOT NULL constraint aborts the whole batch: the check before it is only an early answer,
 * this is what holds against concurrent shares and revocations (D1 has no transactions).
 */
const shareGuard = (db: Db, eventId: number, actorId: number) =>
  db
    .update(events)
    .set({
      version: sql`CASE WHEN (SELECT count(*) FROM permissions WHERE event_id = ${eventId}) <= ${MAX_COLLABORATORS + 1}
        AND EXISTS (SELECT 1 FROM permissions WHERE event_id = ${eventId} AND user_id = ${actorId} AND role = 'owner') THEN ${events.version} END`,
    })
    .where(eq(events.id, eventId));

/** PUT semantics: sets the user's role, granting access when they had none. */
export async function setRole(db: Db, actor: Actor, eventId: number, userId: number, role: Role) {
  const { event } = await authorize(db, actor.id, eventId, "manage_permissions");
  if (userId === event.ownerId) throw creatorEntry("user_id");
  if (userId === actor.id) throw validationFailed([{ field: "user_id", message: "You cannot change your own role; leave the event or ask another owner." }]);
  const result = await grant(db, actor, event, [{ user_id: userId, role }]);
  return { permission: result.permissions.find((p) => p.user_id === userId)!, deliveries: result.deliveries };
}

/**
 * Removes a collaborator (owners), or the caller themself (anyone but the creator: leaving).
 * The notification goes out before the delete, so the removed user gets it too.
 */
export async function revoke(db: Db, actor: Actor, eventId: number, userId: number) {
  const { event } = await authorize(db, actor.id, eventId, userId === actor.id ? "read" : "manage_permissions");
  if (userId === event.ownerId) throw creatorEntry("user_id");
  const [target] = await db
    .select({ username: users.username, role: permissions.role })
    .from(permissions)
    .innerJoin(users, eq(users.id, permissions.userId))
    .where(and(eq(permissions.eventId, event.id), eq(permissions.userId, userId)));
  if (!target) throw notFound("permission");
  const spec = {
    type: "permission_revoked" as const,
    eventId: event.id,
    actor,
    message: userId === actor.id ? `${actor.username} left "${event.title}"` : `${actor.username} removed ${target.username} from "${event.title}"`,
    data: { user_id: userId, username: target.username, previous_role: target.role },
  };
  const [notified] = await db.batch([
    notifyEventAudience(db, spec),
    db.delete(permissions).where(and(eq(permissions.eventId, event.id), eq(permissions.userId, userId))),
  ]);
  return { deliveries: toDeliveries(notified as NotificationRow[], actor) };
}

