import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { ROLES } from "../events/schemas";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { IdParam, PageQuery, bodyOf, createRouter, problemResponses, queryInstant } from "../lib/openapi";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import { agenda, AGENDA_BUDGET, eventOccurrences, MAX_AGENDA_SERIES, MAX_WINDOW_DAYS } from "./service";

const tags = ["Calendar"];
const Window = z.object({
  start: z.string().max(64).openapi({ param: { in: "query" }, example: "2031-03-01T00:00:00Z" }),
  end: z.string().max(64).openapi({ param: { in: "query" }, example: "2031-04-01T00:00:00Z", description: `At most ${MAX_WINDOW_DAYS} days after start` }),
});

const originalStart = z.string();
const isException = z.literal(true).optional();
const OccurrenceList = z
  .object({
    items: z.array(
      z.object({
        start_time: z.string(),
        end_time: z.string(),
        original_start: originalStart,
        is_exception: isException,
        title: z.string().optional(),
        description: z.string().optional(),
        location: z.string().nullable().optional(),
      }),
    ),
  })
  .openapi("Occurrences");
const AgendaPage = z
  .object({
    items: z.array(
      z.object({ event_id: z.number().int(), title: z.string(), start_time: z.string(), end_time: z.string(), original_start: originalStart, is_exception: isException, my_role: z.enum(ROLES) }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("AgendaPage");

const occurrencesRoute = createRoute({
  method: "get",
  path: "/events/{id}/occurrences",
  tags,
  summary: `Occurrences of one event in a window of up to ${MAX_WINDOW_DAYS} days`,
  description:
    `Every occurrence whose [start, end) meets the window, by start. A series has at most one occurrence a day, so the widest window gives at most ${MAX_WINDOW_DAYS + 1} items and the list is not paged. ` +
    "The work is proportional to the window, however long ago the series started: expansion starts at the window, and a COUNT rule is read through the end stored when it was written. " +
    "Occurrences that would end after 9999-12-31T23:59:59Z are not part of a series.",
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam }), query: Window },
  responses: { 200: bodyOf(OccurrenceList, "Occurrences intersecting [start, end), by start"), ...problemResponses(401, 404, 422) },
});

const agendaRoute = createRoute({
  method: "get",
  path: "/agenda",
  tags,
  summary: "Every occurrence of every event you can see in a window, by start",
  description:
    `Occurrences of your own and shared events in [start, end) (at most ${MAX_WINDOW_DAYS} days), ordered by start, then event id, paged by \`cursor\`. ` +
    `Each page does bounded work: events spanning more than a day (series, multi-day events) that still run at the page's position are merged lazily from that position, at most ${MAX_AGENDA_SERIES} of them ` +
    `(more is a 422 naming \`start\`), with at most ${AGENDA_BUDGET} expansion steps (more is a 422 naming \`end\`: narrow the window); shorter events are read in start order from your longest such event's length (at most a day) before the position, only as far as the page needs.`,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { query: Window.extend(PageQuery.shape) },
  responses: { 200: bodyOf(AgendaPage, "A page of occurrences"), ...problemResponses(401, 422) },
});

export const calendarRoutes = createRouter()
  .openapi(occurrencesRoute, async (c) => {
    const { start, end } = c.req.valid("query");
    // The user the token names; the session check rides in the service's one batch.
    const items = await eventOccurrences(c.var.db, { id: c.var.claims.userId }, c.req.valid("param").id, queryInstant(start, "start")!, queryInstant(end, "end")!, sessionCheckedBatch(c));
    return c.json({ items }, 200);
  })
  .openapi(agendaRoute, async (c) => {
    const query = c.req.valid("query");
    const start = queryInstant(query.start, "start")!;
    const end = queryInstant(query.end, "end")!;
    // The cursor is bound to the window too: a page of one window cannot continue another.
    const scope = `agenda:${c.var.claims.userId}:${start}:${end}`;
    const after = query.cursor ? ((await decodeCursor(c.env, scope, query.cursor)) as [number, number]) : undefined;
    // The user the token names; the session check rides in the page's first batch.
    const page = await agenda(c.var.db, { id: c.var.claims.userId }, { start, end, limit: query.limit, after }, sessionCheckedBatch(c));
    return c.json({ items: page.items, next_cursor: page.next ? await encodeCursor(c.env, scope, page.next) : null }, 200);
  });
