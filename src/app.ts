import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId } from "hono/request-id";
import { authRoutes } from "./auth/routes";
import { availabilityRoutes } from "./availability/routes";
import { configureSuggestions } from "./availability/suggest";
import { calendarRoutes } from "./calendar/routes";
import { BOOKMARK_HEADER, createDb, openSession } from "./db/client";
import { docsRoutes } from "./docs/routes";
import type { AppEnv } from "./env";
import { eventRoutes } from "./events/routes";
import { exceptionRoutes } from "./exceptions/routes";
import { feedRoutes, publicFeedRoutes } from "./feeds/routes";
import { healthRoutes } from "./health/routes";
import { sharingRoutes } from "./sharing/routes";
import { siteRoutes } from "./site/routes";
import { syncRoutes } from "./sync/routes";
import { historyViewRoutes, versionRoutes } from "./versions/routes";
import { contentNegotiation } from "./lib/formats";
import { ApiError, renderProblem } from "./lib/problem";
import { securityHeaders } from "./lib/security-headers";
import { notificationRoutes, socketRoutes } from "./notifications/routes";

/** The whole Worker app: shared middleware, every resource's routes, and the one error path. */
export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ strict: true });

  app.use(requestId({ headerName: "X-Request-Id", limitLength: 64 }));
  // Hono hands only Error instances to onError; anything else thrown would escape the problem path.
  app.use(async function wrapNonErrors(_c, next) {
    try {
      await next();
    } catch (thrown) {
      throw thrown instanceof Error ? thrown : new Error("A non-Error value was thrown.", { cause: thrown });
    }
  });
  app.use(securityHeaders);
  // One cors() per CORS_ORIGINS value, not one per request.
  const corsFor = new Map<string, MiddlewareHandler>();
  app.use("*", async function corsByConfig(c, next) {
    const configured = c.env.CORS_ORIGINS ?? "";
    let handler = corsFor.get(configured);
    if (!handler) {
      const origins = configured.split(",").map((o) => o.trim()).filter(Boolean);
      handler = cors({
        origin: origins.includes("*") ? "*" : origins,
        allowHeaders: ["Authorization", "Content-Type", "Accept", "If-Match", "If-None-Match", BOOKMARK_HEADER],
        exposeHeaders: ["ETag", "Location", "Retry-After", "X-Request-Id", BOOKMARK_HEADER],
        maxAge: 600,
      });
      corsFor.set(configured, handler);
    }
    return handler(c, next);
  });
  app.use(async function database(c, next) {
    // A socket upgrade is a GET, but it checks a session that then lives for hours: at the primary.
    const reads = (c.req.method === "GET" || c.req.method === "HEAD") && !c.req.header("upgrade");
    const session = openSession(c.env.DB, reads ? "first-unconstrained" : "first-primary", c.req.header(BOOKMARK_HEADER));
    c.set("db", createDb(session));
    configureSuggestions(c.env);
    await next();
    // Errors included: by now onError or notFound has rendered the response. A request that asked
    // D1 nothing and brought no bookmark has none to give (see openSession).
    const bookmark = session.getBookmark();
    if (bookmark && c.req.path.startsWith("/api/")) c.header(BOOKMARK_HEADER, bookmark);
  });
  app.use(contentNegotiation());
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        renderProblem(c, new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed here; use ${methods.join(", ")}.`, { headers: { Allow: methods.join(", ") } })),
    }),
  );

  app.route("/api/auth", authRoutes);
  app.route("/api/events", eventRoutes);
  app.route("/api/events", sharingRoutes);
  app.route("/api/events", versionRoutes);
  app.route("/api/events", exceptionRoutes);
  app.route("/api", historyViewRoutes);
  app.route("/api", calendarRoutes);
  app.route("/api", syncRoutes);
  app.route("/api", availabilityRoutes);
  app.route("/api/feeds", feedRoutes);
  app.route("/feeds", publicFeedRoutes);
  app.route("/api/notifications", notificationRoutes);
  app.route("/ws", socketRoutes);
  app.route("/", healthRoutes);
  app.route("/", docsRoutes);
  app.route("/", siteRoutes);

  app.notFound((c) => renderProblem(c, new ApiError(404, "not_found", `No route matches ${c.req.method} ${c.req.path}.`)));
  app.onError((error, c) => renderProblem(c, error));
  return app;
}
