import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { BEARER } from "../lib/openapi";
import { ApiError } from "../lib/problem";
import { enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { authenticate } from "./service";

const unauthorized = () => new ApiError(401, "unauthorized", "A valid bearer access token is required.");

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Requires `Authorization: Bearer <access token>` of a live session and sets `actor`. Writes are
 * then rate limited per user.
 *
 * @example
 * app.use("/api/events/*", requireAuth());
 */
export function requireAuth() {
  return createMiddleware<AppEnv>(async function requireAuth(c, next) {
    const match = /^Bearer ([^\s]+)$/i.exec(c.req.header("authorization") ?? "");
    if (!match) throw unauthorized();
    const actor = await authenticate(c.var.db, c.env, match[1]);
    if (!actor) throw unauthorized();
    c.set("actor", actor);
    if (WRITE_METHODS.has(c.req.method)) await enforceRateLimit(c.env, c.env.WRITE_LIMITER, `user:${actor.id}`, RATE_LIMIT_PERIODS.write);
    await next();
  });
}

/** Spread into a route: documents the bearer requirement and enforces it, once per request. */
export const authenticated = () => ({ security: BEARER, middleware: [requireAuth()] });
