import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import { ApiError, notFound } from "../lib/problem";
import type { Role } from "./schemas";

const RANK: Record<Role, number> = { viewer: 1, editor: 2, owner: 3 };

/**
 * The access policy, in one table: the least role each action needs. Every event, sharing and
 * version route names its action here, and the authorization-matrix test reads this same table.
 */
export const REQUIRED_ROLE = {
  read: "viewer",
  update: "editor",
  rollback: "editor",
  delete: "owner",
  share: "owner",
  manage_permissions: "owner",
} as const satisfies Record<string, Role>;
export type Action = keyof typeof REQUIRED_ROLE;

export const roleAllows = (role: Role, action: Action) => RANK[role] >= RANK[REQUIRED_ROLE[action]];

export type EventRow = typeof events.$inferSelect;

/** The caller's permission joined to the event: one row, or none when they have no access. */
export const accessQuery = (db: Db, userId: number, eventId: number) =>
  db
    .select({ event: events, role: permissions.role })
    .from(permissions)
    .innerJoin(events, eq(events.id, permissions.eventId))
    .where(and(eq(permissions.eventId, eventId), eq(permissions.userId, userId)));

/**
 * Applies the policy to a loaded access row. No permission at all is a 404, so existence is never
 * revealed; a permission whose role is too low is a 403.
 */
export function checkAccess(row: { event: EventRow; role: Role } | undefined, action: Action): { event: EventRow; role: Role } {
  if (!row) throw notFound("event");
  if (!roleAllows(row.role, action)) {
    throw new ApiError(403, "forbidden", `Your role (${row.role}) cannot ${action.replace("_", " ")} this event; it needs ${REQUIRED_ROLE[action]}.`);
  }
  return row;
}
