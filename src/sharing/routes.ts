import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import type { Context } from "hono";
import { PermissionSchema } from "../events/schemas";
import { IdParam, bodyOf, createRouter, problemResponses } from "../lib/openapi";
import { authenticated, batchWithSessionCheck } from "../auth/middleware";
import { accessQuery, checkAccess } from "../events/policy";
import { enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { scheduleDelivery } from "../notifications/schedule";
import type { AppEnv } from "../env";
import { RoleBody, ShareBody, type ShareItemInput } from "./schemas";
import * as sharing from "./service";

const tags = ["Sharing"];
const EventParams = z.object({ id: IdParam });
const PermissionParams = z.object({ id: IdParam, userId: IdParam });

const shareRoute = createRoute({
  method: "post",
  path: "/{id}/share",
  operationId: "shareEvent",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: EventParams, body: { ...bodyOf(ShareBody, "Who gets which role"), required: true } },
  responses: { 200: bodyOf(z.array(PermissionSchema), "The full permission list"), ...problemResponses(400, 401, 403, 404, 415, 422, 429) },
});

const listRoute = createRoute({
  method: "get",
  path: "/{id}/permissions",
  operationId: "listEventPermissions",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: EventParams },
  responses: { 200: bodyOf(z.array(PermissionSchema), "Permissions"), ...problemResponses(401, 404) },
});

const setRoleRoute = createRoute({
  method: "put",
  path: "/{id}/permissions/{userId}",
  operationId: "setEventPermission",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: PermissionParams, body: { ...bodyOf(RoleBody, "The new role"), required: true } },
  responses: { 200: bodyOf(PermissionSchema, "The permission"), ...problemResponses(400, 401, 403, 404, 415, 422, 429) },
});

const revokeRoute = createRoute({
  method: "delete",
  path: "/{id}/permissions/{userId}",
  operationId: "revokeEventPermission",
  tags,
  ...authenticated({ sessionCheck: "first-batch" }),
  request: { params: PermissionParams },
  responses: { 204: { description: "Removed" }, ...problemResponses(401, 403, 404, 422, 429) },
});

/**
 * A name (username or email) tells the caller whether that account exists, so each one costs a unit
 * of the caller's lookup budget before anything is read; a `user_id` costs nothing.
 */
async function limitLookups(c: Context<AppEnv>, items: ShareItemInput[]) {
  const names = items.filter((item) => item.user_id === undefined).length;
  const key = `user:${c.var.claims.userId}`;
  for (let i = 0; i < names; i++) await enforceRateLimit(c.env, c.env.LOOKUP_LIMITER, key, RATE_LIMIT_PERIODS.lookup);
}

export const sharingRoutes = createRouter()
  .openapi(shareRoute, async (c) => {
    await limitLookups(c, c.req.valid("json").users);
    const { permissions, deliveries } = await sharing.share(c.var.db, c.var.claims, c.req.valid("param").id, c.req.valid("json").users);
    scheduleDelivery(c, deliveries);
    return c.json(permissions, 200);
  })
  .openapi(listRoute, async (c) => {
    const { id } = c.req.valid("param");
    // Session, access and the list in one round trip; the list is only shown if access holds.
    const [[access], rows] = await batchWithSessionCheck(c, [accessQuery(c.var.db, c.var.claims.userId, id), sharing.permissionsQuery(c.var.db, id)]);
    checkAccess(access, "read");
    return c.json(rows.map(sharing.toPermissionBody), 200);
  })
  .openapi(setRoleRoute, async (c) => {
    const { id, userId } = c.req.valid("param");
    const { permission, deliveries } = await sharing.setRole(c.var.db, c.var.claims, id, userId, c.req.valid("json").role);
    scheduleDelivery(c, deliveries);
    return c.json(permission, 200);
  })
  .openapi(revokeRoute, async (c) => {
    const { id, userId } = c.req.valid("param");
    const { deliveries } = await sharing.revoke(c.var.db, c.var.claims, id, userId);
    scheduleDelivery(c, deliveries);
    return c.body(null, 204);
  });
