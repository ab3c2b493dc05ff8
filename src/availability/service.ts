import { eq, sql } from "drizzle-orm";
import { users } from "../db/schema";
import type { Batch } from "../db/batch";
import type { Db } from "../db/client";
import { validationFailed } from "../lib/problem";
import { BudgetExceeded, formatUtc, utcToWallTime, wallTimeToUtc, WorkBudget, type Occurrence } from "../recurrence";
import { civilFromDays, daysFromCivil, weekdayOfDays } from "../lib/time-zone";
import { BUSY_BUDGET, busyOf, busyRows, mergeIntervals, visibleEventsQueries, type BusyRow } from "./busy";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Widest free/busy or find-time window, in days. */
export const MAX_AVAILABILITY_DAYS = 62;
/** Most users one free/busy or find-time request names. */
export const MAX_AVAILABILITY_USERS = 20;
/** Slot starts are multiples of this (in UTC, so also in every zone whose offset is whole quarter hours). */
export const SLOT_STEP_MS = 15 * MINUTE_MS;
export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;

/** A user named by id, username or email (a string with `@`). */
export type UserRef = number | string;

export interface Resolved {
  index: number;
  user: { id: number; username: string } | null;
  error?: "not_visible" | "not_found";
}

/**
 * Resolves each named user and whether the caller may see their busy times (themself, or someone
 * who holds a permission on an event the caller also holds). One statement whose work is the same
 * for a user who does not exist as for one who is not visible: both probe every event of the
 * caller's for a permission of that user (an unknown one under id -1), so timing does not tell them
 * apart, and neither has any event read afterwards.
 */
export function resolveQuery(db: Db, callerId: number, refs: UserRef[]) {
  const request = JSON.stringify(refs.map((ref) => (typeof ref === "number" ? [0, ref] : ref.includes("@") ? [2, ref.toLowerCase()] : [1, ref.toLowerCase()])));
  // Each kind of name through its own index (users.id, lower(username), lower(email)).
  const req = db
    .select({
      idx: sql<number>`r.key`.as("idx"),
      uid: sql<number | null>`CASE json_extract(r.value, '$[0]')
        WHEN 0 THEN (SELECT u.id FROM users u WHERE u.id = json_extract(r.value, '$[1]'))
        WHEN 1 THEN (SELECT u.id FROM users u WHERE lower(u.username) = json_extract(r.value, '$[1]'))
        ELSE (SELECT u.id FROM users u WHERE lower(u.email) = json_extract(r.value, '$[1]')) END`.as("uid"),
    })
    .from(sql`json_each(${request}) r`)
    .as("req");
  return db
    .select({
      idx: req.idx,
      id: users.id,
      username: users.username,
      visible: sql<number>`(coalesce(${req.uid}, -1) = ${callerId}) OR EXISTS (
        SELECT 1 FROM permissions mine WHERE mine.user_id = ${callerId}
          AND EXISTS (SELECT 1 FROM permissions theirs WHERE theirs.event_id = mine.event_id AND theirs.user_id = coalesce(${req.uid}, -1)))`,
    })
    .from(req)
    .leftJoin(users, eq(users.id, req.uid))
    .orderBy(sql`${req.idx}`);
}

export function toResolved(rows: { idx: number; id: number | null; username: string | null; visible: number }[]): Resolved[] {
  return rows.map((row) =>
    row.id === null ? { index: row.idx, user: null, error: "not_found" } : row.visible ? { index: row.idx, user: { id: row.id, username: row.username! } } : { index: row.idx, user: null, error: "not_visible" },
  );
}

export function assertAvailabilityWindow(start: number, end: number, users: number): void {
  const errors = [];
  if (end <= start) errors.push({ field: "end", message: "Must be after start." });
  else if (end - start > MAX_AVAILABILITY_DAYS * DAY_MS) errors.push({ field: "end", message: `The window may span at most ${MAX_AVAILABILITY_DAYS} days.` });
  if (users > MAX_AVAILABILITY_USERS) errors.push({ field: "users", message: `At most ${MAX_AVAILABILITY_USERS} users.` });
  if (errors.length) throw validationFailed(errors);
}

/** Runs an expansion under the request's budget; past it, a 422 asking for a narrower window. */
function withinBudget<T>(run: (budget: WorkBudget) => T): T {
  try {
    return run(new WorkBudget(BUSY_BUDGET));
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
    throw validationFailed([{ field: "end", message: `Expanding these users' recurring events needs more than ${BUSY_BUDGET} steps; narrow the window.` }]);
  }
}

/**
 * Resolution and visibility in the first round trip (with the route's session check), then the
 * visible users' events in the second: users who are unknown or not visible get no read at all.
 */
