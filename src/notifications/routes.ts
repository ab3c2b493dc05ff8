import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { authenticateAccess } from "../auth/service";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { IdParam, PageQuery, bodyOf, createRouter, problemResponses } from "../lib/openapi";
import { ApiError, notFound } from "../lib/problem";
import { listNotifications, markAllRead, markRead, NOTIFICATION_TYPES, UNREAD_COUNT_CAP } from "./service";
import { AUTH_CHECKS_PER_WINDOW, AUTH_WINDOW_MS, REPLAY_FRAME_LIMIT, SOCKETS_PER_USER } from "./hub";
import { bridgeSocket, INBOUND_FRAMES_PER_WINDOW, INBOUND_WINDOW_MS, MAX_INBOUND_FRAME_BYTES } from "./socket-bridge";

const tags = ["Notifications"];

export const NotificationSchema = z
  .object({
    id: z.number().int(),
    type: z.enum(NOTIFICATION_TYPES),
    event_id: z.number().int().nullable(),
    actor: z.object({ id: z.number().int(), username: z.string() }),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).openapi({ description: "What changed: fields with from/to, the new role, ..." }),
    is_read: z.boolean(),
    created_at: z.string(),
  })
  .openapi("Notification");

const NotificationPage = z
  .object({
    items: z.array(NotificationSchema),
    next_cursor: z.string().nullable(),
    unread_count: z.number().int().openapi({ description: `Unread notifications, counted up to ${UNREAD_COUNT_CAP}: ${UNREAD_COUNT_CAP} means that many or more` }),
  })
  .openapi("NotificationPage");

const listRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Your notifications: newest first, or with `since` the ones after it, oldest first",
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
  tags,
  summary: "Mark one notification read (idempotent)",
  ...authenticated(),
  request: { params: z.object({ id: IdParam }) },
  responses: { 204: { description: "Read" }, ...problemResponses(401, 404) },
});

const readAllRoute = createRoute({
  method: "post",
  path: "/read-all",
  tags,
  summary: "Mark every notification read",
  ...authenticated(),
  responses: { 204: { description: "All read" }, ...problemResponses(401) },
});

const socketRoute = createRoute({
  method: "get",
  path: "/notifications",
  tags,
  summary: "WebSocket stream of your notifications",
  description: [
    "Upgrade with `token` (an access token); a bad, expired or revoked one is refused with 401.",
    `Server frames: first \`{type:'hello', user_id, last_id}\`; with \`since\`, at most ${REPLAY_FRAME_LIMIT} notifications after it in id order, and when more were missed \`{type:'replay_truncated', next_since, last_id}\` (page the rest with \`GET /api/notifications?since=<next_since>\`); then live \`{type:'notification', notification}\`. Delivery is at-least-once: de-duplicate by id.`,
    `Client frames: text \`ping\` is answered \`pong\` without waking the hub. \`{type:'auth', access_token}\` with a fresh access token of the same session extends the socket's life: answered \`{type:'auth_ok', expires_at}\`, or \`{type:'error', code:'unauthorized'}\` (the socket is unchanged); at most ${AUTH_CHECKS_PER_WINDOW} auth frames per user are checked in ${AUTH_WINDOW_MS / 1000} s, more are answered \`{type:'error', code:'rate_limited'}\`. Other frames are ignored. A frame over ${MAX_INBOUND_FRAME_BYTES} bytes closes the socket with 1009; more than ${INBOUND_FRAMES_PER_WINDOW} frames (ping included) in ${INBOUND_WINDOW_MS / 1000} s close it with 1008.`,
    "`format=msgpack` sends the same objects as binary MessagePack frames (and accepts the auth frame as MessagePack too).",
    `Close codes: 4001 when the session is revoked (logout, refresh-token reuse, password change) or the access token expires without renewal; 4008 when the user opens more than ${SOCKETS_PER_USER} sockets (the oldest is closed); 1008, 1009 as above; 1011 when the replay fails.`,
  ].join(" "),
  request: {
    query: z.object({
      // Optional in the schema so that a missing token is a 401 like a bad one, not a 422.
      token: z.string().optional().openapi({ param: { in: "query", required: true } }),
      since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().openapi({ param: { in: "query" } }),
      format: z.enum(["json", "msgpack"]).optional().openapi({ param: { in: "query" } }),
    }),
  },
  responses: { 101: { description: "Switching protocols" }, ...problemResponses(401, 422, 426) },
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
