import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import { EventPatch } from "../events/schemas";
import { prefersMsgpack } from "../lib/formats";
import { IdParam, bodyOf, createRouter, problemResponses } from "../lib/openapi";
import { validationFailed } from "../lib/problem";
import { scheduleDelivery } from "../notifications/schedule";
import { MAX_EXCEPTIONS, MAX_EXCEPTIONS_BYTES } from "./model";
import { ExceptionList, OCCURRENCE_FIELDS, OccurrenceSchema, ScopeQuery, SplitResult } from "./schemas";
import * as service from "./service";

const tags = ["Exceptions"];
const OccurrenceParams = z.object({
  id: IdParam,
  original_start: z
    .string()
    .max(64)
    .openapi({ param: { in: "path", required: true }, description: "The occurrence's original start (ISO 8601; without an offset read in the event's timezone)", example: "2031-03-10T08:00:00Z" }),
});
const IfMatch = z.object({
  "if-match": z.string().optional().openapi({ param: { in: "header" }, description: "The series' ETag, a list of them, or `*` (strong comparison); a mismatch is a 412", example: '"3-2b9CwD8mJ1x0aP4q"' }),
});
const ETagHeader = { ETag: { description: "The series' new strong ETag (what GET /api/events/{id} now returns)", schema: { type: "string" as const } } };
const ConflictProblem = { description: "The moved occurrence (or the following series) overlaps another event of the owner; `conflicts` lists them", content: { "application/problem+json": { schema: z.object({ conflicts: z.array(z.unknown()) }).passthrough() } } };
const LIMITS = `A series holds at most ${MAX_EXCEPTIONS} exceptions and ${MAX_EXCEPTIONS_BYTES} bytes of them as JSON (422 naming \`exceptions\` past either).`;
const PLACEMENT = "A moved occurrence stays within the series' span (not before its first start, not after its last occurrence ends) and may not start when another occurrence of the series does (422 naming `start_time`).";

const listRoute = createRoute({
  method: "get",
  path: "/{id}/exceptions",
  tags,
  summary: "The series' single-occurrence exceptions, by original start (any role)",
  description: `Cancelled and changed occurrences. ${LIMITS}`,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam }) },
  responses: { 200: bodyOf(ExceptionList, "The exceptions"), ...problemResponses(401, 404) },
});

const patchRoute = createRoute({
  method: "patch",
  path: "/{id}/occurrences/{original_start}",
  tags,
  summary: "Change one occurrence, or with scope=following split the series there (owners, editors)",
  description:
    "Without `scope` (or `scope=this`): the body may hold `title`, `description`, `location`, `start_time`, `end_time`, which this occurrence then overrides (other fields are a 422); the answer is the occurrence and the series' new ETag. " +
    "A lone `start_time` keeps the occurrence's duration; a moved occurrence is conflict-checked in its new slot only (409). PATCH on a cancelled occurrence restores it. " +
    `${PLACEMENT} ${LIMITS} ` +
    "With `scope=following`: any writable event field; in one batch the series gets an UNTIL one second before `original_start` and a new event, `following`, starts there with the changes, `split_from`, the same permissions and the exceptions from that occurrence on (a COUNT rule keeps the remaining count). " +
    "Exceptions the changes no longer match are dropped and listed in `dropped_exceptions`. Splitting at the first occurrence is a 422 (change the series instead). " +
    "`original_start` that is not an occurrence, or a one-off event: 404. Every change is a new version of the series (`changes.exceptions`), notified with `data.original_start`.",
  ...authenticated(),
  request: { params: OccurrenceParams, query: ScopeQuery, headers: IfMatch, body: { ...bodyOf(EventPatch, "Fields to change"), required: true } },
  responses: {
    200: { ...bodyOf(z.union([OccurrenceSchema, SplitResult]), "The occurrence (scope=this), or `{series, following}` (scope=following)"), headers: ETagHeader },
    409: ConflictProblem,
    ...problemResponses(400, 401, 403, 404, 412, 413, 415, 422, 429),
  },
});

const cancelRoute = createRoute({
  method: "delete",
  path: "/{id}/occurrences/{original_start}",
  tags,
  summary: "Cancel one occurrence (owners, editors)",
  description: `The occurrence stops appearing in occurrences, the agenda, list windows and conflict checks, and its slot is free. A new version of the series; cancelling it again changes nothing. Rollback to an earlier version brings it back. ${LIMITS}`,
  ...authenticated(),
  request: { params: OccurrenceParams, headers: IfMatch },
  responses: { 204: { description: "Cancelled" }, ...problemResponses(401, 403, 404, 412, 422, 429) },
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
      const { body: result, tags, deliveries } = await service.splitSeries(c.var.db, c.var.actor, id, original_start, body, ifMatch);
      scheduleDelivery(c, deliveries);
      return c.json(result, 200, { ETag: tags[prefersMsgpack(c) ? "msgpack" : "json"] });
    }
    const wrong = NOT_FOR_ONE_OCCURRENCE.filter((field) => body[field] !== undefined);
    if (wrong.length) throw validationFailed(wrong.map((field) => ({ field, message: "One occurrence cannot change this; use scope=following or PATCH the series." })));
    const patch = Object.fromEntries(OCCURRENCE_FIELDS.filter((f) => body[f] !== undefined).map((f) => [f, body[f]]));
    const { occurrence, tags, deliveries } = await service.changeOccurrence(c.var.db, c.var.actor, id, original_start, patch, ifMatch);
    scheduleDelivery(c, deliveries);
    return c.json(occurrence, 200, { ETag: tags[prefersMsgpack(c) ? "msgpack" : "json"] });
  })
  .openapi(cancelRoute, async (c) => {
    const { id, original_start } = c.req.valid("param");
    const { deliveries } = await service.cancelOccurrence(c.var.db, c.var.actor, id, original_start, c.req.valid("header")["if-match"]);
    scheduleDelivery(c, deliveries);
    return c.body(null, 204);
  });
