import { Decoder, decode, encode } from "@msgpack/msgpack";
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

export const CALENDAR_TYPE = "text/calendar";
/** The one route that takes an iCalendar body (`Content-Type: text/calendar`). */
export const CALENDAR_BODY_PATH = "/api/events/import";

/**
 * True when the Accept header prefers iCalendar over JSON and MessagePack (q-values honoured;
 * `text/*` counts, a bare wildcard does not): the routes that can answer with a VCALENDAR check it.
 */
export function prefersCalendar(c: Context): boolean {
  return accepts(c, { header: "Accept", supports: [...JSON_TYPES, ...MSGPACK_TYPES, CALENDAR_TYPE], default: "application/json" }) === CALENDAR_TYPE;
}

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
const tooDeep = (path: string) => unreadable(path, `Arrays and objects may nest at most ${MAX_BODY_DEPTH} levels deep.`);

/** One open array or object of a walk: its keys (objects only) and the next child to visit. */
interface Frame {
  value: Container;
  keys: string[] | null;
  next: number;
}

const keyAt = (frame: Frame, i: number): string | number => (frame.keys ? frame.keys[i] : i);
/** The dotted path of the child being visited; built only when an error names it. */
const pathOf = (frames: Frame[]) => frames.map((f) => String(keyAt(f, f.next - 1))).join(".");

/**
 * Checks a decoded body the way the validators need it, so MessagePack and JSON bodies get the same
 * validation: rejects values JSON cannot carry (NaN, Infinity, bytes, timestamps, integers beyond
 * 2^53) and nesting deeper than MAX_BODY_DEPTH, naming where they are. 64-bit integers within the
 * safe range become numbers. Walks with its own stack of at most MAX_BODY_DEPTH frames, so the
 * bookkeeping stays that small whatever the body holds (a 1 MiB array has half a million elements).
 */
function toJsonValue(root: unknown): unknown {
  const holder: Frame = { value: [root], keys: null, next: 0 };
  const frames: Frame[] = [holder];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1];
    const size = frame.keys ? frame.keys.length : (frame.value as unknown[]).length;
    if (frame.next >= size) {
      frames.pop();
      continue;
    }
    const key = keyAt(frame, frame.next++);
    const parent = frame.value as Record<string | number, unknown>;
    const value = parent[key];
    if (value === null || typeof value === "string" || typeof value === "boolean") continue;
    if (typeof value === "number" && Number.isFinite(value)) continue;
    if (typeof value === "bigint" && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER) {
      parent[key] = Number(value);
      continue;
    }
    const path = () => pathOf(frames.slice(1));
    if (!isContainer(value)) throw unreadable(path(), "Value is not representable in JSON (NaN, Infinity, bytes, a timestamp or an integer beyond 2^53).");
    if (frames.length > MAX_BODY_DEPTH) throw tooDeep(path());
    frames.push({ value, keys: Array.isArray(value) ? null : Object.keys(value), next: 0 });
  }
  return (holder.value as unknown[])[0];
}

/** Per open level of scanJsonDepth: whether it is an object, its commas so far, where its current key lies. */
const jsonLevelIsObject = new Uint8Array(MAX_BODY_DEPTH + 1);
const jsonLevelCommas = new Int32Array(MAX_BODY_DEPTH + 1);
const jsonLevelKeyStart = new Int32Array(MAX_BODY_DEPTH + 1);
const jsonLevelKeyEnd = new Int32Array(MAX_BODY_DEPTH + 1);

/**
 * Refuses JSON nested deeper than MAX_BODY_DEPTH from its bytes, before JSON.parse runs: V8 spends
 * 55-95 ms parsing 1 MiB of `[` that the depth check would refuse anyway. One pass over the bytes,
 * no allocation (the level tables above are fixed; the scan is synchronous, so sharing them is
 * safe). Brackets inside strings do not count, escapes honoured; UTF-8 continuation bytes are never
 * ASCII, so bytes serve as well as characters. The structure is not validated here (JSON.parse
 * does that next), so a body nested too deep is 422 even if it is malformed further on. The error
 * names the same path toJsonValue would: the 65th container's place, keys decoded only then.
 */
