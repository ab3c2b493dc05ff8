import { createRoute, type RouteHandler } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import type { AppEnv } from "../env";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { IdParam, bodyOf, createRouter, headers, problemResponses, queryInstant } from "../lib/openapi";
import { authenticated, batchWithSessionCheck, sessionCheckedBatch } from "../auth/middleware";
import { prefersCalendar, prefersMsgpack } from "../lib/formats";
import { fromEventBody, renderCalendar } from "../ical/write";
import { ApiError, validationFailed } from "../lib/problem";
import { MAX_IMPORT_EVENTS, readCalendar } from "../ical/read";
import { scheduleDelivery } from "../notifications/schedule";
import { detailOf } from "../changes/pipeline";
import { noneMatchFails } from "./etag";
import { permissionsQuery, type PermissionRow } from "./permissions";
import { accessQuery, checkAccess } from "./policy";
import { BatchBody, conflictResponse, EventCreate, EventDetailSchema, EventListQuery, EventPage, EventPatch, EventSchema, MAX_BATCH, preconditionResponse } from "./schemas";
import * as service from "./service";

const tags = ["Events"];
const IdParams = z.object({ id: IdParam });
const IfMatch = z.object({ "if-match": z.string().optional().openapi({ param: { in: "header" } }) });

const createEventRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createEvent",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { body: { ...bodyOf(EventCreate, "The event"), required: true } },
  responses: { 201: { ...bodyOf(EventSchema, "Created; Location names it, ETag is what its GET returns"), headers: headers("ETag", "Location") }, 409: conflictResponse, ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const batchRoute = createRoute({
  method: "post",
  path: "/batch",
  operationId: "createEventBatch",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { body: { ...bodyOf(BatchBody, "The events"), required: true } },
  responses: { 201: bodyOf(z.array(EventSchema), "All created"), 409: conflictResponse, ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const ImportResult = z
  .object({
    events: z.array(EventSchema),
    warnings: z.array(z.object({ index: z.number().int().optional(), property: z.string().optional(), message: z.string() })),
  })
  .openapi("ImportResult");

const importRoute = createRoute({
  method: "post",
  path: "/import",
  operationId: "importEvents",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { body: { description: "An iCalendar file", content: { "text/calendar": { schema: z.string() } }, required: true } },
  responses: { 201: bodyOf(ImportResult, "All created, with what was dropped"), 409: conflictResponse, ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const listRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listEvents",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { query: EventListQuery },
  responses: {
    200: {
      description: "A page. With `Accept: text/calendar`, the page as one VCALENDAR (RFC 5545) instead, and the next page's URL in `Link: <...>; rel=\"next\"`",
      headers: headers("Link"),
      content: { ...bodyOf(EventPage, "A page").content, "text/calendar": { schema: z.string() } },
    },
    ...problemResponses(401, 422),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getEvent",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: {
    params: IdParams,
    query: z.object({ at: z.string().max(64).optional().openapi({ param: { in: "query" } }) }),
    headers: z.object({ "if-none-match": z.string().optional().openapi({ param: { in: "header" } }) }),
  },
  responses: {
    200: {
      description: "The event; its ETag changes whenever this body would. With `Accept: text/calendar`, a VCALENDAR holding its VEVENT (RFC 5545), with an ETag of its own",
      headers: headers("ETag"),
      content: { ...bodyOf(EventDetailSchema, "The event").content, "text/calendar": { schema: z.string() } },
    },
    304: { description: "Not modified: If-None-Match names the current ETag", headers: headers("ETag") },
    ...problemResponses(401, 404, 422),
  },
});

const updateRoute = (method: "put" | "patch") =>
  createRoute({
    method,
    path: "/{id}",
    operationId: method === "put" ? "putEvent" : "updateEvent",
    tags,
    ...authenticated({ sessionCheck: "first-batch" }),
    request: { params: IdParams, headers: IfMatch, body: { ...bodyOf(EventPatch, "Fields to change"), required: true } },
    responses: {
      200:
        method === "patch"
          ? { ...bodyOf(EventSchema, "The event after the change; ETag is what GET now returns"), headers: headers("ETag") }
          : bodyOf(EventSchema, "The event after the change (no ETag: RFC 9110 §9.3.4, the stored state is not the body sent)"),
      409: conflictResponse,
      412: preconditionResponse,
      ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429),
    },
  });

const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "deleteEvent",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: IdParams, headers: IfMatch },
  responses: { 204: { description: "Deleted" }, 412: preconditionResponse, ...problemResponses(401, 403, 404, 429) },
});


const update: RouteHandler<ReturnType<typeof updateRoute>, AppEnv> = async (c) => {
  const { event, tags, deliveries } = await service.updateEvent(c.var.db, c.var.claims, c.req.valid("param").id, c.req.valid("json"), c.req.valid("header")["if-match"]);
  scheduleDelivery(c, deliveries);
  // A PUT response carries no validator: what was stored is not the body sent (RFC 9110 §9.3.4).
  if (c.req.method === "PUT") return c.json(event, 200);
  return c.json(event, 200, { ETag: tags[variantOf(c)] });
};

const CALENDAR_TYPE = "text/calendar; charset=utf-8";
const variantOf = (c: Parameters<typeof prefersMsgpack>[0]) => (prefersMsgpack(c) ? "msgpack" : "json");

export const eventRoutes = createRouter()
  .openapi(createEventRoute, async (c) => {
    const { event, tags, deliveries } = await service.createEvent(c.var.db, c.var.claims, c.req.valid("json"));
    scheduleDelivery(c, deliveries);
    return c.json(event, 201, { Location: `/api/events/${event.id}`, ETag: tags[variantOf(c)] });
  })
  .openapi(batchRoute, async (c) => {
    const { events, deliveries } = await service.createEvents(c.var.db, c.var.claims, c.req.valid("json").events);
    scheduleDelivery(c, deliveries);
    return c.json(events, 201);
  })
  .openapi(importRoute, async (c) => {
    const type = c.req.header("content-type");
    // No type left means no body: the body reader drops the type of an empty one.
    if (type === undefined) throw validationFailed([{ field: "body", message: "Required: an iCalendar file (text/calendar)." }]);
    if (type.split(";")[0].trim().toLowerCase() !== "text/calendar") throw new ApiError(415, "unsupported_media_type", "Send the calendar as text/calendar.");
    const { items, warnings } = readCalendar(await c.req.text());
    const { events, deliveries, dropped } = await service.importEvents(c.var.db, c.var.claims, items);
    scheduleDelivery(c, deliveries);
    return c.json({ events, warnings: [...warnings, ...dropped] }, 201);
  })
  .openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    // The user the token names; the session check rides in the service's first batch.
    const actor = { id: c.var.claims.userId };
    const start = queryInstant(query.start, "start");
    const end = queryInstant(query.end, "end");
    if (start !== undefined && end !== undefined && end <= start) throw validationFailed([{ field: "end", message: "Must be after start." }]);
    const scope = `events:${actor.id}`;
    const after = query.cursor ? ((await decodeCursor(c.env, scope, query.cursor)) as [number, number]) : undefined;
    const page = await service.listEvents(c.var.db, actor, { limit: query.limit, start, end, q: query.q, role: query.role, after }, sessionCheckedBatch(c));
    if (prefersCalendar(c)) {
      const url = new URL(c.req.url);
      const headers: Record<string, string> = { "Content-Type": CALENDAR_TYPE };
      if (page.next) {
        url.searchParams.set("cursor", await encodeCursor(c.env, scope, page.next));
        headers.Link = `<${url.pathname}${url.search}>; rel="next"`;
      }
      return c.body(renderCalendar(page.rows, { name: "Events", host: url.hostname }), 200, headers);
    }
    return c.json({ items: page.items, next_cursor: page.next ? await encodeCursor(c.env, scope, page.next) : null }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { at } = c.req.valid("query");
    // Session, access and permissions in one round trip; the permissions are only shown if access holds.
    const [[access], permissionRows] = await batchWithSessionCheck(c, [accessQuery(c.var.db, c.var.claims.userId, id), permissionsQuery(c.var.db, id)]);
    const { event, role } = checkAccess(access, "read");
    const { detail, tags } = await detailOf(event, role, permissionRows as PermissionRow[]);
    const calendar = prefersCalendar(c);
    if (at !== undefined) {
      const past = await service.eventAt(c.var.db, event, role, queryInstant(at, "at")!);
      if (calendar) return c.body(renderCalendar([fromEventBody(past)], { name: past.title, host: new URL(c.req.url).hostname }), 200, { "Content-Type": CALENDAR_TYPE });
      return c.json({ ...past, permissions: detail.permissions }, 200);
    }
    // The calendar text shows only the content, so a tag of the JSON body's changes at least as often.
    const etag = calendar ? tags.json.replace(/"$/, '-ics"') : tags[variantOf(c)];
    const inm = c.req.valid("header")["if-none-match"];
    if (inm !== undefined && noneMatchFails(inm, etag)) return c.body(null, 304, { ETag: etag });
    if (calendar) return c.body(renderCalendar([event], { name: event.title, host: new URL(c.req.url).hostname }), 200, { ETag: etag, "Content-Type": CALENDAR_TYPE });
    return c.json(detail, 200, { ETag: etag });
  })
  .openapi(updateRoute("put"), update)
  .openapi(updateRoute("patch"), update)
  .openapi(deleteRoute, async (c) => {
    const { deliveries } = await service.deleteEvent(c.var.db, c.var.claims, c.req.valid("param").id, c.req.valid("header")["if-match"]);
    scheduleDelivery(c, deliveries);
    return c.body(null, 204);
  });

