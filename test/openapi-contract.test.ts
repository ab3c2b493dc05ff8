/// <reference types="vite/client" />
import { createRoute } from "@hono/zod-openapi";
import { beforeAll, describe, expect, it } from "vitest";
import * as z from "../src/lib/zod";
import { createApp } from "../src/app";
import { buildOpenApiDocument, METHODS, NOT_OPERATIONS, type OpenApiDocument, type Operation } from "../src/docs/document";
import { ERROR_CATALOGUE } from "../src/docs/prose";
import { bodyOf, call, registerUser, type CallOptions } from "./helpers";
import readme from "../README.md?raw";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type App = ReturnType<typeof createApp>;

/** Every (method, path) the app routes to, in OpenAPI's spelling, but the pages about the API. */
function registeredRoutes(app: App): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const route of app.routes) {
    if (route.method === "ALL" || NOT_OPERATIONS.some((pattern) => pattern.test(route.path))) continue;
    const path = route.path.replace(/:(\w+)(\{[^}]*\})?\??/g, "{$1}");
    const method = route.method.toLowerCase();
    seen.set(`${method} ${path}`, { method, path });
  }
  return [...seen.values()];
}

const nonEmpty = (text: unknown) => typeof text === "string" && text.trim().length > 0;
const CAMEL_CASE = /^[a-z][a-zA-Z0-9]*$/;

/**
 * What a route lacks to be documented as the contract asks: an operation with a camelCase
 * operationId, declared tags, a summary and description, explicit security, parameters with a
 * description and an example, examples for every body, and the headers every response carries.
 */
function gaps(app: App, doc: OpenApiDocument): string[] {
  const found: string[] = [];
  const declaredTags = new Map((doc.tags ?? []).map((tag) => [tag.name, tag.description]));
  const ids = new Map<string, string>();
  for (const { method, path } of registeredRoutes(app)) {
    const name = `${method.toUpperCase()} ${path}`;
    const op = doc.paths[path]?.[method];
    if (!op) {
      found.push(`${name}: not in the document`);
      continue;
    }
    const lack = (what: string) => found.push(`${name}: ${what}`);
    if (!op.operationId || !CAMEL_CASE.test(op.operationId)) lack(`operationId ${JSON.stringify(op.operationId)} is not camelCase`);
    else if (ids.has(op.operationId)) lack(`operationId ${op.operationId} is also ${ids.get(op.operationId)}'s`);
    else ids.set(op.operationId, name);
    if (!op.tags?.length) lack("no tags");
    for (const tag of op.tags ?? []) if (!nonEmpty(declaredTags.get(tag))) lack(`tag ${tag} is not declared with a description`);
    if (!nonEmpty(op.summary)) lack("no summary");
    if (!nonEmpty(op.description)) lack("no description (src/docs/prose.ts OPERATIONS)");
    if (!Array.isArray(op.security)) lack("no explicit security (`authenticated()` or `security: PUBLIC`)");
    for (const parameter of op.parameters ?? []) {
      if (!nonEmpty(parameter.description)) lack(`parameter ${parameter.name} has no description`);
      if (parameter.example === undefined) lack(`parameter ${parameter.name} has no example`);
    }
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
      if (!Object.keys(media.examples ?? {}).length) lack(`request ${type} has no example`);
    }
    for (const [status, response] of Object.entries(op.responses)) {
      if (!nonEmpty(response.description)) lack(`${status} has no description`);
      const headers = Object.keys(response.headers ?? {});
      const needed = ["X-Request-Id", ...(path.startsWith("/api/") ? ["X-D1-Bookmark"] : []), ...(status === "401" ? ["WWW-Authenticate"] : []), ...(status === "429" ? ["Retry-After"] : [])];
      for (const header of needed) if (!headers.includes(header)) lack(`${status} does not document ${header}`);
      for (const [type, media] of Object.entries(response.content ?? {})) {
        // A picture's bytes make no example; its media type says what it is.
        if (!type.startsWith("image/") && !Object.keys(media.examples ?? {}).length) lack(`${status} ${type} has no example`);
      }
    }
  }
  return found;
}

