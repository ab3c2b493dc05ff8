import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { plainBatch, type Batch } from "../db/batch";
import type { Db } from "../db/client";
import { events, permissions, users } from "../db/schema";
import { ApiError, type FieldError, validationFailed } from "../lib/problem";
import { suggestSlots, type Suggestion } from "../availability/suggest";
import { firstSeriesOverlap, type Series } from "../exceptions/expand";
import { BudgetExceeded, CONFLICT_BUDGET, formatUtc, RECURRENCE_HORIZON_DAYS, spend, WorkBudget } from "../recurrence";
import { seriesColumns, seriesSpecOf } from "./content";

const HORIZON_MS = RECURRENCE_HORIZON_DAYS * 24 * 3600 * 1000;

/** An event about to be written: its occurrences, and its own id when it already exists. */
export interface Candidate {
  /** With its exceptions: a cancelled occurrence frees its slot, a moved one occupies only its new one. */
  spec: Series;
  seriesEnd: number | null;
  excludeId?: number;
  /** Position in a batch, for error messages. */
  index?: number;
}

export interface Conflict {
  /** Null for another item of the same batch, or for an event the caller cannot see. */
  id: number | null;
  /** Null for an event the caller cannot see: only its times are told. */
  title: string | null;
  start_time: string;
  end_time: string;
  index?: number;
}

/**
 * How far two events are compared. A one-off bounds the comparison itself, so it is exact at any
 * distance. Two series are compared from the later start for the horizon, or until either ends if
 * that is sooner: the same bound for endless series and for ones that run for centuries, which is
 * what keeps one pair's check bounded by the horizon rather than by the series' length.
 */
function horizonFor(a: { spec: Series; seriesEnd: number | null }, b: { spec: Series; seriesEnd: number | null }): number {
  const end = Math.min(a.seriesEnd ?? Infinity, b.seriesEnd ?? Infinity);
  if (!a.spec.rule || !b.spec.rule) return end;
  return Math.min(end, Math.max(a.spec.startMs, b.spec.startMs) + HORIZON_MS);
}

type Compared = { spec: Series; seriesEnd: number | null };

function overlapOf(a: Compared, b: Compared, budget: WorkBudget) {
  spend(budget, 1);
  if (!a.spec.rule && !b.spec.rule) {
    return a.spec.startMs < b.spec.endMs && b.spec.startMs < a.spec.endMs ? { a: { start: a.spec.startMs, end: a.spec.endMs }, b: { start: b.spec.startMs, end: b.spec.endMs } } : null;
  }
  // The stored end lets a COUNT rule be entered where the other event starts instead of counted from its DTSTART.
  return firstSeriesOverlap({ ...a.spec, seriesEnd: a.seriesEnd }, { ...b.spec, seriesEnd: b.seriesEnd }, horizonFor(a, b), budget);
}

/**
 * Stored events one conflict check reads and compares at most (endless series, and finite events
 * that may run at the same time). Past it the write is refused before the comparison: reading
 * and holding that many rows is itself what a write must not cost.
 */
export const MAX_CONFLICT_CANDIDATES = 20_000;

/** The 422 for a check that would pass its bounds, on the event being checked. */
function tooCostly(c: Candidate | undefined, message: string) {
  return validationFailed([
    {
      field: `${c?.index !== undefined ? `events.${c.index}.` : ""}${c?.spec.rule ? "recurrence_pattern" : "start_time"}`,
      message,
      ...(c?.index !== undefined ? { index: c.index } : {}),
    },
  ]);
}

/**
 * Runs the pairwise checks of one write under one budget. Past it the write is refused with a 422
 * on the rule being checked: an overlap is never accepted just because it was too costly to find.
 */
function withinBudget<T>(candidate: () => Candidate | undefined, run: (budget: WorkBudget) => T): T {
  const budget = new WorkBudget(CONFLICT_BUDGET);
  try {
    return run(budget);
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
    throw tooCostly(candidate(), `Checking this event against the owner's other recurring events for conflicts needs more than ${CONFLICT_BUDGET} steps; use fewer or shorter series.`);
  }
}

/**
 * Reads the owner's calendar version and every stored event that could overlap the candidates, in
 * one consistent read (a batch is one transaction), then expands occurrences in code. The version
 * is what the write must guard on: if it moved, someone changed the calendar after this check.
 */
