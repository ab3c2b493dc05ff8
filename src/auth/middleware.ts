import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Batch } from "../db/batch";
import type { AppEnv } from "../env";
import { BEARER } from "../lib/openapi";
import { enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { authenticate, sessionCheckedBatchOf, unauthorized, withSessionCheck } from "./service";
import { verifyAccessToken } from "./tokens";

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface AuthOptions {
  /**
   * `"now"`: the middleware checks the session in its own D1 round trip and sets `actor`.
   * `"first-batch"`: it verifies the token and sets `claims`; the handler's first D1 call must
   * check the session (`batchWithSessionCheck`, `sessionCheckedBatch`, or a service given the
   * claims: `withSessionCheck`, and a write's premise `sessionLive`), which saves the round trip.
   */
  sessionCheck?: "now" | "first-batch";
  /** A POST that only reads (a query too large for a URL): treated as a read, not rate limited as a write. */
  readOnly?: boolean;
}

/**
 * Requires `Authorization: Bearer <access token>` of a live session and sets `actor` (or `claims`,
 * see `sessionCheck`). Writes are then rate limited per user.
 *
 * @example
 * app.use("/api/events/*", requireAuth());
 */
export function requireAuth({ sessionCheck: mode = "now", readOnly = false }: AuthOptions = {}) {
  return createMiddleware<AppEnv>(async function requireAuth(c, next) {
    const match = /^Bearer ([^\s]+)$/i.exec(c.req.header("authorization") ?? "");
    if (!match) throw unauthorized();
    const writes = !readOnly && WRITE_METHODS.has(c.req.method);
    let userId: number;
    if (mode === "first-batch") {
      const claims = await verifyAccessToken(c.env, match[1]);
      if (!claims) throw unauthorized();
      c.set("claims", claims);
      userId = claims.userId;
    } else {
      const actor = await authenticate(c.var.db, c.env, match[1]);
      if (!actor) throw unauthorized();
      c.set("actor", actor);
      userId = actor.id;
    }
    // The token's signature is checked; its session is checked by the handler's first batch.
    if (writes) await enforceRateLimit(c.env, c.env.WRITE_LIMITER, `user:${userId}`, RATE_LIMIT_PERIODS.write);
    await next();
  });
}

/**
 * A route's first batch with the session check in front, for routes declared with
 * `authenticated({ sessionCheck: "first-batch" })`: one D1 round trip instead of two. Sets `actor`
 * and returns the route's own results, or throws 401 before any of them is looked at (see
 * `withSessionCheck`).
 *
 * @example
 * const [[access], permissions] = await batchWithSessionCheck(c, [accessQuery(db, c.var.claims.userId, id), permissionsQuery(db, id)]);
 */
export async function batchWithSessionCheck<U extends BatchItem<"sqlite">, T extends Readonly<[U, ...U[]]>>(c: Context<AppEnv>, queries: T): Promise<BatchResponse<T>> {
  const { actor, results } = await withSessionCheck(c.var.db, c.var.claims, queries);
  c.set("actor", actor);
  return results;
}

/**
 * A `Batch` for services that read in several sequential calls: the first call goes through
 * `batchWithSessionCheck` (401 before any result is looked at), later ones straight to D1 once it
 * passed: the session was live when the first data was read.
 *
 * @example
 * const page = await service.listEvents(c.var.db, { id: c.var.claims.userId }, query, sessionCheckedBatch(c));
 */
export function sessionCheckedBatch(c: Context<AppEnv>): Batch {
  return sessionCheckedBatchOf(c.var.db, c.var.claims, (actor) => c.set("actor", actor)).batch;
}

/** Spread into a route: documents the bearer requirement and enforces it, once per request. */
export const authenticated = (options?: AuthOptions) => ({ security: BEARER, middleware: [requireAuth(options)] });