/** A schema of the document as a zod validator, its `$ref`s resolved against the document's components. */
function validatorOf(doc: OpenApiDocument, schema: unknown) {
  const text = JSON.stringify({ ...(schema as object), $defs: doc.components.schemas }).replaceAll("#/components/schemas/", "#/$defs/");
  return z.fromJSONSchema(JSON.parse(text));
}

/** Every example of the document with where it is and the schema it illustrates. */
function examples(doc: OpenApiDocument): { where: string; schema: unknown; value: Json; request?: { path: string; method: string; type: string } }[] {
  const all: { where: string; schema: unknown; value: Json; request?: { path: string; method: string; type: string } }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op: Operation | undefined = item[method];
      if (!op) continue;
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        for (const [name, example] of Object.entries(media.examples ?? {})) {
          all.push({ where: `${method.toUpperCase()} ${path} request ${type} ${name}`, schema: media.schema, value: example.value, request: { path, method, type } });
        }
      }
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          for (const [name, example] of Object.entries(media.examples ?? {})) all.push({ where: `${method.toUpperCase()} ${path} ${status} ${type} ${name}`, schema: media.schema, value: example.value });
        }
      }
      for (const parameter of op.parameters ?? []) {
        if (parameter.example !== undefined) all.push({ where: `${method.toUpperCase()} ${path} parameter ${parameter.name}`, schema: parameter.schema, value: parameter.example });
      }
    }
  }
  return all;
}

/** The zod schema that validates a route's request body, as registered. */
function requestValidator(app: App, path: string, method: string, type: string): z.ZodType | undefined {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route" || definition.route.method !== method) continue;
    if (definition.route.path.replace(/:(\w+)/g, "{$1}") !== path) continue;
    const content = definition.route.request?.body?.content as Record<string, { schema?: unknown }> | undefined;
    const schema = content?.[type]?.schema ?? content?.["application/json"]?.schema;
    return schema instanceof z.ZodType ? schema : undefined;
  }
  return undefined;
}

const app = createApp();
let doc: OpenApiDocument;
beforeAll(() => {
  doc = buildOpenApiDocument(app);
});

