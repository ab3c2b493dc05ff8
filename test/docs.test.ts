import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { buildOpenApiDocument } from "../src/docs/document";
import { call, json } from "./helpers";

interface Operation {
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
}
type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, Operation>>; components?: Record<string, Record<string, unknown>> };

const DOCS_ROUTES = new Set(["/openapi.json", "/asyncapi.json", "/docs", "/redoc"]);
const BODY_METHODS = new Set(["post", "put", "patch"]);
const NO_CONTENT = new Set(["204", "101"]);

/** Every (method, path) the app routes to, in OpenAPI's spelling, without middleware and the docs themselves. */
function registeredRoutes(): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const route of createApp().routes) {
    if (route.method === "ALL" || DOCS_ROUTES.has(route.path) || route.path.startsWith("/static/") || route.path.startsWith("/app/")) continue;
    const path = route.path.replace(/:(\w+)(\{[^}]*\})?\??/g, "{$1}");
    const method = route.method.toLowerCase();
    seen.set(`${method} ${path}`, { method, path });
  }
  return [...seen.values()];
}

const hasSchema = (media: { schema?: unknown } | undefined) => media?.schema !== undefined && media.schema !== null && Object.keys(media.schema as object).length > 0;

let doc: OpenApiDocument = { openapi: "", paths: {} };
beforeAll(async () => {
  const res = await json("GET", "/openapi.json");
  if (res.status === 200) doc = res.body;
});

describe("the OpenAPI document", () => {
  it("is generated from the route schemas without errors", () => {
    const generate = () => buildOpenApiDocument(createApp());
    expect(generate).not.toThrow();
  });

  it("is served as JSON at /openapi.json", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("is OpenAPI 3.1", () => {
    expect(doc.openapi).toMatch(/^3\.1/);
  });

  it("finds routes to check in the app", () => {
    const routes = registeredRoutes();
    expect(routes.length).toBeGreaterThan(5);
    expect(routes).toContainEqual({ method: "post", path: "/api/auth/register" });
    expect(routes).toContainEqual({ method: "get", path: "/health" });
  });

  it("documents every route the app registers", () => {
    const missing = registeredRoutes()
      .filter(({ method, path }) => !doc.paths[path]?.[method])
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(missing).toEqual([]);
  });

  it("gives every documented request body a schema in JSON and MessagePack", () => {
    const lacking: string[] = [];
    for (const { method, path } of registeredRoutes()) {
      const body = doc.paths[path]?.[method]?.requestBody;
      if (!BODY_METHODS.has(method) || !body) continue;
      // POST /api/events/import takes an iCalendar file, in that format only.
      if (Object.keys(body.content ?? {}).join() === "text/calendar" && hasSchema(body.content?.["text/calendar"])) continue;
      for (const type of ["application/json", "application/msgpack"]) {
        if (!hasSchema(body.content?.[type])) lacking.push(`${method.toUpperCase()} ${path} ${type}`);
      }
    }
    expect(lacking).toEqual([]);
  });

  it("gives every route a 2xx response with a schema, except 204 and 101", () => {
    const lacking: string[] = [];
    for (const { method, path } of registeredRoutes()) {
      const responses = doc.paths[path]?.[method]?.responses ?? {};
      const success = Object.keys(responses).filter((status) => /^2\d\d$|^101$/.test(status));
      const ok =
        success.length > 0 &&
        success.every((status) => NO_CONTENT.has(status) || Object.values(responses[status].content ?? {}).some(hasSchema));
      if (!ok) lacking.push(`${method.toUpperCase()} ${path}`);
    }
    expect(lacking).toEqual([]);
  });

  it("documents a 401 problem on every route that requires a bearer token", () => {
    const lacking: string[] = [];
    for (const { method, path } of registeredRoutes()) {
      const operation = doc.paths[path]?.[method];
      if (!operation?.security?.length) continue;
      if (!hasSchema(operation.responses?.["401"]?.content?.["application/problem+json"])) lacking.push(`${method.toUpperCase()} ${path}`);
    }
    expect(lacking).toEqual([]);
  });

  it("declares the bearer and OAuth2 password schemes that Swagger UI's Authorize uses", () => {
    expect(doc.components?.securitySchemes).toMatchObject({
      bearerAuth: { type: "http", scheme: "bearer" },
      oauth2: { type: "oauth2", flows: { password: { tokenUrl: "/api/auth/login" } } },
    });
  });
});

/** The `src` of every script and the `href` of every link in a page. */
function assetReferences(html: string): { tag: "script" | "link"; url: string; rel?: string }[] {
  const refs: { tag: "script" | "link"; url: string; rel?: string }[] = [];
  for (const [, src] of html.matchAll(/<script\b[^>]*\bsrc="([^"]*)"/gi)) refs.push({ tag: "script", url: src });
  for (const [tag] of html.matchAll(/<link\b[^>]*>/gi)) {
    const href = /\bhref="([^"]*)"/i.exec(tag)?.[1];
    if (href !== undefined) refs.push({ tag: "link", url: href, rel: /\brel="([^"]*)"/i.exec(tag)?.[1] });
  }
  return refs;
}

