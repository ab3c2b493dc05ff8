import { decode } from "@msgpack/msgpack";
import { exports } from "cloudflare:workers";

/** A request exactly as it goes on the wire: raw path, raw headers, raw body bytes. */
export interface WireRequest {
  method: string;
  /** Path and query, sent as given (already percent-encoded where that is wanted). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface WireResponse {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  /** The body decoded by its declared type: JSON, MessagePack, or text (HTML, scripts). */
  body: unknown;
  /** Everything a client could read from the body, as text: JSON text or the decoded MessagePack re-serialized. */
  text: string;
  webSocket: WebSocket | null;
}

const utf8 = new TextDecoder();

/** Decodes a response body by its content type; throws when the declared format does not parse. */
export function decodeBody(contentType: string, bytes: Uint8Array): { body: unknown; text: string } {
  if (bytes.byteLength === 0) return { body: null, text: "" };
  const raw = utf8.decode(bytes);
  if (contentType.includes("msgpack")) {
    const body = decode(bytes);
    return { body, text: `${JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n${raw}` };
  }
  if (contentType.includes("json")) return { body: JSON.parse(raw), text: raw };
  return { body: raw, text: raw };
}

/** Sends a request through the Worker's own fetch handler (real D1 and Durable Objects). */
export async function send(request: WireRequest, fetcher: (req: Request) => Promise<Response> = (req) => exports.default.fetch(req)): Promise<WireResponse> {
  const hasBody = request.body !== undefined && request.method !== "GET" && request.method !== "HEAD";
  const req = new Request(`http://localhost${request.path}`, { method: request.method, headers: request.headers, body: hasBody ? request.body : undefined });
  const res = await fetcher(req);
  if (res.status === 101) return { status: 101, headers: res.headers, bytes: new Uint8Array(), body: null, text: "", webSocket: res.webSocket };
  const bytes = new Uint8Array(await res.arrayBuffer());
  const { body, text } = decodeBody(res.headers.get("content-type") ?? "", bytes);
  return { status: res.status, headers: res.headers, bytes, body, text, webSocket: null };
}

export const PROBLEM_KEYS = ["type", "title", "status", "code", "detail", "request_id"] as const;

/** Signs of an internal error escaping into a client-visible body. */
export const INTERNALS = /SQLITE|D1_ERROR|no such (?:table|column)|constraint failed|TypeError|RangeError|ReferenceError|SyntaxError: |node_modules|\.ts:\d+|at [\w$.]+ \(/;

/**
 * Problems, in words, with an error response's shape: problem+json (or MessagePack when the
 * client prefers it), the contract's members, the status echoed, the request id matching its
 * header, and no internals. Empty when it is well-formed.
 */
export function problemShapeIssues(res: WireResponse, format: "json" | "msgpack" | "either", method = "GET"): string[] {
  const issues: string[] = [];
  if (method === "HEAD") return issues;
  const type = res.headers.get("content-type") ?? "";
  const isJson = type.startsWith("application/problem+json");
  const isMsgpack = type.startsWith("application/msgpack");
  if (format === "json" && !isJson) issues.push(`content-type ${type}, expected application/problem+json`);
  if (format === "msgpack" && !isMsgpack) issues.push(`content-type ${type}, expected application/msgpack`);
  if (format === "either" && !isJson && !isMsgpack) issues.push(`content-type ${type}, expected a problem document`);
  const body = res.body as Record<string, unknown> | null;
  if (!body || typeof body !== "object") return [...issues, "body is not an object"];
  for (const key of PROBLEM_KEYS) if (!(key in body)) issues.push(`problem lacks ${key}`);
  if (body.status !== res.status) issues.push(`problem status ${String(body.status)} != ${res.status}`);
  if (typeof body.code !== "string" || !/^[a-z_]+$/.test(body.code)) issues.push(`code ${String(body.code)} is not a stable machine string`);
  if (typeof body.detail !== "string" || body.detail.length === 0) issues.push("detail is not a sentence");
  if (body.request_id !== res.headers.get("x-request-id")) issues.push("request_id differs from X-Request-Id");
  if (INTERNALS.test(res.text)) issues.push(`body reveals internals: ${res.text.slice(0, 300)}`);
  if (res.status === 401 && !/^Bearer/.test(res.headers.get("www-authenticate") ?? "")) issues.push("401 without WWW-Authenticate: Bearer");
  if (res.status === 429 && !res.headers.get("retry-after")) issues.push("429 without Retry-After");
  return issues;
}

const MSGPACK = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"];

/**
 * Which format the server must answer in for an Accept header, by the contract's rule (q-values
 * honoured, JSON by default). "either" when the header is too odd to predict without re-implementing
 * the parser; the body must then still be one of the two.
 */
export function expectedFormat(accept: string | undefined): "json" | "msgpack" | "either" {
  if (accept === undefined || accept.trim() === "") return "json";
  const entries = accept.split(",").map((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    return { type, q: q === undefined ? 1 : Number(q.slice(2)) };
  });
  if (entries.some((e) => !/^[a-z*]+\/[a-z0-9.+*-]+$|^\*$/.test(e.type) || !Number.isFinite(e.q) || e.q < 0 || e.q > 1)) return "either";
  if (entries.some((e) => e.type.includes("*")) && entries.some((e) => MSGPACK.includes(e.type))) return "either";
  const best = (types: string[]) => Math.max(0, ...entries.filter((e) => types.includes(e.type)).map((e) => e.q));
  const msgpack = best(MSGPACK);
  const json = best(["application/json", "application/problem+json"]);
  if (msgpack > json) return msgpack > 0 ? "msgpack" : "json";
  if (json > 0 && json >= msgpack) return msgpack === json ? "either" : "json";
  return "json";
}