describe("the OpenAPI document as built from the app", () => {
  it("finds the routes to check", () => {
    const routes = registeredRoutes(app);
    expect(routes.length).toBeGreaterThan(25);
    expect(routes).toContainEqual({ method: "post", path: "/api/events" });
    expect(routes).toContainEqual({ method: "get", path: "/api/events/{id}/changelog" });
  });

  it("documents every route the app registers: operationId, tags, description, security, parameters, examples and headers", () => {
    expect(gaps(app, doc)).toEqual([]);
  });

  it("finds the gaps of a route added without documentation", () => {
    const grown = createApp();
    grown.openapi(createRoute({ method: "get", path: "/api/undocumented/{thing}", request: { params: z.object({ thing: z.string() }) }, responses: { 200: { description: "", content: { "application/json": { schema: z.object({ ok: z.boolean() }) } } } } }), (c) => c.json({ ok: true }, 200));
    const found = gaps(grown, buildOpenApiDocument(grown)).filter((gap) => gap.startsWith("GET /api/undocumented/{thing}"));
    expect(found).toEqual([
      'GET /api/undocumented/{thing}: operationId undefined is not camelCase',
      "GET /api/undocumented/{thing}: no tags",
      "GET /api/undocumented/{thing}: no summary",
      "GET /api/undocumented/{thing}: no description (src/docs/prose.ts OPERATIONS)",
      "GET /api/undocumented/{thing}: no explicit security (`authenticated()` or `security: PUBLIC`)",
      "GET /api/undocumented/{thing}: parameter thing has no description",
      "GET /api/undocumented/{thing}: parameter thing has no example",
      "GET /api/undocumented/{thing}: 200 has no description",
      "GET /api/undocumented/{thing}: 200 application/json has no example",
    ]);
  });

  it("finds a plain Hono route that is in no document", () => {
    const grown = createApp();
    grown.get("/api/hidden", (c) => c.text("hidden"));
    expect(gaps(grown, buildOpenApiDocument(grown))).toContain("GET /api/hidden: not in the document");
  });

  it("gives every example a value that its own schema accepts", () => {
    const all = examples(doc);
    expect(all.length).toBeGreaterThan(100);
    const invalid = all.flatMap(({ where, schema, value }) => {
      const result = validatorOf(doc, schema).safeParse(value);
      return result.success ? [] : [`${where}: ${result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`];
    });
    expect(invalid).toEqual([]);
  });

  it("gives request examples that the route's own validator accepts", () => {
    const requests = examples(doc).filter((e) => e.request && !e.request.type.includes("form"));
    expect(requests.length).toBeGreaterThan(20);
    const refused = requests.flatMap(({ where, value, request }) => {
      const validator = requestValidator(app, request!.path, request!.method, request!.type);
      if (!validator) return [`${where}: no validator found`];
      const result = validator.safeParse(value);
      return result.success ? [] : [`${where}: ${result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`];
    });
    expect(refused).toEqual([]);
  });

  it("accepts the share body as an object, a bare array or one item, and the batch body as an object or a bare array", () => {
    const share = validatorOf(doc, { $ref: "#/components/schemas/ShareRequest" });
    expect(share.safeParse({ users: [{ user_id: 2, role: "editor" }] }).success).toBe(true);
    expect(share.safeParse([{ user_id: 2, role: "editor" }]).success).toBe(true);
    expect(share.safeParse({ username: "grace", role: "viewer" }).success).toBe(true);
    expect(share.safeParse({ users: [] }).success).toBe(false);
    const batch = validatorOf(doc, { $ref: "#/components/schemas/BatchCreate" });
    const item = { title: "a", start_time: "2031-03-01T10:00:00Z", end_time: "2031-03-01T11:00:00Z" };
    expect(batch.safeParse({ events: [item] }).success).toBe(true);
    expect(batch.safeParse([item]).success).toBe(true);
    expect(batch.safeParse([]).success).toBe(false);
  });

  it("types the extra members of 409 and 412 problems", () => {
    const conflict = validatorOf(doc, { $ref: "#/components/schemas/ConflictProblem" });
    const base = { type: "t", title: "Conflict", status: 409, code: "conflict", detail: "d", request_id: "r" };
    expect(conflict.safeParse({ ...base, conflicts: [{ id: 1, title: "x", start_time: "2031-03-01T10:00:00Z", end_time: "2031-03-01T11:00:00Z" }] }).success).toBe(true);
    expect(conflict.safeParse({ ...base, conflicts: [{ id: "1" }] }).success).toBe(false);
    expect(conflict.safeParse({ ...base, conflicts: [], suggestions: [{ start_time: "soon" }] }).success).toBe(false);
    const stale = validatorOf(doc, { $ref: "#/components/schemas/PreconditionProblem" });
    expect(stale.safeParse({ ...base, status: 412, code: "precondition_failed" }).success).toBe(false);
  });

  it("lists every MessagePack type on every request body, and marks the public routes `security: []`", () => {
    const publicOps: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        if (op.requestBody?.content["application/json"]) expect(Object.keys(op.requestBody.content), `${method} ${path}`).toEqual(expect.arrayContaining(["application/json", "application/msgpack", "application/x-msgpack", "application/vnd.msgpack"]));
        if (Array.isArray(op.security) && op.security.length === 0) publicOps.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(publicOps.sort()).toEqual(["GET /", "GET /api/history-view", "GET /app", "GET /asyncapi.json", "GET /favicon.ico", "GET /feeds/{file}", "GET /health", "GET /health/live", "GET /history", "POST /api/auth/login", "POST /api/auth/refresh", "POST /api/auth/register"]);
  });

  it("states license, contact and servers", () => {
    expect(doc.info.license).toMatchObject({ name: expect.any(String), identifier: expect.any(String) });
    expect(doc.info.contact).toMatchObject({ url: expect.any(String) });
    expect(doc.servers).toEqual([{ url: "/", description: expect.any(String) }]);
  });
});

/** `new ApiError(status, "code"` in the source, and the bare-status codes of src/lib/problem.ts. */
function emittedCodes(): { code: string; status: number; file: string }[] {
  const sources = import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
  const codes: { code: string; status: number; file: string }[] = [];
  for (const [file, text] of Object.entries(sources)) {
    if (file.includes("/docs/")) continue;
    for (const [, status, code] of text.matchAll(/new ApiError\(\s*(\d{3}),\s*"([a-z_]+)"/g)) codes.push({ code, status: Number(status), file });
    const table = /export const CODES[^=]*=\s*\{([^}]*)\}/.exec(text)?.[1];
    for (const [, status, code] of table?.matchAll(/(\d{3}):\s*"([a-z_]+)"/g) ?? []) codes.push({ code, status: Number(status), file });
  }
  return codes;
}

