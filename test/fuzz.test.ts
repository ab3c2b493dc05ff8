import { encode } from "@msgpack/msgpack";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, registerUser, type TestUser } from "./helpers";
import { digestDelta, stateDigest, type Digest } from "./support/state";
import { algNoneToken, claimsOf, flippedSignature, forgeToken, tamperedToken } from "./support/tokens";
import { expectedFormat, problemShapeIssues, send, type WireRequest, type WireResponse } from "./support/wire";

/**
 * Property-based fuzzing of every route. Each property draws requests (schema-valid and hostile),
 * sends them through the Worker, and checks the invariants that hold for every answer:
 *   - never a 5xx;
 *   - every error is a problem document (JSON, or MessagePack when Accept prefers it) with the
 *     contract's members, and the status a case names when it names one;
 *   - a 4xx changes nothing (a digest of the whole database, read before and after);
 *   - no body carries a password hash, another user's refresh token, or the content of an event
 *     the fuzzing user cannot see.
 *
 * Replay: runs are deterministic for a seed (default 20261117). Property k runs with seed
 * FUZZ_SEED + k; on failure fast-check prints that seed, the failing path and the shrunk
 * counterexample, and the error names the request, the answer and each broken invariant.
 *   VITE_FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts          another base seed
 *   VITE_FUZZ_SEED=<seed - k> VITE_FUZZ_PATH=<path> ... -t "<name>"  replay one shrunk failure
 *   VITE_FUZZ_SCALE=0.1 ...                                           a tenth of the runs
 * Only VITE_* variables of the shell reach the test inside workerd, as process.env (import.meta.env
 * has them too, but vitest's module cache can freeze it across runs).
 */
const viteEnv = process.env;
const FUZZ_SEED = Number(viteEnv.VITE_FUZZ_SEED ?? 20261117);
const FUZZ_PATH = viteEnv.VITE_FUZZ_PATH;
const FUZZ_SCALE = Number(viteEnv.VITE_FUZZ_SCALE ?? 1);
const PROPERTY_TIMEOUT = 240_000;

/** Fuzzing users: writes are spread over them so the per-user write limit (120 per 10 s) rarely bites. */
const FUZZERS = 10;
/** One client IP for the whole fuzz, so register and login hit their IP limits early and stay cheap. */
const FUZZ_IP = "203.0.113.77";
const WINDOW_START = Date.UTC(2031, 0, 1);
const HALF_HOUR = 30 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const XSS_SCRIPT = '<script>alert("xss")</script>';
const XSS_IMG = '"><img src=x onerror=alert(1)>';

// ---------------------------------------------------------------------------------------------
// The world the fuzzers live in
// ---------------------------------------------------------------------------------------------

type TokenKind =
  | "own"
  | "lowercaseScheme"
  | "none"
  | "garbage"
  | "emptyBearer"
  | "basic"
  | "doubleSpace"
  | "expired"
  | "algNone"
  | "otherKey"
  | "wrongAudience"
  | "wrongIssuer"
  | "typRefresh"
  | "subOfVictim"
  | "sidOfVictim"
  | "tamperedPayload"
  | "flippedSignature"
  | "revoked"
  | "refreshAsAccess"
  | "victimRevoked"
  | "huge";
const HOSTILE_TOKENS: TokenKind[] = [
  "none",
  "garbage",
  "emptyBearer",
  "basic",
  "doubleSpace",
  "expired",
  "algNone",
  "otherKey",
  "wrongAudience",
  "wrongIssuer",
  "typRefresh",
  "subOfVictim",
  "sidOfVictim",
  "tamperedPayload",
  "flippedSignature",
  "revoked",
  "refreshAsAccess",
  "victimRevoked",
  "huge",
];

interface Fuzzer extends TestUser {
  owned: number[];
  headers: Record<TokenKind, string | undefined>;
  cursors: Record<CursorCollection, string>;
}

type CursorCollection = "events" | "changelog" | "agenda" | "notifications" | "notificationsSince";

interface World {
  fuzzers: Fuzzer[];
  victim: TestUser;
  witness: TestUser;
  refresher: TestUser;
  secretId: number;
  viewerEventId: number;
  editorEventId: number;
  deletedId: number;
  witnessEventId: number;
  victimNotificationId: number;
  victimCursors: Record<"events" | "changelog" | "notifications", string>;
  /** Sessions of the refresher that refresh and logout may consume. */
  refresherSessions: { token: string; refresh: string; spent: string[] }[];
  witnessSpentRefresh: string;
  witnessLiveRefresh: string;
  markers: string[];
}

let world: World;
const marker = (what: string) => `ZQX${what}${crypto.randomUUID().replaceAll("-", "")}`;

