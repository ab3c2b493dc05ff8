import { and, eq, gt, isNull, lt, or } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, permissions } from "../db/schema";
import type { Actor } from "../env";
import { contentOf, seriesSpecOf } from "../events/content";
import { authorize } from "../events/policy";
import type { Role } from "../events/schemas";
import { validationFailed } from "../lib/problem";
import { formatUtc, occurrencesBetween } from "../recurrence";

/** Widest window the occurrence and agenda endpoints expand, in days. */
export const MAX_WINDOW_DAYS = 366;
const DAY_MS = 86_400_000;

export function assertWindow(start: number, end: number): void {
  if (end <= start) throw validationFailed([{ field: "end", message: "Must be after start." }]);
  if (end - start > MAX_WINDOW_DAYS * DAY_MS) throw validationFailed([{ field: "end", message: `The window may span at most ${MAX_WINDOW_DAYS} days.` }]);
}

/** Occurrences of one event in [start, end). */
export async function eventOccurrences(db: Db, actor: Actor, eventId: number, start: number, end: number) {
  assertWindow(start, end);
  const { event } = await authorize(db, actor.id, eventId, "read");
  return occurrencesBetween(seriesSpecOf(contentOf(event)), start, end).map((o) => ({ start_time: formatUtc(o.start), end_time: formatUtc(o.end) }));
}

export interface AgendaItem {
  event_id: number;
  title: string;
  start_time: string;
  end_time: string;
  my_role: Role;
}

/**
 * Every occurrence of every event the user can see in the window, by start then event id, with a
 * keyset position `[startMs, eventId]`. Events are pre-filtered by their span through the
 * permissions index; series are expanded in code, bounded by the window.
 */
export async function agenda(db: Db, actor: Actor, query: { start: number; end: number; limit: number; after?: [number, number] }) {
  assertWindow(query.start, query.end);
  const rows = await db
    .select({ event: events, role: permissions.role })
    .from(permissions)
    .innerJoin(events, eq(events.id, permissions.eventId))
    .where(and(eq(permissions.userId, actor.id), lt(permissions.startTime, query.end), or(isNull(permissions.seriesEnd), gt(permissions.seriesEnd, query.start))));
  const all: { start: number; end: number; row: (typeof rows)[number] }[] = [];
  for (const row of rows) {
    for (const o of occurrencesBetween(seriesSpecOf(contentOf(row.event)), query.start, query.end)) all.push({ ...o, row });
  }
  all.sort((a, b) => a.start - b.start || a.row.event.id - b.row.event.id);
  const after = query.after;
  const remaining = after ? all.filter((o) => o.start > after[0] || (o.start === after[0] && o.row.event.id > after[1])) : all;
  const page = remaining.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((o): AgendaItem => ({ event_id: o.row.event.id, title: o.row.event.title, start_time: formatUtc(o.start), end_time: formatUtc(o.end), my_role: o.row.role })),
    next: remaining.length > query.limit && last ? ([last.start, last.row.event.id] as [number, number]) : null,
  };
}