describe("the error catalogue", () => {
  it("finds the codes the server emits", () => {
    const codes = emittedCodes().map((c) => c.code);
    expect(codes).toEqual(expect.arrayContaining(["validation_failed", "conflict", "not_found", "rate_limited", "upgrade_required"]));
  });

  it("lists every code the server emits, with its status", () => {
    const missing = emittedCodes()
      .filter(({ code, status }) => !ERROR_CATALOGUE.some((entry) => entry.code === code && entry.status === status))
      .map(({ code, status, file }) => `${status} ${code} (${file})`);
    expect(missing).toEqual([]);
  });

  it("says for each code what the client should do", () => {
    for (const entry of ERROR_CATALOGUE) {
      expect(entry.action.length, entry.code).toBeGreaterThan(20);
      expect(entry.summary.length, entry.code).toBeGreaterThan(5);
    }
  });

  it("the README lists the catalogue", () => {
    const section = readme.slice(readme.indexOf("### Errors"), readme.indexOf("### Documentation"));
    const listed = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => `${status} ${code}`);
    expect(listed).toEqual(ERROR_CATALOGUE.map((e) => `${e.status} ${e.code}`));
  });

  it("is in the document, as the code enum and as a table", () => {
    const problem = doc.components.schemas.Problem as { properties: { code: { enum: string[] } } };
    expect(problem.properties.code.enum.sort()).toEqual([...new Set(ERROR_CATALOGUE.map((e) => e.code))].sort());
    for (const entry of ERROR_CATALOGUE) expect(doc.info.description).toContain(`| \`${entry.code}\` | ${entry.status} |`);
  });
});

const TRACKED_HEADERS = ["ETag", "Location", "Retry-After", "WWW-Authenticate", "Allow", "X-D1-Bookmark", "X-Request-Id"];

