import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../lib/problem";
import { BEARER, PUBLIC, bodyOf, createRouter, problemResponses } from "../lib/openapi";
import { clientIp, enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { requireAuth } from "./middleware";
import { LoginBody, LogoutBody, PasswordChangeBody, RefreshBody, RegisterBody, SessionSchema, UserSchema } from "./schemas";
import * as auth from "./service";
import { closeSessionSockets } from "../notifications/delivery";

const tags = ["Auth"];

const registerRoute = createRoute({
  method: "post",
  path: "/register",
  operationId: "register",
  tags,
  security: PUBLIC,
  request: { body: { ...bodyOf(RegisterBody, "New account"), required: true } },
  responses: { 201: bodyOf(SessionSchema, "Account created; a session"), ...problemResponses(400, 409, 413, 415, 422, 429) },
});

const loginRoute = createRoute({
  method: "post",
  path: "/login",
  operationId: "login",
  tags,
  security: PUBLIC,
  request: {
    body: {
      description: "Credentials",
      content: {
        "application/json": { schema: LoginBody },
        "application/msgpack": { schema: LoginBody },
        "application/x-www-form-urlencoded": { schema: LoginBody },
      },
    },
  },
  responses: { 200: bodyOf(SessionSchema, "A session"), ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const refreshRoute = createRoute({
  method: "post",
  path: "/refresh",
  operationId: "refreshSession",
  tags,
  security: PUBLIC,
  request: { body: { ...bodyOf(RefreshBody, "The current refresh token"), required: true } },
  responses: { 200: bodyOf(SessionSchema, "A new pair; the old refresh token is spent"), ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const passwordRoute = createRoute({
  method: "post",
  path: "/password",
  operationId: "changePassword",
  tags,
  security: BEARER,
  middleware: [requireAuth({ sessionCheck: "first-batch" })],
  request: { body: { ...bodyOf(PasswordChangeBody, "The current and the new password"), required: true } },
  responses: { 204: { description: "Password changed" }, ...problemResponses(400, 401, 403, 413, 415, 422, 429) },
});

const logoutRoute = createRoute({
  method: "post",
  path: "/logout",
  operationId: "logout",
  tags,
  security: BEARER,
  middleware: [requireAuth()],
  request: { body: { ...bodyOf(LogoutBody, "Optionally, a refresh token of another of your sessions to revoke too"), required: false } },
  responses: { 204: { description: "Logged out" }, ...problemResponses(400, 401, 415, 422) },
});

const meRoute = createRoute({
  method: "get",
  path: "/me",
  operationId: "getCurrentUser",
  tags,
  security: BEARER,
  middleware: [requireAuth()],
  responses: { 200: bodyOf(UserSchema, "The current user"), ...problemResponses(401) },
});

export const authRoutes = createRouter()
  .openapi(registerRoute, async (c) => {
    await enforceRateLimit(c.env, c.env.REGISTER_IP_LIMITER, `ip:${clientIp(c.req.raw)}`, RATE_LIMIT_PERIODS.register);
    return c.json(await auth.register(c.var.db, c.env, c.req.valid("json")), 201);
  })
  .openapi(loginRoute, async (c) => {
    const isForm = (c.req.header("content-type") ?? "").startsWith("application/x-www-form-urlencoded");
    const body = isForm ? c.req.valid("form") : c.req.valid("json");
    if (!("password" in body)) throw new ApiError(422, "validation_failed", "Send username (or email) and password.", { errors: [{ field: "password", message: "Required." }] });
    const identifier = (body.username ?? body.email ?? "").trim();
    await enforceRateLimit(c.env, c.env.LOGIN_IP_LIMITER, `ip:${clientIp(c.req.raw)}`, RATE_LIMIT_PERIODS.login);
    return c.json(await auth.login(c.var.db, c.env, identifier, body.password), 200);
  })
  .openapi(refreshRoute, async (c) => {
    await enforceRateLimit(c.env, c.env.REFRESH_LIMITER, `ip:${clientIp(c.req.raw)}`, RATE_LIMIT_PERIODS.refresh);
    return c.json(await auth.refresh(c.var.db, c.env, c.req.valid("json").refresh_token), 200);
  })
  // Sockets are closed before the answer, so a client that sees the 204 gets no further frame.
  .openapi(logoutRoute, async (c) => {
    const actor = c.var.actor;
    const revoked = await auth.logout(c.var.db, actor, c.req.valid("json")?.refresh_token);
    await closeSessionSockets(c.env, actor.id, revoked);
    return c.body(null, 204);
  })
  .openapi(passwordRoute, async (c) => {
    const { actor, revoked } = await auth.changePassword(c.var.db, c.env, c.var.claims, c.req.valid("json"));
    await closeSessionSockets(c.env, actor.id, revoked);
    return c.body(null, 204);
  })
  .openapi(meRoute, (c) => c.json(auth.toUserBody(c.var.actor), 200));

