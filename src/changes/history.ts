import type { SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { versions } from "../db/schema";
import { sameExceptions, type ExceptionItem } from "../exceptions/model";

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
  /** Absent from snapshots written before exceptions existed: read as none. */
  exceptions?: ExceptionItem[];
}

export const SNAPSHOT_FIELDS = ["title", "description", "location", "start_time", "end_time", "is_recurring", "recurrence_pattern", "timezone", "exceptions"] as const;

/** `{ field: { from, to } }`; a change of the rule or times that dropped exceptions names them in `exceptions.dropped`. */
export type Changes = Record<string, { from: unknown; to: unknown; dropped?: string[] }>;

export type VersionAction = "created" | "updated" | "rolled_back";

/** Fields whose values differ between two snapshots, as `{ field: { from, to } }`. */
export function diffSnapshots(from: Partial<Snapshot>, to: Snapshot): Changes {
  const changes: Changes = {};
  for (const field of SNAPSHOT_FIELDS) {
    if (field === "exceptions") {
      if (!sameExceptions(from.exceptions, to.exceptions)) changes.exceptions = { from: from.exceptions ?? [], to: to.exceptions ?? [] };
      continue;
    }
    const before = from[field] ?? null;
    const after = to[field] ?? null;
    if (before !== after) changes[field] = { from: before, to: after };
  }
  return changes;
}

export interface VersionRecord {
  /** A number, or SQL naming an event inserted earlier in the same batch. */
  eventId: number | SQL;
  version: number;
  action: VersionAction;
  changedBy: number;
  changedAt: number;
  snapshot: Snapshot;
  changes: Changes;
  restoredFrom?: number;
}

/**
 * The statement that records a version. The primary key `(event_id, version)` makes a forked
 * history impossible; the pipeline's premise guard makes a duplicate never reach it.
 */
export function versionRow(db: Db, entry: VersionRecord) {
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
