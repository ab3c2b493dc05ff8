import { and, asc, eq, gt, lte, desc, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { users, versions } from "../db/schema";
import { notFound } from "../lib/problem";
import { formatUtc } from "../recurrence";
import type { EventRow } from "../events/policy";
import type { Role } from "../events/schemas";

/** The versioned content of an event, as the API names and renders it. */
export interface Snapshot {
  title: string;
  description: string;
  location: string | null;
  start_time: string;
  end_time: string;
  is_recurring: boolean;
  recurrence_pattern: string | null;
  timezone: string;
}

export const SNAPSHOT_FIELDS = ["title", "description", "location", "start_time", "end_time", "is_recurring", "recurrence_pattern", "timezone"] as const;

export type Changes = Record<string, { from: unknown; to: unknown }>;

/** Fields whose values differ between two snapshots, as `{ field: { from, to } }`. */
export function diffSnapshots(from: Partial<Snapshot>, to: Snapshot): Changes {
  const changes: Changes = {};
  for (const field of SNAPSHOT_FIELDS) {
    const before = from[field] ?? null;
    const after = to[field] ?? null;
    if (before !== after) changes[field] = { from: before, to: after };
  }
  return changes;
}

export type VersionAction = "created" | "updated" | "rolled_back";

/**
 * The statement that records a version. `eventId` may be SQL (the id of an event inserted earlier
 * in the same batch). The primary key `(event_id, version)` makes a forked history impossible.
 */
export function recordVersion(
  db: Db,
  entry: { eventId: number | SQL; version: number; action: VersionAction; changedBy: number; changedAt: number; snapshot: Snapshot; changes: Changes; restoredFrom?: number },
) {
  return db.insert(versions).values({
    eventId: entry.eventId,
    version: entry.version,
    action: entry.action,
    changedBy: entry.changedBy,
    changedAt: entry.changedAt,
    snapshot: JSON.stringify(entry.snapshot),
    changes: JSON.stringify(entry.changes),
    restoredFrom: entry.restoredFrom ?? null,
  });
}

export interface VersionEntry {
  version: number;
  action: VersionAction;
  changed_by: { id: number; username: string };
  changed_at: string;
  changes: Changes;
  restored_from?: number;
  snapshot: Snapshot;
}

const columns = {
  version: versions.version,
  action: versions.action,
  changedBy: versions.changedBy,
  username: users.username,
  changedAt: versions.changedAt,
  snapshot: versions.snapshot,
  changes: versions.changes,
  restoredFrom: versions.restoredFrom,
};

type Row = { version: number; action: VersionAction; changedBy: number; username: string | null; changedAt: number; snapshot: string; changes: string; restoredFrom: number | null };

function toEntry(row: Row): VersionEntry {
  return {
    version: row.version,
    action: row.action,
    changed_by: { id: row.changedBy, username: row.username ?? "" },
    changed_at: formatUtc(row.changedAt),
    changes: JSON.parse(row.changes) as Changes,
    ...(row.restoredFrom !== null ? { restored_from: row.restoredFrom } : {}),
    snapshot: JSON.parse(row.snapshot) as Snapshot,
  };
}

/** A page of the changelog, oldest first, keyset on the version number. */
export async function changelog(db: Db, eventId: number, limit: number, afterVersion = 0) {
  const rows = await db
    .select(columns)
    .from(versions)
    .leftJoin(users, eq(users.id, versions.changedBy))
    .where(and(eq(versions.eventId, eventId), gt(versions.version, afterVersion)))
    .orderBy(asc(versions.version))
    .limit(limit + 1);
  return { entries: rows.slice(0, limit).map(toEntry), hasMore: rows.length > limit };
}

/** One version of an event: zero or one row, for a batch (see foundVersion). */
export const versionQuery = (db: Db, eventId: number, version: number) =>
  db
    .select(columns)
    .from(versions)
    .leftJoin(users, eq(users.id, versions.changedBy))
    .where(and(eq(versions.eventId, eventId), eq(versions.version, version)));

/** The entry a versionQuery found; an unknown version (or another event's) is a 404. */
export function foundVersion(rows: Row[]): VersionEntry {
  if (!rows[0]) throw notFound("version");
  return toEntry(rows[0]);
}

export async function getVersion(db: Db, eventId: number, version: number): Promise<VersionEntry> {
  return foundVersion(await versionQuery(db, eventId, version));
}

/**
 * The version in force at an instant: the newest one written at or before it. Newest by number, not
 * by timestamp: the clocks of different Workers may disagree, and the version order is the truth.
 */
export async function versionAt(db: Db, eventId: number, at: number): Promise<VersionEntry> {
  const [row] = await db
    .select(columns)
    .from(versions)
    .leftJoin(users, eq(users.id, versions.changedBy))
    .where(and(eq(versions.eventId, eventId), lte(versions.changedAt, at)))
    .orderBy(desc(versions.version))
    .limit(1);
  if (!row) throw notFound("event at that time");
  return toEntry(row);
}

/** The event as it was at an instant (`GET /api/events/{id}?at=`); before its creation, 404. */
export async function eventAt(db: Db, event: EventRow, role: Role, at: number) {
  const entry = await versionAt(db, event.id, at);
  return {
    id: event.id,
    ...entry.snapshot,
    owner_id: event.ownerId,
    version: entry.version,
    created_at: formatUtc(event.createdAt),
    updated_at: entry.changed_at,
    my_role: role,
  };
}
