import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import { conflictResponse, EventPatch, preconditionResponse } from "../events/schemas";
import { prefersMsgpack } from "../lib/formats";
import { IdParam, bodyOf, createRouter, headers, problemResponses } from "../lib/openapi";
import { validationFailed } from "../lib/problem";
import { scheduleDelivery } from "../notifications/schedule";
import { ExceptionList, OCCURRENCE_FIELDS, OccurrenceSchema, ScopeQuery, SplitResult } from "./schemas";
import * as service from "./service";

const tags = ["Exceptions"];
const OccurrenceParams = z.object({
  id: IdParam,
  original_start: z.string().max(64).openapi({ param: { in: "path", required: true } }),
});
const IfMatch = z.object({
  "if-match": z.string().optional().openapi({ param: { in: "header" } }),
});
const listRoute = createRoute({
  method: "get",
  path: "/{id}/exceptions",
  operationId: "listEventExceptions",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam }) },
  responses: { 200: bodyOf(ExceptionList, "The exceptions"), ...problemResponses(401, 404) },
});

const patchRoute = createRoute({
  method: "patch",
  path: "/{id}/occurrences/{original_start}",
  operationId: "updateOccurrence",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: OccurrenceParams, query: ScopeQuery, headers: IfMatch, body: { ...bodyOf(EventPatch, "Fields to change"), required: true } },
  responses: {
    200: { ...bodyOf(z.union([OccurrenceSchema, SplitResult]), "The occurrence (scope=this), or `{series, following}` (scope=following)"), headers: headers("ETag") },
    409: conflictResponse,
    412: preconditionResponse,
    ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429),
  },
});

const cancelRoute = createRoute({
  method: "delete",
  path: "/{id}/occurrences/{original_start}",
  operationId: "cancelOccurrence",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: OccurrenceParams, headers: IfMatch },
  responses: { 204: { description: "Cancelled" }, 412: preconditionResponse, ...problemResponses(401, 403, 404, 422, 429) },
});

const NOT_FOR_ONE_OCCURRENCE = ["is_recurring", "recurrence_pattern", "timezone"] as const;

export const exceptionRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const items = await service.listExceptions(c.var.db, { id: c.var.claims.userId }, c.req.valid("param").id, sessionCheckedBatch(c));
    return c.json({ items }, 200);
  })
  .openapi(patchRoute, async (c) => {
    const { id, original_start } = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = c.req.valid("header")["if-match"];
    if (c.req.valid("query").scope === "following") {
      const { body: result, tags, deliveries } = await service.splitSeries(c.var.db, c.var.claims, id, original_start, body, ifMatch);
      scheduleDelivery(c, deliveries);
      return c.json(result, 200, { ETag: tags[prefersMsgpack(c) ? "msgpack" : "json"] });
    }
    const wrong = NOT_FOR_ONE_OCCURRENCE.filter((field) => body[field] !== undefined);
    if (wrong.length) throw validationFailed(wrong.map((field) => ({ field, message: "Not for one occurrence; use scope=following." })));
    const patch = Object.fromEntries(OCCURRENCE_FIELDS.filter((f) => body[f] !== undefined).map((f) => [f, body[f]]));
    const { occurrence, tags, deliveries } = await service.changeOccurrence(c.var.db, c.var.claims, id, original_start, patch, ifMatch);
    scheduleDelivery(c, deliveries);
    return c.json(occurrence, 200, { ETag: tags[prefersMsgpack(c) ? "msgpack" : "json"] });
  })
  .openapi(cancelRoute, async (c) => {
    const { id, original_start } = c.req.valid("param");
    const { deliveries } = await service.cancelOccurrence(c.var.db, c.var.claims, id, original_start, c.req.valid("header")["if-match"]);
    scheduleDelivery(c, deliveries);
    return c.body(null, 204);
  });
