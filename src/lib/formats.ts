import { decode, encode } from "@msgpack/msgpack";
import { accepts } from "hono/accepts";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "./problem";

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

/**
 * Rejects values JSON cannot carry (NaN, Infinity, bytes, big integers), naming where they are,
 * so MessagePack and JSON bodies get the same validation.
 */
function assertJsonCompatible(value: unknown, path: string): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => assertJsonCompatible(item, path ? `${path}.${i}` : String(i)));
    return;
  } else if (typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) assertJsonCompatible(item, path ? `${path}.${key}` : key);
    return;
  }
  throw new ApiError(422, "validation_failed", "The body holds a value that has no JSON equivalent.", {
    errors: [{ field: path || "body", message: "Value is not representable in JSON (NaN, Infinity, bytes or a 64-bit integer)." }],
  });
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
 * Speaks JSON and MessagePack on every route. Request bodies in MessagePack are decoded and handed
 * on as JSON, so one set of validators serves both; malformed bytes are a 400 here, before any
 * validator runs. Responses are re-encoded as MessagePack when the client prefers it, errors
 * included, and always carry `Vary: Accept`.
 */
export function contentNegotiation() {
  return createMiddleware<AppEnv>(async function contentNegotiation(c, next) {
    const req = c.req.raw;
    if (req.body && req.method !== "GET" && req.method !== "HEAD") {
      const bytes = await readLimitedBody(req);
      const mediaType = mediaTypeOf(req.headers.get("content-type") ?? undefined);
      let text: string | null = null;
      if (bytes.byteLength === 0) {
        text = null;
      } else if (MSGPACK_TYPES.includes(mediaType)) {
        let value: unknown;
        try {
          value = decode(bytes);
        } catch {
          throw new ApiError(400, "malformed_body", "The request body is not valid MessagePack.");
        }
        assertJsonCompatible(value, "");
        text = JSON.stringify(value);
      } else if (mediaType === "application/json" || mediaType.endsWith("+json")) {
        text = new TextDecoder().decode(bytes);
        try {
          JSON.parse(text);
        } catch {
          throw new ApiError(400, "malformed_body", "The request body is not valid JSON.");
        }
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

    await next();

    c.res.headers.append("Vary", "Accept");
    const type = mediaTypeOf(c.res.headers.get("content-type") ?? undefined);
    if (JSON_TYPES.includes(type) && prefersMsgpack(c)) {
      const body = encode(await c.res.json(), { ignoreUndefined: true });
      const headers = new Headers(c.res.headers);
      headers.set("content-type", "application/msgpack");
      headers.delete("content-length");
      c.res = new Response(body, { status: c.res.status, headers });
    }
  });
}
