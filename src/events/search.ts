import { and, asc, eq, gt, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import type { Actor } from "../env";
import { occurrencesBetween } from "../recurrence";
import { seriesSpecOf, toEventBody } from "./content";
import type { EventRow } from "./policy";
import type { ListQuery } from "./service";

/**
 * Rows of the caller's calendar one search page examines at most, in list order, when the query
 * has 3 or more characters. Each is tested against the FTS5 trigram index (`events_fts`, see
 * migration 0004) without reading its text, so a page reads about this many index rows plus two
 * rows per hit, whatever the calendar or the rest of the database holds.
 */
export const SEARCH_SCAN_ROWS = 500;
/**
 * The same for 1 and 2 character queries, which trigrams cannot serve (and queries holding a NUL,
 * which FTS5 cannot parse): these rows are read with their text and matched here, so the budget
 * is smaller.
 */
export const SHORT_SEARCH_SCAN_ROWS = 200;

/**
 * The text as the index holds it: Turkish İ and ı, and i + U+0307 (how JavaScript lower-cases İ),
 * become i, since the trigram tokenizer's case folding keeps them apart from i. The migration's
 * triggers apply the same replacements, in the same order, to what they index.
 */
export const searchForm = (text: string) => text.replaceAll("İ", "i").replaceAll("i\u0307", "i").replaceAll("ı", "i");

/**
 * Case folding for short queries, matched here rather than in the index: JavaScript's lower-casing
 * plus final sigma as sigma, which is what the trigram tokenizer's folding does for the scripts we
 * test (Latin, Greek, German ß/ẞ, Turkish after `searchForm`).
 */
const fold = (text: string) => searchForm(text).toLowerCase().replaceAll("ς", "σ");

const codePoints = (text: string) => [...text].length;

/** An FTS5 string literal: the whole query as one phrase, so no character of it is syntax. */
const ftsPhrase = (text: string) => `"${text.replaceAll('"', '""')}"`;

/** A recurring series is listed only if an occurrence meets the window (as in listEvents). */
function meetsWindow(row: EventRow, query: ListQuery): boolean {
  if (!row.isRecurring || (query.start === undefined && query.end === undefined)) return true;
  return occurrencesBetween(seriesSpecOf(row), query.start ?? -8.64e15, query.end ?? 8.64e15, 1).length > 0;
}

/**
 * One page of `GET /api/events?q=`: events whose title, description or location contains `q`,
 * case-insensitively over all of Unicode, in list order. Work per page is bounded: the page
 * examines at most SEARCH_SCAN_ROWS (SHORT_SEARCH_SCAN_ROWS for 1–2 characters) of the caller's
 * rows after the cursor. When that budget runs out before `limit` hits, the page is partial (it
 * may even be empty) and `next` points after the last row examined; `next` is null only once the
 * calendar is exhausted. Only the caller's own permission rows are examined, so neither the
 * results nor the cost depend on other users' events.
 */
export async function searchEvents(db: Db, actor: Actor, query: ListQuery & { q: string }) {
  const needle = searchForm(query.q);
  // FTS5 reads a query string only up to a NUL, so such a needle is matched here like a short one.
  const short = codePoints(needle) < 3 || needle.includes("\u0000");
  const budget = short ? SHORT_SEARCH_SCAN_ROWS : SEARCH_SCAN_ROWS;

  const filters: (SQL | undefined)[] = [eq(permissions.userId, actor.id)];
  if (query.role) filters.push(eq(permissions.role, query.role));
  if (query.end !== undefined) filters.push(lt(permissions.startTime, query.end));
  if (query.start !== undefined) filters.push(or(isNull(permissions.seriesEnd), gt(permissions.seriesEnd, query.start)));
  if (query.after) filters.push(sql`(${permissions.startTime}, ${permissions.eventId}) > (${query.after[0]}, ${query.after[1]})`);
  const where = and(...filters);
  const scanned = db
    .select({ eventId: permissions.eventId, startTime: permissions.startTime, role: permissions.role })
    .from(permissions)
    .where(where)
    .orderBy(asc(permissions.startTime), asc(permissions.eventId))
    .limit(budget)
    .as("scanned");
  // The index answers "does this event contain the phrase" per row by rowid, before the event is
  // read; the scan is a co-routine, so a page of dense hits stops after about `limit` rows.
  const rowLimit = short ? budget : query.limit + 1;
  const rows = await db
    .select({ role: scanned.role, event: events })
    .from(scanned)
    .innerJoin(events, eq(events.id, scanned.eventId))
    .where(short ? undefined : sql`EXISTS (SELECT 1 FROM events_fts WHERE events_fts MATCH ${ftsPhrase(needle)} AND rowid = ${scanned.eventId})`)
    .orderBy(asc(scanned.startTime), asc(scanned.eventId))
    .limit(rowLimit);

  const wanted = short ? fold(needle) : "";
  const hits = (event: EventRow) => !short || [event.title, event.description, event.location ?? ""].some((text) => fold(text).includes(wanted));
  const items: ReturnType<typeof toEventBody>[] = [];
  for (const row of rows) {
    if (!hits(row.event) || !meetsWindow(row.event, query)) continue;
    if (items.length === query.limit) {
      const last = items[items.length - 1];
      return { items, next: [Date.parse(last.start_time), last.id] as [number, number] };
    }
    items.push(toEventBody(row.event, row.role));
  }
  // Rows cut by the query's own limit (window filtering dropped some): go on after the last one.
  const last = rows.at(-1);
  if (last && rows.length === rowLimit) return { items, next: [last.event.startTime, last.event.id] as [number, number] };
  // Short queries read every scanned row, so fewer than the budget means the calendar ended.
  if (short) return { items, next: null };
  // Fewer hits than a page: the scan either used its whole budget (the page is partial; go on
  // after the last row examined) or reached the end of the calendar.
  const [boundary] = await db
    .select({ startTime: permissions.startTime, eventId: permissions.eventId })
    .from(permissions)
    .where(where)
    .orderBy(asc(permissions.startTime), asc(permissions.eventId))
    .limit(1)
    .offset(budget - 1);
  const next: [number, number] | null = boundary ? [boundary.startTime, boundary.eventId] : null;
  return { items, next };
}
