import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { accessQuery, checkAccess } from "../events/policy";
import { conflictResponse, EventSchema, ExceptionSchema, preconditionResponse } from "../events/schemas";
import type { AppEnv, SessionClaims } from "../env";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { MSGPACK_TYPES, prefersMsgpack } from "../lib/formats";
import { IdParam, PageQuery, Timestamp, bodyOf, createRouter, headers, problemResponses } from "../lib/openapi";
import { authenticated, batchWithSessionCheck } from "../auth/middleware";
import { scheduleDelivery } from "../notifications/schedule";
import { ApiError } from "../lib/problem";
import { changelogPage, diffPage, snapshotPage, type HistoryLinks } from "./html";
import { HISTORY_LINK_TTL_SECONDS, historyLinkIssuer, refusedLink, verifyHistoryLink, type HistoryView } from "./links";
import { changelogOf, changelogQuery, diffSnapshots, foundVersion, rollbackEvent, versionQuery, type VersionEntry } from "./service";

const tags = ["Versions"];

const HtmlUrl = z.string();
// What an event field holds (`exceptions`: the list); `null` on either side is "absent" (a creation's `from`).
const FieldValue = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(ExceptionSchema)]).openapi("FieldValue");
const ChangesSchema = z.record(z.string(), z.object({ from: FieldValue, to: FieldValue })).openapi("FieldChanges");
const Attribution = z.object({ id: z.number().int(), username: z.string() });
const ChangelogEntry = z
  .object({
    version: z.number().int(),
    action: z.enum(["created", "updated", "rolled_back"]),
    changed_by: Attribution,
    changed_at: Timestamp,
    changes: ChangesSchema,
    restored_from: z.number().int().optional(),
    html_url: HtmlUrl,
  })
  .openapi("ChangelogEntry");
const ChangelogPage = z.object({ items: z.array(ChangelogEntry), next_cursor: z.string().nullable(), html_url: HtmlUrl }).openapi("ChangelogPage");
const SnapshotSchema = EventSchema.pick({ title: true, description: true, location: true, start_time: true, end_time: true, is_recurring: true, recurrence_pattern: true, timezone: true })
  .merge(ChangelogEntry.pick({ version: true, action: true, changed_by: true, changed_at: true, restored_from: true, html_url: true }))
  .openapi("Snapshot");
const DiffSchema = z.object({ event_id: z.number().int(), from_version: z.number().int(), to_version: z.number().int(), changes: ChangesSchema, html_url: HtmlUrl }).openapi("Diff");
const html = { "text/html": { schema: z.string() } };

const changelogRoute = createRoute({
  method: "get",
  path: "/{id}/changelog",
  operationId: "listEventChangelog",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam }), query: PageQuery },
  responses: { 200: { description: "A page of versions", content: { ...bodyOf(ChangelogPage, "").content, ...html } }, ...problemResponses(401, 404, 422) },
});

const historyRoute = createRoute({
  method: "get",
  path: "/{id}/history/{version}",
  operationId: "getEventVersion",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam, version: IdParam }) },
  responses: { 200: { description: "The snapshot", content: { ...bodyOf(SnapshotSchema, "").content, ...html } }, ...problemResponses(401, 404) },
});

const diffRoute = createRoute({
  method: "get",
  path: "/{id}/diff/{v1}/{v2}",
  operationId: "diffEventVersions",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam, v1: IdParam, v2: IdParam }) },
  responses: { 200: { description: "The diff", content: { ...bodyOf(DiffSchema, "").content, ...html } }, ...problemResponses(401, 404) },
});

const rollbackRoute = createRoute({
  method: "post",
  path: "/{id}/rollback/{version}",
  operationId: "rollbackEvent",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: {
    params: z.object({ id: IdParam, version: IdParam }),
    headers: z.object({ "if-match": z.string().optional().openapi({ param: { in: "header" } }) }),
  },
  responses: {
    200: { ...bodyOf(EventSchema, "The event, at a new version; ETag is what GET /api/events/{id} now returns"), headers: headers("ETag") },
    409: conflictResponse,
    412: preconditionResponse,
    ...problemResponses(401, 403, 404, 429),
  },
});

// HTML only when preferred to JSON and MessagePack (q-values honoured); a bare wildcard gets JSON.
const wantsHtml = (c: Context<AppEnv>) =>
  accepts(c, { header: "Accept", supports: ["application/json", ...MSGPACK_TYPES, "text/html"], default: "application/json" }) === "text/html";

const withoutSnapshot = ({ snapshot: _snapshot, ...entry }: VersionEntry) => entry;

/** Links for the caller of a bearer route: theirs, to this event, absolute (they leave the API). */
const linksFor = (c: Context<AppEnv>, eventId: number) => historyLinkIssuer(c.env, c.var.claims, eventId, new URL(c.req.url).origin);

/** A changelog page: session, access and the page in one round trip; the page is only shown if access holds. */
async function readChangelog(c: Context<AppEnv>, userId: number, id: number, limit: number, cursor: string | undefined) {
  const scope = `changelog:${userId}:${id}`;
  const after = cursor ? Number((await decodeCursor(c.env, scope, cursor))[0]) : 0;
  const [[access], rows] = await batchWithSessionCheck(c, [accessQuery(c.var.db, userId, id), changelogQuery(c.var.db, id, limit, after)]);
  const { event } = checkAccess(access, "read");
  const page = changelogOf(rows, limit);
  const last = page.entries.at(-1);
  const next = page.hasMore && last ? await encodeCursor(c.env, scope, [last.version]) : null;
  return { event, entries: page.entries, next };
}