export async function findConflicts(db: Db, ownerId: number, candidates: Candidate[], batch: Batch = plainBatch(db)): Promise<{ calendarVersion: number; conflicts: Conflict[] }> {
  const earliest = Math.min(...candidates.map((c) => c.spec.startMs));
  const latest = candidates.some((c) => c.seriesEnd === null) ? null : Math.max(...candidates.map((c) => c.seriesEnd ?? 0));
  const beforeLatest = latest === null ? undefined : lt(events.startTime, latest);
  // Two index ranges: finite events that may still run at the earliest start (bounded by the
  // owner's longest span), and endless series. One batch, so the calendar version matches.
  // Only what the comparison needs: every endless series is read.
  const columns = seriesColumns;
  const [[owner], finite, endless] = await batch([
    db.select({ version: users.calendarVersion }).from(users).where(eq(users.id, ownerId)),
    db
      .select(columns)
      .from(events)
      .where(
        and(
          eq(events.ownerId, ownerId),
          gt(events.seriesEnd, earliest),
          beforeLatest,
          // A bare max() over the expression index reads one entry (see the schema).
          sql`${events.startTime} > ${earliest} - coalesce((SELECT max(e2.series_end - e2.start_time) FROM events e2 WHERE e2.owner_id = ${ownerId}), 0)`,
        ),
      )
      .limit(MAX_CONFLICT_CANDIDATES + 1),
    db
      .select(columns)
      .from(events)
      .where(and(eq(events.ownerId, ownerId), isNull(events.seriesEnd), beforeLatest))
      .limit(MAX_CONFLICT_CANDIDATES + 1),
  ]);
  if (finite.length + endless.length > MAX_CONFLICT_CANDIDATES) {
    throw tooCostly(candidates.find((c) => c.spec.rule) ?? candidates[0], `More than ${MAX_CONFLICT_CANDIDATES} of the owner's events could overlap this one; a conflict check compares at most ${MAX_CONFLICT_CANDIDATES}.`);
  }
  const stored = [...finite, ...endless].map((row) => ({ row, spec: seriesSpecOf(row), seriesEnd: row.seriesEnd }));
  const conflicts: Conflict[] = [];
  let current: Candidate | undefined;
  withinBudget(
    () => current,
    (budget) => {
      for (const candidate of candidates) {
        current = candidate;
        for (const other of stored) {
          if (other.row.id === candidate.excludeId) continue;
          const hit = overlapOf(candidate, other, budget);
          if (hit) conflicts.push({ id: other.row.id, title: other.row.title, start_time: formatUtc(hit.b.start), end_time: formatUtc(hit.b.end), index: candidate.index });
        }
      }
    },
  );
  return { calendarVersion: owner?.version ?? 0, conflicts };
}

/**
 * An editor moving the owner's event is checked against the owner's whole calendar, but may only
 * learn the times of events they cannot see, never their id or title.
 */
async function redactInvisible(db: Db, viewerId: number, ownerId: number, conflicts: Conflict[]): Promise<Conflict[]> {
  if (viewerId === ownerId) return conflicts;
  const ids = [...new Set(conflicts.flatMap((c) => (c.id === null ? [] : [c.id])))];
  const rows = await db
    .select({ id: permissions.eventId })
    .from(permissions)
    .where(and(eq(permissions.userId, viewerId), sql`${permissions.eventId} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`));
  const visible = new Set(rows.map((r) => r.id));
  return conflicts.map((c) => (c.id === null || visible.has(c.id) ? c : { ...c, id: null, title: null }));
}

/** Overlaps among the items of one batch, reported against the later item. */
export function conflictsWithinBatch(candidates: Candidate[], titles: string[]): Conflict[] {
  const conflicts: Conflict[] = [];
  let current: Candidate | undefined;
  withinBudget(
    () => current,
    (budget) => {
      for (let j = 1; j < candidates.length; j++) {
        current = candidates[j];
        for (let i = 0; i < j; i++) {
          const hit = overlapOf(candidates[j], candidates[i], budget);
          if (hit) conflicts.push({ id: null, title: titles[i], start_time: formatUtc(hit.b.start), end_time: formatUtc(hit.b.end), index: candidates[j].index });
        }
      }
    },
  );
  return conflicts;
}

export function conflictError(conflicts: Conflict[], suggestions: Suggestion[] = []): ApiError {
  const errors: FieldError[] = conflicts.map((c) => ({
    field: "start_time",
    message:
      c.id !== null ? `Overlaps "${c.title}" (event ${c.id}) at ${c.start_time}.` : c.title !== null ? `Overlaps item "${c.title}" of this batch at ${c.start_time}.` : `Overlaps another event of the owner at ${c.start_time}.`,
    ...(c.index !== undefined ? { index: c.index } : {}),
  }));
  const batch = conflicts.some((c) => c.index !== undefined);
  return new ApiError(409, "conflict", "The event overlaps another event of the same owner.", {
    ...(batch ? { errors } : {}),
    extra: { conflicts, suggestions },
  });
}

/** Free slots for the first candidate that conflicts (see availability/suggest.ts); the rest of a batch counts as busy. */
export const suggestionsFor = (db: Db, ownerId: number, candidates: Candidate[], conflicts: Conflict[], read?: Batch) =>
  suggestSlots(db, ownerId, candidates.find((c) => c.index === conflicts[0].index) ?? candidates[0], candidates, read);

/**
 * Bumps the owner's calendar version only if it is still the one read by the conflict check.
 * When it moved, the CASE yields NULL and the NOT NULL constraint aborts the whole batch, so
 * "check, then write" is atomic without interactive transactions.
 */
