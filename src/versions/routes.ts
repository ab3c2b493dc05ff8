import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { accessQuery, checkAccess } from "../events/policy";
import { EventSchema } from "../events/schemas";
import type { AppEnv } from "../env";
import { decodeCursor, encodeCursor } from "../lib/cursor";
import { MSGPACK_TYPES, prefersMsgpack } from "../lib/formats";
import { IdParam, PageQuery, bodyOf, createRouter, problemResponses } from "../lib/openapi";
import { authenticated, batchWithSessionCheck } from "../auth/middleware";
import { scheduleDelivery } from "../notifications/schedule";
import { changelogPage, diffPage, snapshotPage } from "./html";
import { changelog, changelogOf, changelogQuery, diffSnapshots, foundVersion, rollbackEvent, versionQuery, type VersionEntry } from "./service";

const tags = ["Versions"];
const VersionParam = IdParam.openapi({ param: { in: "path", required: true }, example: 1 });

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
  })
  .openapi("ChangelogEntry");
const ChangelogPage = z.object({ items: z.array(ChangelogEntry), next_cursor: z.string().nullable() }).openapi("ChangelogPage");
const SnapshotSchema = EventSchema.pick({ title: true, description: true, location: true, start_time: true, end_time: true, is_recurring: true, recurrence_pattern: true, timezone: true })
  .merge(ChangelogEntry.pick({ version: true, action: true, changed_by: true, changed_at: true, restored_from: true }))
  .openapi("Snapshot");
const DiffSchema = z.object({ event_id: z.number().int(), from_version: z.number().int(), to_version: z.number().int(), changes: ChangesSchema }).openapi("Diff");
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
  ...authenticated({ sessionCheck: "first-batch" }),
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

export const versionRoutes = createRouter()
  .openapi(changelogRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const scope = `changelog:${c.var.claims.userId}:${id}`;
    const after = cursor ? Number((await decodeCursor(c.env, scope, cursor))[0]) : 0;
    // Session, access and the page in one round trip; the page is only shown if access holds.
    const [[access], rows] = await batchWithSessionCheck(c, [accessQuery(c.var.db, c.var.claims.userId, id), changelogQuery(c.var.db, id, limit, after)]);
    const { event } = checkAccess(access, "read");
    const page = changelogOf(rows, limit);
    const last = page.entries.at(-1);
    const next = page.hasMore && last ? await encodeCursor(c.env, scope, [last.version]) : null;
    if (wantsHtml(c)) return c.html(changelogPage(event, page.entries, next, limit), 200);
    return c.json({ items: page.entries.map(withoutSnapshot), next_cursor: next }, 200);
  })
  .openapi(historyRoute, async (c) => {
    const { id, version } = c.req.valid("param");
    // Session, access and version in one round trip; the version is only shown if access holds.
    const [[access], rows] = await batchWithSessionCheck(c, [accessQuery(c.var.db, c.var.claims.userId, id), versionQuery(c.var.db, id, version)]);
    const { event } = checkAccess(access, "read");
    const entry = foundVersion(rows);
    if (wantsHtml(c)) return c.html(snapshotPage(event, entry), 200);
    const { snapshot, changes: _changes, ...meta } = entry;
    return c.json({ ...snapshot, ...meta }, 200);
  })
  .openapi(diffRoute, async (c) => {
    const { id, v1, v2 } = c.req.valid("param");
    const db = c.var.db;
    const [[access], fromRows, toRows] = await batchWithSessionCheck(c, [accessQuery(db, c.var.claims.userId, id), versionQuery(db, id, v1), versionQuery(db, id, v2)]);
    const { event } = checkAccess(access, "read");
    const [from, to] = [foundVersion(fromRows), foundVersion(toRows)];
    const changes = diffSnapshots(from.snapshot, to.snapshot);
    if (wantsHtml(c)) {
      // Who made each step between the two versions, so the page credits every author.
      const [low, high] = v1 < v2 ? [v1, v2] : [v2, v1];
      const between = high - low <= 100 ? (await changelog(c.var.db, id, high - low, low)).entries : [];
      return c.html(diffPage(event, from, to, changes, between), 200);
    }
    return c.json({ event_id: id, from_version: v1, to_version: v2, changes }, 200);
  })
  .openapi(rollbackRoute, async (c) => {
    const { id, version } = c.req.valid("param");
    const { event, tags, deliveries } = await rollbackEvent(c.var.db, c.var.claims, id, version, c.req.valid("header")["if-match"]);
    scheduleDelivery(c, deliveries);
    // The tag GET /api/events/{id} now returns, so the next conditional write can use it.
    return c.json(event, 200, { ETag: tags[prefersMsgpack(c) ? "msgpack" : "json"] });
  });
