import { asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, permissions, users } from "../db/schema";
import { formatUtc } from "../recurrence";

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

export type PermissionBody = ReturnType<typeof toPermissionBody>;
