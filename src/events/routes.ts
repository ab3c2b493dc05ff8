import { createRoute, z, type RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { IdParam, authenticated, bodyOf, createRouter, ifMatchVersion, problemResponses, queryInstant } from "../lib/openapi";
import { validationFailed } from "../lib/problem";
import { scheduleDelivery } from "../notifications/schedule";
import { eventAt } from "../versions/service";
import { permissionsQuery, toPermissionBody } from "../sharing/service";
import { contentFromPatch, contentOf, toEventBody } from "./content";
import { accessQuery, checkAccess } from "./policy";
import { BatchBody, ConflictSchema, EventCreate, EventDetailSchema, EventListQuery, EventPage, EventPatch, EventSchema, MAX_BATCH } from "./schemas";
import * as service from "./service";

const tags = ["Events"];
const IdParams = z.object({ id: IdParam });
const IfMatch = z.object({ "if-match": z.string().optional().openapi({ param: { in: "header" }, example: '"3"' }) });
const ConflictProblem = { description: "Overlaps another event of the owner; `conflicts` lists them", content: { "application/problem+json": { schema: z.object({ conflicts: z.array(ConflictSchema) }).passthrough() } } };

const createEventRoute = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create an event; you become its owner",
  ...authenticated(),
  request: { body: { ...bodyOf(EventCreate, "The event"), required: true } },
  responses: { 201: bodyOf(EventSchema, "Created; Location names it"), 409: ConflictProblem, ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const batchRoute = createRoute({
  method: "post",
  path: "/batch",
  tags,
  summary: `Create 1..${MAX_BATCH} events, all or nothing`,
  description: "Any invalid item (422) or any overlap with an existing event or another item (409) writes nothing; each error names its item `index`.",
  ...authenticated(),
  request: { body: { ...bodyOf(BatchBody, "The events"), required: true } },
  responses: { 201: bodyOf(z.array(EventSchema), "All created"), 409: ConflictProblem, ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const listRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Events you own or that are shared with you, by start time",
  description: "Keyset-paged: pass `next_cursor` back as `cursor`. With `start`/`end`, a series is included when any occurrence meets the window.",
  ...authenticated(),
  request: { query: EventListQuery },
  responses: { 200: bodyOf(EventPage, "A page"), ...problemResponses(401, 422) },
});

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  tags,
  summary: "One event with its permissions; `?at=` gives it as it was then",
  ...authenticated(),
  request: {
    params: IdParams,
    query: z.object({ at: z.string().max(64).optional().openapi({ param: { in: "query" }, description: "An instant; the event as it was then" }) }),
    headers: z.object({ "if-none-match": z.string().optional().openapi({ param: { in: "header" } }) }),
  },
  responses: { 200: bodyOf(EventDetailSchema, "The event; ETag is its version"), 304: { description: "Not modified" }, ...problemResponses(401, 404, 422) },
});

const updateRoute = (method: "put" | "patch") =>
  createRoute({
    method,
    path: "/{id}",
    tags,
    summary: method === "put" ? "Update an event (partial, same as PATCH)" : "Update an event (partial)",
    ...authenticated(),
    request: { params: IdParams, headers: IfMatch, body: { ...bodyOf(EventPatch, "Fields to change"), required: true } },
    responses: { 200: bodyOf(EventSchema, "The event after the change"), 409: ConflictProblem, ...problemResponses(400, 401, 403, 404, 412, 413, 415, 422, 429) },
  });

const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags,
  summary: "Delete an event with its permissions and history (owners)",
  ...authenticated(),
  request: { params: IdParams, headers: IfMatch },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 412, 429) },
});


const update: RouteHandler<ReturnType<typeof updateRoute>, AppEnv> = async (c) => {
  const patch = c.req.valid("json");
  const { event, deliveries } = await service.changeEvent(c.var.db, c.var.actor, c.req.valid("param").id, {
    action: "update",
    ifMatch: ifMatchVersion(c.req.valid("header")["if-match"]),
    nextContent: (current) => contentFromPatch(contentOf(current), patch),
  });
  scheduleDelivery(c, deliveries);
  return c.json(event, 200, { ETag: `"${event.version}"` });
};

export const eventRoutes = createRouter()
  .openapi(createEventRoute, async (c) => {
    const { event, deliveries } = await service.createEvent(c.var.db, c.var.actor, c.req.valid("json"));
    scheduleDelivery(c, deliveries);
    return c.json(event, 201, { Location: `/api/events/${event.id}`, ETag: `"${event.version}"` });
  })
  .openapi(batchRoute, async (c) => {
    const { events, deliveries } = await service.createEvents(c.var.db, c.var.actor, c.req.valid("json").events);
    scheduleDelivery(c, deliveries);
    return c.json(events, 201);
  })
  .openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const actor = c.var.actor;
    const start = queryInstant(query.start, "start");
    const end = queryInstant(query.end, "end");
    if (start !== undefined && end !== undefined && end <= start) throw validationFailed([{ field: "end", message: "Must be after start." }]);
    const scope = `events:${actor.id}`;
    const after = query.cursor ? ((await decodeCursor(c.env, scope, query.cursor)) as [number, number]) : undefined;
    const page = await service.listEvents(c.var.db, actor, { limit: query.limit, start, end, q: query.q, role: query.role, after });
    return c.json({ items: page.items, next_cursor: page.next ? await encodeCursor(c.env, scope, page.next) : null }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { at } = c.req.valid("query");
    // Access and permissions in one round trip; the permissions are only shown if access holds.
    const [[access], permissionRows] = await c.var.db.batch([accessQuery(c.var.db, c.var.actor.id, id), permissionsQuery(c.var.db, id)]);
    const { event, role } = checkAccess(access, "read");
    const permissions = permissionRows.map(toPermissionBody);
    if (at !== undefined) {
      const past = await eventAt(c.var.db, event, role, queryInstant(at, "at")!);
      return c.json({ ...past, permissions }, 200);
    }
    const etag = `"${event.version}"`;
    const inm = c.req.valid("header")["if-none-match"];
    if (inm && inm.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag || tag.trim() === "*")) return c.body(null, 304, { ETag: etag });
    const body = { ...toEventBody(event, role), permissions };
    return c.json(body, 200, { ETag: etag });
  })
  .openapi(updateRoute("put"), update)
  .openapi(updateRoute("patch"), update)
  .openapi(deleteRoute, async (c) => {
    const { deliveries } = await service.deleteEvent(c.var.db, c.var.actor, c.req.valid("param").id, ifMatchVersion(c.req.valid("header")["if-match"]));
    scheduleDelivery(c, deliveries);
    return c.body(null, 204);
  });

