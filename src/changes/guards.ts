import { eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { users } from "../db/schema";
import { roleAllows, type Action } from "../events/policy";
import { ROLES, type Role } from "../events/schemas";

/**
 * A write's premise, checked inside its own batch. D1 has no transactions, but a batch is one: a
 * statement that violates NOT NULL aborts all of it. The guard updates the actor's own users row,
 * which always exists, so it always yields exactly one row to check, whether or not the event is
 * still there (an `UPDATE events ... WHERE id = ?` matches nothing once the event is gone, and
 * nothing aborts). `created_at` carries the check because no other guard uses it, so a failure
 * names this guard alone (the calendar guard uses `calendar_version`).
 *
 * @example
 * db.batch([premiseGuard(db, actor.id, [eventExists(id, 3), holdsRole(id, actor.id, ["owner"])]), ...writes]);
 */
export const premiseGuard = (db: Db, actorId: number, conditions: SQL[]) =>
  db
    .update(users)
    .set({ createdAt: sql`CASE WHEN ${sql.join(conditions, sql` AND `)} THEN ${users.createdAt} END` })
    .where(eq(users.id, actorId));

/** True when a batch was aborted by a premise guard: the state it was planned on is gone. */
export function isPremiseFailure(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as Error).message ?? e).includes("NOT NULL constraint failed: users.created_at")) return true;
  }
  return false;
}

/** The event exists (at that version, when given). */
export const eventExists = (eventId: number, version?: number) =>
  version === undefined
    ? sql`EXISTS (SELECT 1 FROM events WHERE id = ${eventId})`
    : sql`EXISTS (SELECT 1 FROM events WHERE id = ${eventId} AND version = ${version})`;

/** The user holds one of the roles on the event. */
export const holdsRole = (eventId: number, userId: number, roles: readonly Role[]) =>
  sql`EXISTS (SELECT 1 FROM permissions WHERE event_id = ${eventId} AND user_id = ${userId} AND role IN (SELECT value FROM json_each(${JSON.stringify(roles)})))`;

/** The user still holds a role that the policy lets do the action (see events/policy). */
export const mayStill = (eventId: number, userId: number, action: Action) =>
  holdsRole(
    eventId,
    userId,
    ROLES.filter((role) => roleAllows(role, action)),
  );

/** Each named user's role is still the one read (null: no access), in one bound parameter. */
export const rolesAre = (eventId: number, expected: { userId: number; role: Role | null }[]) =>
  sql`NOT EXISTS (SELECT 1 FROM json_each(${JSON.stringify(expected.map((e) => [e.userId, e.role]))}) AS x
    WHERE (SELECT role FROM permissions WHERE event_id = ${eventId} AND user_id = json_extract(x.value, '$[0]')) IS NOT json_extract(x.value, '$[1]'))`;

/** At most `n` permissions, the creator's included. */
export const permissionCountAtMost = (eventId: number, n: number) => sql`(SELECT count(*) FROM permissions WHERE event_id = ${eventId}) <= ${n}`;

/**
 * The permission list is exactly the one read (see permissionsFingerprint): what an ETag covers
 * besides the version.
 */
export const permissionsAre = (eventId: number, fingerprint: string) =>
  sql`(SELECT group_concat(f, ',') FROM (SELECT user_id || ':' || role || ':' || granted_by || ':' || granted_at AS f FROM permissions WHERE event_id = ${eventId} ORDER BY user_id)) IS ${fingerprint}`;

/** The same string that permissionsAre builds in SQL, from rows read earlier. */
export const permissionsFingerprint = (rows: { userId: number; role: Role; grantedBy: number; grantedAt: number }[]) =>
  [...rows]
    .sort((a, b) => a.userId - b.userId)
    .map((r) => `${r.userId}:${r.role}:${r.grantedBy}:${r.grantedAt}`)
    .join(",");
