import { and, eq, or, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { applyChange, commit, type Delivery } from "../changes/pipeline";
import { eventExists, mayStill, permissionCountAtMost, rolesAre } from "../changes/guards";
import type { Db } from "../db/client";
import { events, permissions, users } from "../db/schema";
import type { Actor } from "../env";
import { permissionsQuery, toPermissionBody, type PermissionRow } from "../events/permissions";
import { accessQuery, checkAccess, type Action, type EventRow } from "../events/policy";
import { sessionLive, withSessionCheck, type Caller } from "../auth/service";
import type { Role } from "../events/schemas";
import { ApiError, notFound, validationFailed } from "../lib/problem";
import { MAX_COLLABORATORS, type ShareItemInput } from "./schemas";

export { permissionsQuery, toPermissionBody, type PermissionRow };

const creatorEntry = (field: string, index?: number) =>
  validationFailed([{ field, message: "The creator's entry cannot be changed or removed.", ...(index !== undefined ? { index } : {}) }]);

/**
 * `column IN (values)` with one bound parameter: D1 allows at most 100 per statement, and a share
 * names up to MAX_COLLABORATORS users. The indexes on id and lower(username|email) still apply.
 */
const inJsonArray = (column: SQL | typeof users.id, values: (number | string)[]) => sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;

/** The users that share items name, as one query for the request's first batch (see resolvedUsers). */
function usersQuery(db: Db, items: ShareItemInput[]) {
  const ids = items.flatMap((i) => (i.user_id !== undefined ? [i.user_id] : []));
  const names = items.flatMap((i) => (i.user_id === undefined && i.username !== undefined ? [i.username.toLowerCase()] : []));
  const emails = items.flatMap((i) => (i.user_id === undefined && i.username === undefined && i.email !== undefined ? [i.email.toLowerCase()] : []));
  return db
    .select({ id: users.id, username: users.username, email: users.email })
    .from(users)
    .where(or(ids.length ? inJsonArray(users.id, ids) : undefined, names.length ? inJsonArray(sql`lower(${users.username})`, names) : undefined, emails.length ? inJsonArray(sql`lower(${users.email})`, emails) : undefined));
}

type FoundUser = Awaited<ReturnType<typeof usersQuery>>[number];

/** Resolves share items to the users found; an unknown user fails the whole request, granting nothing. */
function resolvedUsers(items: ShareItemInput[], found: FoundUser[]) {
  const resolved = items.map((item, index) => {
    const user = found.find((u) =>
      item.user_id !== undefined ? u.id === item.user_id : item.username !== undefined ? u.username.toLowerCase() === item.username.toLowerCase() : u.email.toLowerCase() === item.email!.toLowerCase(),
    );
    return { user, role: item.role, index };
  });
  // Items are named by index only: the body never repeats a looked-up address or name, so nothing
  // that records responses (logs, proxies, error trackers) collects them.
  const unknown = resolved.filter((r) => !r.user);
  if (unknown.length) {
    throw new ApiError(404, "not_found", "No such user; nothing was shared.", { errors: unknown.map(({ index }) => ({ field: `users.${index}`, message: "No such user.", index })) });
  }
  return resolved as { user: FoundUser; role: Role; index: number }[];
}

/**
 * What every permission change reads first, in one round trip: the session, the caller's access,
 * the event's permission list, and `also` (results in `extra`). Access is checked before anything
 * else read is used.
 */
async function readPermissions(db: Db, caller: Caller, eventId: number, action: Action, also: BatchItem<"sqlite">[] = []) {
  const {
    actor,
    results: [[access], rows, ...extra],
  } = await withSessionCheck(db, caller, [accessQuery(db, caller.userId, eventId), permissionsQuery(db, eventId), ...also]);
  const { event } = checkAccess(access, action);
  return { actor, event, rows: rows as PermissionRow[], extra: extra as unknown[] };
}

/**
 * Grants or changes roles (upsert) in one batch through the write pipeline. Sharing with yourself
 * or touching the creator's entry is a 422; at most MAX_COLLABORATORS people besides the creator.
 * Fan-out is linear: one notification per person with access after the change, naming every grant.
 */
export async function share(db: Db, caller: Caller, eventId: number, items: ShareItemInput[]) {
  return commit(async () => {
    const { actor, event, rows, extra } = await readPermissions(db, caller, eventId, "share", [usersQuery(db, items)]);
    return grant(db, caller, actor, event, rows, resolvedUsers(items, extra[0] as FoundUser[]));
  });
}

type Grant = ReturnType<typeof resolvedUsers>[number];

/** The write behind share and setRole, for an event the caller was just authorized on, with its permissions as read. */
async function grant(db: Db, caller: Caller, actor: Actor, event: EventRow, existing: PermissionRow[], grants: Grant[]) {
  const byUser = new Map<number, Grant>();
  for (const grant of grants) {
    if (grant.user.id === actor.id) throw validationFailed([{ field: `users.${grant.index}`, message: "You cannot share an event with yourself.", index: grant.index }]);
    if (grant.user.id === event.ownerId) throw creatorEntry(`users.${grant.index}`, grant.index);
    byUser.set(grant.user.id, grant);
  }
  const current = new Map(existing.map((p) => [p.userId, p.role]));
  const changed = [...byUser.values()].filter((g) => current.get(g.user.id) !== g.role);
  const newcomers = changed.filter((g) => !current.has(g.user.id)).length;
  if (existing.length - 1 + newcomers > MAX_COLLABORATORS) throw tooManyCollaborators();
  if (!changed.length) return { permissions: existing.map(toPermissionBody), deliveries: [] as Delivery[] };

  const now = Date.now();
  const summary = changed.map((g) => ({ user_id: g.user.id, username: g.user.username, role: g.role, previous_role: current.get(g.user.id) ?? null }));
  const onlyRoleChanges = summary.every((g) => g.previous_role !== null);
  const { readBack, deliveries } = await applyChange(
      db,
      {
        actor,
        eventId: event.id,
        // The previous roles named in the notification must still be the ones in force.
        premise: [sessionLive(caller), eventExists(event.id), mayStill(event.id, actor.id, "share"), rolesAre(event.id, summary.map((g) => ({ userId: g.user_id, role: g.previous_role })))],
        writes: [upsertPermissions(db, event.id, summary, actor.id, now)],
        notify: {
          audience: "after",
          spec: {
            type: onlyRoleChanges ? "permission_updated" : "event_shared",
            message: shareMessage(actor, event.title, summary),
            data: shareData(actor, summary),
          },
        },
        // Concurrent shares may each pass the early check above; this is what holds. On failure
        // commit plans again, and the early check then refuses with the new count.
        postcondition: [permissionCountAtMost(event.id, MAX_COLLABORATORS + 1)],
        readBack: [permissionsQuery(db, event.id)],
      },
      now,
    );
  return { permissions: (readBack[0] as PermissionRow[]).map(toPermissionBody), deliveries };
}

/** Grants every recipient's copy lists in full; past it only the actor's copy does. */
export const GRANT_PREVIEW = 10;

/**
 * What a share notification's `data` says. Naming every grant in every copy would make a 200-user
 * share write 200 × 200 grants (3.5 MB); past GRANT_PREVIEW, the actor's copy names them all and
 * every other copy names the first GRANT_PREVIEW, the total, and the recipient's own grant.
 */
function shareData(actor: Actor, summary: { user_id: number }[]): Record<string, unknown> | SQL {
  // One grant keeps its members flat too, as before multi-user shares were one notice.
  if (summary.length <= GRANT_PREVIEW) return { grants: summary, ...(summary.length === 1 ? summary[0] : {}) };
  const all = JSON.stringify(summary);
  const preview = JSON.stringify(summary.slice(0, GRANT_PREVIEW));
  return sql`CASE WHEN ${permissions.userId} = ${actor.id}
    THEN json_object('grants', json(${all}), 'grant_count', ${summary.length})
    ELSE json_object('grants', json(${preview}), 'grant_count', ${summary.length},
      'own_grant', json((SELECT value FROM json_each(${all}) WHERE json_extract(value, '$.user_id') = ${permissions.userId}))) END`;
}

function shareMessage(actor: Actor, title: string, grants: { username: string; role: Role; previous_role: Role | null }[]): string {
  if (grants.length === 1) {
    const [g] = grants;
    return g.previous_role ? `${actor.username} changed ${g.username}'s role on "${title}" to ${g.role}` : `${actor.username} shared "${title}" with ${g.username} as ${g.role}`;
  }
  const names = grants.slice(0, 3).map((g) => g.username);
  const rest = grants.length - names.length;
  const who = rest > 0 ? `${names.join(", ")} and ${rest} other${rest === 1 ? "" : "s"}` : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  return grants.every((g) => g.previous_role) ? `${actor.username} changed the roles of ${who} on "${title}"` : `${actor.username} shared "${title}" with ${who}`;
}

const tooManyCollaborators = () => validationFailed([{ field: "users", message: `An event can have at most ${MAX_COLLABORATORS} collaborators.` }]);

/**
 * Grants or changes every role in one statement, whatever the number of users (one bound JSON
 * parameter; D1 allows 100 per statement). The event's times are copied from the event row as the
 * batch runs, so a concurrent move is never undone for the new rows.
 */
function upsertPermissions(db: Db, eventId: number, grants: { user_id: number; role: Role }[], grantedBy: number, now: number) {
  const rows = JSON.stringify(grants.map((g) => [g.user_id, g.role]));
  return db
    .insert(permissions)
    .select(
      db
        // Every column, in table order: drizzle's INSERT ... SELECT requires it.
        .select({
          eventId: events.id,
          userId: sql<number>`json_extract(g.value, '$[0]')`.as("user_id"),
          role: sql<Role>`json_extract(g.value, '$[1]')`.as("role"),
          grantedBy: sql<number>`${grantedBy}`.as("granted_by"),
          grantedAt: sql<number>`${now}`.as("granted_at"),
          startTime: events.startTime,
          seriesEnd: events.seriesEnd,
        })
        .from(events)
        .innerJoin(sql`json_each(${rows}) AS g`, sql`true`)
        .where(eq(events.id, eventId)),
    )
    .onConflictDoUpdate({ target: [permissions.eventId, permissions.userId], set: { role: sql`excluded.role`, grantedBy, grantedAt: now } });
}

/** PUT semantics: sets the user's role, granting access when they had none. */
export async function setRole(db: Db, caller: Caller, eventId: number, userId: number, role: Role) {
  return commit(async () => {
    const { actor, event, rows, extra } = await readPermissions(db, caller, eventId, "manage_permissions", [usersQuery(db, [{ user_id: userId, role }])]);
    if (userId === event.ownerId) throw creatorEntry("user_id");
    if (userId === actor.id) throw validationFailed([{ field: "user_id", message: "You cannot change your own role; leave the event or ask another owner." }]);
    const [user] = resolvedUsers([{ user_id: userId, role }], extra[0] as FoundUser[]);
    const result = await grant(db, caller, actor, event, rows, [user]);
    return { permission: result.permissions.find((p) => p.user_id === userId)!, deliveries: result.deliveries };
  });
}

/**
 * Removes a collaborator (owners), or the caller themself (anyone but the creator: leaving).
 * The notification goes out before the delete, so the removed user gets it too.
 */
export async function revoke(db: Db, caller: Caller, eventId: number, userId: number) {
  const leaving = userId === caller.userId;
  return commit(async () => {
    const { actor, event, rows } = await readPermissions(db, caller, eventId, leaving ? "read" : "manage_permissions");
    if (userId === event.ownerId) throw creatorEntry("user_id");
    const target = rows.find((row) => row.userId === userId);
    if (!target) throw notFound("permission");
    const { deliveries } = await applyChange(db, {
      actor,
      eventId: event.id,
      // Leaving needs no role but one's own, which rolesAre pins down; removing someone needs owner.
      premise: [sessionLive(caller), eventExists(event.id), ...(leaving ? [] : [mayStill(event.id, actor.id, "manage_permissions")]), rolesAre(event.id, [{ userId, role: target.role }])],
      notify: {
        audience: "before",
        spec: {
          type: "permission_revoked",
          message: leaving ? `${actor.username} left "${event.title}"` : `${actor.username} removed ${target.username} from "${event.title}"`,
          data: { user_id: userId, username: target.username, previous_role: target.role },
        },
      },
      writes: [db.delete(permissions).where(and(eq(permissions.eventId, event.id), eq(permissions.userId, userId)))],
    });
    return { deliveries };
  });
}