describe("the headers the Worker sends", () => {
  const undocumented: string[] = [];
  const seen = new Set<string>();

  /** Sends a request and records which of its response's headers the document does not name. */
  async function sendAs(method: string, template: string, path: string, options: CallOptions = {}) {
    const res = await call(method, path, options);
    const response = doc.paths[template]?.[method.toLowerCase()]?.responses[String(res.status)];
    const where = `${method} ${template} ${res.status}`;
    seen.add(where);
    if (!response) undocumented.push(`${where}: status not documented`);
    else {
      const documented = new Set(Object.keys(response.headers ?? {}).map((h) => h.toLowerCase()));
      for (const header of TRACKED_HEADERS) if (res.headers.has(header) && !documented.has(header.toLowerCase())) undocumented.push(`${where}: ${header}`);
    }
    return { status: res.status, headers: res.headers, body: await bodyOf(res) };
  }

  it("are documented for each response of a full flow", async () => {
    const ada = await registerUser("oa_ada");
    const grace = await registerUser("oa_grace");
    const auth = (user: { token: string }, extra: Record<string, string> = {}) => ({ token: user.token, headers: extra });
    const slot = { start_time: "2044-05-01T09:00:00Z", end_time: "2044-05-01T10:00:00Z" };
    const created = await sendAs("POST", "/api/events", "/api/events", { ...auth(ada), body: { title: "Flow", ...slot } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const etag = created.headers.get("etag")!;
    expect((await sendAs("POST", "/api/events", "/api/events", { ...auth(ada), body: { title: "Clash", ...slot } })).status).toBe(409);
    expect((await sendAs("GET", "/api/events/{id}", `/api/events/${id}`, auth(ada))).status).toBe(200);
    expect((await sendAs("GET", "/api/events/{id}", `/api/events/${id}`, auth(ada, { "If-None-Match": etag }))).status).toBe(304);
    expect((await sendAs("PATCH", "/api/events/{id}", `/api/events/${id}`, { ...auth(ada, { "If-Match": etag }), body: { title: "Flow 2" } })).status).toBe(200);
    expect((await sendAs("PUT", "/api/events/{id}", `/api/events/${id}`, { ...auth(ada, { "If-Match": etag }), body: { title: "Flow 3" } })).status).toBe(412);
    expect((await sendAs("POST", "/api/events/{id}/share", `/api/events/${id}/share`, { ...auth(ada), body: { user_id: grace.id, role: "viewer" } })).status).toBe(200);
    expect((await sendAs("PATCH", "/api/events/{id}", `/api/events/${id}`, { ...auth(grace), body: { title: "Mine" } })).status).toBe(403);
    expect((await sendAs("GET", "/api/events/{id}/permissions", `/api/events/${id}/permissions`, auth(grace))).status).toBe(200);
    expect((await sendAs("GET", "/api/events/{id}/changelog", `/api/events/${id}/changelog`, auth(ada))).status).toBe(200);
    expect((await sendAs("GET", "/api/events/{id}/history/{version}", `/api/events/${id}/history/1`, auth(ada))).status).toBe(200);
    expect((await sendAs("GET", "/api/events/{id}/diff/{v1}/{v2}", `/api/events/${id}/diff/1/2`, auth(ada))).status).toBe(200);
    expect((await sendAs("POST", "/api/events/{id}/rollback/{version}", `/api/events/${id}/rollback/1`, auth(ada))).status).toBe(200);
    expect((await sendAs("GET", "/api/events", "/api/events?limit=1", auth(ada))).status).toBe(200);
    expect((await sendAs("GET", "/api/events", "/api/events?limit=1000", auth(ada))).status).toBe(422);
    expect((await sendAs("GET", "/api/agenda", "/api/agenda?start=2044-05-01T00:00:00Z&end=2044-05-02T00:00:00Z", auth(ada))).status).toBe(200);
    expect((await sendAs("GET", "/api/events/{id}/occurrences", `/api/events/${id}/occurrences?start=2044-05-01T00:00:00Z&end=2044-05-02T00:00:00Z`, auth(ada))).status).toBe(200);
    expect((await sendAs("GET", "/api/notifications", "/api/notifications", auth(grace))).status).toBe(200);
    expect((await sendAs("POST", "/api/notifications/read-all", "/api/notifications/read-all", auth(grace))).status).toBe(204);
    expect((await sendAs("GET", "/api/auth/me", "/api/auth/me")).status).toBe(401);
    expect((await sendAs("GET", "/api/auth/me", "/api/auth/me", auth(ada))).status).toBe(200);
    expect((await sendAs("POST", "/api/auth/login", "/api/auth/login", { body: { username: ada.username, password: "wrong password" } })).status).toBe(401);
    expect((await sendAs("POST", "/api/auth/refresh", "/api/auth/refresh", { body: { refresh_token: ada.refresh } })).status).toBe(200);
    expect((await sendAs("DELETE", "/api/events/{id}/permissions/{userId}", `/api/events/${id}/permissions/${grace.id}`, auth(ada))).status).toBe(204);
    expect((await sendAs("DELETE", "/api/events/{id}", `/api/events/${id}`, auth(ada))).status).toBe(204);
    expect((await sendAs("GET", "/api/events/{id}", `/api/events/${id}`, auth(ada))).status).toBe(404);
    expect((await sendAs("GET", "/health", "/health")).status).toBe(200);
    expect(seen.size).toBeGreaterThan(25);
    expect(undocumented).toEqual([]);
  });

  it("include Allow on a 405, which the catalogue documents", async () => {
    const res = await call("DELETE", "/api/auth/me");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(ERROR_CATALOGUE.find((e) => e.status === 405)?.action).toContain("`Allow`");
  });

  it("include Retry-After on a 429, which every rate-limited operation documents", () => {
    const limited = Object.values(doc.paths).flatMap((item) => Object.values(item)).filter((op) => op.responses["429"]);
    expect(limited.length).toBeGreaterThan(10);
    for (const op of limited) expect(Object.keys(op.responses["429"].headers ?? {})).toContain("Retry-After");
  });
});

describe("GET /openapi.json", () => {
  it("serves the document built from the current routes and prose", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const served = await res.json();
    // Stale when a route or the prose changed since `npm run prepare-assets` (npm test runs it first).
    expect(served, "public/openapi.json is stale: run `npm run prepare-assets`").toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(createApp()))));
  });
});
