import { createRoute } from "@hono/zod-openapi";
import * as z from "../lib/zod";
import { PUBLIC, bodyOf, createRouter } from "../lib/openapi";

const HealthSchema = z.object({ status: z.enum(["ok", "degraded"]), db: z.enum(["ok", "unreachable"]) }).openapi("Health");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  tags: ["Health"],
  security: PUBLIC,
  responses: { 200: bodyOf(HealthSchema, "Healthy"), 503: bodyOf(HealthSchema, "D1 is unreachable") },
});

const liveRoute = createRoute({
  method: "get",
  path: "/health/live",
  operationId: "getLiveness",
  tags: ["Health"],
  security: PUBLIC,
  responses: { 200: bodyOf(z.object({ status: z.literal("ok") }).openapi("Live"), "The Worker runs") },
});

export const healthRoutes = createRouter()
  .openapi(liveRoute, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(healthRoute, async (c) => {
  try {
    // The binding, not the request's session: it goes to the primary, which every write needs; a
    // replica answering would hide a primary outage.
    await c.env.DB.prepare("SELECT 1").first();
    return c.json({ status: "ok" as const, db: "ok" as const }, 200);
  } catch (error) {
    console.error("health check: D1 unreachable", error);
    return c.json({ status: "degraded" as const, db: "unreachable" as const }, 503);
  }
  });
