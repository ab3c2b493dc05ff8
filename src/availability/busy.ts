import { and, eq, gt, isNull, lt, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import { seriesColumns, seriesSpecOf } from "../events/content";
import { validationFailed } from "../lib/problem";
import { seriesOccurrencesBetween } from "../exceptions/expand";
import type { Occurrence, WorkBudget } from "../recurrence";

const DAY_MS = 86_400_000;

/**
 * Events one availability read takes at most (all users of a request together, or one owner's
 * calendar for suggestions). Past it the request is a 422 (free/busy, find-time) or the 409 has no
 * suggestions: reading that many rows is itself more than such a request may cost.
 */
export const MAX_BUSY_EVENTS = 5_000;
/** Expansion steps one availability request may spend on its events' occurrences. */
export const BUSY_BUDGET = 1_000_000;

export type BusyRow = Parameters<typeof seriesSpecOf>[0] & { id: number; userId: number };

const SPAN = sql`series_end - start_time`;
// The literal must match the partial index of migration 0006 (permissions_user_long_end_idx).
const LONG = sql`${permissions.seriesEnd} - ${permissions.startTime} > ${sql.raw(String(DAY_MS))}`;

/**
 * The statements that read every event any of `userIds` can see (own and shared) with an
 * occurrence that may meet [start, end), as three index ranges like the agenda's: events up to a day
 * long starting from a day before the window, longer finite ones still running, endless series.
 */
export function visibleEventsQueries(db: Db, userIds: number[], start: number, end: number) {
  const users = sql`${permissions.userId} IN (SELECT value FROM json_each(${JSON.stringify(userIds)}))`;
  const base = (where: SQL | undefined) =>
    db
      .select({ ...seriesColumns, userId: permissions.userId })
      .from(permissions)
      .innerJoin(events, eq(events.id, permissions.eventId))
      .where(and(users, lt(permissions.startTime, end), where))
      .limit(MAX_BUSY_EVENTS + 1);
  return [
    base(and(gt(permissions.startTime, start - DAY_MS), gt(permissions.seriesEnd, start), sql`${permissions.seriesEnd} - ${permissions.startTime} <= ${sql.raw(String(DAY_MS))}`)),
    base(and(gt(permissions.seriesEnd, start), LONG)),
    base(isNull(permissions.seriesEnd)),
  ] as const;
}

/** The same three ranges over the events one user owns: the calendar conflicts are checked on. */
export function ownedEventsQueries(db: Db, ownerId: number, start: number, end: number) {
  const base = (where: SQL | undefined) =>
    db
      .select({ ...seriesColumns, userId: events.ownerId })
      .from(events)
      .where(and(eq(events.ownerId, ownerId), lt(events.startTime, end), where))
      .limit(MAX_BUSY_EVENTS + 1);
  return [
    base(and(gt(events.startTime, start - DAY_MS), gt(events.seriesEnd, start), sql`${SPAN} <= ${sql.raw(String(DAY_MS))}`)),
    base(and(gt(events.seriesEnd, start), sql`${SPAN} > ${sql.raw(String(DAY_MS))}`)),
    base(isNull(events.seriesEnd)),
  ] as const;
}

/** The rows of the three reads, once each, or a 422 past MAX_BUSY_EVENTS. */
export function busyRows(parts: readonly BusyRow[][]): BusyRow[] {
  const seen = new Set<string>();
  const rows: BusyRow[] = [];
  for (const part of parts) {
    for (const row of part) {
      const key = `${row.userId}:${row.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push(row);
    }
  }
  if (rows.length > MAX_BUSY_EVENTS) {
    throw validationFailed([{ field: "users", message: `More than ${MAX_BUSY_EVENTS} events fall in this window for these users; narrow the window or ask for fewer users.` }]);
  }
  return rows;
}

/** Every occurrence of the row's event that meets [start, end), exceptions applied (cancelled ones free, moved ones at their new times), clipped to it. */
export function occurrencesOf(row: BusyRow, start: number, end: number, budget: WorkBudget): Occurrence[] {
  return seriesOccurrencesBetween(seriesSpecOf(row), start, end, undefined, budget).map((o) => ({ start: Math.max(o.start, start), end: Math.min(o.end, end) }));
}

/** Sorts and merges intervals; touching ones ([9, 10) and [10, 11)) become one. */
export function mergeIntervals(intervals: Occurrence[]): Occurrence[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Occurrence[] = [];
  for (const interval of sorted) {
    const last = merged.at(-1);
    if (last && interval.start <= last.end) last.end = Math.max(last.end, interval.end);
    else merged.push({ ...interval });
  }
  return merged;
}

/** The merged busy intervals of `rows` in [start, end). */
export function busyOf(rows: BusyRow[], start: number, end: number, budget: WorkBudget): Occurrence[] {
  return mergeIntervals(rows.flatMap((row) => occurrencesOf(row, start, end, budget)));
}