async function readVersion(c: Context<AppEnv>, userId: number, id: number, version: number) {
  const [[access], rows] = await batchWithSessionCheck(c, [accessQuery(c.var.db, userId, id), versionQuery(c.var.db, id, version)]);
  const { event } = checkAccess(access, "read");
  return { event, entry: foundVersion(rows) };
}

/** Two versions; with `steps`, also who made each version between them (at most 100), in the same round trip. */
async function readDiff(c: Context<AppEnv>, userId: number, id: number, v1: number, v2: number, steps: boolean) {
  const db = c.var.db;
  const [low, high] = v1 < v2 ? [v1, v2] : [v2, v1];
  const span = steps && high - low <= 100 ? high - low : 0;
  const reads = [accessQuery(db, userId, id), versionQuery(db, id, v1), versionQuery(db, id, v2)] as const;
  const [[access], fromRows, toRows, between = []] = await batchWithSessionCheck(c, span ? [...reads, changelogQuery(db, id, span, low)] : reads);
  const { event } = checkAccess(access, "read");
  const [from, to] = [foundVersion(fromRows), foundVersion(toRows)];
  return { event, from, to, changes: diffSnapshots(from.snapshot, to.snapshot), between: changelogOf(between, span).entries };
}

/** The HTML page of a view, whose links are signed for the same holder. */
async function renderView(c: Context<AppEnv>, userId: number, eventId: number, view: HistoryView, links: HistoryLinks) {
  switch (view[0]) {
    case "c": {
      const { event, entries, next } = await readChangelog(c, userId, eventId, view[1], view[2] ?? undefined);
      return changelogPage(event, entries, next, view[1], links);
    }
    case "h": {
      const { event, entry } = await readVersion(c, userId, eventId, view[1]);
      return snapshotPage(event, entry, links);
    }
    case "d": {
      const { event, from, to, changes, between } = await readDiff(c, userId, eventId, view[1], view[2], true);
      return diffPage(event, from, to, changes, between, links);
    }
  }
}

/** Answers a bearer route with its HTML page when the client prefers HTML (see wantsHtml). */
const htmlPage = async (c: Context<AppEnv>, id: number, view: HistoryView) => c.html(await renderView(c, c.var.claims.userId, id, view, historyLinkIssuer(c.env, c.var.claims, id).pageLinks()), 200);

export const versionRoutes = createRouter()
  .openapi(changelogRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const view: HistoryView = ["c", limit, cursor ?? null];
    if (wantsHtml(c)) return htmlPage(c, id, view);
    const { entries, next } = await readChangelog(c, c.var.claims.userId, id, limit, cursor);
    const links = linksFor(c, id);
    return c.json({ items: entries.map((entry) => ({ ...withoutSnapshot(entry), html_url: links.url(["h", entry.version]) })), next_cursor: next, html_url: links.url(view) }, 200);
  })
  .openapi(historyRoute, async (c) => {
    const { id, version } = c.req.valid("param");
    if (wantsHtml(c)) return htmlPage(c, id, ["h", version]);
    const { snapshot, changes: _changes, ...meta } = (await readVersion(c, c.var.claims.userId, id, version)).entry;
    return c.json({ ...snapshot, ...meta, html_url: linksFor(c, id).url(["h", version]) }, 200);
  })
  .openapi(diffRoute, async (c) => {
    const { id, v1, v2 } = c.req.valid("param");
    if (wantsHtml(c)) return htmlPage(c, id, ["d", v1, v2]);
    const { changes } = await readDiff(c, c.var.claims.userId, id, v1, v2, false);
    return c.json({ event_id: id, from_version: v1, to_version: v2, changes, html_url: linksFor(c, id).url(["d", v1, v2]) }, 200);
  })
  .openapi(rollbackRoute, async (c) => {
    const { id, version } = c.req.valid("param");
    const { event, tags, deliveries } = await rollbackEvent(c.var.db, c.var.claims, id, version, c.req.valid("header")["if-match"]);
    scheduleDelivery(c, deliveries);
    // The tag GET /api/events/{id} now returns, so the next conditional write can use it.
    return c.json(event, 200, { ETag: tags[prefersMsgpack(c) ? "msgpack" : "json"] });
  });

const historyViewRoute = createRoute({
  method: "get",
  path: "/history-view",
  operationId: "getHistoryView",
  tags,
  security: [],
  request: {
    headers: z.object({
      authorization: z.string().optional().openapi({ param: { in: "header" }, example: "HistoryLink <token>" }),
    }),
  },
  responses: { 200: { description: "The page, with links of the same kind", content: html }, ...problemResponses(401, 404) },
});


/** Signed-link pages, outside /api/events: the link, not a bearer token, is the credential. */
export const historyViewRoutes = createRouter().openapi(historyViewRoute, async (c) => {
  const token = /^HistoryLink (\S+)$/i.exec(c.req.valid("header").authorization ?? "")?.[1] ?? "";
  const grant = verifyHistoryLink(c.env, token);
  const claims: SessionClaims = { userId: grant.userId, sessionId: grant.sessionId, expiresAt: grant.expiresAt * 1000 };
  c.set("claims", claims);
  const links = historyLinkIssuer(c.env, claims, grant.eventId).pageLinks();
  try {
    const page = await renderView(c, grant.userId, grant.eventId, grant.view, links);
    return c.html(page, 200, { "Cache-Control": "no-store" });
  } catch (error) {
    // The session check's 401 speaks of bearer tokens; this caller holds a link.
    throw error instanceof ApiError && error.status === 401 ? refusedLink("The session of this history link has ended.") : error;
  }
});
