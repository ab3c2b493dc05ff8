import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { ROLES } from "../events/schemas";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { IdParam, PageQuery, Timestamp, bodyOf, createRouter, problemResponses, queryInstant } from "../lib/openapi";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import { agenda, eventOccurrences, MAX_WINDOW_DAYS } from "./service";

const tags = ["Calendar"];
const Window = z.object({
  start: z.string().max(64).openapi({ param: { in: "query" } }),
  end: z.string().max(64).openapi({ param: { in: "query" } }),
});

const originalStart = Timestamp;
const isException = z.literal(true).optional();
const OccurrenceList = z
  .object({
    items: z.array(
      z.object({
        start_time: Timestamp,
        end_time: Timestamp,
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
      z.object({ event_id: z.number().int(), title: z.string(), start_time: Timestamp, end_time: Timestamp, original_start: originalStart, is_exception: isException, my_role: z.enum(ROLES) }),
    ),
    next_cursor: z.string().nullable(),
  })
  .openapi("AgendaPage");

const occurrencesRoute = createRoute({
  method: "get",
  path: "/events/{id}/occurrences",
  operationId: "listEventOccurrences",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam }), query: Window },
  responses: { 200: bodyOf(OccurrenceList, "Occurrences intersecting [start, end), by start"), ...problemResponses(401, 404, 422) },
});

const agendaRoute = createRoute({
  method: "get",
  path: "/agenda",
  operationId: "listAgenda",
  tags,
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
