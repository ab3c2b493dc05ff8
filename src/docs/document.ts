// Builds the OpenAPI document at build time (scripts/build-openapi.mjs writes it to
// public/openapi.json, which the Worker serves): the app's own route schemas, the ones that validate
// requests, plus the prose of ./prose.ts. Neither this file nor the prose is part of the Worker
// bundle, whose gzip budget has no room for descriptions and examples.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { MSGPACK_TYPES } from "../lib/formats";
import { API_INFO, ERROR_CATALOGUE, HEADERS, OPERATIONS, PARAMETERS, SCHEMAS, SECURITY_SCHEMES, SERVERS, TAGS, problemValue, type Examples, type Json } from "./prose";

type Schema = { [key: string]: Json };
interface Media {
  schema?: Schema;
  example?: Json;
  examples?: Record<string, { summary?: string; value: Json }>;
}
interface Parameter {
  name: string;
  in: string;
  description?: string;
  example?: Json;
  schema?: Schema;
}
interface Response {
  description: string;
  headers?: Record<string, Json>;
  content?: Record<string, Media>;
}
export interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  description?: string;
  security?: Json[];
  parameters?: Parameter[];
  requestBody?: { description?: string; required?: boolean; content: Record<string, Media> };
  responses: Record<string, Response>;
}
export interface OpenApiDocument {
  openapi: string;
  info: Schema;
  servers?: Json[];
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; headers?: Record<string, Json>; securitySchemes?: Record<string, Json> };
}

export const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

/**
 * Routes that are not API operations and stay out of the document: the documents and pages about
 * the API and their assets. Anything else the app routes to must be documented
 * (test/openapi-contract.test.ts).
 */
export const NOT_OPERATIONS: RegExp[] = [/^\/openapi\.json$/, /^\/docs$/, /^\/redoc$/, /^\/static\//, /^\/app\//];
const PROBLEM_TYPES = ["application/problem+json", "application/msgpack"];
const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });

/**
 * The full OpenAPI 3.1 document of `app`: its routes as registered, with the prose, examples,
 * headers and error catalogue of ./prose.ts. Registers the security schemes on the app's registry
 * (by name, so a second call gives the same document).
 *
 * @example
 * const doc = buildOpenApiDocument(createApp());
 */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>): OpenApiDocument {
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  const generated = app.getOpenAPI31Document({ openapi: "3.1.0", info: API_INFO, servers: SERVERS, tags: TAGS });
  const doc = structuredClone(generated) as unknown as OpenApiDocument;
  doc.components.headers = HEADERS;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) documentOperation(path, operation);
    }
  }
  for (const [name, { properties, ...patch }] of Object.entries(SCHEMAS)) {
    const schema = doc.components.schemas[name];
    if (!schema) continue;
    Object.assign(schema, patch);
    // A schema built by .extend() is allOf [its base, the members it adds]: the members are in the part that has them.
    const parts = [schema, ...(Array.isArray(schema.allOf) ? (schema.allOf as Schema[]) : [])];
    for (const [member, text] of Object.entries(properties ?? {})) {
      const target = parts.map((part) => (part.properties as Record<string, Schema> | undefined)?.[member]).find(Boolean);
      if (target) Object.assign(target, text);
    }
  }
  acceptBareArrays(doc.components.schemas, "ShareRequest", "users", true);
  acceptBareArrays(doc.components.schemas, "BatchCreate", "events", false);
  const problem = doc.components.schemas.Problem;
  if (problem?.properties && typeof problem.properties === "object" && !Array.isArray(problem.properties)) {
    (problem.properties as Schema).code = { type: "string", enum: [...new Set(ERROR_CATALOGUE.map((entry) => entry.code))], description: "Stable machine-readable code; see the error catalogue." };
  }
  moveRequestDefaults(doc);
  return doc;
}

