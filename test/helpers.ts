import { decode, encode } from "@msgpack/msgpack";
import { exports } from "cloudflare:workers";

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Send the body as MessagePack with this content type. */
  msgpack?: string;
  accept?: string;
  headers?: Record<string, string>;
  /** Client IP the rate limiters see; each test user gets its own so limits do not collide. */
  ip?: string;
}

const octet = () => Math.floor(Math.random() * 256);
/**
 * A random client IP per call, so rate limits of one test never throttle another: the limiters
 * are shared by every test file of a run, so a per-file counter would collide.
 */
export const freshIp = () => `10.${octet()}.${octet()}.${octet()}`;

/** Sends a request through the Worker's own fetch handler, with real D1 and Durable Objects. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.token) headers.set("Authorization", `Bearer ${options.token}`);
  if (options.accept) headers.set("Accept", options.accept);
  headers.set("CF-Connecting-IP", options.ip ?? freshIp());
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    if (options.msgpack) {
      body = encode(options.body);
      headers.set("Content-Type", options.msgpack);
    } else if (typeof options.body === "string" || options.body instanceof Uint8Array) {
      body = options.body as BodyInit;
    } else {
      body = JSON.stringify(options.body);
      if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    }
  }
  return exports.default.fetch(new Request(`http://localhost${path}`, { method, headers, body }));
}

/** Reads a body in whichever format the response declares. */
export async function bodyOf(response: Response): Promise<any> {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("msgpack")) return decode(new Uint8Array(await response.arrayBuffer()));
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export async function json(method: string, path: string, options: CallOptions = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await call(method, path, options);
  return { status: response.status, body: await bodyOf(response), headers: response.headers };
}

export interface TestUser {
  id: number;
  username: string;
  email: string;
  password: string;
  token: string;
  refresh: string;
}

let userCounter = 0;
/** Registers a new user through the API; names are unique per test file run. */
export async function registerUser(prefix = "user"): Promise<TestUser> {
  const suffix = `${Date.now().toString(36)}${(userCounter++).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const username = `${prefix}_${suffix}`.slice(0, 32);
  const password = "correct horse battery";
  const email = `${username}@example.com`;
  const res = await json("POST", "/api/auth/register", { body: { username, email, password } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, email, password, token: res.body.access_token, refresh: res.body.refresh_token };
}

export function expectProblem(res: { status: number; body: any; headers: Headers }, status: number, code: string) {
  if (res.status !== status || res.body?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  if (!(res.headers.get("content-type") ?? "").startsWith("application/problem+json")) throw new Error(`not problem+json: ${res.headers.get("content-type")}`);
  for (const key of ["type", "title", "status", "detail", "request_id"]) {
    if (!(key in res.body)) throw new Error(`problem body lacks ${key}`);
  }
}

/** An instant as the API renders it: ISO 8601 UTC, without milliseconds when they are zero. */
export const isoUtc = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/**
 * Fresh, non-overlapping time slots for one test file: each call takes the next day of `year`
 * at 09:00 (plus `hourOffset`), lasting `hours`.
 */
export function slotMaker(year: number) {
  let day = 0;
  return (hours = 1, hourOffset = 0) => {
    const start = Date.UTC(year, 0, 1 + day++, 9 + hourOffset);
    return { start_time: isoUtc(start), end_time: isoUtc(start + hours * 3600_000) };
  };
}
