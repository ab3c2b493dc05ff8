import { and, asc, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { plainBatch, type Batch } from "../db/batch";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import type { Actor } from "../env";
import { seriesColumns, seriesSpecOf } from "../events/content";
import { accessQuery, checkAccess } from "../events/policy";
import type { Role } from "../events/schemas";
import { validationFailed } from "../lib/problem";
import { seriesOccurrences, seriesOccurrencesBetween, type Series, type SeriesOccurrence } from "../exceptions/expand";
import { BudgetExceeded, formatUtc, WorkBudget } from "../recurrence";

/** Widest window the occurrence and agenda endpoints expand, in days. */
export const MAX_WINDOW_DAYS = 366;
const DAY_MS = 86_400_000;
/**
 * Events whose whole span (first start to last end) is at most this long are "short": read in
 * start order from a day before the page's position. Longer ones (series, multi-day events) are
 * all read for each page. The value is inlined in SQL to match the partial index of migration 0006.
 */
export const SHORT_SPAN_MS = DAY_MS;
/**
 * Most long events (series or spanning more than a day) an agenda page merges. Each costs one row
 * and a bounded probe of its occurrences (the window is at most 366 days); past this the page is
 * a 422 rather than an unbounded one.
 */
export const MAX_AGENDA_SERIES = 1000;
/**
 * Expansion steps one agenda page may spend. A series costs a few steps per occurrence and at
 * most a few thousand to reach its next one in the widest window (a rule listing every
 * BYMONTHDAY), so 1,000 series fit; past it the page is a 422 asking for a narrower window.
 */
export const AGENDA_BUDGET = 1_000_000;

export function assertWindow(start: number, end: number): void {
  if (end <= start) throw validationFailed([{ field: "end", message: "Must be after start." }]);
  if (end - start > MAX_WINDOW_DAYS * DAY_MS) throw validationFailed([{ field: "end", message: `The window may span at most ${MAX_WINDOW_DAYS} days.` }]);
}

/**
 * Occurrences of one event in [start, end): at most one a day, so at most 367 for the widest
 * window, each found without walking the series from its first occurrence.
 */
export async function eventOccurrences(db: Db, actor: Pick<Actor, "id">, eventId: number, start: number, end: number, batch: Batch = plainBatch(db)) {
  assertWindow(start, end);
  const [[access]] = await batch([accessQuery(db, actor.id, eventId)]);
  const { event } = checkAccess(access, "read");
  const series = seriesSpecOf(event);
  return seriesOccurrencesBetween(series, start, end).map((o) => occurrenceBody(series, o));
}

/**
 * An occurrence as `occurrences` lists it: its times, the start it keeps as its identity, and for a
 * changed one `is_exception` with the fields it overrides.
 */
export function occurrenceBody(series: Series, o: SeriesOccurrence) {
  const body = { start_time: formatUtc(o.start), end_time: formatUtc(o.end), original_start: formatUtc(o.originalStart) };
  if (!o.isException) return body;
  const { title, description, location } = series.exceptions?.changed.get(o.originalStart) ?? {};
  return {
    ...body,
    is_exception: true as const,
    ...(title !== undefined ? { title } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(location !== undefined ? { location } : {}),
  };
}

export interface AgendaItem {
  event_id: number;
  title: string;
  start_time: string;
  end_time: string;
  original_start: string;
  is_exception?: true;
  my_role: Role;
}

const columns = { ...seriesColumns, role: permissions.role };
type AgendaRow = { id: number; title: string; role: Role; seriesEnd: number | null } & Parameters<typeof seriesSpecOf>[0];

interface Head {
  occurrence: SeriesOccurrence;
  row: AgendaRow;
  series: Series;
  stream?: Generator<SeriesOccurrence, void, number | undefined>;
}

const before = (a: Head, b: Head) => a.occurrence.start < b.occurrence.start || (a.occurrence.start === b.occurrence.start && a.row.id < b.row.id);

/** A binary min-heap of the next occurrence of each source, by (start, event id). */
class Merge {
  private heap: Head[] = [];
  get size() {
    return this.heap.length;
  }
  peek(): Head | undefined {
    return this.heap[0];
  }
  push(head: Head): void {
    const h = this.heap;
    h.push(head);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }
  pop(): Head | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Every occurrence of every event the user can see in the window, by start then event id, with a
 * keyset position `[startMs, eventId]`. A page does bounded work whatever the calendar holds:
 * - long events (span over a day, endless series) still running at the position: at most
 *   MAX_AGENDA_SERIES rows, each expanded lazily from the position (never from its first
 *   occurrence) and only as far as the page needs, through a k-way merge;
 * - short events: read in (start_time, id) order from the user's longest short span (at most a
 *   day) before the position, `limit + 1` rows at a time, only until the page is full.
 * D1 reads about (long events) + (short events starting in that look-back) + the page.
 */
export async function agenda(db: Db, actor: Pick<Actor, "id">, query: { start: number; end: number; limit: number; after?: [number, number] }, batch: Batch = plainBatch(db)) {
  assertWindow(query.start, query.end);
  try {
    return await agendaPage(db, actor, query, new WorkBudget(AGENDA_BUDGET), batch);
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
    throw validationFailed([{ field: "end", message: `Expanding the window's series needs more than ${AGENDA_BUDGET} steps; narrow the window.` }]);
  }
}

async function agendaPage(db: Db, actor: Pick<Actor, "id">, query: { start: number; end: number; limit: number; after?: [number, number] }, budget: WorkBudget, batch: Batch) {
  const { start, end, limit, after } = query;
  const position = Math.max(start, after ? after[0] : -Infinity);
  const afterCursor = (s: number, id: number) => !after || s > after[0] || (s === after[0] && id > after[1]);
  const base = () => db.select(columns).from(permissions).innerJoin(events, eq(events.id, permissions.eventId));
  const merge = new Merge();
  // Short events: every occurrence starts within the event's span of its start_time, so none that
  // starts earlier than the user's longest short span (at most a day) before the position can
  // still have one there. A max() bounded on the span index reads one entry.
  const longestShort = sql`coalesce((SELECT max(p2.series_end - p2.start_time) FROM permissions p2 WHERE p2.user_id = ${actor.id} AND p2.series_end - p2.start_time <= ${SHORT_SPAN_MS}), 0)`;
  let shortAfter: [number, number] | null = null;
  /** The (start, event id) of the last short row read; unread ones all come after it. */
  let readUpTo: [number, number] = [position - SHORT_SPAN_MS - 1, -Infinity];
  let shortDone = false;
  // A read that finds only rows of earlier pages (events overlapping the position, which lead the
  // order) makes the next one twice as large, so skipping them takes a few statements, not one per
  // `limit + 1` of them.
  let size = limit + 1;
  const shortQuery = () =>
    base()
      .where(
        and(
          eq(permissions.userId, actor.id),
          lt(permissions.startTime, end),
          // Not `start`: what ends by the position has no occurrence after the cursor, and a page
          // deep in a dense day would otherwise re-read the whole look-back before it.
          gt(permissions.seriesEnd, position),
          sql`${permissions.seriesEnd} - ${permissions.startTime} <= ${SHORT_SPAN_MS}`,
          shortAfter ? sql`(${permissions.startTime}, ${permissions.eventId}) > (${shortAfter[0]}, ${shortAfter[1]})` : sql`${permissions.startTime} >= ${position} - ${longestShort}`,
        ),
      )
      .orderBy(asc(permissions.startTime), asc(permissions.eventId))
      .limit(size);
  const takeShort = (rows: AgendaRow[]) => {
    shortDone = rows.length < size;
    const last = rows.at(-1);
    if (last) shortAfter = [last.startTime, last.id];
    readUpTo = last ? [last.startTime, last.id] : [Infinity, Infinity];
    let fresh = 0;
    for (const row of rows) {
      const series = seriesSpecOf(row);
      for (const occurrence of seriesOccurrencesBetween(series, start, end, undefined, budget)) {
        if (!afterCursor(occurrence.start, row.id)) continue;
        merge.push({ occurrence, row, series });
        fresh++;
      }
    }
    if (!fresh) size *= 2;
  };
  const readShort = async () => takeShort((await batch([shortQuery()]))[0]);

  // The first short read rides in the long events' batch: it depends on nothing they return.
  const [endless, longFinite, firstShort] = await batch([
    base()
      .where(and(eq(permissions.userId, actor.id), isNull(permissions.seriesEnd), lt(permissions.startTime, end)))
      .limit(MAX_AGENDA_SERIES + 1),
    base()
      .where(and(eq(permissions.userId, actor.id), gt(permissions.seriesEnd, position), sql`${permissions.seriesEnd} - ${permissions.startTime} > ${sql.raw(String(SHORT_SPAN_MS))}`, lt(permissions.startTime, end)))
      .limit(MAX_AGENDA_SERIES + 1),
    shortQuery(),
  ]);
  if (endless.length + longFinite.length > MAX_AGENDA_SERIES) {
    throw validationFailed(
      [{ field: "start", message: `At most ${MAX_AGENDA_SERIES} recurring or multi-day events may run in the window; narrow it, or read series one by one through /api/events/{id}/occurrences.` }],
      `More than ${MAX_AGENDA_SERIES} recurring or multi-day events run in this window; an agenda page merges at most ${MAX_AGENDA_SERIES}.`,
    );
  }

  /** Puts the source's next occurrence after the cursor into the merge. */
  const advance = (row: AgendaRow, series: Series, stream: Generator<SeriesOccurrence, void, number | undefined>) => {
    for (let r = stream.next(); !r.done; r = stream.next()) {
      if (afterCursor(r.value.start, row.id)) return merge.push({ occurrence: r.value, row, series, stream });
    }
  };
  for (const row of [...endless, ...longFinite]) {
    const series = seriesSpecOf(row);
    // Entered at the position: what ends by then was on earlier pages (or before the window).
    advance(row, series, seriesOccurrences(series, position, end, budget));
  }

  takeShort(firstShort);

  const page: Head[] = [];
  while (page.length <= limit) {
    const next = merge.peek();
    // An unread short event comes after readUpTo in (start, id) order, and so do its occurrences:
    // nothing before that position is missing. Comparing the instant alone would read on through
    // every event that starts at the same instant as the last one read, limit + 1 rows at a time.
    const unreadMayPrecede = !next || next.occurrence.start > readUpTo[0] || (next.occurrence.start === readUpTo[0] && next.row.id > readUpTo[1]);
    if (!shortDone && unreadMayPrecede) {
      await readShort();
      continue;
    }
    if (!next) break;
    merge.pop();
    page.push(next);
    if (next.stream) advance(next.row, next.series, next.stream);
  }
  const items = page.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map((h): AgendaItem => {
      const changed = h.occurrence.isException ? h.series.exceptions?.changed.get(h.occurrence.originalStart) : undefined;
      return {
        event_id: h.row.id,
        title: changed?.title ?? h.row.title,
        start_time: formatUtc(h.occurrence.start),
        end_time: formatUtc(h.occurrence.end),
        original_start: formatUtc(h.occurrence.originalStart),
        ...(h.occurrence.isException ? { is_exception: true as const } : {}),
        my_role: h.row.role,
      };
    }),
    next: page.length > limit && last ? ([last.occurrence.start, last.row.id] as [number, number]) : null,
  };
}