export const calendarGuard = (db: Db, ownerId: number, expected: number) =>
  db
    .update(users)
    .set({ calendarVersion: sql`CASE WHEN ${users.calendarVersion} = ${expected} THEN ${users.calendarVersion} + 1 END` })
    .where(eq(users.id, ownerId));

/** True when a batch was aborted by a guard on `table.column` (see calendarGuard). */
export function isGuardFailure(error: unknown, column: "users.calendar_version" | "events.version"): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (String((e as Error).message ?? e).includes(`NOT NULL constraint failed: ${column}`)) return true;
  }
  return false;
}

const MAX_ATTEMPTS = 30;

/** A short random pause so that writers who lost a race do not collide again in lockstep. */
export const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));

/**
 * The conflict check of one one-off event as SQL, for a write batch that reads nothing before it:
 * bumps the owner's calendar version (as calendarGuard does) unless a stored event may overlap
 * the candidate, and otherwise aborts the batch the same way. A stored one-off overlaps exactly
 * when its times do; a series whose span meets the candidate's only may, which SQL cannot tell
 * (rules are expanded in code), so it aborts too, and writeWithoutConflicts then checks in code.
 * The two ranges are findConflicts' own, so they stay as small as its reads.
 */
export function overlapGuard(db: Db, ownerId: number, candidate: Candidate) {
  const { startMs: start, endMs: end } = candidate.spec;
  const other = sql`id IS NOT ${candidate.excludeId ?? null}`;
  const mayOverlap = sql`EXISTS (SELECT 1 FROM events WHERE owner_id = ${ownerId} AND series_end > ${start} AND start_time < ${end}
      AND start_time > ${start} - coalesce((SELECT max(e2.series_end - e2.start_time) FROM events e2 WHERE e2.owner_id = ${ownerId}), 0) AND ${other})
    OR EXISTS (SELECT 1 FROM events WHERE owner_id = ${ownerId} AND series_end IS NULL AND start_time < ${end} AND ${other})`;
  return db
    .update(users)
    .set({ calendarVersion: sql`CASE WHEN NOT (${mayOverlap}) THEN ${users.calendarVersion} + 1 END` })
    .where(eq(users.id, ownerId));
}

/**
 * Owners whose SQL check stepped aside lately (a series in the way, or a real overlap), until when:
 * their next one-off write reads first instead of trying it again. Only a hint, per isolate: a
 * wrong one costs one round trip either way, never correctness.
 */
const stepsAside = new Map<number, number>();
const STEP_ASIDE_MS = 10 * 60_000;
const STEP_ASIDE_OWNERS = 10_000;

function rememberStepAside(ownerId: number, now = Date.now()) {
  if (stepsAside.size >= STEP_ASIDE_OWNERS) stepsAside.clear();
  stepsAside.set(ownerId, now + STEP_ASIDE_MS);
}

const triesSql = (ownerId: number, candidates: Candidate[], now = Date.now()) =>
  candidates.length === 1 && !candidates[0].spec.rule && (stepsAside.get(ownerId) ?? 0) <= now;

/**
 * Runs `write` under the owner's calendar guard, after checking the candidates for conflicts;
 * retries from the check when another writer got there first. Without candidates (times did not
 * change) it writes unguarded. One one-off candidate is first tried under overlapGuard, with no
 * read before the write; only when that aborts are the owner's events read and compared (and for a
 * while the owner's next one-off reads first, see stepsAside). The
 * reads go through `read`, so a caller can fold its session check into the first.
 */
export async function writeWithoutConflicts<T>(
  db: Db,
  ownerId: number,
  viewerId: number,
  candidates: Candidate[],
  write: (guard: ReturnType<typeof calendarGuard> | null) => Promise<T>,
  read: Batch = plainBatch(db),
): Promise<T> {
  const inSql = triesSql(ownerId, candidates);
  for (let attempt = 1; ; attempt++) {
    let guard: ReturnType<typeof calendarGuard> | null = null;
    if (inSql && attempt === 1) guard = overlapGuard(db, ownerId, candidates[0]);
    else if (candidates.length) {
      const { calendarVersion, conflicts } = await findConflicts(db, ownerId, candidates, read);
      if (conflicts.length) throw conflictError(await redactInvisible(db, viewerId, ownerId, conflicts), await suggestionsFor(db, ownerId, candidates, conflicts, read));
      guard = calendarGuard(db, ownerId, calendarVersion);
    }
    try {
      return await write(guard);
    } catch (error) {
      if (attempt < MAX_ATTEMPTS && isGuardFailure(error, "users.calendar_version")) {
        // The SQL check stepping aside is no contention: read and compare at once.
        if (inSql && attempt === 1) rememberStepAside(ownerId);
        else await backoff(attempt);
        continue;
      }
      if (isGuardFailure(error, "users.calendar_version")) throw new ApiError(409, "conflict", "The calendar is changing too fast; retry.");
      throw error;
    }
  }
}
