import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import { EventSchema } from "../events/schemas";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { PageQuery, bodyOf, createRouter, problemResponses } from "../lib/openapi";
import { validationFailed } from "../lib/problem";
import { changesPage, fullSyncPage, type SyncPosition } from "./service";
import { issueSyncToken, readSyncToken, SYNC_TOKEN_RETENTION_DEFAULT_SECONDS } from "./token";

const tags = ["Sync"];

const SyncItemSchema = z
  .union([
    z.object({ kind: z.literal("event"), id: z.number().int(), event: EventSchema }),
    z.object({ kind: z.literal("event"), id: z.number().int(), deleted: z.literal(true) }),
  ])
  .openapi("SyncItem");

const SyncPageSchema = z
  .object({
    items: z.array(SyncItemSchema),
    next_cursor: z.string().nullable(),
    next_sync_token: z.string().nullable(),
  })
  .openapi("SyncPage");

const syncRoute = createRoute({
  method: "get",
  path: "/sync",
  operationId: "syncEvents",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: {
    query: PageQuery.extend({
      sync_token: z.string().max(500).optional().openapi({ param: { in: "query" } }),
    }),
  },
  responses: {
    200: bodyOf(SyncPageSchema, "A page"),
    ...problemResponses(401, 410, 422),
  },
});

type Wire = ["full", number, number, number] | ["changes", number, number];

export const syncRoutes = createRouter().openapi(syncRoute, async (c) => {
  const query = c.req.valid("query");
  const actor = { id: c.var.claims.userId };
  if (query.cursor !== undefined && query.sync_token !== undefined) {
    throw validationFailed([{ field: "sync_token", message: "Send either sync_token (to start) or cursor (to continue), not both." }]);
  }
  const scope = `sync:${actor.id}`;
  let position: SyncPosition | undefined;
  let first = false;
  if (query.cursor !== undefined) {
    const wire = (await decodeCursor(c.env, scope, query.cursor)) as Wire;
    position = wire[0] === "full" ? { mode: "full", after: [wire[1], wire[2]], upTo: wire[3] } : { mode: "changes", after: wire[1], upTo: wire[2] };
  } else if (query.sync_token !== undefined) {
    position = { mode: "changes", after: await readSyncToken(c.env, actor.id, query.sync_token), upTo: 0 };
    first = true;
  }
  const batch = sessionCheckedBatch(c);
  const page =
    position?.mode === "changes" ? await changesPage(c.var.db, actor, query.limit, position, first, batch) : await fullSyncPage(c.var.db, actor, query.limit, position, batch);
  const next = page.next
    ? await encodeCursor(c.env, scope, page.next.mode === "full" ? ["full", ...page.next.after, page.next.upTo] : ["changes", page.next.after, page.next.upTo])
    : null;
  const token = page.syncedTo !== null ? await issueSyncToken(c.env, actor.id, page.syncedTo) : null;
  return c.json({ items: page.items, next_cursor: next, next_sync_token: token }, 200);
});
