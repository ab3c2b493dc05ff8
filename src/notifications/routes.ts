import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { authenticateAccess } from "../auth/service";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { IdParam, PageQuery, ProblemSchema, Timestamp, bodyOf, createRouter, problemResponse, problemResponses } from "../lib/openapi";
import { ApiError, notFound } from "../lib/problem";
import { listNotifications, markAllRead, markRead, NOTIFICATION_TYPES } from "./service";
import { bridgeSocket } from "./socket-bridge";

const tags = ["Notifications"];

export const NotificationSchema = z
  .object({
    id: z.number().int(),
    type: z.enum(NOTIFICATION_TYPES),
    event_id: z.number().int().nullable(),
    actor: z.object({ id: z.number().int(), username: z.string() }),
    message: z.string(),
    data: z.record(z.string(), z.unknown()),
    is_read: z.boolean(),
    created_at: Timestamp,
  })
  .openapi("Notification");

const NotificationPage = z
  .object({
    items: z.array(NotificationSchema),
    next_cursor: z.string().nullable(),
    unread_count: z.number().int(),
  })
  .openapi("NotificationPage");

const listRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listNotifications",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: {
    query: PageQuery.extend({
      unread: z.enum(["true", "false"]).optional().openapi({ param: { in: "query" } }),
      since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().openapi({ param: { in: "query" } }),
    }),
  },
  responses: { 200: bodyOf(NotificationPage, "A page"), ...problemResponses(401, 422) },
});

const readRoute = createRoute({
  method: "post",
  path: "/{id}/read",
  operationId: "markNotificationRead",
  tags,
  ...authenticated(),
  request: { params: z.object({ id: IdParam }) },
  responses: { 204: { description: "Read" }, ...problemResponses(401, 404) },
});

const readAllRoute = createRoute({
  method: "post",
  path: "/read-all",
  operationId: "markAllNotificationsRead",
  tags,
  ...authenticated(),
  responses: { 204: { description: "All read" }, ...problemResponses(401) },
});

const socketRoute = createRoute({
  method: "get",
  path: "/notifications",
  operationId: "connectNotificationSocket",
  tags,
  security: [{ accessTokenQuery: [] }],
  request: {
    query: z.object({
      // Optional in the schema so that a missing token is a 401 like a bad one, not a 422.
      token: z.string().optional().openapi({ param: { in: "query", required: true } }),
      since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().openapi({ param: { in: "query" } }),
      format: z.enum(["json", "msgpack"]).optional().openapi({ param: { in: "query" } }),
    }),
  },
  // No 2xx: an upgrade is 101 or a refusal; `default` covers the unexpected (a 500).
  responses: { 101: { description: "Switching protocols" }, ...problemResponses(401, 422, 426), default: problemResponse(ProblemSchema) },
});

const cursorScope = (userId: number, since: number | undefined, unread: boolean) => `notifications:${userId}:${since ?? "-"}:${unread}`;

export const notificationRoutes = createRouter();
notificationRoutes
  .openapi(listRoute, async (c) => {
    // The user the token names; the session check rides in the list's batch.
    const actor = { id: c.var.claims.userId };
    const query = c.req.valid("query");
    const unread = query.unread === "true";
    const scope = cursorScope(actor.id, query.since, unread);
    const after = query.cursor ? Number((await decodeCursor(c.env, scope, query.cursor))[0]) : undefined;
    const page = await listNotifications(c.var.db, actor.id, { limit: query.limit, unread, since: query.since, after }, sessionCheckedBatch(c));
    const last = page.items.at(-1);
    const next = page.hasMore && last ? await encodeCursor(c.env, scope, [last.id]) : null;
    return c.json({ items: page.items, next_cursor: next, unread_count: page.unreadCount }, 200);
  })
  .openapi(readRoute, async (c) => {
    if (!(await markRead(c.var.db, c.var.actor.id, c.req.valid("param").id))) throw notFound("notification");
    return c.body(null, 204);
  })
  .openapi(readAllRoute, async (c) => {
    await markAllRead(c.var.db, c.var.actor.id);
    return c.body(null, 204);
  });

/**
 * The socket route: the user comes from the verified token only, never from the path or query.
 * The hub gets the token's expiry, so the socket closes when the token does (unless renewed).
 */
export const socketRoutes = createRouter().openapi(socketRoute, async (c) => {
  const query = c.req.valid("query");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") throw new ApiError(426, "upgrade_required", "Connect with a WebSocket upgrade.");
  const access = query.token ? await authenticateAccess(c.var.db, c.env, query.token) : null;
  if (!access) throw socketUnauthorized();
  const { actor, expiresAt } = access;
  const url = new URL("https://hub/connect");
  url.searchParams.set("user_id", String(actor.id));
  url.searchParams.set("session_id", actor.sessionId);
  url.searchParams.set("expires_at", String(expiresAt));
  url.searchParams.set("format", query.format ?? "json");
  if (query.since !== undefined) url.searchParams.set("since", String(query.since));
  const hub = c.env.NOTIFICATION_HUB.getByName(String(actor.id));
  const upgraded = await hub.fetch(new Request(url, { headers: { Upgrade: "websocket" } }));
  // The session was revoked between the token check and the hub.
  if (!upgraded.webSocket) throw socketUnauthorized();
  // A fresh Response: the hub's has immutable headers, and our middleware adds some.
  return new Response(null, { status: 101, webSocket: bridgeSocket(upgraded.webSocket) });
});

const socketUnauthorized = () => new ApiError(401, "unauthorized", "The token is invalid, expired or revoked.");
