import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { accessQuery, checkAccess } from "../events/policy";
import { EventSchema } from "../events/schemas";
import type { AppEnv, SessionClaims } from "../env";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { MSGPACK_TYPES, prefersMsgpack } from "../lib/formats";
import { IdParam, PageQuery, bodyOf, createRouter, problemResponses } from "../lib/openapi";
import { authenticated, batchWithSessionCheck } from "../auth/middleware";
import { scheduleDelivery } from "../notifications/schedule";
import { ApiError } from "../lib/problem";
import { changelogPage, diffPage, snapshotPage, type HistoryLinks } from "./html";
import { HISTORY_LINK_TTL_SECONDS, historyLinkIssuer, verifyHistoryLink, type HistoryView } from "./links";
import { changelogOf, changelogQuery, diffSnapshots, foundVersion, rollbackEvent, versionQuery, type VersionEntry } from "./service";

const tags = ["Versions"];
const VersionParam = IdParam.openapi({ param: { in: "path", required: true }, example: 1 });

const HtmlUrl = z.string().openapi({
  description: `A signed link that opens this view as an HTML page in a plain browser tab, with no bearer header and no cookie. It works for ${HISTORY_LINK_TTL_SECONDS / 60} minutes, only for the user (and session) it was issued to, and only while they can still read the event. The signature is in the URL fragment, which browsers never send, so it appears in no request log and no Referer.`,
  example: "http://localhost:8787/history#WzEsInMiLDcsWyJoIiwyXSwxNzk0MDAwMDAwXQ.q1w2e3r4t5y6u7i8o9p0aA",
});
const ChangesSchema = z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).openapi("FieldChanges");
const Attribution = z.object({ id: z.number().int(), username: z.string() });
const ChangelogEntry = z
  .object({
    version: z.number().int(),
    action: z.enum(["created", "updated", "rolled_back"]),
    changed_by: Attribution,
    changed_at: z.string(),
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
  tags,
  summary: "Every version, oldest first, with who changed what",
  description: "`Accept: text/html` renders a readable page-history view.",
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam }), query: PageQuery },
  responses: { 200: { description: "A page of versions", content: { ...bodyOf(ChangelogPage, "").content, ...html } }, ...problemResponses(401, 404, 422) },
});

const historyRoute = createRoute({
  method: "get",
  path: "/{id}/history/{version}",
  tags,
  summary: "The event as of one version",
  description: "`Accept: text/html` renders the version as a page linked to its neighbours.",
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam, version: VersionParam }) },
  responses: { 200: { description: "The snapshot", content: { ...bodyOf(SnapshotSchema, "").content, ...html } }, ...problemResponses(401, 404) },
});

const diffRoute = createRoute({
  method: "get",
  path: "/{id}/diff/{v1}/{v2}",
  tags,
  summary: "Fields that differ between two versions (either order)",
  description: "`Accept: text/html` renders the two versions side by side.",
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: z.object({ id: IdParam, v1: VersionParam, v2: VersionParam }) },
  responses: { 200: { description: "The diff", content: { ...bodyOf(DiffSchema, "").content, ...html } }, ...problemResponses(401, 404) },
});