async function must(promise: Promise<{ status: number; body: any }>, status: number) {
  const res = await promise;
  if (res.status !== status) throw new Error(`setup expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function login(user: TestUser) {
  return must(json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } }), 200);
}

beforeAll(async () => {
  const [victim, witness, refresher, ...fuzzUsers] = await Promise.all(
    ["victim", "witness", "refresher", ...Array.from({ length: FUZZERS }, (_, i) => `fz${i}`)].map((name) => registerUser(name)),
  );
  const markers = [marker("title"), marker("desc"), marker("loc")];
  const at = (slot: number, length = 2) => ({ start_time: iso(WINDOW_START + slot * HALF_HOUR), end_time: iso(WINDOW_START + (slot + length) * HALF_HOUR) });
  const as = (user: TestUser) => ({ token: user.token });

  // The secret: the victim's, shared with the witness only. Its text must never reach a fuzzer.
  const secret = await must(json("POST", "/api/events", { ...as(victim), body: { title: `Secret ${markers[0]}`, description: `Plans ${markers[1]}`, location: `Room ${markers[2]}`, ...at(100) } }), 201);
  await must(json("POST", `/api/events/${secret.id}/share`, { ...as(victim), body: { user_id: witness.id, role: "viewer" } }), 200);
  const viewerEvent = await must(json("POST", "/api/events", { ...as(victim), body: { title: "Team viewer event", ...at(104) } }), 201);
  const editorEvent = await must(json("POST", "/api/events", { ...as(victim), body: { title: "Team editor event", ...at(108) } }), 201);
  for (const description of ["first draft", "second draft"]) await must(json("PATCH", `/api/events/${editorEvent.id}`, { ...as(victim), body: { description } }), 200);
  await must(json("POST", `/api/events/${viewerEvent.id}/share`, { ...as(victim), body: fuzzUsers.map((u) => ({ user_id: u.id, role: "viewer" })) }), 200);
  await must(json("POST", `/api/events/${editorEvent.id}/share`, { ...as(victim), body: fuzzUsers.map((u) => ({ user_id: u.id, role: "editor" })) }), 200);
  const deleted = await must(json("POST", "/api/events", { ...as(victim), body: { title: "Gone", ...at(112) } }), 201);
  await must(json("DELETE", `/api/events/${deleted.id}`, as(victim)), 204);
  for (const slot of [200, 204]) await must(json("POST", "/api/events", { ...as(victim), body: { title: "Victim filler", ...at(slot) } }), 201);
  const witnessEvent = await must(json("POST", "/api/events", { ...as(witness), body: { title: "Witness private", ...at(100) } }), 201);

  const victimEvents = await must(json("GET", "/api/events?limit=1", as(victim)), 200);
  const victimChangelog = await must(json("GET", `/api/events/${editorEvent.id}/changelog?limit=1`, as(victim)), 200);
  const victimNotifications = await must(json("GET", "/api/notifications?limit=1", as(victim)), 200);

  // The witness's first refresh token is spent; presenting it again is theft (and only hurts the witness).
  const rotated = await must(json("POST", "/api/auth/refresh", { body: { refresh_token: witness.refresh } }), 200);

  // Sessions the auth fuzz may log out or refresh; one more is logged out now for a revoked token.
  const extra = await Promise.all([login(refresher), login(refresher), login(refresher)]);
  await must(json("POST", "/api/auth/logout", { token: extra[2].access_token }), 204);
  const revokedToken = extra[2].access_token as string;
  const victimSpare = await login(victim);
  await must(json("POST", "/api/auth/logout", { token: victimSpare.access_token }), 204);

  const fuzzers: Fuzzer[] = [];
  for (const [i, user] of fuzzUsers.entries()) {
    const owned: number[] = [];
    for (const slot of [10 + i * 40, 20 + i * 40]) owned.push((await must(json("POST", "/api/events", { ...as(user), body: { title: `Own ${i}-${slot}`, ...at(slot) } }), 201)).id);
    const claims = claimsOf(user.token);
    const victimClaims = claimsOf(victim.token);
    const agendaWindow = `start=${iso(WINDOW_START)}&end=${iso(WINDOW_START + 14 * 86_400_000)}`;
    const cursors: Record<CursorCollection, string> = {
      events: (await must(json("GET", "/api/events?limit=1", as(user)), 200)).next_cursor,
      changelog: (await must(json("GET", `/api/events/${editorEvent.id}/changelog?limit=1`, as(user)), 200)).next_cursor,
      agenda: (await must(json("GET", `/api/agenda?${agendaWindow}&limit=1`, as(user)), 200)).next_cursor,
      notifications: (await must(json("GET", "/api/notifications?limit=1", as(user)), 200)).next_cursor,
      notificationsSince: (await must(json("GET", "/api/notifications?limit=1&since=0", as(user)), 200)).next_cursor,
    };
    for (const [name, cursor] of Object.entries(cursors)) if (!cursor) throw new Error(`setup: no ${name} cursor for ${user.username}`);
    const bearer = (token: string) => `Bearer ${token}`;
    fuzzers.push({
      ...user,
      owned,
      cursors,
      headers: {
        own: bearer(user.token),
        lowercaseScheme: `bearer ${user.token}`,
        none: undefined,
        garbage: "Bearer garbage",
        emptyBearer: "Bearer ",
        basic: `Basic ${btoa(`${user.username}:${user.password}`)}`,
        doubleSpace: `Bearer  ${user.token}`,
        expired: bearer(await forgeToken({ sub: claims.sub, sid: claims.sid, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresAt: Math.floor(Date.now() / 1000) - 3600 })),
        algNone: bearer(algNoneToken(user.token)),
        otherKey: bearer(await forgeToken({ sub: claims.sub, sid: claims.sid, secret: "another-secret-that-is-long-enough-0123456789" })),
        wrongAudience: bearer(await forgeToken({ sub: claims.sub, sid: claims.sid, audience: "someone-else" })),
        wrongIssuer: bearer(await forgeToken({ sub: claims.sub, sid: claims.sid, issuer: "someone-else" })),
        typRefresh: bearer(await forgeToken({ sub: claims.sub, sid: claims.sid, typ: "refresh" })),
        subOfVictim: bearer(await forgeToken({ sub: String(victim.id), sid: claims.sid })),
        sidOfVictim: bearer(await forgeToken({ sub: claims.sub, sid: victimClaims.sid })),
        tamperedPayload: bearer(tamperedToken(user.token, { sub: String(victim.id) })),
        flippedSignature: bearer(flippedSignature(user.token)),
        revoked: bearer(revokedToken),
        refreshAsAccess: bearer(user.refresh),
        victimRevoked: bearer(victimSpare.access_token),
        huge: bearer("a".repeat(8000)),
      },
    });
  }

  world = {
    fuzzers,
    victim,
    witness,
    refresher,
    secretId: secret.id,
    viewerEventId: viewerEvent.id,
    editorEventId: editorEvent.id,
    deletedId: deleted.id,
    witnessEventId: witnessEvent.id,
    victimNotificationId: victimNotifications.items[0].id,
    victimCursors: { events: victimEvents.next_cursor, changelog: victimChangelog.next_cursor, notifications: victimNotifications.next_cursor },
    refresherSessions: [
      { token: refresher.token, refresh: refresher.refresh, spent: [] },
      ...extra.slice(0, 2).map((s) => ({ token: s.access_token as string, refresh: s.refresh_token as string, spent: [] as string[] })),
    ],
    witnessSpentRefresh: witness.refresh,
    witnessLiveRefresh: rotated.refresh_token,
    markers,
  };
  lastDigest = await stateDigest(env.DB);
}, 120_000);

// ---------------------------------------------------------------------------------------------
// Symbolic requests: references resolved against the world when the request is sent
// ---------------------------------------------------------------------------------------------

type EventWhich = "own" | "viewer" | "editor" | "secret" | "foreign" | "deleted";
type Ref =
  | { $ref$: "event"; which: EventWhich; n: number }
  | { $ref$: "eventAlias"; how: "hex" | "decimalPoint" | "plus" | "leadingZero" | "exponent" | "space" | "octal" | "binary"; n: number }
  | { $ref$: "user"; which: "self" | "victim" | "witness" | "other" | "unknown"; as: "id" | "username" | "email" | "upperUsername" | "idString"; n: number }
  | { $ref$: "notification"; which: "own" | "foreign" }
  | { $ref$: "cursor"; kind: CursorKind; collection: CursorCollection }
  | { $ref$: "refreshToken"; which: RefreshWhich }
  | { $ref$: "marker"; part: "prefix" | "suffix" };

type CursorKind = "own" | "flipBody" | "flipMac" | "noMac" | "swapMac" | "forgedScope" | "appended" | "foreign" | "crossCollection";
type RefreshWhich = "live" | "spent" | "witnessSpent" | "witnessTampered" | "accessToken" | "garbage" | "upper" | "truncated" | "huge";

interface Spec {
  method: string;
  path: (string | Ref)[];
  query?: [string, string | Ref][];
  token?: TokenKind;
  /** Which session the auth fuzz uses: a fuzzer, or one of the refresher's disposable sessions. */
  actor?: "fuzzer" | "refresher";
  who: number;
  accept?: string;
  headers?: Record<string, string>;
  body?: BodySpec;
  /** The statuses this request may get; absent when any non-5xx is acceptable. */
  expect?: number[];
  /** Refresh may revoke a session on a 4xx by design (reuse is theft). */
  refresh?: boolean;
  /** A WebSocket upgrade: the token goes in the query, as browsers must send it. */
  socket?: boolean;
  label: string;
}

type BodySpec =
  | { kind: "json"; value: unknown; contentType?: string }
  | { kind: "msgpack"; value: unknown; contentType: string; bigInt?: boolean }
  | { kind: "raw"; bytes: Uint8Array | string; contentType?: string };

const isRef = (value: unknown): value is Ref => typeof value === "object" && value !== null && "$ref$" in value;

function resolveRef(ref: Ref, fuzzer: Fuzzer): string | number {
  switch (ref.$ref$) {
    case "event": {
      if (ref.which === "own") return fuzzer.owned.length ? fuzzer.owned[ref.n % fuzzer.owned.length] : world.deletedId;
      return { viewer: world.viewerEventId, editor: world.editorEventId, secret: world.secretId, foreign: world.witnessEventId, deleted: world.deletedId }[ref.which];
    }
    case "eventAlias": {
      const id = fuzzer.owned.length ? fuzzer.owned[ref.n % fuzzer.owned.length] : world.viewerEventId;
      return { hex: `0x${id.toString(16)}`, decimalPoint: `${id}.0`, plus: `+${id}`, leadingZero: `0${id}`, exponent: `${id}e0`, space: `%20${id}`, octal: `0o${id.toString(8)}`, binary: `0b${id.toString(2)}` }[ref.how];
    }
    case "user": {
      const others = world.fuzzers.filter((f) => f.id !== fuzzer.id);
      const user =
        ref.which === "self" ? fuzzer : ref.which === "victim" ? world.victim : ref.which === "witness" ? world.witness : ref.which === "other" ? others[ref.n % others.length] : null;
      if (!user) return ref.as === "id" ? 999_999_999 : ref.as === "idString" ? "999999999" : ref.as === "email" ? "nobody@example.com" : "nobody_at_all";
      return { id: user.id, idString: String(user.id), username: user.username, upperUsername: user.username.toUpperCase(), email: user.email }[ref.as];
    }
    case "notification":
      return ref.which === "foreign" ? world.victimNotificationId : (latestNotification.get(fuzzer.id) ?? world.victimNotificationId);
    case "cursor":
      return cursorOf(ref.kind, ref.collection, fuzzer);
    case "refreshToken":
      return refreshTokenOf(ref.which, fuzzer);
    case "marker":
      // Parts of the secret's title: a search for them must find nothing the fuzzer cannot see.
      return ref.part === "prefix" ? world.markers[0].slice(0, 12) : world.markers[0].slice(-12);
  }
}

const latestNotification = new Map<number, number>();

function flipAt(text: string, index: number): string {
  const ch = text[index];
  return text.slice(0, index) + (ch === "A" ? "B" : "A") + text.slice(index + 1);
}

function cursorOf(kind: CursorKind, collection: CursorCollection, fuzzer: Fuzzer): string {
  const own = fuzzer.cursors[collection];
  const [body, mac] = own.split(".");
  const other = world.fuzzers.find((f) => f.id !== fuzzer.id)!.cursors[collection];
  switch (kind) {
    case "own":
      return own;
    // Flip a middle character: the last one of a base64url part may only touch padding bits.
    case "flipBody":
      return `${flipAt(body, Math.floor(body.length / 2))}.${mac}`;
    case "flipMac":
      return `${body}.${flipAt(mac, Math.floor(mac.length / 2))}`;
    case "noMac":
      return body;
    case "swapMac":
      return `${body}.${other.split(".")[1]}`;
    case "forgedScope": {
      const decoded = JSON.parse(atob(body.replaceAll("-", "+").replaceAll("_", "/"))) as { s: string; p: unknown[] };
      const forged = btoa(JSON.stringify({ ...decoded, s: decoded.s.replace(String(fuzzer.id), String(world.victim.id)) })).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
      return `${forged}.${mac}`;
    }
    case "appended":
      return `${own}.x`;
    case "foreign":
      // Another user's cursor for the same collection (the victim's, or another fuzzer's).
      return collection === "events" ? world.victimCursors.events : collection === "changelog" ? world.victimCursors.changelog : collection === "notifications" ? world.victimCursors.notifications : other;
    case "crossCollection":
      return fuzzer.cursors[collection === "events" ? "notifications" : "events"];
  }
}

function refreshTokenOf(which: RefreshWhich, _fuzzer: Fuzzer): string {
  const session = world.refresherSessions[0];
  switch (which) {
    case "live":
      return session.refresh;
    case "spent":
      return session.spent.at(-1) ?? world.witnessSpentRefresh;
    case "witnessSpent":
      return world.witnessSpentRefresh;
    case "witnessTampered":
      return flipAt(world.witnessLiveRefresh, world.witnessLiveRefresh.length - 5);
    case "accessToken":
      return session.token;
    case "garbage":
      return "rt_not-a-token";
    case "upper":
      return session.refresh.toUpperCase();
    case "truncated":
      return session.refresh.slice(0, -1);
    case "huge":
      return `rt_${"f".repeat(4000)}`;
  }
}

function resolveValue(value: unknown, fuzzer: Fuzzer): unknown {
  if (isRef(value)) return resolveRef(value, fuzzer);
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, fuzzer));
  if (value && typeof value === "object" && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v, fuzzer)]));
  }
  return value;
}

const SOCKET_TOKEN = "\u0000socket-token";

/** encodeURIComponent, except that lone surrogates go out as their (invalid) WTF-8 bytes instead of throwing. */
function encodeQuery(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff) out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join("");
    else out += encodeURIComponent(ch);
  }
  return out;
}

function toWire(spec: Spec, fuzzer: Fuzzer): WireRequest {
  const path = spec.path.map((part) => (isRef(part) ? String(resolveRef(part, fuzzer)) : part)).join("");
  const token = spec.token ?? "own";
  const auth = spec.actor === "refresher" ? (token === "own" ? `Bearer ${world.refresherSessions[0].token}` : fuzzer.headers[token]) : fuzzer.headers[token];
  const queryValue = (v: string | Ref) => (isRef(v) ? String(resolveRef(v, fuzzer)) : v === SOCKET_TOKEN ? (auth ?? "").replace(/^Bearer /, "") : v);
  const query = (spec.query ?? []).map(([k, v]) => `${encodeQuery(k)}=${encodeQuery(queryValue(v))}`).join("&");
  const headers: Record<string, string> = { "CF-Connecting-IP": FUZZ_IP, ...spec.headers };
  if (auth !== undefined && !spec.socket) headers.Authorization = auth;
  if (spec.accept !== undefined) headers.Accept = spec.accept;
  let body: string | Uint8Array | undefined;
  if (spec.body?.kind === "json") {
    body = JSON.stringify(resolveValue(spec.body.value, fuzzer));
    headers["Content-Type"] = spec.body.contentType ?? "application/json";
  } else if (spec.body?.kind === "msgpack") {
    body = encode(resolveValue(spec.body.value, fuzzer), { useBigInt64: spec.body.bigInt ?? false });
    headers["Content-Type"] = spec.body.contentType;
  } else if (spec.body?.kind === "raw") {
    body = spec.body.bytes;
    if (spec.body.contentType !== undefined) headers["Content-Type"] = spec.body.contentType;
  }
  return { method: spec.method, path: query ? `${path}?${query}` : path, headers, body };
}

// ---------------------------------------------------------------------------------------------
// The invariants
// ---------------------------------------------------------------------------------------------

let lastDigest: Digest;
let requestsSent = 0;
const statusTally = new Map<string, Map<number, number>>();

const REFRESH_TOKEN = /rt_([0-9a-f]{32})\.[0-9a-f]{64}/g;
const SESSION_PATHS = new Set(["/api/auth/register", "/api/auth/login", "/api/auth/refresh"]);

async function sessionOwner(sessionId: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT user_id FROM sessions WHERE id = ?").bind(sessionId).first<{ user_id: number }>();
  return row?.user_id ?? null;
}

/** Every way a response breaks an invariant, in words; empty when it keeps all of them. */
async function violations(spec: Spec, req: WireRequest, res: WireResponse, before: Digest, after: Digest): Promise<string[]> {
  const issues: string[] = [];
  if (res.status >= 500) issues.push(`5xx: ${res.status}`);
  if (!res.headers.get("x-request-id")) issues.push("no X-Request-Id");
  if (spec.expect && !spec.expect.includes(res.status)) issues.push(`status ${res.status}, expected one of ${spec.expect.join(", ")}`);
  if (res.status >= 400) {
    issues.push(...problemShapeIssues(res, expectedFormat(spec.accept), req.method));
    const delta = digestDelta(before, after);
    if (spec.refresh && Object.keys(delta).every((k) => k === "sessions_revoked") && (delta.sessions_revoked === undefined || delta.sessions_revoked[1] - delta.sessions_revoked[0] === 1)) {
      // A reused or forged refresh token revokes its session: the contract's theft rule.
    } else if (Object.keys(delta).length) {
      issues.push(`a ${res.status} changed the database: ${JSON.stringify(delta)}`);
    }
  }
  if (/scrypt\$/.test(res.text)) issues.push("body contains a password hash");
  // The OpenAPI document may show the test password as its example; API answers may not.
  if (/^\/(api|ws)\//.test(req.path) && res.text.includes(world.fuzzers[0].password)) issues.push("body contains a password");
  for (const mark of world.markers) if (res.text.includes(mark)) issues.push(`body reveals the secret event (${mark.slice(0, 8)}...)`);
  if ((res.headers.get("content-type") ?? "").includes("text/html") && (res.text.includes("<script>alert(") || res.text.includes("<img src=x onerror"))) {
    issues.push("HTML page reflects a fuzz string unescaped");
  }
  const tokens = [...res.text.matchAll(REFRESH_TOKEN)];
  if (tokens.length) {
    const path = req.path.split("?")[0];
    const ownerId = (res.body as { user?: { id?: number } } | null)?.user?.id;
    if (!(res.status < 300 && SESSION_PATHS.has(path) && ownerId !== undefined)) issues.push(`a refresh token in a ${res.status} answer to ${req.method} ${path}`);
    for (const [, sessionId] of tokens) {
      const owner = await sessionOwner(sessionId);
      if (owner !== ownerId) issues.push(`refresh token of user ${owner} given to user ${ownerId}`);
    }
  }
  return issues;
}

/** After a success, keeps the world's bookkeeping in step (owned events, spent refresh tokens). */
async function recordSuccess(spec: Spec, req: WireRequest, res: WireResponse, fuzzer: Fuzzer): Promise<void> {
  const path = req.path.split("?")[0];
  const body = res.body as any;
  if (res.status === 201 && path === "/api/events") fuzzer.owned.push(body.id);
  if (res.status === 201 && path === "/api/events/batch") fuzzer.owned.push(...body.map((e: { id: number }) => e.id));
  const eventMatch = /^\/api\/events\/(\d+)$/.exec(path);
  if (res.status === 204 && req.method === "DELETE" && eventMatch) {
    for (const f of world.fuzzers) f.owned = f.owned.filter((id) => id !== Number(eventMatch[1]));
  }
  if (res.status === 200 && path === "/api/notifications" && Array.isArray(body?.items) && body.items.length) latestNotification.set(fuzzer.id, body.items[0].id);
  if (res.status === 200 && path === "/api/auth/refresh" && body.user?.id === world.refresher.id) {
    const session = world.refresherSessions[0];
    session.spent.push(session.refresh);
    session.refresh = body.refresh_token;
    session.token = body.access_token;
  }
  if (res.status === 204 && path === "/api/auth/logout" && spec.actor === "refresher" && (spec.token ?? "own") === "own" && world.refresherSessions.length > 1) {
    world.refresherSessions.shift();
  }
  // A fuzzer who left one of the victim's shared events is let back in, so the scenario stays.
  const left = /^\/api\/events\/(\d+)\/permissions\/(\d+)$/.exec(path);
  if (res.status === 204 && left && [world.viewerEventId, world.editorEventId].includes(Number(left[1]))) {
    const role = Number(left[1]) === world.viewerEventId ? "viewer" : "editor";
    await must(json("POST", `/api/events/${left[1]}/share`, { token: world.victim.token, body: { user_id: Number(left[2]), role } }), 200);
  }
  if (res.webSocket) {
    res.webSocket.accept();
    res.webSocket.close(1000, "fuzz done");
  }
}

async function exchange(spec: Spec, property: string): Promise<void> {
  const fuzzer = world.fuzzers[spec.who % world.fuzzers.length];
  const req = toWire(spec, fuzzer);
  const before = lastDigest;
  const res = await send(req);
  requestsSent++;
  const tally = statusTally.get(property) ?? new Map<number, number>();
  tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
  statusTally.set(property, tally);
  if (res.status < 400) await recordSuccess(spec, req, res, fuzzer);
  const after = await stateDigest(env.DB);
  lastDigest = after;
  const issues = await violations(spec, req, res, before, after);
  if (issues.length) {
    const shownBody = typeof req.body === "string" ? req.body.slice(0, 400) : req.body ? `<${req.body.byteLength} bytes>` : "";
    throw new Error(
      `${spec.label}: ${req.method} ${req.path.slice(0, 300)} (as ${fuzzer.username}, token ${spec.token ?? "own"}, accept ${spec.accept ?? "-"})\n` +
        `  body: ${shownBody}\n  -> ${res.status} ${res.headers.get("content-type")}: ${res.text.slice(0, 600)}\n  violations:\n   - ${issues.join("\n   - ")}`,
    );
  }
}

async function fuzz(property: string, index: number, arbitrary: fc.Arbitrary<Spec>, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, (spec) => exchange(spec, property)),
    { seed: FUZZ_SEED + index, path: FUZZ_PATH, numRuns: Math.max(1, Math.round(numRuns * FUZZ_SCALE)), verbose: 1 },
  );
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const HOSTILE_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "مرحبا بالعالم",
  "\u202egnp.exe",
  "שלום עולם",
  "🗓️📅👩‍👩‍👧‍👦",
  "%",
  "_",
  "%%",
  "a%b_c",
  "' OR '1'='1",
  "'; DROP TABLE events; --",
  '" OR ""="',
  "--",
  ";",
  "\\",
  "\\%",
  "NULL",
  "null",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e309",
  "9007199254740993",
  "-0",
  "0x10",
  "١٢",
  XSS_SCRIPT,
  XSS_IMG,
  "{{7*7}}",
  "${7*7}",
  "../../../etc/passwd",
  "İstanbul",
  "ǅ",
  "\r\n",
  "\t",
  "__proto__",
];

const anyChar = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)) },
  { weight: 2, arbitrary: fc.constantFrom("\u0000", "\ud800", "\udfff", "\u202e", "\u200f", "\ufeff", "😀", "👩‍👩‍👧", "ا", "%", "_", "'", '"', "\\", ";", "-", "\n", "<", ">") },
  { weight: 3, arbitrary: fc.constantFrom(..."abcXYZ019 .-") },
);
const hostileText = (maxLength = 40) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: anyChar, maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength }) },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(201, 500, 501, 10_000, 10_001, 60_000), fc.constantFrom("x", "é", "😀", "\u0000", "%")).map(([n, c]) => c.repeat(n)) },
  );
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, -0, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, 1e308),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileText() },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, [], {}, [null], { a: 1 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const maybe = <T>(arb: fc.Arbitrary<T>, hostileWeight = 1) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: hostileWeight, arbitrary: hostileValue });

const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Calcutta", "Etc/GMT+14"];
const BAD_ZONES = ["Mars/Olympus", "", "utc ", "+01:00", "../../etc/passwd", "Europe/Berlin\u0000", "Europe/", "A".repeat(64)];
const timezone = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ZONES) }, { weight: 1, arbitrary: fc.constantFrom(...BAD_ZONES) });

/** A start and end on a half-hour grid over one week, so creates and moves often collide. */
const slotTimes = fc.tuple(fc.oneof(fc.nat({ max: 335 }), fc.integer({ min: 92, max: 116 })), fc.integer({ min: -1, max: 6 })).map(([slot, length]) => ({
  start_time: iso(WINDOW_START + slot * HALF_HOUR),
  end_time: iso(WINDOW_START + (slot + length) * HALF_HOUR),
}));
const ODD_TIMES = [
  "2031-03-30T02:30:00", // gap in Europe/Berlin
  "2031-03-09T02:30:00", // gap in America/New_York
  "2031-10-26T02:30:00", // overlap in Europe/Berlin
  "2031-01-02T10:00:00",
  "2031-01-02T10:00",
  "2031-01-02T10:00:00.5Z",
  "2031-01-02T10:00:00+14:00",
  "2031-01-02T10:00:00-23:59",
  "0001-01-01T00:00:00+23:59",
  "9999-12-31T23:59:59-23:59",
  "10000-01-01T00:00:00Z",
  "+010000-01-01T00:00:00Z",
  "2031-02-30T10:00:00Z",
  "2031-02-29T10:00:00Z",
  "2032-02-29T10:00:00Z",
  "2031-13-01T00:00:00Z",
  "2031-01-01T24:00:00Z",
  "2031-01-01T23:60:00Z",
  "2031-01-01T10:00:00+24:00",
  "0000-01-01T00:00:00Z",
  "2031-01-01",
  "2031-01-01 10:00:00Z",
  "2031-01-01T10:00:00.123456789Z",
  "tomorrow",
  "١٢٣٤-٠١-٠١T00:00:00Z",
  "2031-01-01T10:00:00Z\u0000",
  "",
];
const oddTime = fc.oneof(fc.constantFrom(...ODD_TIMES), hostileValue);
const eventTimes = fc.oneof(
  { weight: 6, arbitrary: slotTimes },
  { weight: 2, arbitrary: fc.record({ start_time: oddTime, end_time: oddTime }) },
  { weight: 1, arbitrary: fc.tuple(slotTimes, oddTime).map(([t, odd]) => ({ ...t, end_time: odd })) },
);
const RRULES = [
  "daily",
  "weekly",
  "MONTHLY",
  "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
  "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20311231T000000Z",
  "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3",
  "FREQ=DAILY;INTERVAL=3;COUNT=5",
  "FREQ=DAILY;INTERVAL=0",
  "FREQ=DAILY;COUNT=-1",
  "FREQ=DAILY;COUNT=99999999999999999999",
  "FREQ=DAILY;INTERVAL=1000000",
  "FREQ=WEEKLY;BYDAY=9MO",
  "FREQ=SECONDLY",
  "RRULE:FREQ=DAILY",
  "FREQ=DAILY;UNTIL=100000101T000000Z",
  "FREQ=DAILY;COUNT=2;UNTIL=20310101T000000Z",
  "FREQ=DAILY;;",
  ";",
  "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=12",
  "FREQ=WEEKLY;WKST=SU;BYDAY=SU,SA;COUNT=4",
];
const recurrence = fc.oneof(
  { weight: 3, arbitrary: fc.record({ is_recurring: fc.constant(true), recurrence_pattern: fc.constantFrom(...RRULES) }) },
  { weight: 1, arbitrary: fc.record({ is_recurring: maybe(fc.boolean()), recurrence_pattern: maybe(fc.oneof(fc.constantFrom(...RRULES), fc.constant(null))) }, { requiredKeys: [] }) },
  { weight: 4, arbitrary: fc.constant({}) },
);
const validTitle = fc.oneof(fc.string({ minLength: 1, maxLength: 30, unit: "grapheme" }).filter((s) => s.trim().length > 0), fc.constantFrom("Standup", "Review", XSS_SCRIPT, "%_'\"--;", "🗓️ مرحبا"));
const SERVER_OWNED = fc.record(
  { id: hostileNumber, owner_id: hostileNumber, version: hostileNumber, created_at: hostileText(), my_role: fc.constantFrom("owner", "viewer"), permissions: fc.constant([]), color: hostileText() },
  { requiredKeys: [] },
);
const createBody = fc
  .tuple(
    fc.record(
      { title: maybe(validTitle), description: maybe(hostileText(60)), location: maybe(fc.oneof(hostileText(30), fc.constant(null))), timezone: maybe(timezone, 0) },
      { requiredKeys: [] },
    ),
    eventTimes,
    recurrence,
    SERVER_OWNED,
    fc.boolean(),
  )
  .map(([fields, times, rec, extra, withTitle]) => ({ ...extra, ...(withTitle ? { title: "Fuzzed" } : {}), ...fields, ...times, ...rec }));
const hostilePatch = fc
  .tuple(
    fc.record(
      {
        title: maybe(fc.oneof(validTitle, fc.constant(null))),
        description: maybe(fc.oneof(hostileText(60), fc.constant(null))),
        location: maybe(fc.oneof(hostileText(30), fc.constant(null))),
        timezone: maybe(fc.oneof(timezone, fc.constant(null)), 0),
        is_recurring: fc.oneof(fc.boolean(), fc.constant(null), hostileValue),
        recurrence_pattern: fc.oneof(fc.constantFrom(...RRULES), fc.constant(null), hostileValue),
      },
      { requiredKeys: [] },
    ),
    fc.oneof(slotTimes, fc.record({ start_time: oddTime }), fc.record({ end_time: oddTime }), fc.constant({}), fc.constant({ start_time: null })),
    SERVER_OWNED,
  )
  .map(([fields, times, extra]) => ({ ...extra, ...fields, ...times }));
const plainPatch = fc
  .tuple(fc.record({ title: validTitle, description: fc.string({ maxLength: 40 }), location: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)) }, { requiredKeys: [] }), fc.oneof(slotTimes, slotTimes, fc.constant({})))
  .map(([fields, times]) => ({ ...fields, ...times }));
const patchBody = fc.oneof({ weight: 3, arbitrary: plainPatch }, { weight: 2, arbitrary: hostilePatch });

const ACCEPTS = [
  undefined,
  "application/json",
  "application/msgpack",
  "application/x-msgpack",
  "application/vnd.msgpack",
  "application/msgpack;q=0.5, application/json",
  "application/json;q=0.1, application/msgpack",
  "application/json;q=0, application/msgpack;q=0",
  "*/*",
  "application/*",
  "text/html",
  "text/html, application/msgpack;q=0.9",
  "image/png",
  ";;;,,,",
  "application/msgpack;q=abc",
];
const accept = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(...ACCEPTS) }, { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 30 }).map((s) => s.replace(/[\r\n\u0000]/g, "")) });
const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"];
/** A body in JSON (most of the time) or MessagePack under one of its three media types. */
const bodyOf = (value: fc.Arbitrary<unknown>): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    { weight: 4, arbitrary: value.map((v): BodySpec => ({ kind: "json", value: v })) },
    { weight: 1, arbitrary: fc.tuple(value, fc.constantFrom(...MSGPACK_TYPES)).map(([v, contentType]): BodySpec => ({ kind: "msgpack", value: v, contentType })) },
  );

const ifMatch = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('"1"', 'W/"1"', '"2"', '"3"', "*", '"999999"', "garbage", '""', '"-1"', '"1e3"', '"1", "2"', "1") },
);
const ifNoneMatch = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('"1"', '"3"', "*", 'W/"1"', "garbage", '"1", "2", "3", "4"') });
const condHeaders = (name: string, arb: fc.Arbitrary<string | undefined>) => arb.map((v) => (v === undefined ? undefined : { [name]: v }));

const who = fc.nat({ max: FUZZERS - 1 });
const eventRef = (weights: Partial<Record<EventWhich, number>> = {}): fc.Arbitrary<Ref> =>
  fc.oneof(
    ...(["own", "viewer", "editor", "secret", "foreign", "deleted"] as const).map((which) => ({
      weight: weights[which] ?? (which === "own" || which === "editor" ? 3 : 1),
      arbitrary: fc.nat({ max: 1000 }).map((n): Ref => ({ $ref$: "event", which, n })),
    })),
  );
const RAW_IDS = ["0", "-1", "-0", "1e3", "0x10", "١٢", "1.5", "9007199254740993", "99999999999999999999", "1e400", "NaN", "Infinity", "abc", "%00", "%zz", "1%2F2", "%20", "null", "%E2%80%AE1", "1;DROP TABLE events", "'1'", "9007199254740991"];
const rawId = fc.constantFrom(...RAW_IDS);
const idPart = (weights?: Partial<Record<EventWhich, number>>) => fc.oneof({ weight: 5, arbitrary: eventRef(weights) }, { weight: 1, arbitrary: rawId });
const aliasRef = fc.tuple(fc.constantFrom("hex", "decimalPoint", "plus", "leadingZero", "exponent", "space", "octal", "binary" as const), fc.nat()).map(([how, n]): Ref => ({ $ref$: "eventAlias", how, n }));

const limitValue = fc.oneof(fc.constantFrom("1", "2", "50", "100"), fc.constantFrom("0", "101", "-1", "1e1", "0x10", "2.5", "", "abc", "١", "9007199254740993", "NaN", "Infinity"));
const instantValue = fc.oneof(fc.constantFrom(iso(WINDOW_START), iso(WINDOW_START + 7 * 86_400_000), "2031-01-03T00:00:00", "2031-01-03T00:00:00+05:30"), fc.constantFrom(...ODD_TIMES), hostileText(20));
const queryOf = (entries: fc.Arbitrary<[string, string | Ref]>[]) => fc.tuple(...entries.map((e) => fc.option(e, { nil: undefined, freq: 2 }))).map((pairs) => pairs.filter((p): p is [string, string | Ref] => p !== undefined));
const extraQuery = fc.option(fc.tuple(hostileText(10), hostileText(10)) as fc.Arbitrary<[string, string]>, { freq: 4, nil: undefined });

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

describe("fuzzing every route", () => {
  afterAll(() => {
    const lines = [...statusTally.entries()].map(([name, tally]) => `  ${name}: ${[...tally.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(" ")}`);
    console.log(`fuzz: ${requestsSent} generated requests (seed ${FUZZ_SEED})\n${lines.join("\n")}`);
  });

  it(
    "answers event create, list, read, update, delete and batch requests without a 5xx, a leak or a failed write that leaves a trace",
    async () => {
      const create = fc.record({ body: bodyOf(createBody), accept, who }).map(
        ({ body, accept, who }): Spec => ({ label: "create", method: "POST", path: ["/api/events"], body, accept, who }),
      );
      const batch = fc
        .record({
          items: fc.oneof({ weight: 6, arbitrary: fc.array(createBody, { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 101).map((n) => Array.from({ length: n }, () => ({ title: "x" }))) }),
          bare: fc.boolean(),
          accept,
          who,
        })
        .map(({ items, bare, accept, who }): Spec => ({ label: "batch", method: "POST", path: ["/api/events/batch"], body: { kind: "json", value: bare ? items : { events: items } }, accept, who }));
      const list = fc
        .record({
          query: queryOf([
            limitValue.map((v): [string, string] => ["limit", v]),
            instantValue.map((v): [string, string] => ["start", v]),
            instantValue.map((v): [string, string] => ["end", v]),
            fc.oneof(hostileText(20), fc.constantFrom<Ref>({ $ref$: "marker", part: "prefix" }, { $ref$: "marker", part: "suffix" })).map((v): [string, string | Ref] => ["q", v]),
            fc.oneof(fc.constantFrom("owner", "EDITOR", "Viewer", "admin", ""), hostileText(8)).map((v): [string, string] => ["role", v]),
          ]),
          extra: extraQuery,
          accept,
          who,
        })
        .map(({ query, extra, accept, who }): Spec => ({ label: "list", method: "GET", path: ["/api/events"], query: extra ? [...query, extra] : query, accept, who }));
      const read = fc
        .record({ id: idPart(), at: fc.option(instantValue, { freq: 4, nil: undefined }), headers: condHeaders("If-None-Match", ifNoneMatch), accept, who })
        .map(({ id, at, headers, accept, who }): Spec => {
          const hidden = isRef(id) && id.$ref$ === "event" && ["secret", "foreign", "deleted"].includes(id.which);
          const raw = typeof id === "string" && !/^(9007199254740991)$/.test(id);
          const expect = hidden || raw ? (at === undefined ? [404] : [404, 422]) : undefined;
          return { label: "read", method: "GET", path: ["/api/events/", id], query: at === undefined ? [] : [["at", at]], headers, accept, who, expect };
        });
      const alias = fc.record({ id: aliasRef, who }).map(({ id, who }): Spec => ({ label: "non-canonical id", method: "GET", path: ["/api/events/", id], who, expect: [404] }));
      const update = fc
        .record({ method: fc.constantFrom("PUT", "PATCH"), id: idPart({ viewer: 2 }), body: bodyOf(patchBody), headers: condHeaders("If-Match", ifMatch), accept, who })
        .map(({ method, id, body, headers, accept, who }): Spec => ({ label: "update", method, path: ["/api/events/", id], body, headers, accept, who }));
      // Editors moving the victim's shared event around the victim's secret one (conflict checks run on the owner's calendar).
      const move = fc
        .record({ slot: fc.integer({ min: 96, max: 106 }), length: fc.integer({ min: 1, max: 4 }), who })
        .map(({ slot, length, who }): Spec => ({
          label: "move shared",
          method: "PATCH",
          path: ["/api/events/", { $ref$: "event", which: "editor", n: 0 }],
          body: { kind: "json", value: { start_time: iso(WINDOW_START + slot * HALF_HOUR), end_time: iso(WINDOW_START + (slot + length) * HALF_HOUR) } },
          who,
        }));
      const remove = fc
        .record({ id: idPart({ own: 1, editor: 2, viewer: 2 }), headers: condHeaders("If-Match", ifMatch), who })
        .map(({ id, headers, who }): Spec => ({ label: "delete", method: "DELETE", path: ["/api/events/", id], headers, who }));
      const arbitrary = fc.oneof(
        { weight: 4, arbitrary: create },
        { weight: 2, arbitrary: batch },
        { weight: 3, arbitrary: list },
        { weight: 3, arbitrary: read },
        { weight: 1, arbitrary: alias },
        { weight: 5, arbitrary: update },
        { weight: 1, arbitrary: remove },
        { weight: 1, arbitrary: move },
      );
      await fuzz("events", 1, arbitrary, 1800);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers share, permission list, role change and revoke requests without a 5xx, a leak or a failed write that leaves a trace",
    async () => {
      const userRef = fc
        .tuple(fc.constantFrom("self", "victim", "witness", "other", "other", "unknown" as const), fc.constantFrom("id", "id", "username", "email", "upperUsername", "idString" as const), fc.nat())
        .map(([which, as, n]): Ref => ({ $ref$: "user", which, as, n }));
      const role = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("viewer", "editor", "owner", "EDITOR", "Viewer") }, { weight: 1, arbitrary: hostileValue });
      const item = fc
        .tuple(userRef, role, fc.option(fc.tuple(fc.constantFrom("user_id", "username", "email", "role", "extra"), hostileValue), { freq: 5, nil: undefined }))
        .map(([ref, role, junk]) => {
          const as = (ref as Extract<Ref, { $ref$: "user" }>).as;
          const key = as === "id" || as === "idString" ? "user_id" : as === "email" ? "email" : "username";
          return junk === undefined ? { [key]: ref, role } : { [key]: ref, role, [junk[0]]: junk[1] };
        });
      const shareBody = fc.oneof(
        fc.array(item, { minLength: 1, maxLength: 3 }).map((users) => ({ users })),
        fc.array(item, { minLength: 0, maxLength: 3 }),
        item,
        hostileValue,
        fc.constant({ users: Array.from({ length: 201 }, (_, i) => ({ user_id: i + 1, role: "viewer" })) }),
      );
      const share = fc
        .record({ id: idPart({ own: 5, viewer: 2, editor: 2 }), body: bodyOf(shareBody), accept, who })
        .map(({ id, body, accept, who }): Spec => ({ label: "share", method: "POST", path: ["/api/events/", id, "/share"], body, accept, who }));
      const listPermissions = fc
        .record({ id: idPart(), accept, who })
        .map(({ id, accept, who }): Spec => ({
          label: "permissions",
          method: "GET",
          path: ["/api/events/", id, "/permissions"],
          accept,
          who,
          expect: isRef(id) && id.$ref$ === "event" && ["secret", "foreign", "deleted"].includes(id.which) ? [404] : undefined,
        }));
      const targetUser = fc.oneof({ weight: 4, arbitrary: userRef.map((r): Ref => ({ ...(r as Extract<Ref, { $ref$: "user" }>), as: "id" })) }, { weight: 1, arbitrary: rawId });
      const setRole = fc
        .record({ id: idPart({ own: 5 }), user: targetUser, body: bodyOf(fc.oneof(fc.record({ role }), hostileValue)), accept, who })
        .map(({ id, user, body, accept, who }): Spec => ({ label: "set role", method: "PUT", path: ["/api/events/", id, "/permissions/", user], body, accept, who }));
      const revoke = fc
        .record({ id: idPart({ own: 5 }), user: targetUser, accept, who })
        .map(({ id, user, accept, who }): Spec => ({ label: "revoke", method: "DELETE", path: ["/api/events/", id, "/permissions/", user], accept, who }));
      await fuzz("sharing", 2, fc.oneof({ weight: 4, arbitrary: share }, { weight: 2, arbitrary: listPermissions }, { weight: 3, arbitrary: setRole }, { weight: 2, arbitrary: revoke }), 1200);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers changelog, history, diff and rollback requests without a 5xx, a leak or a failed write that leaves a trace",
    async () => {
      const version = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }).map(String) }, { weight: 1, arbitrary: rawId });
      const htmlAccept = fc.oneof(accept, fc.constantFrom("text/html", "text/html;q=0.9, application/json;q=0.8", "application/xhtml+xml, text/html"));
      const hiddenId = (id: string | Ref) => isRef(id) && id.$ref$ === "event" && ["secret", "foreign", "deleted"].includes(id.which);
      const changelog = fc
        .record({ id: idPart(), query: queryOf([limitValue.map((v): [string, string] => ["limit", v])]), accept: htmlAccept, who })
        .map(({ id, query, accept, who }): Spec => ({ label: "changelog", method: "GET", path: ["/api/events/", id, "/changelog"], query, accept, who, expect: hiddenId(id) ? [404, 422] : undefined }));
      const history = fc
        .record({ id: idPart(), version, accept: htmlAccept, who })
        .map(({ id, version, accept, who }): Spec => ({ label: "history", method: "GET", path: ["/api/events/", id, "/history/", version], accept, who, expect: hiddenId(id) ? [404] : undefined }));
      const diff = fc
        .record({ id: idPart(), v1: version, v2: version, accept: htmlAccept, who })
        .map(({ id, v1, v2, accept, who }): Spec => ({ label: "diff", method: "GET", path: ["/api/events/", id, "/diff/", v1, "/", v2], accept, who, expect: hiddenId(id) ? [404] : undefined }));
      const rollback = fc
        .record({ id: idPart({ editor: 6, viewer: 2 }), version, headers: condHeaders("If-Match", ifMatch), accept, who })
        .map(({ id, version, headers, accept, who }): Spec => ({ label: "rollback", method: "POST", path: ["/api/events/", id, "/rollback/", version], headers, accept, who }));
      // Editors set the shared event's text to fuzz strings, which the HTML pages must then escape.
      const scribble = fc
        .record({ title: fc.constantFrom(XSS_SCRIPT, XSS_IMG, "a & b < c", "🗓️ مرحبا"), description: fc.constantFrom(XSS_IMG, XSS_SCRIPT, "\u0000"), who })
        .map(({ title, description, who }): Spec => ({ label: "scribble", method: "PATCH", path: ["/api/events/", { $ref$: "event", which: "editor", n: 0 }], body: { kind: "json", value: { title, description } }, who }));
      await fuzz(
        "versions",
        3,
        fc.oneof({ weight: 3, arbitrary: changelog }, { weight: 3, arbitrary: history }, { weight: 3, arbitrary: diff }, { weight: 3, arbitrary: rollback }, { weight: 1, arbitrary: scribble }),
        1100,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers occurrence and agenda requests without a 5xx or a leak",
    async () => {
      const window: fc.Arbitrary<string[]> = fc.oneof(
        { weight: 3, arbitrary: fc.tuple(fc.integer({ min: -40, max: 40 }), fc.integer({ min: -2, max: 400 })).map(([from, days]): string[] => [iso(WINDOW_START + from * 86_400_000), iso(WINDOW_START + (from + days) * 86_400_000)]) },
        { weight: 2, arbitrary: fc.tuple(instantValue, instantValue).map((pair): string[] => pair) },
        { weight: 1, arbitrary: fc.constant<string[]>(["0001-01-01T00:00:00Z", "0001-12-31T00:00:00Z"]) },
        { weight: 1, arbitrary: fc.constant<string[]>(["9999-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]) },
      );
      const query = (w: string[], includeLimit: boolean, limit: string, drop: number): [string, string][] =>
        ([["start", w[0]], ["end", w[1]], ...(includeLimit ? [["limit", limit]] : [])] as [string, string][]).filter((_, i) => i !== drop);
      const occurrences = fc
        .record({ id: idPart(), window, drop: fc.integer({ min: -1, max: 4 }), accept, who })
        .map(({ id, window, drop, accept, who }): Spec => ({ label: "occurrences", method: "GET", path: ["/api/events/", id, "/occurrences"], query: query(window, false, "", drop), accept, who }));
      const agenda = fc
        .record({ window, limit: limitValue, withLimit: fc.boolean(), drop: fc.integer({ min: -1, max: 6 }), accept, who })
        .map(({ window, limit, withLimit, drop, accept, who }): Spec => ({ label: "agenda", method: "GET", path: ["/api/agenda"], query: query(window, withLimit, limit, drop), accept, who }));
      // A recurring event of the fuzzer's own, so the windows expand series too.
      const series = fc
        .record({ rrule: fc.constantFrom(...RRULES), slot: fc.nat({ max: 335 }), zone: fc.constantFrom(...ZONES), who })
        .map(({ rrule, slot, zone, who }): Spec => ({
          label: "series",
          method: "POST",
          path: ["/api/events"],
          body: { kind: "json", value: { title: "Series", start_time: iso(WINDOW_START + slot * HALF_HOUR), end_time: iso(WINDOW_START + (slot + 1) * HALF_HOUR), timezone: zone, is_recurring: true, recurrence_pattern: rrule } },
          who,
        }));
      await fuzz("calendar", 4, fc.oneof({ weight: 4, arbitrary: occurrences }, { weight: 4, arbitrary: agenda }, { weight: 1, arbitrary: series }), 900);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers notification list, read and read-all requests without a 5xx, a leak or a failed write that leaves a trace",
    async () => {
      const list = fc
        .record({
          query: queryOf([
            limitValue.map((v): [string, string] => ["limit", v]),
            fc.constantFrom("true", "false", "TRUE", "1", "", "yes").map((v): [string, string] => ["unread", v]),
            fc.oneof(fc.constantFrom("0", "1", "5", "9007199254740991"), fc.constantFrom("-1", "1e3", "0x10", "١", "9007199254740993", "NaN", "")).map((v): [string, string] => ["since", v]),
          ]),
          accept,
          who,
        })
        .map(({ query, accept, who }): Spec => ({ label: "notifications", method: "GET", path: ["/api/notifications"], query, accept, who }));
      const read = fc
        .record({ id: fc.oneof(fc.constantFrom<Ref>({ $ref$: "notification", which: "own" }, { $ref$: "notification", which: "foreign" }), rawId), accept, who })
        .map(({ id, accept, who }): Spec => ({
          label: "read",
          method: "POST",
          path: ["/api/notifications/", id, "/read"],
          accept,
          who,
          // A write: the per-user write limit (120 per 10 s) may answer 429, as for read-all.
          expect: isRef(id) && id.$ref$ === "notification" ? (id.which === "foreign" ? [404, 429] : [204, 404, 429]) : undefined,
        }));
      const readAll = fc.record({ accept, who }).map(({ accept, who }): Spec => ({ label: "read-all", method: "POST", path: ["/api/notifications/read-all"], accept, who, expect: [204, 429] }));
      await fuzz("notifications", 5, fc.oneof({ weight: 4, arbitrary: list }, { weight: 3, arbitrary: read }, { weight: 1, arbitrary: readAll }), 800);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "refuses every bad socket upgrade with a problem and accepts a good one",
    async () => {
      const socket = fc
        .record({
          token: fc.oneof({ weight: 2, arbitrary: fc.constant<TokenKind>("own") }, { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) }),
          since: fc.option(fc.constantFrom("0", "1", "99999", "-1", "1e3", "abc", "9007199254740993"), { nil: undefined }),
          format: fc.option(fc.constantFrom("json", "msgpack", "xml", ""), { nil: undefined }),
          upgrade: fc.constantFrom("websocket", "WebSocket", "h2c", undefined),
          who,
        })
        .map(({ token, since, format, upgrade, who }): Spec => {
          const query: [string, string][] = [];
          if (token !== "none") query.push(["token", SOCKET_TOKEN]);
          if (since !== undefined) query.push(["since", since]);
          if (format !== undefined) query.push(["format", format]);
          // The socket route coerces `since` like zod does: "1e3" is 1000 and "" is 0.
          const sinceOk = since === undefined || (Number.isInteger(Number(since)) && Number(since) >= 0 && Number(since) <= Number.MAX_SAFE_INTEGER);
          const validQuery = sinceOk && (format === undefined || format === "json" || format === "msgpack");
          const upgrading = upgrade?.toLowerCase() === "websocket";
          const expect = !validQuery ? [422] : !upgrading ? [426] : token === "own" ? [101] : [401];
          return { label: "socket", method: "GET", path: ["/ws/notifications"], query, token, who, headers: upgrade ? { Upgrade: upgrade } : {}, expect, socket: true };
        });
      await fuzz("socket", 6, socket, 400);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers register, login, refresh, logout and me without a 5xx or a leak, and a failure changes nothing but a stolen session",
    async () => {
      const username = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{3,32}$/), hostileValue, fc.constantFrom<Ref>({ $ref$: "user", which: "victim", as: "username", n: 0 }, { $ref$: "user", which: "self", as: "upperUsername", n: 0 }));
      const email = fc.oneof(fc.emailAddress(), hostileValue, fc.constantFrom<Ref>({ $ref$: "user", which: "victim", as: "email", n: 0 }));
      const password = fc.oneof(fc.string({ minLength: 8, maxLength: 40 }), hostileValue, fc.constantFrom("correct horse battery", "p".repeat(129)));
      const register = fc
        .record({ body: bodyOf(fc.record({ username, email, password }, { requiredKeys: [] })), accept, who })
        .map(({ body, accept, who }): Spec => ({ label: "register", method: "POST", path: ["/api/auth/register"], body, accept, who, token: "none" }));
      const loginBody = fc.oneof(
        fc.record({ username: fc.constantFrom<Ref>({ $ref$: "user", which: "self", as: "username", n: 0 }, { $ref$: "user", which: "victim", as: "username", n: 0 }, { $ref$: "user", which: "self", as: "email", n: 0 }), password: fc.constantFrom("correct horse battery", "wrong password!") }),
        fc.record({ username, email, password, grant_type: hostileValue }, { requiredKeys: [] }),
      );
      const login = fc.oneof(
        fc.record({ body: bodyOf(loginBody), accept, who }).map(({ body, accept, who }): Spec => ({ label: "login", method: "POST", path: ["/api/auth/login"], body, accept, who, token: "none" })),
        fc
          .record({ form: fc.constantFrom("grant_type=password&username=nobody&password=wrong%20password", "username=%00&password=", "password=x", "username=a&username=b&password=cccccccc", "%%%"), who })
          .map(({ form, who }): Spec => ({ label: "login form", method: "POST", path: ["/api/auth/login"], body: { kind: "raw", bytes: form, contentType: "application/x-www-form-urlencoded" }, who, token: "none" })),
      );
      const refreshWhich = fc.constantFrom<RefreshWhich>("live", "spent", "witnessSpent", "witnessTampered", "accessToken", "garbage", "upper", "truncated", "huge");
      const refresh = fc
        .record({ which: refreshWhich, junk: fc.option(hostileValue, { freq: 3, nil: undefined }), accept, who })
        .map(({ which, junk, accept, who }): Spec => ({
          label: "refresh",
          method: "POST",
          path: ["/api/auth/refresh"],
          body: { kind: "json", value: junk === undefined ? { refresh_token: { $ref$: "refreshToken", which } } : { refresh_token: junk } },
          accept,
          who,
          token: "none",
          refresh: true,
          expect: junk === undefined && which !== "live" ? [401, 422, 429] : undefined,
        }));
      const logout = fc
        .record({
          token: fc.oneof({ weight: 1, arbitrary: fc.constant<TokenKind>("own") }, { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) }),
          body: fc.option(fc.oneof(fc.constant({ refresh_token: { $ref$: "refreshToken", which: "witnessSpent" } }), fc.record({ refresh_token: hostileValue })), { nil: undefined }),
          who,
        })
        .map(({ token, body, who }): Spec => ({
          label: "logout",
          method: "POST",
          path: ["/api/auth/logout"],
          token,
          actor: "refresher",
          body: body === undefined ? undefined : { kind: "json", value: body },
          who,
        }));
      const me = fc
        .record({ token: fc.oneof(fc.constant<TokenKind>("own"), fc.constant<TokenKind>("lowercaseScheme"), fc.constantFrom(...HOSTILE_TOKENS)), accept, who })
        .map(({ token, accept, who }): Spec => ({ label: "me", method: "GET", path: ["/api/auth/me"], token, accept, who, expect: token === "own" || token === "lowercaseScheme" ? [200] : [401] }));
      await fuzz("auth", 7, fc.oneof({ weight: 2, arbitrary: register }, { weight: 2, arbitrary: login }, { weight: 3, arbitrary: refresh }, { weight: 1, arbitrary: logout }, { weight: 3, arbitrary: me }), 1000);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers every authenticated route 401 with WWW-Authenticate for a missing, malformed, expired, forged, foreign or revoked token",
    async () => {
      const routes: [string, (string | Ref)[], unknown?][] = [
        ["GET", ["/api/events"]],
        ["POST", ["/api/events"], { title: "x", start_time: "2031-02-01T10:00:00Z", end_time: "2031-02-01T11:00:00Z" }],
        ["POST", ["/api/events/batch"], [{ title: "x", start_time: "2031-02-01T10:00:00Z", end_time: "2031-02-01T11:00:00Z" }]],
        ["GET", ["/api/events/", { $ref$: "event", which: "own", n: 0 }]],
        ["PATCH", ["/api/events/", { $ref$: "event", which: "own", n: 0 }], { title: "y" }],
        ["PUT", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }], { title: "y" }],
        ["DELETE", ["/api/events/", { $ref$: "event", which: "own", n: 0 }]],
        ["POST", ["/api/events/", { $ref$: "event", which: "own", n: 0 }, "/share"], { user_id: 1, role: "viewer" }],
        ["GET", ["/api/events/", { $ref$: "event", which: "viewer", n: 0 }, "/permissions"]],
        ["PUT", ["/api/events/", { $ref$: "event", which: "own", n: 0 }, "/permissions/1"], { role: "viewer" }],
        ["DELETE", ["/api/events/", { $ref$: "event", which: "own", n: 0 }, "/permissions/1"]],
        ["GET", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }, "/changelog"]],
        ["GET", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }, "/history/1"]],
        ["GET", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }, "/diff/1/2"]],
        ["POST", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }, "/rollback/1"]],
        ["GET", ["/api/events/", { $ref$: "event", which: "viewer", n: 0 }, "/occurrences?start=2031-01-01T00:00:00Z&end=2031-02-01T00:00:00Z"]],
        ["GET", ["/api/agenda?start=2031-01-01T00:00:00Z&end=2031-02-01T00:00:00Z"]],
        ["GET", ["/api/events/", { $ref$: "event", which: "viewer", n: 0 }, "/exceptions"]],
        ["PATCH", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }, "/occurrences/2031-01-01T10:00:00Z"], { title: "y" }],
        ["PATCH", ["/api/events/", { $ref$: "event", which: "own", n: 0 }, "/occurrences/2031-01-01T10:00:00Z?scope=following"], { title: "y" }],
        ["DELETE", ["/api/events/", { $ref$: "event", which: "own", n: 0 }, "/occurrences/2031-01-01T10:00:00Z"]],
        ["GET", ["/api/notifications"]],
        ["POST", ["/api/notifications/", { $ref$: "notification", which: "own" }, "/read"]],
        ["POST", ["/api/notifications/read-all"]],
        ["GET", ["/api/auth/me"]],
        ["POST", ["/api/auth/logout"]],
      ];
      const arbitrary = fc
        .record({ route: fc.constantFrom(...routes), token: fc.constantFrom(...HOSTILE_TOKENS), accept, msgpack: fc.boolean(), who })
        .map(({ route: [method, path, body], token, accept, msgpack, who }): Spec => ({
          label: "bad token",
          method,
          path,
          token,
          accept,
          who,
          body: body === undefined ? undefined : msgpack ? { kind: "msgpack", value: body, contentType: "application/msgpack" } : { kind: "json", value: body },
          expect: [401],
        }));
      await fuzz("tokens", 8, arbitrary, 1500);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers tampered, truncated, foreign and cross-collection cursors with 422 on every paged collection, and the fuzzer's own with 200",
    async () => {
      const paths: Record<CursorCollection, { path: (string | Ref)[]; query: [string, string][] }> = {
        events: { path: ["/api/events"], query: [["limit", "1"]] },
        changelog: { path: ["/api/events/", { $ref$: "event", which: "editor", n: 0 }, "/changelog"], query: [["limit", "1"]] },
        agenda: { path: ["/api/agenda"], query: [["start", iso(WINDOW_START)], ["end", iso(WINDOW_START + 14 * 86_400_000)], ["limit", "1"]] },
        notifications: { path: ["/api/notifications"], query: [["limit", "1"]] },
        notificationsSince: { path: ["/api/notifications"], query: [["limit", "1"], ["since", "0"]] },
      };
      const kinds: CursorKind[] = ["own", "flipBody", "flipMac", "noMac", "swapMac", "forgedScope", "appended", "foreign", "crossCollection"];
      const structured = fc
        .record({ collection: fc.constantFrom(...(Object.keys(paths) as CursorCollection[])), kind: fc.constantFrom(...kinds), accept, who })
        .map(({ collection, kind, accept, who }): Spec => ({
          label: `cursor ${kind}`,
          method: "GET",
          path: paths[collection].path,
          query: [...paths[collection].query, ["cursor", { $ref$: "cursor", kind, collection }]],
          accept,
          who,
          expect: kind === "own" ? [200] : [422],
        }));
      const garbage = fc
        .record({ collection: fc.constantFrom(...(Object.keys(paths) as CursorCollection[])), cursor: fc.oneof(hostileText(30), fc.base64String({ maxLength: 80 }), fc.constantFrom(".", "..", "a.b", "x".repeat(501), "eyJzIjoiZXZlbnRzOjEiLCJwIjpbMCwwXX0.AAAAAAAAAAAAAAAAAAAAAA")), who })
        .filter(({ cursor }) => cursor !== "")
        .map(({ collection, cursor, who }): Spec => ({ label: "cursor garbage", method: "GET", path: paths[collection].path, query: [...paths[collection].query, ["cursor", cursor]], who, expect: [422] }));
      await fuzz("cursors", 9, fc.oneof({ weight: 3, arbitrary: structured }, { weight: 1, arbitrary: garbage }), 900);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers malformed, truncated, oversized and mistyped bodies with 400, 413, 415 or 422 on every route, before anything is written",
    async () => {
      const writeRoutes: [string, (string | Ref)[]][] = [
        ["POST", ["/api/auth/register"]],
        ["POST", ["/api/auth/login"]],
        ["POST", ["/api/auth/refresh"]],
        ["POST", ["/api/events"]],
        ["POST", ["/api/events/batch"]],
        ["PATCH", ["/api/events/", { $ref$: "event", which: "own", n: 0 }]],
        ["PUT", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }]],
        ["POST", ["/api/events/", { $ref$: "event", which: "own", n: 0 }, "/share"]],
        ["PUT", ["/api/events/", { $ref$: "event", which: "own", n: 0 }, "/permissions/1"]],
        ["POST", ["/api/events/", { $ref$: "event", which: "editor", n: 0 }, "/rollback/1"]],
        ["POST", ["/api/notifications/read-all"]],
        ["DELETE", ["/api/events/", { $ref$: "event", which: "secret", n: 0 }]],
        ["POST", ["/api/nowhere"]],
      ];
      const sample = { title: "Body test", start_time: "2031-02-01T10:00:00Z", end_time: "2031-02-01T11:00:00Z", users: [{ user_id: 1, role: "viewer" }] };
      const sampleJson = JSON.stringify(sample);
      const sampleMsgpack = encode(sample);
      const nested = (depth: number, open: number) => {
        const bytes = new Uint8Array(depth + 1).fill(open);
        bytes[depth] = 0xc0;
        return bytes;
      };
      const bodies = fc.oneof<fc.Arbitrary<{ body: BodySpec; expect: number[] }>[]>(
        // Malformed and truncated JSON: 400.
        fc.integer({ min: 1, max: sampleJson.length - 1 }).map((cut) => ({ body: { kind: "raw", bytes: sampleJson.slice(0, cut), contentType: "application/json" } as BodySpec, expect: [400] })),
        fc.constantFrom("{", "{'a':1}", "{\"a\":}", "[1,]", "NaN", "{\"a\":1}}", "\u0000", "{\"a\":\"\\ud800\"", "\ufeff{}", "{\"a\":1e999999}x").map((text) => ({ body: { kind: "raw", bytes: text, contentType: "application/json; charset=utf-8" } as BodySpec, expect: [400] })),
        fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => ({ body: { kind: "raw", bytes: Uint8Array.from([0x7b, 0xff, ...bytes]), contentType: "application/json" } as BodySpec, expect: [400] })),
        // Truncated MessagePack: 400. Random bytes: 400 or, when they decode to a value, 422 (or the route's answer).
        fc.tuple(fc.integer({ min: 1, max: sampleMsgpack.length - 1 }), fc.constantFrom(...MSGPACK_TYPES)).map(([cut, contentType]) => ({ body: { kind: "raw", bytes: sampleMsgpack.slice(0, cut), contentType } as BodySpec, expect: [400] })),
        fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.constantFrom(...MSGPACK_TYPES)).map(([bytes, contentType]) => ({ body: { kind: "raw", bytes, contentType } as BodySpec, expect: [] })),
        fc.constantFrom(Uint8Array.of(0xc1), Uint8Array.of(0xd4, 0x01), Uint8Array.of(0x81, 0xc0, 0x01), Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff)).map((bytes) => ({ body: { kind: "raw", bytes, contentType: "application/msgpack" } as BodySpec, expect: [400] })),
        // MessagePack values JSON cannot carry: 422.
        fc
          .constantFrom<unknown>({ title: Number.NaN }, { title: Number.POSITIVE_INFINITY }, { title: new Uint8Array([1, 2]) }, { title: new Date(0) }, { events: [{ title: 2n ** 64n - 1n }] }, { users: [{ user_id: -(2n ** 63n), role: "viewer" }] })
          .map((value) => ({ body: { kind: "msgpack", value, contentType: "application/msgpack", bigInt: true } as BodySpec, expect: [422] })),
        // Deep nesting: a well-formed document that must not exhaust the stack.
        fc.tuple(fc.constantFrom(1000, 20_000, 200_000), fc.constantFrom(0x91, 0x81)).map(([depth, open]) => ({
          body: { kind: "raw", bytes: open === 0x81 ? nestedMaps(depth) : nested(depth, open), contentType: "application/msgpack" } as BodySpec,
          expect: [400, 422],
        })),
        fc.constantFrom(1000, 20_000, 200_000).map((depth) => ({ body: { kind: "raw", bytes: `${"[".repeat(depth)}${"]".repeat(depth)}`, contentType: "application/json" } as BodySpec, expect: [] })),
        // Wrong media types: 415.
        fc
          .constantFrom("text/plain", "application/xml", "multipart/form-data; boundary=x", "application/octet-stream", "text/json", "application/jsonx", "image/png")
          .map((contentType) => ({ body: { kind: "raw", bytes: sampleJson, contentType } as BodySpec, expect: [415] })),
        fc.constant({ body: { kind: "raw", bytes: new TextEncoder().encode(sampleJson) } as BodySpec, expect: [415] }),
        // Under and over the 1 MiB limit.
        fc.constantFrom(1024 * 1024 - 64, 1024 * 1024 + 1, 3 * 1024 * 1024).map((size) => ({
          body: { kind: "raw", bytes: JSON.stringify({ ...sample, description: "x".repeat(size - sampleJson.length - 20) }).padEnd(size, " "), contentType: "application/json" } as BodySpec,
          expect: size > 1024 * 1024 ? [413] : [],
        })),
        // A prototype-polluting document is just unknown fields.
        fc.constantFrom('{"__proto__":{"admin":true},"title":"p"}', '{"constructor":{"prototype":{"admin":true}}}').map((text) => ({ body: { kind: "raw", bytes: text, contentType: "application/json" } as BodySpec, expect: [] })),
      );
      const arbitrary = fc
        .record({ route: fc.constantFrom(...writeRoutes), body: bodies, accept, who })
        .map(({ route: [method, path], body: { body, expect }, accept, who }): Spec => ({
          label: "body",
          method,
          path,
          body,
          accept,
          who,
          token: path[0] === "/api/auth/register" || path[0] === "/api/auth/login" || path[0] === "/api/auth/refresh" ? "none" : "own",
          refresh: path[0] === "/api/auth/refresh",
          expect: expect.length ? [...expect, 429] : undefined,
        }));
      await fuzz("bodies", 10, arbitrary, 700);
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "answers health, docs, OpenAPI, static files, unknown paths and unknown methods without a 5xx, errors as problems",
    async () => {
      const known = ["/health", "/health/live", "/openapi.json", "/docs", "/redoc", "/static/docs/swagger-init.js", "/static/swagger-ui/swagger-ui.css", "/static/nope.js", "/static/../wrangler.toml", "/static/%2e%2e/src/app.ts", "/api", "/api/", "/api/events/", "/api/events//share", "/api/nothing", "/ws", "/ws/other", "/API/EVENTS", "/api/events/1/unknown", "/%00", "/api/%ZZ", "//api/events", "/api/events?%"];
      const path = fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...known) },
        { weight: 2, arbitrary: fc.webPath().map((p) => p || "/") },
        { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom("api", "events", "1", "share", "..", "%2F", "notifications"), hostileText(8).map(encodeQuery)), { maxLength: 5 }).map((parts) => `/${parts.join("/")}`) },
      );
      const method = fc.constantFrom("GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS");
      const arbitrary = fc
        .record({ path, method, accept, token: fc.constantFrom<TokenKind>("own", "none", "garbage"), origin: fc.option(fc.constantFrom("http://localhost:8787", "https://evil.example"), { nil: undefined }), who })
        .map(({ path, method, accept, token, origin, who }): Spec => ({
          label: "public",
          method,
          path: [path],
          accept,
          token,
          who,
          headers: origin ? { Origin: origin, "Access-Control-Request-Method": "POST" } : undefined,
        }));
      await fuzz("public", 11, arbitrary, 900);
    },
    PROPERTY_TIMEOUT,
  );

  it("sent at least 10,000 generated requests", () => {
    if (FUZZ_SCALE >= 1 && !FUZZ_PATH) expect(requestsSent).toBeGreaterThanOrEqual(10_000);
  });
});

/** `depth` nested one-entry maps `{ "": { "": ... } }` in MessagePack. */
function nestedMaps(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth * 2 + 1);
  for (let i = 0; i < depth; i++) {
    bytes[i * 2] = 0x81;
    bytes[i * 2 + 1] = 0xa0;
  }
  bytes[depth * 2] = 0xc0;
  return bytes;
}

describe("what the fuzzing found, pinned as examples", () => {
  const slot = (n: number, length = 2) => ({ start_time: iso(WINDOW_START + n * HALF_HOUR), end_time: iso(WINDOW_START + (n + length) * HALF_HOUR) });

  it("tells an editor whose move overlaps the owner's private event that it conflicts, without that event's title, description or location", async () => {
    const editor = world.fuzzers[0];
    const res = await json("PATCH", `/api/events/${world.editorEventId}`, {
      token: editor.token,
      body: { ...slot(100, 3), is_recurring: false, recurrence_pattern: null, timezone: "UTC" },
    });
    expect(res.status).toBe(409);
    expect(res.body.conflicts).toHaveLength(1);
    for (const mark of world.markers) expect(JSON.stringify(res.body)).not.toContain(mark);
  });

  it("answers 404 for a path id that is not a plain positive integer even when it coerces to a visible event", async () => {
    const user = world.fuzzers[0];
    const id = user.owned[0];
    expect((await json("GET", `/api/events/${id}`, { token: user.token })).status).toBe(200);
    for (const alias of [`0x${id.toString(16)}`, `${id}.0`, `+${id}`, `0${id}`, `${id}e0`, `%20${id}`, `0o${id.toString(8)}`, `0b${id.toString(2)}`]) {
      const res = await json("GET", `/api/events/${alias}`, { token: user.token });
      expect({ alias, status: res.status }).toEqual({ alias, status: 404 });
    }
  });

  it("rejects a cursor with anything after its signature as tampered (422)", async () => {
    const user = world.fuzzers[1];
    const { cursors } = user;
    expect((await json("GET", `/api/events?limit=1&cursor=${cursors.events}`, { token: user.token })).status).toBe(200);
    const res = await json("GET", `/api/events?limit=1&cursor=${cursors.events}.x`, { token: user.token });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: "cursor", message: expect.any(String) }]);
  });

  it("answers a missing static file with a problem+json 404 like every other unknown path", async () => {
    const res = await send({ method: "GET", path: "/static/no-such-file.js" });
    expect(res.status).toBe(404);
    expect(problemShapeIssues(res, "json")).toEqual([]);
  });

  it("answers bodies nested a hundred thousand levels deep with 422, in MessagePack and in JSON", async () => {
    const depth = 100_000;
    const msgpack = new Uint8Array(depth + 1).fill(0x91);
    msgpack[depth] = 0xc0;
    for (const [contentType, body] of [
      ["application/msgpack", msgpack],
      ["application/json", `${"[".repeat(depth)}${"]".repeat(depth)}`],
    ] as const) {
      const res = await send({ method: "POST", path: "/api/events", headers: { "Content-Type": contentType, Authorization: `Bearer ${world.fuzzers[2].token}` }, body });
      expect({ contentType, status: res.status }).toEqual({ contentType, status: 422 });
      expect(problemShapeIssues(res, "json")).toEqual([]);
    }
  });
});
