import { and, asc, eq, getTableColumns, gt, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import { plainBatch, type Batch } from "../db/batch";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import type { Actor } from "../env";
import { seriesOccurrencesBetween } from "../exceptions/expand";
import { seriesSpecOf, toEventBody } from "./content";
import type { EventRow } from "./policy";
import type { ListQuery } from "./service";

/**
 * Rows of the caller's calendar one search page examines at most, in list order, whatever the
 * query, the calendar or the rest of the database holds. Sized by bench H, which wants a page
 * within 3 list pages of 50: 500 rows came to 2.1-3.1 of them, 300 to under 2. At worst (every row
 * a candidate, 10 KB descriptions) a page reads about 3 MB of text.
 */
export const SEARCH_SCAN_ROWS = 300;

/**
 * Case folding over all of Unicode as the contract asks: JavaScript's lower-casing, then Turkish
 * dotted İ (which lower-cases to i + U+0307) and dotless ı as i, and final sigma as sigma. Lower-
 * casing changes no other character's length, so ß and ss stay apart (simple case folding).
 */
const fold = (text: string) => text.toLowerCase().replace(/i\u0307|ı|ς/g, (ch) => (ch === "ς" ? "σ" : "i"));

/** Longest piece of the folded needle the prefilter looks for; instr() compares this many bytes at most per candidate position. */
const PREFILTER_CHARS = 16;

/**
 * A piece of the folded needle, at most PREFILTER_CHARS long, that SQLite can look for without
 * Unicode: printable ASCII, whose only preimages under `fold` are themselves and their ASCII upper
 * case, which SQLite's lower() folds. Not i and k: İ, ı and i + U+0307 fold to i, the Kelvin sign
 * to k. Of the pieces, the one with the most distinct characters, then the longest: `aaa…ab`
 * looks for `aaa…ab`'s tail, not for `aaa…a`, which a calendar of `a`s would hold everywhere.
 * Null when there is none (a Greek query, say): then every row is a candidate.
 */
function prefilterRun(needle: string): string | null {
  let best: string | null = null;
  let bestScore = 0;
  for (const run of needle.split(/[^\x20-\x7e]|[ik]/)) {
    for (let from = 0; from === 0 || from + PREFILTER_CHARS <= run.length; from++) {
      const piece = run.slice(from, from + PREFILTER_CHARS);
      const score = new Set(piece).size * (PREFILTER_CHARS + 1) + piece.length;
      if (piece && score > bestScore) [best, bestScore] = [piece, score];
    }
  }
  return best;
}

/** A recurring series is listed only if an occurrence meets the window (as in listEvents). */
function meetsWindow(row: EventRow, query: ListQuery): boolean {
  if (!row.isRecurring || (query.start === undefined && query.end === undefined)) return true;
  return seriesOccurrencesBetween(seriesSpecOf(row), query.start ?? -8.64e15, query.end ?? 8.64e15, 1).length > 0;
}

/**
 * One page of `GET /api/events?q=`: events whose title, description or location contains `q`,
 * case-insensitively over all of Unicode, in list order.
 *
 * The page examines at most SEARCH_SCAN_ROWS of the caller's own rows after the cursor: first
 * `limit + 1` rows (a page of dense hits costs what a list page does), then twice as many as the
 * read before, until the budget is spent. SQLite passes on the descriptions of rows that hold the
 * needle's longest plain ASCII run (prefilterRun); those rows are matched here. When the budget
 * runs out before `limit + 1` hits, the page is partial (it may even be empty) and `next` points
 * after the last row read; `next` is null only once the calendar is exhausted. No index is consulted: an FTS5 trigram index (migration 0004,
 * dropped by 0010) made a query of common trigrams cost 50-90 list pages, its doclists spanning
 * every user's events, so neither the results nor the cost depend on other users' events now.
 */
export async function searchEvents(db: Db, actor: Pick<Actor, "id">, query: ListQuery & { q: string }, batch: Batch = plainBatch(db)) {
  const needle = fold(query.q);
  const hits = (event: EventRow) => fold(event.title).includes(needle) || (event.location !== null && fold(event.location).includes(needle)) || fold(event.description).includes(needle);

  const filters: (SQL | undefined)[] = [eq(permissions.userId, actor.id)];
  if (query.role) filters.push(eq(permissions.role, query.role));
  if (query.end !== undefined) filters.push(lt(permissions.startTime, query.end));
  if (query.start !== undefined) filters.push(or(isNull(permissions.seriesEnd), gt(permissions.seriesEnd, query.start)));
  // SQLite tests a necessary condition on each row of the slice and hands over the description
  // (up to 10 KB) only where it holds; a row without it cannot match. Title and location are small
  // and always read, so no second query is needed for a hit.
  const run = prefilterRun(needle);
  const description =
    run === null
      ? events.description
      : sql<string | null>`CASE WHEN instr(lower(${events.title}), ${run}) OR instr(lower(coalesce(${events.location}, '')), ${run}) OR instr(lower(${events.description}), ${run}) THEN ${events.description} END`;
  const slice = (after: [number, number] | undefined, rows: number) =>
    db
      .select({ role: permissions.role, event: { ...getTableColumns(events), description } })
      .from(permissions)
      .innerJoin(events, eq(events.id, permissions.eventId))
      .where(and(...filters, after && sql`(${permissions.startTime}, ${permissions.eventId}) > (${after[0]}, ${after[1]})`))
      .orderBy(asc(permissions.startTime), asc(permissions.eventId))
      .limit(rows);

  const items: ReturnType<typeof toEventBody>[] = [];
  // The rows behind the items, for renderings that show more than the body (iCalendar: exceptions).
  const shown: EventRow[] = [];
  let after = query.after;
  let left = SEARCH_SCAN_ROWS;
  let size = query.limit + 1;
  while (left > 0) {
    size = Math.min(size, left);
    const [rows] = await batch([slice(after, size)]);
    for (const { role, event } of rows) {
      if (event.description === null) continue;
      const row = { ...event, description: event.description };
      if (!hits(row) || !meetsWindow(row, query)) continue;
      if (items.length === query.limit) {
        const last = items[items.length - 1];
        return { items, rows: shown, next: [Date.parse(last.start_time), last.id] as [number, number] };
      }
      items.push(toEventBody(row, role));
      shown.push(row);
    }
    if (rows.length < size) return { items, rows: shown, next: null };
    const last = rows[rows.length - 1].event;
    after = [last.startTime, last.id];
    left -= size;
    size *= 2;
  }
  return { items, rows: shown, next: after ?? null };
}
