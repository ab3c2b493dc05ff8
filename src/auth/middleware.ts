import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Batch } from "../db/batch";
import type { AppEnv } from "../env";
import { BEARER } from "../lib/openapi";
import { ApiError } from "../lib/problem";
import { enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { actorOf, authenticate, sessionCheck } from "./service";
import { verifyAccessToken } from "./tokens";

const unauthorized = () => new ApiError(401, "unauthorized", "A valid bearer access token is required.");

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface AuthOptions {
  /**
   * `"now"`: the middleware checks the session in its own D1 round trip and sets `actor`.
   * `"first-batch"` (reads only): it verifies the token and sets `claims`; the handler's first
   * D1 call must be `batchWithSessionCheck`, which saves the round trip.
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
    // A write always checks the session before anything else, at the primary (contract: Read replicas).
    if (mode === "first-batch" && !writes) {
      const claims = await verifyAccessToken(c.env, match[1]);
      if (!claims) throw unauthorized();
      c.set("claims", claims);
      return next();
    }
    const actor = await authenticate(c.var.db, c.env, match[1]);
    if (!actor) throw unauthorized();
    c.set("actor", actor);
    if (writes) await enforceRateLimit(c.env, c.env.WRITE_LIMITER, `user:${actor.id}`, RATE_LIMIT_PERIODS.write);
    await next();
  });
}

/**
 * A route's first batch with the session check in front, for routes declared with
 * `authenticated({ sessionCheck: "first-batch" })`: one D1 round trip instead of two. Sets `actor`
 * and returns the route's own results, or throws 401 before any of them is looked at. The check and
 * the data are one batch, so one snapshot: a session revoked before it gets nothing, one revoked
 * after it was live when the data was read.
 *
 * @example
 * const [[access], permissions] = await batchWithSessionCheck(c, [accessQuery(db, c.var.claims.userId, id), permissionsQuery(db, id)]);
 */
export async function batchWithSessionCheck<U extends BatchItem<"sqlite">, T extends Readonly<[U, ...U[]]>>(c: Context<AppEnv>, queries: T): Promise<BatchResponse<T>> {
  const { db, claims } = c.var;
  const [session, ...results] = await db.batch([sessionCheck(db, claims), ...queries]);
  const actor = actorOf(claims, session);
  if (!actor) throw unauthorized();
  c.set("actor", actor);
  return results as BatchResponse<T>;
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
  let checked: Promise<unknown> | undefined;
  return async (queries) => {
    // A later call waits for the check, so nothing is read for a refused session even in parallel.
    if (checked) return checked.then(() => c.var.db.batch(queries));
    const first = batchWithSessionCheck(c, queries);
    checked = first;
    return first;
  };
}

/** Spread into a route: documents the bearer requirement and enforces it, once per request. */
export const authenticated = (options?: AuthOptions) => ({ security: BEARER, middleware: [requireAuth(options)] });
