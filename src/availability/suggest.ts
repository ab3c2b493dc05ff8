import { plainBatch, type Batch } from "../db/batch";
import type { Db } from "../db/client";
import { findConflicts, type Candidate } from "../events/conflicts";
import { seriesOccurrencesBetween, type Series } from "../exceptions/expand";
import { BudgetExceeded, formatUtc, seriesEnd, WorkBudget, type Occurrence } from "../recurrence";
import { ApiError } from "../lib/problem";
import { busyRows, mergeIntervals, occurrencesOf, ownedEventsQueries } from "./busy";
import { SLOT_STEP_MS } from "./service";

const DAY_MS = 86_400_000;
/** Slots a 409 suggests at most. */
export const SUGGESTIONS = 3;
/** How far from the requested start suggestions are looked for, either side, in days. */
export const SUGGESTION_RANGE_DAYS = 14;
/**
 * A series is suggested at a shift only after the whole shifted series passed the conflict check;
 * the nearest shifts whose occurrences in the range are free are checked, at most this many.
 */
export const SERIES_TRIALS = 6;
/** Expansion steps the suggestions of one 409 may spend (the range's busy times and the trials). */
export const SUGGESTION_BUDGET = 200_000;

let enabled = true;

/**
 * Reads the `CONFLICT_SUGGESTIONS` var once per request: `"off"` answers 409s with an empty
 * `suggestions` list, so the bench can measure what suggestions cost (bench/scenarios/suggestions.mjs).
 * The var is the same for every request of an isolate, so the module-level flag never flips mid-request.
 */
export function configureSuggestions(env: Pick<Env, "CONFLICT_SUGGESTIONS">): void {
  enabled = env.CONFLICT_SUGGESTIONS !== "off";
}

export interface Suggestion {
  start_time: string;
  end_time: string;
}

/** The series moved by `delta`; its exceptions name occurrences of the unmoved rule, so they are left behind. */
const shifted = (spec: Series, delta: number): Series => ({ ...spec, startMs: spec.startMs + delta, endMs: spec.endMs + delta, exceptions: null });

/** True when no occurrence of `spec` in [from, to) meets a busy interval (sorted, merged). */
function freeIn(spec: Series, busy: Occurrence[], from: number, to: number, budget: WorkBudget): boolean {
  const occurrences = spec.rule ? seriesOccurrencesBetween(spec, from, to, undefined, budget) : [{ start: spec.startMs, end: spec.endMs }];
  for (const o of occurrences) {
    // The first busy interval ending after the occurrence starts is the only one that can meet it.
    let lo = 0;
    let hi = busy.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (busy[mid].end <= o.start) lo = mid + 1;
      else hi = mid;
    }
    if (lo < busy.length && busy[lo].start < o.end) return false;
  }
  return true;
}

/**
 * Up to SUGGESTIONS free slots of the candidate's duration on the owner's calendar (the events the
 * owner owns, the ones conflicts are checked against), on the quarter-hour grid, nearest to the
 * requested start first (the earlier of two equally near), no two overlapping, within
 * SUGGESTION_RANGE_DAYS either side. `others` are the rest of a batch, busy as if written. A one-off is placed between the
 * range's busy times, which is exact; a series shifted by the same amount must have every
 * occurrence in the range free, and then passes the full conflict check (one more read), for the
 * SERIES_TRIALS nearest such shifts. Best effort: past its bounds it suggests what it found, or
 * nothing, rather than turning the 409 into another error. Reads go through `read`, so a caller
 * can put its session check in front.
 */
export async function suggestSlots(db: Db, ownerId: number, candidate: Candidate, others: Candidate[] = [], read: Batch = plainBatch(db)): Promise<Suggestion[]> {
  if (!enabled) return [];
  try {
    return await suggest(db, ownerId, candidate, others.filter((o) => o !== candidate), read);
  } catch (error) {
    // Too many events or too costly an expansion (a 422 elsewhere) leaves the 409 as it is; a
    // refused session (401 from `read`) does not.
    if (error instanceof BudgetExceeded || (error instanceof ApiError && error.status === 422)) return [];
    throw error;
  }
}

async function suggest(db: Db, ownerId: number, candidate: Candidate, others: Candidate[], read: Batch): Promise<Suggestion[]> {
  const { spec } = candidate;
  const duration = spec.endMs - spec.startMs;
  const range = SUGGESTION_RANGE_DAYS * DAY_MS;
  const from = spec.startMs - range;
  const to = spec.startMs + range + duration;
  const budget = new WorkBudget(SUGGESTION_BUDGET);
  const rows = busyRows(await read(ownedEventsQueries(db, ownerId, from, to))).filter((row) => row.id !== candidate.excludeId);
  const busy = mergeIntervals([...rows.flatMap((row) => occurrencesOf(row, from, to, budget)), ...others.flatMap((o) => seriesOccurrencesBetween(o.spec, from, to, undefined, budget))]);

  // Grid starts by distance from the requested start, the earlier first on a tie.
  const wanted = spec.rule ? SERIES_TRIALS : SUGGESTIONS;
  const found: number[] = [];
  const below = Math.floor(spec.startMs / SLOT_STEP_MS) * SLOT_STEP_MS;
  let down = below === spec.startMs ? below - SLOT_STEP_MS : below;
  let up = below + SLOT_STEP_MS;
  try {
    while (found.length < wanted && (down >= from || up + duration <= to)) {
      const takeDown = down >= from && (up + duration > to || spec.startMs - down <= up - spec.startMs);
      const start = takeDown ? down : up;
      if (takeDown) down -= SLOT_STEP_MS;
      else up += SLOT_STEP_MS;
      // Distinct options: none overlaps one already chosen.
      if (found.some((f) => Math.abs(f - start) < duration)) continue;
      if (freeIn(shifted(spec, start - spec.startMs), busy, from, to, budget)) found.push(start);
    }
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
  }
  const slot = (start: number): Suggestion => ({ start_time: formatUtc(start), end_time: formatUtc(start + duration) });
  if (!spec.rule || !found.length) return found.slice(0, SUGGESTIONS).map(slot);

  // A shifted series may still meet the owner's events beyond the range: the full check decides.
  const trials: Candidate[] = found.map((start, index) => {
    const moved = shifted(spec, start - spec.startMs);
    return { spec: moved, seriesEnd: seriesEnd(moved, budget), excludeId: candidate.excludeId, index };
  });
  const { conflicts } = await findConflicts(db, ownerId, trials, read);
  const clashing = new Set(conflicts.map((c) => c.index));
  return trials
    .filter((t) => !clashing.has(t.index))
    .slice(0, SUGGESTIONS)
    .map((t) => slot(t.spec.startMs));
}
