import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../env";

/** One field that failed validation. `index` names the item of a batch. */
export interface FieldError {
  field: string;
  message: string;
  index?: number;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The stable `code` for a bare status, when nothing more specific applies. */
export const CODES: Record<number, string> = {
  400: "malformed_body",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  410: "gone",
  412: "precondition_failed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  422: "validation_failed",
  429: "rate_limited",
};

/**
 * Every expected failure in the app. Thrown anywhere, rendered once by the app's `onError` as an
 * RFC 9457 problem document. `extra` members (such as `conflicts` or `current`) are added to the body.
 *
 * @example
 * throw new ApiError(404, "not_found", "No event with that id is visible to you.");
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly options: { errors?: FieldError[]; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = "ApiError";
  }

  get title(): string {
    return TITLES[this.status] ?? "Error";
  }
}

export function problemBody(error: ApiError, requestId: string): Record<string, unknown> {
  return {
    type: `https://collab-events.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: error.title,
    status: error.status,
    code: error.code,
    detail: error.detail,
    ...(error.options.errors ? { errors: error.options.errors } : {}),
    ...error.options.extra,
    request_id: requestId,
  };
}

export const notFound = (what = "resource") => new ApiError(404, "not_found", `The ${what} does not exist or is not visible to you.`);

export const validationFailed = (errors: FieldError[], detail = "The request is invalid; see errors for each field.") =>
  new ApiError(422, "validation_failed", detail, { errors });

/**
 * The one error path: renders anything thrown as a problem document, keeping headers earlier
 * middleware prepared (`X-Request-Id`). Unexpected errors are logged with the request id and
 * never leak detail.
 */
export function renderProblem(c: Context<AppEnv>, error: unknown): Response {
  let problem: ApiError;
  if (error instanceof ApiError) problem = error;
  else if (error instanceof HTTPException && error.status < 500) {
    problem = new ApiError(error.status, CODES[error.status] ?? "http_error", error.message || "The request was rejected.");
  } else {
    console.error(`request ${c.var.requestId} failed:`, error);
    problem = new ApiError(500, "internal_error", "Something went wrong on our side; quote the request id if you report it.");
  }
  const headers: Record<string, string> = { "Content-Type": "application/problem+json", ...problem.options.headers };
  if (problem.status === 401) headers["WWW-Authenticate"] ??= 'Bearer realm="api"';
  return c.body(JSON.stringify(problemBody(problem, c.var.requestId ?? "")), problem.status as ContentfulStatusCode, headers);
}
