import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { renderProblem } from "../src/lib/problem";
import type { AppEnv } from "../src/env";
import { call, expectProblem, json, registerUser } from "./helpers";

const PROBLEM_KEYS = ["code", "detail", "request_id", "status", "title", "type"];
const ALLOWED_ORIGIN = "http://localhost:8787";

const newAccount = () => {
  const name = `err${Math.random().toString(36).slice(2, 12)}`;
  return { username: name, email: `${name}@example.com`, password: "long enough pw" };
};

/** Runs a request through a fresh app with some bindings replaced, as a misconfigured deployment would. */
async function fetchWithEnv(request: Request, overrides: Partial<Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await createApp().fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("unknown routes and methods", () => {
  it("answers an unknown route with a 404 problem whose code is not_found", async () => {
    const res = await json("GET", "/api/no-such-route");
    expectProblem(res, 404, "not_found");
    expect(res.body.status).toBe(404);
    expect(res.body.title).toBe("Not Found");
  });

  it("answers an unknown route outside /api with a 404 problem too", async () => {
    expectProblem(await json("POST", "/nothing/here", { body: {} }), 404, "not_found");
  });

  it("answers a wrong method on a known path with 405 and an Allow header", async () => {
    const user = await registerUser("method");
    const res = await json("DELETE", "/api/auth/me", { token: user.token });
    expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")?.split(/,\s*/)).toContain("GET");
    expect(res.headers.get("allow")).not.toMatch(/DELETE/);
  });

  it("answers a wrong method with 405 before asking for credentials", async () => {
    const res = await json("PUT", "/api/auth/register", { body: newAccount() });
    expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toBe("POST");
  });

  it.each(["abc", "0", "-1", "1.5", "99999999999999999999", "1e3"])("answers the path id %s, which is not a positive integer, with 404", async (id) => {
    const user = await registerUser("badid");
    expectProblem(await json("GET", `/api/events/${id}`, { token: user.token }), 404, "not_found");
  });
});

describe("X-Request-Id", () => {
  it("is sent on a 200", async () => {
    const res = await call("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^[\w-]{8,}$/);
  });

  it("is sent on a 401 and matches the problem's request_id", async () => {
    const res = await json("GET", "/api/auth/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.body.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("is sent on a 404 and matches the problem's request_id", async () => {
    const res = await json("GET", "/api/missing");
    expect(res.status).toBe(404);
    expect(res.body.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("is sent on a 400 raised while reading the body", async () => {
    const res = await json("POST", "/api/auth/register", { body: "{", headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(400);
    expect(res.body.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("differs between two requests", async () => {
    const first = (await call("GET", "/health")).headers.get("x-request-id");
    const second = (await call("GET", "/health")).headers.get("x-request-id");
    expect(first).not.toBe(second);
  });

  it("echoes an incoming X-Request-Id", async () => {
    const res = await json("GET", "/api/auth/me", { headers: { "X-Request-Id": "client-trace-42" } });
    expect(res.headers.get("x-request-id")).toBe("client-trace-42");
    expect(res.body.request_id).toBe("client-trace-42");
  });

  it("replaces an incoming X-Request-Id that is too long", async () => {
    const res = await call("GET", "/health", { headers: { "X-Request-Id": "x".repeat(65) } });
    expect(res.headers.get("x-request-id")).not.toBe("x".repeat(65));
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("replaces an incoming X-Request-Id with characters outside the safe set", async () => {
    const res = await call("GET", "/health", { headers: { "X-Request-Id": "<script>" } });
    expect(res.headers.get("x-request-id")).not.toBe("<script>");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});

describe("problem bodies", () => {
  it.each([
    ["a 404", () => json("GET", "/api/nowhere"), 404],
    ["a 401", () => json("GET", "/api/auth/me"), 401],
    ["a 400", () => json("POST", "/api/auth/login", { body: "[", headers: { "Content-Type": "application/json" } }), 400],
    ["a 415", () => json("POST", "/api/auth/login", { body: "x", headers: { "Content-Type": "text/csv" } }), 415],
    ["a 405", () => json("PATCH", "/api/auth/login", { body: {} }), 405],
  ] as const)("have exactly the contract's members on %s", async (_name, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(Object.keys(res.body).sort()).toEqual(PROBLEM_KEYS);
    expect(res.body).toEqual({
      type: expect.stringMatching(/^https?:\/\//),
      title: expect.any(String),
      status,
      code: expect.stringMatching(/^[a-z_]+$/),
      detail: expect.any(String),
      request_id: res.headers.get("x-request-id"),
    });
  });

  it("have exactly the contract's members plus errors on a 422", async () => {
    const res = await json("POST", "/api/auth/register", { body: { username: "!", email: "x", password: "y" } });
    expectProblem(res, 422, "validation_failed");
    expect(Object.keys(res.body).sort()).toEqual([...PROBLEM_KEYS, "errors"].sort());
    expect(res.body.errors.length).toBe(3);
    for (const error of res.body.errors) expect(error).toEqual({ field: expect.any(String), message: expect.any(String) });
  });

  it("name the problem type after the code", async () => {
    const res = await json("GET", "/api/nowhere");
    expect(res.body.type).toMatch(/not-found$/);
  });

  it("carry a human sentence as detail", async () => {
    const res = await json("GET", "/api/nowhere");
    expect(res.body.detail).toMatch(/^[A-Z].*\.$/);
  });
});

describe("401 responses", () => {
  it("carry WWW-Authenticate: Bearer without a token", async () => {
    const res = await call("GET", "/api/auth/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  });

  it("carry WWW-Authenticate: Bearer for a bad token", async () => {
    const res = await call("GET", "/api/events", { token: "not-a-jwt" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  });

  it("carry WWW-Authenticate: Bearer for wrong login credentials", async () => {
    const res = await call("POST", "/api/auth/login", { body: { username: "nobody_at_all", password: "wrong password" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  });
});

describe("security headers", () => {
  it("send X-Content-Type-Options: nosniff", async () => {
    expect((await call("GET", "/health")).headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("send X-Content-Type-Options: nosniff on errors too", async () => {
    expect((await call("GET", "/api/nowhere")).headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("forbid framing by other sites", async () => {
    expect((await call("GET", "/docs")).headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });

  it("send a Content-Security-Policy that loads nothing from other hosts", async () => {
    const policy = (await call("GET", "/docs")).headers.get("content-security-policy") ?? "";
    expect(policy).toMatch(/default-src 'self'/);
    expect(policy).not.toMatch(/https?:/);
  });

  it("send Strict-Transport-Security", async () => {
    expect((await call("GET", "/health")).headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  });

  // The values hono/secure-headers sent by default before src/lib/security-headers.ts replaced it,
  // written out here (not imported) so a changed list fails.
  it.each(["/health", "/api/nowhere", "/docs", "/static/history.js", "/openapi.json"])("send every security header, exactly, on %s", async (path) => {
    const headers = (await call("GET", path)).headers;
    expect({
      "cross-origin-resource-policy": headers.get("cross-origin-resource-policy"),
      "cross-origin-opener-policy": headers.get("cross-origin-opener-policy"),
      "cross-origin-embedder-policy": headers.get("cross-origin-embedder-policy"),
      "origin-agent-cluster": headers.get("origin-agent-cluster"),
      "referrer-policy": headers.get("referrer-policy"),
      "strict-transport-security": headers.get("strict-transport-security"),
      "x-content-type-options": headers.get("x-content-type-options"),
      "x-dns-prefetch-control": headers.get("x-dns-prefetch-control"),
      "x-download-options": headers.get("x-download-options"),
      "x-frame-options": headers.get("x-frame-options"),
      "x-permitted-cross-domain-policies": headers.get("x-permitted-cross-domain-policies"),
      "x-xss-protection": headers.get("x-xss-protection"),
      "x-powered-by": headers.get("x-powered-by"),
      "content-security-policy": headers.get("content-security-policy"),
    }).toEqual({
      "cross-origin-resource-policy": "same-origin",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": null,
      "origin-agent-cluster": "?1",
      "referrer-policy": "no-referrer",
      "strict-transport-security": "max-age=15552000; includeSubDomains",
      "x-content-type-options": "nosniff",
      "x-dns-prefetch-control": "off",
      "x-download-options": "noopen",
      "x-frame-options": "SAMEORIGIN",
      "x-permitted-cross-domain-policies": "none",
      "x-xss-protection": "0",
      "x-powered-by": null,
      "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'self'",
    });
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    call("OPTIONS", "/api/auth/login", {
      headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, authorization" },
    });

  it("allows a preflight from the configured origin", async () => {
    const res = await preflight(ALLOWED_ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toMatch(/authorization/);
  });

  it("gives a preflight from another origin no Access-Control-Allow-Origin", async () => {
    const res = await preflight("https://evil.example");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("exposes X-Request-Id and ETag to the configured origin", async () => {
    const res = await call("GET", "/health", { headers: { Origin: ALLOWED_ORIGIN } });
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(res.headers.get("access-control-expose-headers")).toMatch(/X-Request-Id/i);
    expect(res.headers.get("access-control-expose-headers")).toMatch(/ETag/i);
  });

  it("gives a simple request from another origin no Access-Control-Allow-Origin", async () => {
    const res = await call("GET", "/health", { headers: { Origin: "https://evil.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("unexpected failures", () => {
  it("render an unexpected exception as a 500 problem without its message", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const app = new Hono<AppEnv>()
      .use(requestId({ headerName: "X-Request-Id" }))
      .get("/boom", () => {
        throw new Error("secret internals");
      })
      .onError((error, c) => renderProblem(c, error));
    const res = await app.request("/boom", { headers: { "X-Request-Id": "trace-secret" } });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const text = await res.text();
    expect(text).not.toMatch(/secret internals|stack|\.ts:\d+/);
    const body = JSON.parse(text);
    expect(Object.keys(body).sort()).toEqual(PROBLEM_KEYS);
    expect(body).toMatchObject({ status: 500, code: "internal_error", title: "Internal Server Error", request_id: "trace-secret" });
  });

  it("log an unexpected exception with its request id", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const app = new Hono<AppEnv>()
      .use(requestId({ headerName: "X-Request-Id" }))
      .get("/boom", () => {
        throw new Error("secret internals");
      })
      .onError((error, c) => renderProblem(c, error));
    const res = await app.request("/boom", { headers: { "X-Request-Id": "trace-500" } });
    expect(res.status).toBe(500);
    expect(log).toHaveBeenCalledWith(expect.stringContaining("trace-500"), expect.objectContaining({ message: "secret internals" }));
  });

  it("answer login with 500 server_misconfigured when JWT_SECRET is too short", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await registerUser("misconf");
    const request = new Request("http://localhost/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": "10.250.0.1" },
      body: JSON.stringify({ username: user.username, password: user.password }),
    });
    const res = await fetchWithEnv(request, { JWT_SECRET: "short" });
    expect(res.status).toBe(500);
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ status: 500, code: "server_misconfigured" });
    expect(JSON.stringify(body)).not.toMatch(/short|JWT_SECRET/);
  });

  it("answer an authenticated request with 500 server_misconfigured when JWT_SECRET is missing", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const user = await registerUser("nosecret");
    const request = new Request("http://localhost/api/auth/me", { headers: { Authorization: `Bearer ${user.token}` } });
    const res = await fetchWithEnv(request, { JWT_SECRET: undefined });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: "server_misconfigured" });
  });
});