async function busyByUser(db: Db, callerId: number, refs: UserRef[], start: number, end: number, batch: Batch) {
  const [rows] = await batch([resolveQuery(db, callerId, refs)]);
  const resolved = toResolved(rows);
  const ids = [...new Set(resolved.flatMap((r) => (r.user ? [r.user.id] : [])))];
  const byUser = new Map<number, Occurrence[]>();
  if (ids.length) {
    const parts = await db.batch(visibleEventsQueries(db, ids, start, end));
    const all = busyRows(parts);
    withinBudget((budget) => {
      for (const id of ids) byUser.set(id, busyOf(all.filter((row) => row.userId === id), start, end, budget));
    });
  }
  return { resolved, byUser };
}

/** `POST /api/freebusy`: each named user's merged busy intervals in [start, end), in request order. */
export async function freeBusy(db: Db, callerId: number, input: { start: number; end: number; users: UserRef[] }, batch: Batch) {
  assertAvailabilityWindow(input.start, input.end, input.users.length);
  const { resolved, byUser } = await busyByUser(db, callerId, input.users, input.start, input.end, batch);
  return resolved.map((r) =>
    r.user
      ? { index: r.index, user: r.user, busy: byUser.get(r.user.id)!.map((b) => ({ start_time: formatUtc(b.start), end_time: formatUtc(b.end) })) }
      : { index: r.index, user: null, error: r.error! },
  );
}

export interface WorkingHours {
  /** Minutes after local midnight; `end` may be 1440 (24:00). */
  start: number;
  end: number;
  timezone: string;
  days: number[];
}

/** The working-hours windows (UTC instants) of every local day that meets [start, end). */
export function workingWindows(hours: WorkingHours | undefined, start: number, end: number): Occurrence[] {
  if (!hours) return [{ start, end }];
  const windows: Occurrence[] = [];
  const wallAt = (day: number, minutes: number) => {
    const { year, month, day: d } = civilFromDays(day + Math.floor(minutes / 1440));
    const m = minutes % 1440;
    return wallTimeToUtc({ year, month, day: d, hour: Math.floor(m / 60), minute: m % 60, second: 0, millisecond: 0 }, hours.timezone);
  };
  const first = utcToWallTime(start, hours.timezone);
  const last = utcToWallTime(end, hours.timezone);
  for (let day = daysFromCivil(first.year, first.month, first.day) - 1; day <= daysFromCivil(last.year, last.month, last.day); day++) {
    if (!hours.days.includes(weekdayOfDays(day))) continue;
    const from = Math.max(start, wallAt(day, hours.start));
    const to = Math.min(end, wallAt(day, hours.end));
    if (from < to) windows.push({ start: from, end: to });
  }
  return mergeIntervals(windows);
}

/** Most slots one find-time answer lists. */
export const MAX_SLOTS = 100;

/**
 * Every start, a multiple of SLOT_STEP_MS, of a `duration`-long slot inside a window and clear of
 * every busy interval, earliest first, at most `limit`. One pass over windows and busy intervals
 * (both sorted); the work is bounded by the window (at most 62 days of quarter hours) and `limit`.
 */
export function freeSlots(windows: Occurrence[], busy: Occurrence[], duration: number, limit: number): Occurrence[] {
  const slots: Occurrence[] = [];
  let b = 0;
  for (const window of windows) {
    let s = Math.ceil(window.start / SLOT_STEP_MS) * SLOT_STEP_MS;
    while (s + duration <= window.end && slots.length < limit) {
      while (b < busy.length && busy[b].end <= s) b++;
      const blocker = busy[b];
      if (blocker && blocker.start < s + duration) {
        s = Math.ceil(blocker.end / SLOT_STEP_MS) * SLOT_STEP_MS;
        continue;
      }
      slots.push({ start: s, end: s + duration });
      s += SLOT_STEP_MS;
    }
    if (slots.length >= limit) break;
  }
  return slots;
}

/**
 * `POST /api/find-time`: slots where every visible named user is free, inside working hours when
 * given. Users who are unknown or not visible are left out, and listed in `unavailable`.
 */
export async function findTime(
  db: Db,
  callerId: number,
  input: { start: number; end: number; users: UserRef[]; durationMinutes: number; workingHours?: WorkingHours; limit: number },
  batch: Batch,
) {
  assertAvailabilityWindow(input.start, input.end, input.users.length);
  const { resolved, byUser } = await busyByUser(db, callerId, input.users, input.start, input.end, batch);
  const busy = mergeIntervals([...byUser.values()].flat());
  const slots = freeSlots(workingWindows(input.workingHours, input.start, input.end), busy, input.durationMinutes * MINUTE_MS, input.limit);
  return {
    items: slots.map((s) => ({ start_time: formatUtc(s.start), end_time: formatUtc(s.end) })),
    unavailable: resolved.flatMap((r) => (r.error ? [{ index: r.index, error: r.error }] : [])),
  };
}
