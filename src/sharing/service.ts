import { and, asc, desc, eq, inArray, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { permissions, users } from "../db/schema";
import type { Actor } from "../env";
import type { Role } from "../events/schemas";
import { authorize, type EventRow } from "../events/policy";
import { ApiError, notFound, validationFailed } from "../lib/problem";
import { formatUtc } from "../recurrence";
import { notifyEventAudience, toDeliveries, type NotificationRow } from "../notifications/service";
import { MAX_COLLABORATORS, type ShareItemInput } from "./schemas";

/** An event's permission list, the creator first, then in the order access was granted. */
export async function listPermissions(db: Db, event: Pick<EventRow, "id" | "ownerId">) {
  const rows = await db
    .select({ userId: permissions.userId, username: users.username, role: permissions.role, grantedBy: permissions.grantedBy, grantedAt: permissions.grantedAt })
    .from(permissions)
    .innerJoin(users, eq(users.id, permissions.userId))
    .where(eq(permissions.eventId, event.id))
    .orderBy(desc(sql`${permissions.userId} = ${event.ownerId}`), asc(permissions.grantedAt), asc(permissions.userId));
  return rows.map((row) => ({ user_id: row.userId, username: row.username, role: row.role, granted_by: row.grantedBy, granted_at: formatUtc(row.grantedAt) }));
}

export async function readPermissions(db: Db, actor: Actor, eventId: number) {
  const { event } = await authorize(db, actor.id, eventId, "read");
  return listPermissions(db, event);
}

const creatorEntry = (field: string, index?: number) =>
  validationFailed([{ field, message: "The creator's entry cannot be changed or removed.", ...(index !== undefined ? { index } : {}) }]);

/** Resolves share items to users; an unknown user fails the whole request, granting nothing. */
async function resolveUsers(db: Db, items: ShareItemInput[]) {
  const ids = items.flatMap((i) => (i.user_id !== undefined ? [i.user_id] : []));
  const names = items.flatMap((i) => (i.user_id === undefined && i.username !== undefined ? [i.username.toLowerCase()] : []));
  const emails = items.flatMap((i) => (i.user_id === undefined && i.username === undefined && i.email !== undefined ? [i.email.toLowerCase()] : []));
  const found = await db
    .select({ id: users.id, username: users.username, email: users.email })
    .from(users)
    .where(or(ids.length ? inArray(users.id, ids) : undefined, names.length ? inArray(sql`lower(${users.username})`, names) : undefined, emails.length ? inArray(sql`lower(${users.email})`, emails) : undefined));
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
  if (existing.length - 1 + newcomers > MAX_COLLABORATORS) {
    throw validationFailed([{ field: "users", message: `An event can have at most ${MAX_COLLABORATORS} collaborators.` }]);
  }
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
  const results = statements.length ? await db.batch(statements as [ (typeof statements)[number], ...(typeof statements)[number][] ]) : [];
  const deliveries = results.filter((_, i) => i % 2 === 1).flatMap((rows) => toDeliveries(rows as NotificationRow[], actor));
  return { permissions: await listPermissions(db, event), deliveries };
}

function upsertPermission(db: Db, event: EventRow, userId: number, role: Role, grantedBy: number, now: number) {
  return db
    .insert(permissions)
    .values({ eventId: event.id, userId, role, grantedBy, grantedAt: now, startTime: event.startTime, seriesEnd: event.seriesEnd })
    .onConflictDoUpdate({ target: [permissions.eventId, permissions.userId], set: { role, grantedBy, grantedAt: now } });
}

/** PUT semantics: sets the user's role, granting access when they had none. */
export async function setRole(db: Db, actor: Actor, eventId: number, userId: number, role: Role) {
  const { event } = await authorize(db, actor.id, eventId, "manage_permissions");
  if (userId === event.ownerId) throw creatorEntry("user_id");
  if (userId === actor.id) throw validationFailed([{ field: "user_id", message: "You cannot change your own role; leave the event or ask another owner." }]);
  const result = await share(db, actor, eventId, [{ user_id: userId, role }]);
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