function scanJsonDepth(bytes: Uint8Array): void {
  let depth = 0;
  let inString = false;
  let awaitingKey = false;
  for (let pos = 0; pos < bytes.length; pos++) {
    const byte = bytes[pos];
    if (inString) {
      if (byte === 0x5c) pos++;
      else if (byte === 0x22) {
        inString = false;
        if (jsonLevelKeyEnd[depth] === -1) jsonLevelKeyEnd[depth] = pos + 1;
      }
      continue;
    }
    switch (byte) {
      case 0x22: // "
        inString = true;
        if (awaitingKey) {
          awaitingKey = false;
          jsonLevelKeyStart[depth] = pos;
          jsonLevelKeyEnd[depth] = -1;
        }
        break;
      case 0x5b: // [
      case 0x7b: // {
        if (depth === MAX_BODY_DEPTH) throw tooDeep(jsonPath(bytes, depth));
        depth++;
        jsonLevelIsObject[depth] = byte === 0x7b ? 1 : 0;
        jsonLevelCommas[depth] = 0;
        jsonLevelKeyStart[depth] = jsonLevelKeyEnd[depth] = 0;
        awaitingKey = byte === 0x7b;
        break;
      case 0x5d: // ]
      case 0x7d: // }
        if (depth > 0) depth--;
        awaitingKey = false;
        break;
      case 0x2c: // ,
        if (depth > 0) {
          jsonLevelCommas[depth]++;
          awaitingKey = jsonLevelIsObject[depth] === 1;
        }
        break;
    }
  }
}

/** The dotted path of the container scanJsonDepth refused, from its level tables. */
function jsonPath(bytes: Uint8Array, depth: number): string {
  const parts: string[] = [];
  for (let level = 1; level <= depth; level++) {
    if (!jsonLevelIsObject[level]) {
      parts.push(String(jsonLevelCommas[level]));
      continue;
    }
    try {
      parts.push(String(JSON.parse(new TextDecoder().decode(bytes.subarray(jsonLevelKeyStart[level], jsonLevelKeyEnd[level])))));
    } catch {
      parts.push("?");
    }
  }
  return parts.join(".");
}

const malformedMsgpack = (why: string) => new ApiError(400, "malformed_body", `The request body is not valid MessagePack: ${why}.`);

/** An open array or map while scanning MessagePack: items left, items read, and where the current key is. */
interface ScanFrame {
  isMap: boolean;
  left: number;
  read: number;
  keyStart: number;
  keyEnd: number;
}

/**
 * Walks MessagePack bytes without building anything, before the decoder runs. Every length header is
 * checked against the bytes that follow it: an array or map cannot claim more elements than bytes
 * remain (each element takes at least one), nor a string, binary or extension more bytes. So a
 * 5-byte body that claims 4 billion elements is a 400 here, and the decoder later allocates only
 * what the body really holds. Nesting past MAX_BODY_DEPTH is the same 422 the JSON path gives, with
 * the path (keys are decoded only to name it).
 */