const expectedType = (ref: { tag: string; url: string; rel?: string }) => {
  if (ref.tag === "script") return /^(text|application)\/javascript/;
  if (ref.rel === "stylesheet") return /^text\/css/;
  if (ref.url.endsWith(".png")) return /^image\/png/;
  return /./;
};

describe.each(["/docs", "/redoc"])("the %s page", (page) => {
  it("is HTML served by the Worker", async () => {
    const res = await call("GET", page);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/^<!doctype html>/i);
  });

  it("references no URL on another host", async () => {
    const html = await (await call("GET", page)).text();
    expect(html.match(/(https?:)?\/\/[a-z0-9.-]+/gi) ?? []).toEqual([]);
  });

  it("loads every script and stylesheet from a same-origin path the Worker serves", async () => {
    const html = await (await call("GET", page)).text();
    const refs = assetReferences(html);
    expect(refs.filter((ref) => ref.tag === "script").length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.url, ref.url).toMatch(/^\/[^/]/);
      const res = await call("GET", ref.url);
      expect(res.status, ref.url).toBe(200);
      expect(res.headers.get("content-type"), ref.url).toMatch(expectedType(ref));
      expect((await res.arrayBuffer()).byteLength, ref.url).toBeGreaterThan(0);
    }
  });
});

describe("Swagger UI", () => {
  it("loads its stylesheet and its scripts as CSS and JavaScript", async () => {
    const refs = assetReferences(await (await call("GET", "/docs")).text());
    expect(refs.filter((ref) => ref.rel === "stylesheet").map((ref) => ref.url)).toEqual(["/static/swagger-ui/swagger-ui.css"]);
    expect(refs.filter((ref) => ref.tag === "script").length).toBe(3);
  });

  it("points its OAuth2 redirect at a page the Worker serves", async () => {
    const init = await (await call("GET", "/static/docs/swagger-init.js")).text();
    const redirect = /oauth2RedirectUrl:\s*location\.origin \+ "([^"]+)"/.exec(init)?.[1];
    expect(redirect).toBe("/static/swagger-ui/oauth2-redirect.html");
    const res = await call("GET", redirect!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("turns off the third-party validator badge", async () => {
    const init = await (await call("GET", "/static/docs/swagger-init.js")).text();
    expect(init).toMatch(/validatorUrl:\s*null/);
  });

  it("reads the document from /openapi.json", async () => {
    const init = await (await call("GET", "/static/docs/swagger-init.js")).text();
    expect(init).toMatch(/url:\s*"\/openapi\.json"/);
  });
});

describe("the ReDoc page", () => {
  it("reads the document from /openapi.json", async () => {
    expect(await (await call("GET", "/redoc")).text()).toContain('spec-url="/openapi.json"');
  });
});

describe("static assets", () => {
  it("answers an unknown static file with a 404 problem", async () => {
    const res = await json("GET", "/static/swagger-ui/no-such-file.js");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.body.code).toBe("not_found");
  });
});

describe("GET /health", () => {
  it("answers 200 with status ok and db ok", async () => {
    const res = await json("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok", db: "ok" });
  });

  it("answers 503 when D1 is unreachable", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const unreachable = {
      prepare() {
        throw new Error("D1 is down");
      },
    } as unknown as D1Database;
    const ctx = createExecutionContext();
    const res = await createApp().fetch(new Request("http://localhost/health"), { ...env, DB: unreachable }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "degraded", db: "unreachable" });
    expect(log).toHaveBeenCalled();
    log.mockRestore();
  });
});