const rollbackRoute = createRoute({
  method: "post",
  path: "/{id}/rollback/{version}",
  tags,
  summary: "Restore an earlier version's content as a new version (owners, editors)",
  ...authenticated(),
  request: {
    params: z.object({ id: IdParam, version: VersionParam }),
    headers: z.object({ "if-match": z.string().optional().openapi({ param: { in: "header" }, description: "The event's ETag, a list of them, or `*` (strong comparison); a mismatch is a 412", example: '"3-2b9CwD8mJ1x0aP4q"' }) }),
  },
  responses: {
    200: { ...bodyOf(EventSchema, "The event, at a new version; ETag is what GET /api/events/{id} now returns"), headers: { ETag: { description: "The event's new strong ETag", schema: { type: "string" } } } },
    ...problemResponses(401, 403, 404, 409, 412, 429),
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
  const [[access], fromRows, toRows, between = []] = span
    ? await batchWithSessionCheck(c, [accessQuery(db, userId, id), versionQuery(db, id, v1), versionQuery(db, id, v2), changelogQuery(db, id, span, low)])
    : await batchWithSessionCheck(c, [accessQuery(db, userId, id), versionQuery(db, id, v1), versionQuery(db, id, v2)]);
  const { event } = checkAccess(access, "read");
  const [from, to] = [foundVersion(fromRows), foundVersion(toRows)];
  return { event, from, to, changes: diffSnapshots(from.snapshot, to.snapshot), between: changelogOf(between, span).entries };
}

export const versionRoutes = createRouter()
  .openapi(changelogRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const { event, entries, next } = await readChangelog(c, c.var.claims.userId, id, limit, cursor);
    if (wantsHtml(c)) return c.html(changelogPage(event, entries, next, limit), 200);
    const links = linksFor(c, id);
    return c.json({ items: entries.map((entry) => ({ ...withoutSnapshot(entry), html_url: links.url({ kind: "history", version: entry.version }) })), next_cursor: next, html_url: links.url({ kind: "changelog", limit, ...(cursor ? { cursor } : {}) }) }, 200);
  })
  .openapi(historyRoute, async (c) => {
    const { id, version } = c.req.valid("param");
    const { event, entry } = await readVersion(c, c.var.claims.userId, id, version);
    if (wantsHtml(c)) return c.html(snapshotPage(event, entry), 200);
    const { snapshot, changes: _changes, ...meta } = entry;
    return c.json({ ...snapshot, ...meta, html_url: linksFor(c, id).url({ kind: "history", version }) }, 200);
  })
  .openapi(diffRoute, async (c) => {
    const { id, v1, v2 } = c.req.valid("param");
    const html = wantsHtml(c);
    const { event, from, to, changes, between } = await readDiff(c, c.var.claims.userId, id, v1, v2, html);
    if (html) return c.html(diffPage(event, from, to, changes, between), 200);
    return c.json({ event_id: id, from_version: v1, to_version: v2, changes, html_url: linksFor(c, id).url({ kind: "diff", from: v1, to: v2 }) }, 200);
  })
  .openapi(rollbackRoute, async (c) => {
    const { id, version } = c.req.valid("param");
    const { event, tags, deliveries } = await rollbackEvent(c.var.db, c.var.actor, id, version, c.req.valid("header")["if-match"]);
    scheduleDelivery(c, deliveries);
    // The tag GET /api/events/{id} now returns, so the next conditional write can use it.
    return c.json(event, 200, { ETag: tags[prefersMsgpack(c) ? "msgpack" : "json"] });
  });

const historyViewRoute = createRoute({
  method: "get",
  path: "/history-view",
  tags,
  summary: "One history page (changelog, snapshot or diff) for a signed link",
  description:
    "What the page at an `html_url` (`/history#<token>`) loads: it sends the token from the URL fragment as `Authorization: HistoryLink <token>` and shows the HTML answer, whose links are signed links too. " +
    `A link works for ${HISTORY_LINK_TTL_SECONDS / 60} minutes, for the user and session it was issued to, while they can still read the event: ` +
    "a tampered, malformed or expired link, or one whose session was revoked, is a `401`; one whose user lost access to the event is a `404`.",
  security: [],
  request: {
    headers: z.object({
      authorization: z.string().optional().openapi({ param: { in: "header" }, description: "`HistoryLink <token>`, the fragment of an `html_url`", example: "HistoryLink WzEsInMiLDcsWyJoIiwyXSwxNzk0MDAwMDAwXQ.q1w2e3r4t5y6u7i8o9p0aA" }),
    }),
  },
  responses: { 200: { description: "The page, with links of the same kind", content: html }, ...problemResponses(401, 404) },
});

const revokedLink = () => new ApiError(401, "unauthorized", "The session this history link was issued to has ended. Sign in and open the history again.", { headers: { "WWW-Authenticate": 'HistoryLink realm="history"' } });

/** Renders one signed view; links on the page are signed for the same holder and expire 10 minutes from now. */
async function renderView(c: Context<AppEnv>, userId: number, eventId: number, view: HistoryView, links: HistoryLinks) {
  switch (view.kind) {
    case "changelog": {
      const { event, entries, next } = await readChangelog(c, userId, eventId, view.limit, view.cursor);
      return changelogPage(event, entries, next, view.limit, links);
    }
    case "history": {
      const { event, entry } = await readVersion(c, userId, eventId, view.version);
      return snapshotPage(event, entry, links);
    }
    case "diff": {
      const { event, from, to, changes, between } = await readDiff(c, userId, eventId, view.from, view.to, true);
      return diffPage(event, from, to, changes, between, links);
    }
  }
}

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
    throw error instanceof ApiError && error.status === 401 ? revokedLink() : error;
  }
});
