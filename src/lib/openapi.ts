import { OpenAPIHono } from "@hono/zod-openapi";
import * as z from "./zod";
import type { ZodError } from "zod";
import type { AppEnv } from "../env";
import { parseDateTimeInput } from "./time-zone";
import { ApiError, type FieldError, validationFailed } from "./problem";
import { assertSupportedInstant } from "./time-range";

/**
 * Turns zod issues into the contract's `errors[]`, one entry per failing field. Items of a list
 * body (`events.3.title`, `users.0.role`) also carry their `index`.
 */
export function fieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join(".") || "body",
    message: issue.message,
    ...(typeof issue.path[1] === "number" ? { index: issue.path[1] } : {}),
  }));
}

/**
 * A router whose validation failures all take the app's one error path: a bad path id is a 404
 * (ids that are not positive integers name nothing), anything else a 422 naming each field.
 *
 * @example
 * const events = createRouter().openapi(createEventRoute, handler);
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      if (result.target === "param") throw new ApiError(404, "not_found", "No resource matches that path.");
      throw validationFailed(fieldErrors(result.error));
    },
  });
}

/** An instant as the API writes it: ISO 8601 in UTC with `Z`. */
export const Timestamp = z.string().openapi({ format: "date-time", example: "2031-03-01T08:00:00Z" });

/** RFC 9457 problem details; `conflicts` and `current` are typed where they occur (events/schemas.ts). */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string(), index: z.number().int().optional() })).optional(),
    request_id: z.string(),
  })
  .openapi("Problem");

const problem = (schema: z.ZodType) => ({ description: "", content: { "application/problem+json": { schema }, "application/msgpack": { schema } } });

/**
 * OpenAPI response entries for the given problem statuses. Descriptions and examples come from the
 * error catalogue when the document is built (src/docs/document.ts).
 */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, problem(ProblemSchema)]));
}

/** References to response headers documented once under `components.headers` (src/docs/document.ts). */
export const headers = (...names: ("ETag" | "Location" | "Link" | "Last-Modified")[]) => Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

/** A problem response whose body is `schema` (a Problem with typed extra members). */
export const problemResponse = problem;

/** A response or request body documented in both wire formats. */
export function bodyOf<T extends z.ZodType>(schema: T, description: string) {
  return {
    description,
    content: { "application/json": { schema }, "application/msgpack": { schema } },
  };
}

/** A positive integer in plain decimal: `0x10`, `1e3` or `٣` name nothing (404), they are not ids. */
export const IdParam = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/)
  .transform(Number)
  .pipe(z.number().max(Number.MAX_SAFE_INTEGER))
  .openapi({ param: { in: "path", required: true }, type: "integer", example: 1 });

/** `limit` and `cursor` of every paged collection. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50).openapi({ param: { in: "query" }, example: 50 }),
  cursor: z.string().max(500).optional().openapi({ param: { in: "query" } }),
});

export const BEARER: Record<string, string[]>[] = [{ bearerAuth: [] }, { oauth2: [] }];
/** `security` of a route that needs no credentials. */
export const PUBLIC: Record<string, string[]>[] = [];

/** Parses a query-string instant (UTC when it has no offset), or names the bad parameter. */
export function queryInstant(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDateTimeInput(value, "UTC");
  if (ms === null) throw validationFailed([{ field, message: "Not an ISO 8601 date-time." }]);
  return assertSupportedInstant(ms, field);
}