function documentOperation(path: string, operation: Operation) {
  const prose = operation.operationId ? OPERATIONS[operation.operationId] : undefined;
  if (prose?.summary) operation.summary = prose.summary;
  if (prose?.description) operation.description = prose.description;
  for (const parameter of operation.parameters ?? []) {
    const text = { ...PARAMETERS[parameter.name], ...prose?.parameters?.[parameter.name] };
    if (text.description) parameter.description = text.description;
    if (text.example !== undefined) parameter.example = text.example;
  }
  const body = operation.requestBody?.content;
  // The body reader takes every MessagePack type alike (src/lib/formats.ts); responses use the first.
  if (body?.[MSGPACK_TYPES[0]]) for (const alias of MSGPACK_TYPES.slice(1)) body[alias] = body[MSGPACK_TYPES[0]];
  for (const [type, media] of Object.entries(body ?? {})) {
    const examples = exampleFor(prose?.request, type);
    if (examples) media.examples = examples;
  }
  for (const [status, response] of Object.entries(operation.responses)) {
    const problem = Object.keys(response.content ?? {}).includes("application/problem+json");
    // `default` stands for failures no route expects: the catalogue's 500.
    const numeric = status === "default" ? "500" : status;
    const code = prose?.problems?.[numeric];
    const entry = ERROR_CATALOGUE.find((e) => String(e.status) === numeric && (code === undefined || e.code === code));
    if (problem && !response.description) response.description = entry?.summary ?? "Error";
    response.headers = { ...response.headers, "X-Request-Id": ref("X-Request-Id") };
    if (path.startsWith("/api/")) response.headers["X-D1-Bookmark"] = ref("X-D1-Bookmark");
    if (status === "401") response.headers["WWW-Authenticate"] = ref("WWW-Authenticate");
    if (status === "429") response.headers["Retry-After"] = ref("Retry-After");
    const given = prose?.responses?.[status];
    for (const [type, media] of Object.entries(response.content ?? {})) {
      const examples = exampleFor(given, type) ?? (problem && PROBLEM_TYPES.includes(type) && entry ? problemExample(entry.code, numeric) : undefined);
      if (examples) media.examples = examples;
    }
  }
}

/** Examples for one media type: its own, or the `*` ones for JSON and MessagePack (never for HTML). */
const exampleFor = (byType: Record<string, Examples> | undefined, type: string) =>
  byType?.[type] ?? (type.startsWith("text/") || type.endsWith("x-www-form-urlencoded") ? undefined : byType?.["*"]);

/** The catalogue's example of a status: its problem body exactly as the Worker renders it. */
function problemExample(code: string, status: string): Examples {
  const entry = ERROR_CATALOGUE.find((e) => e.code === code && String(e.status) === status);
  return { [code]: { summary: entry?.summary ?? code, value: problemValue(Number(status), code, entry?.detail ?? "") } };
}

/**
 * The share and batch bodies are validated as `{users}`/`{events}` after a preprocess that also
 * takes a bare array (and, for share, one item); the generator sees only the object. The document
 * says what the server accepts: oneOf the object, the array and (share) the item.
 */
function acceptBareArrays(schemas: Record<string, Schema>, name: string, member: string, single: boolean) {
  const object = schemas[name];
  const properties = object?.properties as Record<string, Schema> | undefined;
  const array = properties?.[member];
  if (!object || !array) return;
  const { description, ...shape } = object;
  const forms: Json[] = [shape, array];
  if (single && array.items) forms.push(array.items);
  schemas[name] = { ...(description === undefined ? {} : { description }), oneOf: forms };
}

/**
 * A `default` in a schema that only requests use says what the server fills in; openapi-typescript
 * would read it as "always present" and make the member required. So request-only schemas say it
 * in words (`Default: ...`), which Swagger UI and ReDoc show, and responses keep the keyword.
 */
function moveRequestDefaults(doc: OpenApiDocument) {
  const fromResponses = new Set<string>();
  const fromRequests = new Set<string>();
  const collect = (node: Json | undefined, into: Set<string>) => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((n) => collect(n, into));
    const target = node.$ref;
    if (typeof target === "string" && target.startsWith("#/components/schemas/")) {
      const name = target.slice("#/components/schemas/".length);
      if (!into.has(name)) {
        into.add(name);
        collect(doc.components.schemas[name], into);
      }
    }
    for (const value of Object.values(node)) collect(value, into);
  };
  for (const item of Object.values(doc.paths)) {
    for (const operation of Object.values(item)) {
      collect(operation.responses as unknown as Json, fromResponses);
      collect((operation.requestBody ?? null) as unknown as Json, fromRequests);
    }
  }
  const strip = (node: Json) => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach(strip);
    if ("default" in node && !("$ref" in node)) {
      const said = `Default: \`${JSON.stringify(node.default)}\`.`;
      node.description = typeof node.description === "string" ? `${node.description} ${said}` : said;
      delete node.default;
    }
    for (const value of Object.values(node)) strip(value);
  };
  for (const name of fromRequests) if (!fromResponses.has(name)) strip(doc.components.schemas[name]);
  for (const item of Object.values(doc.paths)) for (const operation of Object.values(item)) if (operation.requestBody) strip(operation.requestBody as unknown as Json);
}
