import { decode, encode } from "@msgpack/msgpack";
import { accepts } from "hono/accepts";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError, renderProblem, validationFailed } from "./problem";

export const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"];
const JSON_TYPES = ["application/json", "application/problem+json"];
/** Largest accepted request body. Batches of 100 full events fit well under it. */
export const MAX_BODY_BYTES = 1024 * 1024;

const mediaTypeOf = (header: string | undefined) => (header ?? "").split(";")[0].trim().toLowerCase();

/** True when the Accept header prefers one of the MessagePack types over JSON (q-values honoured). */
export function prefersMsgpack(c: Context): boolean {
  const chosen = accepts(c, { header: "Accept", supports: [...JSON_TYPES, ...MSGPACK_TYPES], default: "application/json" });
  return MSGPACK_TYPES.includes(chosen);
}

/** Deepest nesting of arrays and maps a body may have; real bodies need four levels. */
export const MAX_BODY_DEPTH = 64;

type Container = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is Container =>
  Array.isArray(value) || (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype);

const unreadable = (path: string, message: string) => validationFailed([{ field: path || "body", message }]);

/**
 * Checks a decoded body the way the validators need it, so MessagePack and JSON bodies get the same
 * validation: rejects values JSON cannot carry (NaN, Infinity, bytes, timestamps, integers beyond
 * 2^53) and nesting deeper than MAX_BODY_DEPTH, naming where they are. 64-bit integers within the
 * safe range become numbers. Walks with its own stack: a 1 MiB body can nest a million levels.
 */
function toJsonValue(root: unknown): unknown {
  const holder: unknown[] = [root];
  const pending: [Container, string | number, string, number][] = [[holder, 0, "", 0]];
  while (pending.length > 0) {
    const [parent, key, path, depth] = pending.pop()!;
    const value = (parent as Record<string | number, unknown>)[key];
    if (value === null || typeof value === "string" || typeof value === "boolean") continue;
    if (typeof value === "number" && Number.isFinite(value)) continue;
    if (typeof value === "bigint" && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER) {
      (parent as Record<string | number, unknown>)[key] = Number(value);
      continue;
    }
    if (!isContainer(value)) throw unreadable(path, "Value is not representable in JSON (NaN, Infinity, bytes, a timestamp or an integer beyond 2^53).");
    if (depth >= MAX_BODY_DEPTH) throw unreadable(path, `Arrays and objects may nest at most ${MAX_BODY_DEPTH} levels deep.`);
    const entries: [string | number, unknown][] = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const child = entries[i][0];
      pending.push([value, child, path ? `${path}.${child}` : String(child), depth + 1]);
    }
  }
  return holder[0];
}

async function readLimitedBody(req: Request): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
  return bytes;
}

const tooLarge = () => new ApiError(413, "payload_too_large", `The request body exceeds ${MAX_BODY_BYTES} bytes.`);

/**
 * Replaces the request body with its JSON equivalent, so one set of validators serves both
 * formats. Throws the contract's 400 (malformed bytes), 413 (too large) or 415 (media type).
 */
async function decodeRequestBody(c: Context<AppEnv>): Promise<void> {
  const req = c.req.raw;
  if (!req.body || req.method === "GET" || req.method === "HEAD") return;
  const bytes = await readLimitedBody(req);
  const mediaType = mediaTypeOf(req.headers.get("content-type") ?? undefined);
  let text: string | null = null;
  if (bytes.byteLength === 0) {
    text = null;
  } else if (MSGPACK_TYPES.includes(mediaType)) {
    let value: unknown;
    try {
      value = decode(bytes, { useBigInt64: true });
    } catch {
      throw new ApiError(400, "malformed_body", "The request body is not valid MessagePack.");
    }
    text = JSON.stringify(toJsonValue(value));
  } else if (mediaType === "application/json" || mediaType.endsWith("+json")) {
    let value: unknown;
    try {
      // Bytes that are not UTF-8, or a leading byte order mark, make the text malformed JSON (RFC 8259).
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
      value = JSON.parse(text);
    } catch {
      throw new ApiError(400, "malformed_body", "The request body is not valid JSON.");
    }
    toJsonValue(value);
  } else if (mediaType === "application/x-www-form-urlencoded" && c.req.path === "/api/auth/login") {
    text = null;
  } else {
    throw new ApiError(415, "unsupported_media_type", "Send the body as application/json or application/msgpack.");
  }
  const headers = new Headers(req.headers);
  if (text !== null) headers.set("content-type", "application/json");
  else if (bytes.byteLength === 0) headers.delete("content-type");
  c.req.raw = new Request(req.url, { method: req.method, headers, body: text ?? (bytes.byteLength ? bytes : null) });
  c.req.bodyCache = {};
}

/** Re-encodes a JSON response as MessagePack when the client prefers it; always adds `Vary: Accept`. */
async function negotiateResponse(c: Context<AppEnv>): Promise<void> {
  c.res.headers.append("Vary", "Accept");
  const type = mediaTypeOf(c.res.headers.get("content-type") ?? undefined);
  if (JSON_TYPES.includes(type) && prefersMsgpack(c)) {
    const body = encode(await c.res.json(), { ignoreUndefined: true });
    const headers = new Headers(c.res.headers);
    headers.set("content-type", "application/msgpack");
    headers.delete("content-length");
    c.res = new Response(body, { status: c.res.status, headers });
  }
}

/**
 * Speaks JSON and MessagePack on every route. Request bodies in MessagePack are decoded and handed
 * on as JSON, so one set of validators serves both; malformed bytes are a 400 here, before any
 * validator runs. Responses are re-encoded as MessagePack when the client prefers it, errors
 * included (those of the body decoding too), and always carry `Vary: Accept`.
 */
export function contentNegotiation() {
  return createMiddleware<AppEnv>(async function contentNegotiation(c, next) {
    try {
      await decodeRequestBody(c);
    } catch (error) {
      // Hono renders an error thrown here after this middleware has returned, so it would escape
      // the negotiation below; decoding only ever throws ApiError, rendered here the same way.
      if (!(error instanceof ApiError)) throw error;
      c.res = renderProblem(c, error);
      await negotiateResponse(c);
      return;
    }
    await next();
    await negotiateResponse(c);
  });
}
