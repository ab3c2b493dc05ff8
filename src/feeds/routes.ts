import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { authenticated, batchWithSessionCheck } from "../auth/middleware";
import { IdParam, PUBLIC, bodyOf, createRouter, headers, problemResponses } from "../lib/openapi";
import { ApiError } from "../lib/problem";
import { enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { noneMatchFails } from "../events/etag";
import { FEED_REFRESH_SECONDS, renderCalendar } from "../ical/write";
import { FeedCreate, FeedList, FeedSecret } from "./schemas";
import { createFeed, deleteFeed, FEED_WINDOW_DAYS, feedsQuery, FETCH_RECORD_INTERVAL_MS, hashToken, lookupFeed, MAX_FEED_EVENTS, MAX_FEEDS_PER_USER, recordFetch, rotateFeed, toFeedBody, TOKEN_SHAPE } from "./service";

const tags = ["Feeds"];
const IdParams = z.object({ id: IdParam });
const originOf = (url: string) => new URL(url).origin;

const createFeedRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createFeed",
  tags,
  ...authenticated(),
  request: { body: { ...bodyOf(FeedCreate, "The feed's name (optional)"), required: false } },
  responses: { 201: bodyOf(FeedSecret, "Created; subscribe to `url`"), ...problemResponses(400, 401, 409, 413, 415, 422, 429) },
});

const listFeedsRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listFeeds",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  responses: { 200: bodyOf(FeedList, "Your feeds"), ...problemResponses(401) },
});

const rotateRoute = createRoute({
  method: "post",
  path: "/{id}/rotate",
  operationId: "rotateFeed",
  tags,
  ...authenticated(),
  request: { params: IdParams },
  responses: { 200: bodyOf(FeedSecret, "The feed with its new URL"), ...problemResponses(401, 404, 429) },
});

const deleteFeedRoute = createRoute({
  method: "delete",
  path: "/{id}",
  operationId: "deleteFeed",
  tags,
  ...authenticated(),
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 404, 429) },
});

export const feedRoutes = createRouter()
  .openapi(createFeedRoute, async (c) => {
    const body = (c.req.valid("json") as { name?: string } | undefined) ?? {};
    return c.json(await createFeed(c.var.db, c.var.actor, body.name, originOf(c.req.url)), 201);
  })
  .openapi(listFeedsRoute, async (c) => {
    const [rows] = await batchWithSessionCheck(c, [feedsQuery(c.var.db, c.var.claims.userId)]);
    return c.json({ items: rows.map(toFeedBody) }, 200);
  })
  .openapi(rotateRoute, async (c) => c.json(await rotateFeed(c.var.db, c.var.actor, c.req.valid("param").id, originOf(c.req.url)), 200))
  .openapi(deleteFeedRoute, async (c) => {
    await deleteFeed(c.var.db, c.var.actor, c.req.valid("param").id);
    return c.body(null, 204);
  });

const CALENDAR_TYPE = "text/calendar; charset=utf-8";
const FeedHeaders = headers("ETag", "Last-Modified");

const fetchRoute = createRoute({
  method: "get",
  path: "/{file}",
  operationId: "getFeedCalendar",
  tags,
  security: PUBLIC,
  request: {
    params: z.object({ file: z.string().regex(/^[A-Za-z0-9_-]{1,100}\.ics$/).openapi({ param: { in: "path", required: true } }) }),
    headers: z.object({
      "if-none-match": z.string().optional().openapi({ param: { in: "header" } }),
      "if-modified-since": z.string().optional().openapi({ param: { in: "header" } }),
    }),
  },
  responses: {
    200: { description: "The calendar", headers: FeedHeaders, content: { "text/calendar": { schema: z.string() } } },
    304: { description: "Not modified", headers: FeedHeaders },
    ...problemResponses(404, 410, 429),
  },
});

async function bodyTag(text: string) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `"${btoa(String.fromCharCode(...digest.subarray(0, 18))).replaceAll("+", "-").replaceAll("/", "_")}"`;
}

const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();
const DAY_MS = 86_400_000;

/** The public `GET /feeds/{token}.ics` (and HEAD, which Hono answers from it without the body). */
export const publicFeedRoutes = createRouter().openapi(fetchRoute, async (c) => {
  const token = c.req.valid("param").file.slice(0, -".ics".length);
  if (!TOKEN_SHAPE.test(token)) throw new ApiError(404, "not_found", "No feed has that URL.");
  const hash = await hashToken(token);
  await enforceRateLimit(c.env, c.env.FEED_LIMITER, `feed:${hash}`, RATE_LIMIT_PERIODS.feed);
  const now = Date.now();
  const found = await lookupFeed(c.var.db, hash, now);
  if (found.state === "unknown") throw new ApiError(404, "not_found", "No feed has that URL.");
  if (found.state === "gone") throw new ApiError(410, "gone", "This feed was rotated or deleted; ask its owner for the new URL.");
  const write = recordFetch(c.var.db, found.feed, now);
  if (write) c.executionCtx.waitUntil(write.catch((error) => console.error("recording a feed fetch failed:", error)));

  const text = renderCalendar(found.events, { name: found.feed.name, host: new URL(c.req.url).hostname, refreshSeconds: FEED_REFRESH_SECONDS });
  const etag = await bodyTag(text);
  // The window moves each midnight UTC, which can drop an event without any change being recorded.
  const lastModified = Math.max(found.lastChange, Math.floor(now / DAY_MS) * DAY_MS);
  const headers = { ETag: etag, "Last-Modified": httpDate(lastModified), "Cache-Control": "private, no-cache" };
  const { "if-none-match": inm, "if-modified-since": ims } = c.req.valid("header");
  // RFC 9110 13.2.2: If-None-Match, when present, decides; If-Modified-Since only without it, and
  // only a date that has passed: a client clock ahead of ours would otherwise get 304 for every change.
  const since = ims === undefined ? NaN : Date.parse(ims);
  const notModified = inm !== undefined ? noneMatchFails(inm, etag) : since <= now && since >= Math.floor(lastModified / 1000) * 1000;
  if (notModified) return c.body(null, 304, headers);
  return c.body(text, 200, { ...headers, "Content-Type": CALENDAR_TYPE });
});
