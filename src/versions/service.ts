import { and, asc, eq, gt } from "drizzle-orm";
import { changeContent } from "../changes/pipeline";
import type { Changes, Snapshot, VersionAction } from "../changes/history";
import type { Db } from "../db/client";
import { users, versions } from "../db/schema";
import type { Caller } from "../auth/service";
import { contentFromPatch, contentOf } from "../events/content";
import { notFound } from "../lib/problem";
import { formatUtc } from "../recurrence";

export { diffSnapshots, SNAPSHOT_FIELDS, type Changes, type Snapshot, type VersionAction } from "../changes/history";

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

/** Snapshots written before exceptions existed had none. */
const withExceptions = (snapshot: Snapshot): Snapshot => ({ ...snapshot, exceptions: snapshot.exceptions ?? [] });

function toEntry(row: Row): VersionEntry {
  return {
    version: row.version,
    action: row.action,
    changed_by: { id: row.changedBy, username: row.username ?? "" },
    changed_at: formatUtc(row.changedAt),
    changes: JSON.parse(row.changes) as Changes,
    ...(row.restoredFrom !== null ? { restored_from: row.restoredFrom } : {}),
    snapshot: withExceptions(JSON.parse(row.snapshot) as Snapshot),
  };
}

/** A page of the changelog, oldest first, keyset on the version number: `limit + 1` rows, for a batch (see changelogOf). */
export const changelogQuery = (db: Db, eventId: number, limit: number, afterVersion = 0) =>
  db
    .select(columns)
    .from(versions)
    .leftJoin(users, eq(users.id, versions.changedBy))
    .where(and(eq(versions.eventId, eventId), gt(versions.version, afterVersion)))
    .orderBy(asc(versions.version))
    .limit(limit + 1);

/** The page a changelogQuery read. */
export const changelogOf = (rows: Row[], limit: number) => ({ entries: rows.slice(0, limit).map(toEntry), hasMore: rows.length > limit });

export async function changelog(db: Db, eventId: number, limit: number, afterVersion = 0) {
  return changelogOf(await changelogQuery(db, eventId, limit, afterVersion), limit);
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
 * Rollback to version k: a new version whose content equals k's, conflict-checked like an update
 * and committed through the write pipeline. The target is read on every attempt, in the batch that
 * reads the event, so a history deleted meanwhile is a 404, not a stale write.
 */
export function rollbackEvent(db: Db, caller: Caller, eventId: number, version: number, ifMatch?: string) {
  return changeContent(db, caller, eventId, {
    action: "rollback",
    restoredFrom: version,
    ifMatch,
    also: [versionQuery(db, eventId, version)],
    nextContent: (current, [target]) => {
      const { snapshot } = foundVersion(target as Row[]);
      // The version's exceptions come back with it, as far as its rule still allows (always, unless the rule or times are changed too).
      return contentFromPatch(contentOf(current), snapshot, snapshot.exceptions ?? []);
    },
  });
}