function scanMsgpack(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.byteLength;
  const frames: ScanFrame[] = [];
  /** Items promised by every open header and not yet read, the root included. */
  let pending = 1;
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > length) throw malformedMsgpack("a length header claims more bytes than the body holds");
  };
  const uint = (size: 1 | 2 | 4) => {
    need(size);
    const n = size === 1 ? view.getUint8(pos) : size === 2 ? view.getUint16(pos) : view.getUint32(pos);
    pos += size;
    return n;
  };
  const path = () =>
    frames
      .map((f) => {
        if (!f.isMap) return String(f.read - 1);
        try {
          return String(decode(bytes.subarray(f.keyStart, f.keyEnd)));
        } catch {
          return "?";
        }
      })
      .join(".");
  while (pending > 0) {
    if (pos >= length) throw malformedMsgpack("the body ends inside a value");
    const start = pos;
    const head = bytes[pos++];
    const parent = frames[frames.length - 1];
    const isKey = parent !== undefined && parent.isMap && parent.read % 2 === 0;
    if (parent) {
      parent.left--;
      parent.read++;
    }
    pending--;
    let children = -1;
    let mapChildren = false;
    if (head <= 0x7f || head >= 0xe0 || head === 0xc0 || head === 0xc2 || head === 0xc3) {
      // fixint, nil, booleans: the head byte is the whole value.
    } else if (head <= 0x8f) {
      children = head & 0x0f;
      mapChildren = true;
    } else if (head <= 0x9f) {
      children = head & 0x0f;
    } else if (head <= 0xbf) {
      need(head & 0x1f);
      pos += head & 0x1f;
    } else {
      switch (head) {
        case 0xc4: case 0xd9: { const n = uint(1); need(n); pos += n; break; }
        case 0xc5: case 0xda: { const n = uint(2); need(n); pos += n; break; }
        case 0xc6: case 0xdb: { const n = uint(4); need(n); pos += n; break; }
        case 0xc7: { const n = uint(1); need(1 + n); pos += 1 + n; break; }
        case 0xc8: { const n = uint(2); need(1 + n); pos += 1 + n; break; }
        case 0xc9: { const n = uint(4); need(1 + n); pos += 1 + n; break; }
        case 0xca: case 0xd2: case 0xce: need(4); pos += 4; break;
        case 0xcb: case 0xd3: case 0xcf: need(8); pos += 8; break;
        case 0xcc: case 0xd0: need(1); pos += 1; break;
        case 0xcd: case 0xd1: need(2); pos += 2; break;
        case 0xd4: need(2); pos += 2; break;
        case 0xd5: need(3); pos += 3; break;
        case 0xd6: need(5); pos += 5; break;
        case 0xd7: need(9); pos += 9; break;
        case 0xd8: need(17); pos += 17; break;
        case 0xdc: children = uint(2); break;
        case 0xdd: children = uint(4); break;
        case 0xde: children = uint(2); mapChildren = true; break;
        case 0xdf: children = uint(4); mapChildren = true; break;
        default: throw malformedMsgpack(`0x${head.toString(16)} is not a MessagePack type byte`);
      }
    }
    if (isKey) {
      if (children >= 0) throw malformedMsgpack("a map key is an array or a map");
      parent.keyStart = start;
      parent.keyEnd = pos;
    }
    if (children >= 0) {
      const items = mapChildren ? children * 2 : children;
      pending += items;
      if (pending > length - pos) throw malformedMsgpack("a length header claims more elements than the body holds");
      if (frames.length >= MAX_BODY_DEPTH) throw tooDeep(path());
      frames.push({ isMap: mapChildren, left: items, read: 0, keyStart: 0, keyEnd: 0 });
    }
    while (frames.length > 0 && frames[frames.length - 1].left === 0) frames.pop();
  }
  if (pos !== length) throw malformedMsgpack("bytes follow the value");
}

/** Decodes MessagePack whose structure scanMsgpack has checked; every limit is the body's own size. */
function decodeMsgpack(bytes: Uint8Array): unknown {
  scanMsgpack(bytes);
  const limit = bytes.byteLength;
  const decoder = new Decoder({ useBigInt64: true, maxArrayLength: limit, maxMapLength: limit, maxStrLength: limit, maxBinLength: limit, maxExtLength: limit });
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ApiError(400, "malformed_body", "The request body is not valid MessagePack.");
  }
}

/**
 * Reads the body chunk by chunk and stops at MAX_BODY_BYTES, whatever Content-Length says: a chunked
 * body has none, and a lying one must not make us buffer more. (Hono's bodyLimit trusts a present
 * Content-Length and leaves the reading to a later arrayBuffer(), which reads everything.)
 */
async function readLimitedBody(req: Request): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const reader = req.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
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
    text = JSON.stringify(toJsonValue(decodeMsgpack(bytes)));
  } else if (mediaType === "application/json" || mediaType.endsWith("+json")) {
    scanJsonDepth(bytes);
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
  } else if (mediaType === CALENDAR_TYPE && c.req.path === CALENDAR_BODY_PATH) {
    // Handed on as text; the import route parses it (src/ical/read.ts). RFC 5545 3.1.4: UTF-8.
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      throw new ApiError(400, "malformed_body", "The iCalendar body is not valid UTF-8.");
    }
    c.req.raw = new Request(req.url, { method: req.method, headers: req.headers, body: text });
    c.req.bodyCache = {};
    return;
  } else {
    throw new ApiError(
      415,
      "unsupported_media_type",
      c.req.path === CALENDAR_BODY_PATH ? "Send the body as text/calendar, application/json or application/msgpack." : "Send the body as application/json or application/msgpack.",
    );
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
