// The OpenAPI document's prose: descriptions, examples, response headers and the error catalogue,
// keyed by operationId and parameter name. Read only at build time by ./document.ts; the Worker
// bundle never imports it.
import { SPENT_TOKENS_REMEMBERED } from "../auth/service";
import { AGENDA_BUDGET, MAX_AGENDA_SERIES, MAX_WINDOW_DAYS } from "../calendar/service";
import { WINDOW_SCAN_ROWS } from "../events/service";
import { MAX_BATCH } from "../events/schemas";
import { MAX_BODY_BYTES } from "../lib/formats";
import { ApiError, problemBody, type FieldError } from "../lib/problem";
import { RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { AUTH_CHECKS_PER_WINDOW, AUTH_WINDOW_MS, REPLAY_FRAME_LIMIT, SOCKETS_PER_USER } from "../notifications/hub";
import { UNREAD_COUNT_CAP } from "../notifications/service";
import { INBOUND_FRAMES_PER_WINDOW, INBOUND_WINDOW_MS, MAX_INBOUND_FRAME_BYTES } from "../notifications/socket-bridge";
import { RECURRENCE_HORIZON_DAYS } from "../recurrence";
import { BATCH_RULE_BUDGET, RULE_BUDGET } from "../recurrence/work";
import { MAX_COLLABORATORS } from "../sharing/schemas";
import { FEED_WINDOW_DAYS, FETCH_RECORD_INTERVAL_MS, MAX_FEED_EVENTS, MAX_FEEDS_PER_USER } from "../feeds/service";
import { SYNC_TOKEN_RETENTION_DEFAULT_SECONDS } from "../sync/token";
import { BUSY_BUDGET, MAX_BUSY_EVENTS } from "../availability/busy";
import { MAX_AVAILABILITY_DAYS, MAX_AVAILABILITY_USERS, MAX_SLOTS } from "../availability/service";
import { SUGGESTION_RANGE_DAYS, SUGGESTIONS } from "../availability/suggest";
import { HISTORY_LINK_TTL_SECONDS } from "../versions/links";
import { MAX_IMPORT_EVENTS } from "../ical/read";
import { MAX_EXCEPTIONS } from "../exceptions/model";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** Named examples of one media type, as OpenAPI's `examples` map. */
export type Examples = Record<string, { summary?: string; value: Json }>;

export interface OperationProse {
  /** The one-line summary. It lives here with the description, not on the route, so it stays out of the bundle (the site's pages keep theirs on the route). */
  summary?: string;
  description: string;
  /** Per-operation wording of a parameter, over the shared PARAMETERS. */
  parameters?: Record<string, { description?: string; example?: Json }>;
  /** Request examples by media type; `*` stands for every JSON-like type (JSON and MessagePack). */
  request?: Record<string, Examples>;
  /** Response examples by status, then media type as in `request`. */
  responses?: Record<string, Record<string, Examples>>;
  /** The catalogue code a problem status stands for here, when not the status's first entry. */
  problems?: Record<string, string>;
}

export interface CatalogueEntry {
  code: string;
  status: number;
  /** What happened, in a line: the response description. */
  summary: string;
  /** The `detail` the example body carries (one the server sends). */
  detail: string;
  /** What the client should do about it. */
  action: string;
}

/** Every `code` the server puts in a problem document. test/openapi-contract.test.ts checks that none is missing. */
export const ERROR_CATALOGUE: CatalogueEntry[] = [
  { code: "malformed_body", status: 400, summary: "Malformed body: not valid JSON or MessagePack", detail: "The request body is not valid JSON.", action: "Fix the encoding. A MessagePack length header that claims more than the body holds is refused before decoding." },
  { code: "unauthorized", status: 401, summary: "Missing, malformed, expired, wrongly signed or revoked credentials", detail: "A valid bearer access token is required.", action: "Refresh the access token (`POST /api/auth/refresh`) or log in again. On login: the username, email or password is wrong (the same answer for an unknown user)." },
  { code: "forbidden", status: 403, summary: "Your role on this event is too low (or the current password is wrong)", detail: "Your role (viewer) cannot update this event; it needs editor.", action: "Ask an owner of the event for a higher role. On a password change: send the right `current_password`." },
  { code: "not_found", status: 404, summary: "Not found, or not visible to you", detail: "The event does not exist or is not visible to you.", action: "Check the id. An event you have no access to answers exactly like one that does not exist; a path id that is not a positive integer names nothing. On share: an unknown user (each is named by `index` in `errors`, never by the name you sent), and nothing was granted." },
  { code: "method_not_allowed", status: 405, summary: "The path exists, the method does not", detail: "DELETE is not allowed here; use GET.", action: "Use one of the methods in the `Allow` response header." },
  { code: "conflict", status: 409, summary: "Overlaps another event of the owner; `conflicts` lists them", detail: "The event overlaps another event of the same owner.", action: "Pick another time: `conflicts` names what overlaps, `suggestions` (when present) offers free slots of the same length. On register: the username or email is taken. \"Changing too fast\": retry the request." },
  { code: "feed_limit_reached", status: 409, summary: `You already hold ${MAX_FEEDS_PER_USER} feeds`, detail: `You already have ${MAX_FEEDS_PER_USER} feeds; delete one first.`, action: "Delete a feed you no longer use (`DELETE /api/feeds/{id}`), or rotate one instead of creating another." },
  { code: "gone", status: 410, summary: "The feed URL was rotated or deleted", detail: "This feed was rotated or deleted; ask its owner for the new URL.", action: "Stop polling this URL; its owner can give you the new one (`POST /api/feeds/{id}/rotate` shows it)." },
  { code: "sync_token_expired", status: 410, summary: "The sync token is too old, tampered with, or not yours", detail: "The sync token has expired or is not valid for you; sync again from scratch (without sync_token).", action: `Drop the local copy and sync from scratch: \`GET /api/sync\` without \`sync_token\` (tokens last ${SYNC_TOKEN_RETENTION_DEFAULT_SECONDS / 86_400} days).` },
  { code: "precondition_failed", status: 412, summary: "If-Match does not match the current version; `current` holds it", detail: "If-Match does not match the current version (3).", action: "Merge your change with `current`, then retry with the ETag of `GET /api/events/{id}`." },
  { code: "payload_too_large", status: 413, summary: `Body over 1 MiB (${MAX_BODY_BYTES.toLocaleString("en-US")} bytes)`, detail: `The request body exceeds ${MAX_BODY_BYTES} bytes.`, action: "Send less: split a batch, shorten descriptions." },
  { code: "unsupported_media_type", status: 415, summary: "Unsupported media type", detail: "Send the body as application/json or application/msgpack.", action: "Send `Content-Type: application/json` or a MessagePack type (`application/msgpack`, `application/x-msgpack`, `application/vnd.msgpack`); login also takes `application/x-www-form-urlencoded`." },
  { code: "validation_failed", status: 422, summary: "Validation failed; `errors` names every failing field", detail: "The request is invalid; see errors for each field.", action: "Fix each field named in `errors` (items of a batch or share carry their `index`). A tampered, foreign or stale cursor is also a 422: start again from the first page." },
  { code: "upgrade_required", status: 426, summary: "The socket route was called without a WebSocket upgrade", detail: "Connect with a WebSocket upgrade.", action: "Open it as a WebSocket (`Upgrade: websocket`)." },
  { code: "rate_limited", status: 429, summary: "Rate limited; see Retry-After", detail: "Too many requests; retry after the period in Retry-After.", action: "Wait the seconds in `Retry-After`, then retry." },
  { code: "internal_error", status: 500, summary: "Unexpected failure", detail: "Something went wrong on our side; quote the request id if you report it.", action: "Retry later; report it with `request_id` (also in `X-Request-Id`). The body never carries internals." },
  { code: "server_misconfigured", status: 500, summary: "The Worker has no strong JWT_SECRET, so it issues no tokens", detail: "The server is not configured to issue tokens.", action: "The operator sets `JWT_SECRET` (`wrangler secret put JWT_SECRET`, at least 32 bytes)." },
];

const catalogueTable = [
  "| code | status | what to do |",
  "|---|---|---|",
  ...ERROR_CATALOGUE.map((e) => `| \`${e.code}\` | ${e.status} | ${e.summary}. ${e.action} |`),
].join("\n");

export const API_INFO = {
  title: "Collaborative Event Management API",
  version: "1.0.0",
  description: `Collaborative events with time-conflict detection, recurrence, sharing with roles, a version for every change (changelog, diff, rollback) and real-time notifications.

Every endpoint speaks JSON and MessagePack: send \`Content-Type: application/msgpack\` (or \`application/x-msgpack\`, \`application/vnd.msgpack\`) and/or \`Accept: application/msgpack\` (q-values honoured, \`Vary: Accept\`). Times are ISO 8601 on input (with \`Z\` or an offset; without one a time is read in the event's \`timezone\`) and UTC with \`Z\` on output; intervals are half-open. Every response carries \`X-Request-Id\`; every \`/api/*\` response that reached D1 carries \`X-D1-Bookmark\`, which a client sends back to read its own writes on any replica.

Real-time notifications: \`GET /ws/notifications?token=<access_token>[&since=<id>][&format=msgpack]\` (WebSocket; every frame is described in the AsyncAPI document at \`/asyncapi.json\`).

## Errors

Every error is an RFC 9457 problem document (\`application/problem+json\`, or MessagePack when that is all the client accepts): \`{type, title, status, code, detail, errors?, request_id}\`. \`code\` is stable; \`detail\` is a sentence for people. Some add typed members: \`conflicts\` and \`suggestions\` (409), \`current\` (412).

${catalogueTable}`,
  license: { name: "Proprietary: no license has been granted yet", identifier: "LicenseRef-Proprietary" },
  contact: { name: "Collaborative Event Management API", url: "https://collab-events.dev" },
};

export const SERVERS = [{ url: "/", description: "The Worker that serves this document (`npm run dev`: http://localhost:8787)" }];

export const TAGS = [
  { name: "Auth", description: "Accounts and sessions: short-lived JWT access tokens, single-use rotating refresh tokens, logout and password change revoke at once." },
  { name: "Events", description: "Events with conflict detection per owner (occurrences included), keyset-paged lists with search, conditional requests (ETag, If-Match, If-None-Match) and all-or-nothing batches." },
  { name: "Exceptions", description: "Single occurrences of a series, named by their original start: move, change or cancel one, or split the series there (this and following)." },
  { name: "Sharing", description: "Roles on an event: owner, editor, viewer. Owners share and change roles; anyone may leave." },
  { name: "Versions", description: "Every change is a version: the changelog, snapshots, diffs between any two versions, and rollback as a new version. `Accept: text/html` renders readable pages." },
  { name: "Calendar", description: "Occurrences of recurring events (RFC 5545 rules) and the agenda across every event you can see." },
  { name: "Notifications", description: "One notification per change for everyone with access, newest first or since an id, and the WebSocket that pushes them live." },
  { name: "Feeds", description: "iCalendar (RFC 5545) subscription feeds for Apple Calendar, Google Calendar, Outlook and Thunderbird: a secret URL per feed, rotated or deleted at will." },
  { name: "Sync", description: "Incremental sync for clients that keep a local copy: a full listing once, then only what changed since a sync token." },
  { name: "Availability", description: "Free/busy times of yourself and the people you share events with, and slots where everyone is free." },
  { name: "Documentation", description: "Pages for people: the landing page, the page behind signed history links, the site icon." },
  { name: "Health", description: "Liveness and a D1 round trip, for load balancers and monitors." },
];

export const SECURITY_SCHEMES = {
  bearerAuth: { type: "http" as const, scheme: "bearer", bearerFormat: "JWT", description: "An access token from register, login or refresh: `Authorization: Bearer <access_token>`." },
  oauth2: {
    type: "oauth2" as const,
    description: "Log in with username (or email) and password; Swagger UI's Authorize does this for you.",
    flows: { password: { tokenUrl: "/api/auth/login", refreshUrl: "/api/auth/refresh", scopes: {} } },
  },
  accessTokenQuery: { type: "apiKey" as const, in: "query" as const, name: "token", description: "The access token in the query string, for the WebSocket upgrade (browsers cannot set headers on it)." },
};

export const HEADERS: Record<string, Json> = {
  "X-Request-Id": { description: "This request's id (the client's own `X-Request-Id` when it sent one of at most 64 characters); problem bodies repeat it as `request_id`.", schema: { type: "string" }, example: "3f1c9a52-8d1e-4b47-9a0e-6c2d5e7f8a91" },
  "X-D1-Bookmark": { description: "D1's bookmark after this request. Send it back as the request header `X-D1-Bookmark` to read at least this state (read-your-writes across requests and devices). Absent when the request asked D1 nothing.", schema: { type: "string" }, example: "00000042-00000007-00004fa2-9b1c3e5d7f9a1b3c5d7e9f1a3b5c7d9e" },
  ETag: { description: "Strong entity tag of `GET /api/events/{id}` for this state and reader: it changes with the content, the permissions and your role. JSON and MessagePack have different tags.", schema: { type: "string" }, example: '"3-2b9CwD8mJ1x0aP4qLk7Z"' },
  Location: { description: "The new event's URL.", schema: { type: "string" }, example: "/api/events/7" },
  Link: { description: 'With `Accept: text/calendar`: the next page, as `<url>; rel="next"`, when there is one.', schema: { type: "string" }, example: '</api/events?cursor=eyJ2IjpbN11.c2lnbmF0dXJl>; rel="next"' },
  "Last-Modified": { description: "The last change to what the feed shows (or the start of today, UTC, when the window moved since then); If-Modified-Since compares against it.", schema: { type: "string" }, example: "Sat, 01 Mar 2031 09:00:00 GMT" },
  "Retry-After": { description: "Seconds to wait before retrying (the limiter's period; the platform does not say when its window resets).", schema: { type: "integer" }, example: 60 },
  "WWW-Authenticate": { description: "The authentication scheme to use: `Bearer` (`HistoryLink` on `GET /api/history-view`).", schema: { type: "string" }, example: 'Bearer realm="api"' },
};

/** Parameters that mean the same wherever they appear. */
export const PARAMETERS: Record<string, { description: string; example: Json }> = {
  id: { description: "The resource's id (a positive integer; anything else is a 404).", example: 7 },
  userId: { description: "The collaborator's user id.", example: 2 },
  version: { description: "A version number of the event, from 1 (its creation).", example: 2 },
  v1: { description: "One version.", example: 1 },
  v2: { description: "The other version (either order).", example: 3 },
  limit: { description: "Page size, 1..100.", example: 50 },
  cursor: { description: "`next_cursor` of the previous page (opaque and signed; a tampered or foreign one is 422).", example: "eyJ2IjpbN11.c2lnbmF0dXJl" },
  "if-match": { description: "The event's `ETag`, a list of them, or `*`. Strong comparison: a weak tag never matches; a mismatch is 412 with `current`.", example: '"3-2b9CwD8mJ1x0aP4qLk7Z"' },
  "if-none-match": { description: "ETags (a list) or `*`; weak comparison (RFC 9110). When one matches: 304 with the ETag.", example: '"3-2b9CwD8mJ1x0aP4qLk7Z"' },
  start: { description: "Window start, ISO 8601 (UTC when it has no offset).", example: "2031-03-01T00:00:00Z" },
  end: { description: "Window end, exclusive, after `start`.", example: "2031-04-01T00:00:00Z" },
};

const user = { id: 1, username: "ada", email: "ada@example.com", created_at: "2031-02-01T09:00:00Z" };
const session = {
  user,
  access_token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwic2lkIjoiYjM5ZiJ9.6vQpT0b8Zk0nR3m1y4s2Qd9XcW7e5u1Lh8Jf2Ga4Ko0",
  // Not of the real form (`rt_<32 hex>.<64 hex>`): the fuzzer looks for real refresh tokens in every answer.
  refresh_token: "rt_9f1c2b7e4a6d4c3e8b5a0f1e2d3c4b5a.3e0b7c9d1f2a…",
  token_type: "bearer",
  expires_in: 900,
};
const event = {
  id: 7,
  title: "Design review",
  description: "Walk through the new onboarding flow.",
  start_time: "2031-03-01T09:00:00Z",
  end_time: "2031-03-01T10:00:00Z",
  location: "Room 4",
  is_recurring: false,
  recurrence_pattern: null,
  timezone: "Europe/Berlin",
  owner_id: 1,
  version: 1,
  created_at: "2031-02-01T10:00:00Z",
  updated_at: "2031-02-01T10:00:00Z",
  my_role: "owner",
};
const standup = { ...event, id: 8, title: "Standup", description: "", start_time: "2031-03-03T08:00:00Z", end_time: "2031-03-03T08:15:00Z", location: null, is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", timezone: "Europe/Berlin" };
const moved = { ...event, version: 2, start_time: "2031-03-01T10:00:00Z", end_time: "2031-03-01T11:00:00Z", updated_at: "2031-02-02T08:30:00Z" };
const exceptionMoved = { original_start: "2031-03-10T08:00:00Z", cancelled: false, start_time: "2031-03-10T09:00:00Z", end_time: "2031-03-10T09:15:00Z" };
const owner = { user_id: 1, username: "ada", role: "owner", granted_by: 1, granted_at: "2031-02-01T10:00:00Z" };
const editor = { user_id: 2, username: "grace", role: "editor", granted_by: 1, granted_at: "2031-02-01T10:05:00Z" };
const viewer = { user_id: 3, username: "linus", role: "viewer", granted_by: 1, granted_at: "2031-02-01T10:05:00Z" };
const createBody = { title: "Design review", description: "Walk through the new onboarding flow.", start_time: "2031-03-01T10:00:00", end_time: "2031-03-01T11:00:00", location: "Room 4", timezone: "Europe/Berlin" };
const standupBody = { title: "Standup", start_time: "2031-03-03T09:00:00", end_time: "2031-03-03T09:15:00", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", timezone: "Europe/Berlin" };
const link = (token: string) => `http://localhost:8787/history#${token}`;
const changelog: Json[] = [
  { version: 1, action: "created", changed_by: { id: 1, username: "ada" }, changed_at: "2031-02-01T10:00:00Z", changes: { title: { from: null, to: "Design review" }, start_time: { from: null, to: "2031-03-01T09:00:00Z" }, end_time: { from: null, to: "2031-03-01T10:00:00Z" }, location: { from: null, to: "Room 4" } }, html_url: link("eyJlIjo3LCJ2IjpbImgiLDFdfQ.c2ln") },
  { version: 2, action: "updated", changed_by: { id: 2, username: "grace" }, changed_at: "2031-02-02T08:30:00Z", changes: { location: { from: "Room 4", to: null } }, html_url: link("eyJlIjo3LCJ2IjpbImgiLDJdfQ.c2ln") },
  { version: 3, action: "rolled_back", changed_by: { id: 1, username: "ada" }, changed_at: "2031-02-02T09:00:00Z", changes: { location: { from: null, to: "Room 4" } }, restored_from: 1, html_url: link("eyJlIjo3LCJ2IjpbImgiLDNdfQ.c2ln") },
];
const notification = {
  id: 12,
  type: "event_updated",
  event_id: 7,
  actor: { id: 2, username: "grace" },
  message: 'grace updated "Design review"',
  data: { changes: { location: { from: "Room 4", to: null } }, version: 2 },
  is_read: false,
  created_at: "2031-02-02T08:30:00Z",
};
/** The id every example response carries. */
export const EXAMPLE_REQUEST_ID = "3f1c9a52-8d1e-4b47-9a0e-6c2d5e7f8a91";
/** A problem body exactly as the Worker renders it (src/lib/problem.ts). */
export const problemValue = (status: number, code: string, detail: string, options: { errors?: FieldError[]; extra?: Record<string, unknown> } = {}) =>
  problemBody(new ApiError(status, code, detail, options), EXAMPLE_REQUEST_ID) as Json;

const one = (summary: string, value: Json): Examples => ({ example: { summary, value } });
const vevent = [
  "BEGIN:VEVENT",
  "UID:event-7@collab-events.dev",
  "DTSTAMP:20310202T083000Z",
  "LAST-MODIFIED:20310202T083000Z",
  "SEQUENCE:1",
  "SUMMARY:Design review",
  "DESCRIPTION:Walk through the new onboarding flow.",
  "LOCATION:Room 4",
  "DTSTART;TZID=Europe/Berlin:20310301T100000",
  "DTEND;TZID=Europe/Berlin:20310301T110000",
  "END:VEVENT",
].join("\r\n");
const calendar = (summary: string, events: string[]): Examples =>
  one(summary, ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//collab-events//API//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:Work", "BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "…", "END:VTIMEZONE", ...events, "END:VCALENDAR", ""].join("\r\n"));
const html = (summary: string): Examples => one(summary, "<!doctype html><html lang=\"en\"><head><title>Design review: history</title></head><body>…</body></html>");

/** Problem examples with members the catalogue's plain examples lack. */
const PROBLEM_EXAMPLES = {
  conflict: problemValue(409, "conflict", "The event overlaps another event of the same owner.", {
    extra: {
      conflicts: [{ id: 8, title: "Standup", start_time: "2031-03-03T08:00:00Z", end_time: "2031-03-03T08:15:00Z" }],
      suggestions: [{ start_time: "2031-03-03T08:15:00Z", end_time: "2031-03-03T08:30:00Z" }],
    },
  }),
  batchConflict: problemValue(409, "conflict", "The event overlaps another event of the same owner.", {
    errors: [{ field: "start_time", message: 'Overlaps item "Design review" of this batch at 2031-03-01T09:00:00Z.', index: 1 }],
    extra: { conflicts: [{ id: null, title: "Design review", start_time: "2031-03-01T09:00:00Z", end_time: "2031-03-01T10:00:00Z", index: 1 }] },
  }),
  stale: problemValue(412, "precondition_failed", "If-Match does not match the current version (2).", { extra: { current: moved } }),
  taken: problemValue(409, "conflict", "That username is already taken.", { errors: [{ field: "username", message: "This username is already registered." }] }),
  invalid: problemValue(422, "validation_failed", "The request is invalid; see errors for each field.", {
    errors: [
      { field: "title", message: "Must not be empty." },
      { field: "end_time", message: "Must be after start_time." },
    ],
  }),
};

const page = (items: Json[], next: string | null = null) => ({ items, next_cursor: next });

const feedSecret = {
  id: 3,
  name: "Work",
  url: "https://collab-events.dev/feeds/3q2-7wVxL8m0Tn5cJb1KfZ4sYd9gHe6aRu2iXo0pQvw.ics",
  webcal_url: "webcal://collab-events.dev/feeds/3q2-7wVxL8m0Tn5cJb1KfZ4sYd9gHe6aRu2iXo0pQvw.ics",
  created_at: "2031-02-01T10:00:00Z",
};

export const OPERATIONS: Record<string, OperationProse> = {
  register: {
    summary: "Create an account and start a session",
    description: `Creates an account and a first session. Usernames are 3..32 of \`[A-Za-z0-9_.-]\` and, like emails, unique case-insensitively (taken: 409); passwords 8..128 characters, stored as scrypt hashes. Rate limited per client IP (10 per ${RATE_LIMIT_PERIODS.register} s).`,
    request: { "*": one("A new account", { username: "ada", email: "ada@example.com", password: "correct horse battery" }) },
    responses: { "201": { "*": one("The account and its session", session) }, "409": { "*": { taken: { summary: "The username is taken", value: PROBLEM_EXAMPLES.taken } } } },
  },
  login: {
    summary: "Start a session (username or email; JSON or the OAuth2 password form)",
    description: `Starts a session. \`username\` may be the email, or send \`email\`; the OAuth2 password form (\`application/x-www-form-urlencoded\`, as Swagger UI's Authorize sends it) works too. Rate limited per client IP (20 per ${RATE_LIMIT_PERIODS.login} s) and per account (10 per ${RATE_LIMIT_PERIODS.login} s): the account is the resolved user, so its username and its email share one count, and an identifier that names no user is counted under its own spelling, so the limit does not reveal which accounts exist. A wrong password and an unknown user give the same 401 in about the same time.`,
    request: {
      "*": { username: { summary: "By username", value: { username: "ada", password: "correct horse battery" } }, email: { summary: "By email", value: { email: "ada@example.com", password: "correct horse battery" } } },
      "application/x-www-form-urlencoded": one("The OAuth2 password form", { grant_type: "password", username: "ada", password: "correct horse battery" }),
    },
    responses: { "200": { "*": one("A session", session) } },
  },
  refreshSession: {
    summary: "Rotate a refresh token into a new session pair",
    description: `Rotates the refresh token: the answer is a new pair and the old refresh token is spent. Rate limited per client IP (30 per ${RATE_LIMIT_PERIODS.refresh} s). Presenting one of the session's last ${SPENT_TOKENS_REMEMBERED} spent refresh tokens again is taken as theft: the whole session is revoked and its sockets closed (4001). A token naming a live session with a secret it never issued, or a spent one older than those, is a plain 401 that changes nothing. An access token is never accepted here.`,
    request: { "*": one("The current refresh token", { refresh_token: session.refresh_token }) },
    responses: { "200": { "*": one("A new pair", session) } },
  },
  logout: {
    summary: "Revoke the session: its access token, refresh token and sockets stop working",
    description: "Revokes the calling session: its access token stops working at once (401), its refresh token too, and its open WebSockets are closed with 4001 before the answer. With `refresh_token`, another session of yours is revoked as well. The body is optional.",
    request: { "*": one("Also revoke another of your sessions", { refresh_token: session.refresh_token }) },
  },
  changePassword: {
    summary: "Change the password; every other session is revoked and its sockets closed",
    description: `Checks \`current_password\` (wrong: 403, counted by the per-account login limiter), stores \`new_password\` (8..128 characters), and revokes every other session of the user: their tokens stop working and their sockets are closed with 4001. The calling session stays.`,
    request: { "*": one("Old and new password", { current_password: "correct horse battery", new_password: "a new long passphrase" }) },
  },
  getCurrentUser: {
    summary: "The current user",
    description: "The user the access token belongs to. Never contains a password or its hash.",
    responses: { "200": { "*": one("You", user) } },
  },
  createEvent: {
    summary: "Create an event; you become its owner",
    description: `Creates an event and makes you its owner. Times without an offset are read in \`timezone\` (default \`UTC\`); \`end_time\` must be after \`start_time\`, both within 1900..9999. \`is_recurring: true\` needs \`recurrence_pattern\` (an RFC 5545 RRULE body or \`daily\`, \`weekly\`, \`monthly\`, \`yearly\`); writing a rule may cost at most ${RULE_BUDGET} expansion steps (more: 422 naming \`recurrence_pattern\`). The event may not overlap another event of yours, occurrences included (endless series are compared ${RECURRENCE_HORIZON_DAYS} days ahead): 409 with \`conflicts\`. Check and write are atomic. Server-owned fields in the body are ignored.`,
    request: { "*": { oneOff: { summary: "A one-off event in Berlin time", value: createBody }, series: { summary: "A weekly series", value: standupBody } } },
    responses: {
      "201": { "*": one("The new event", event) },
      "409": { "*": { conflict: { summary: "Overlaps a standup", value: PROBLEM_EXAMPLES.conflict } } },
      "422": { "*": { invalid: { summary: "An empty title and an end before the start", value: PROBLEM_EXAMPLES.invalid } } },
    },
  },
  createEventBatch: {
    summary: `Create 1..${MAX_BATCH} events, all or nothing`,
    description: `Creates 1..${MAX_BATCH} events, all or nothing: any invalid item (422) or any overlap with an existing event or another item of the batch (409) writes nothing, and each error names its item by \`index\`. The body is \`{events: [...]}\` or a bare array. The batch's recurrence rules are checked within ${BATCH_RULE_BUDGET} expansion steps together (each within ${RULE_BUDGET}); items past that are a 422 naming their \`recurrence_pattern\`.`,
    request: { "*": { object: { summary: "`{events: [...]}`", value: { events: [createBody, standupBody] } }, bareArray: { summary: "A bare array", value: [createBody, standupBody] } } },
    responses: {
      "201": { "*": one("Every event, in the order sent", [event, standup]) },
      "409": { "*": { conflict: { summary: "Item 1 overlaps item 0", value: PROBLEM_EXAMPLES.batchConflict } } },
    },
  },
  listEvents: {
    summary: "Events you own or that are shared with you, by start time",
    description: `Events you own or that are shared with you, by \`start_time\` then \`id\`, keyset-paged: pass \`next_cursor\` back as \`cursor\` (\`null\` on the last page). With \`start\`/\`end\`, an event is listed when it, or any occurrence of a series, intersects [start, end); such a page examines at most ${WINDOW_SCAN_ROWS} of your events after the cursor, so it may hold fewer than \`limit\` items, even none, while \`next_cursor\` is not null: keep paging until it is null.`,
    parameters: {
      start: { description: "Only events that intersect [start, end): window start, ISO 8601.", example: "2031-03-01T00:00:00Z" },
      end: { description: "Window end, exclusive.", example: "2031-04-01T00:00:00Z" },
      q: {
        description:
          "Substring of title, description or location, case-insensitive over all of Unicode (simple case folding: `café` finds `CAFÉ`, `σοφία` finds `ΣΟΦΊΑ`, `ß` and `ẞ` match each other but not `ss`; Turkish `İ`/`ı` match `i`; accents are not ignored). A page examines at most 300 of your events after the cursor, whatever the query's length, so it may hold fewer than `limit` items, even none, while `next_cursor` is not null: keep paging until it is null.",
        example: "review",
      },
      role: { description: "Only events where your role is this one (case-insensitive).", example: "owner" },
    },
    responses: { "200": { "*": one("A page", page([event, standup], "eyJ2IjpbMTkxNDQ2NTYwMDAwMCw4XX0.c2lnbmF0dXJl")), "text/calendar": calendar("The page as one calendar", [vevent]) } },
  },
  getEvent: {
    summary: "One event with its permissions; `?at=` gives it as it was then",
    description: "One event with its `permissions`. The `ETag` is strong and changes whenever this body would: a content change (`version`), a share, a role change or a revocation (`permissions`), or your `my_role`; JSON and MessagePack have different tags. `If-None-Match` (a list, or `*`; weak comparison) answers 304 with the ETag when one matches. `?at=` gives the event as it was at that instant (its `permissions` are today's), without an ETag; before the event existed: 404.",
    parameters: { at: { description: "An instant (ISO 8601); the event as it was then.", example: "2031-02-02T08:00:00Z" } },
    responses: { "200": { "*": one("The event and who has access", { ...event, exceptions: [], permissions: [owner, editor] }), "text/calendar": calendar("The event as a calendar", [vevent]) } },
  },
  updateEvent: {
    summary: "Update an event (partial)",
    description: "Changes any subset of the writable fields; fields not sent are unchanged and `null` clears an optional one. A change that changes nothing creates no version. Owners and editors. Moving the event in time is conflict-checked against the owner's calendar, whoever moves it (409). `If-Match` makes the write conditional: a mismatch is 412 with `current`; of concurrent writers with the same `If-Match` exactly one succeeds. The answer carries the ETag that `GET /api/events/{id}` now gives.",
    request: { "*": { move: { summary: "Move it an hour later", value: { start_time: "2031-03-01T11:00:00", end_time: "2031-03-01T12:00:00" } }, clear: { summary: "Clear the location", value: { location: null } } } },
    responses: {
      "200": { "*": one("The event after the change", moved) },
      "409": { "*": { conflict: { summary: "Moved onto a standup", value: PROBLEM_EXAMPLES.conflict } } },
      "412": { "*": { stale: { summary: "Someone changed it first", value: PROBLEM_EXAMPLES.stale } } },
    },
  },
  putEvent: {
    summary: "Update an event (partial, same as PATCH)",
    description: "The same as `PATCH /api/events/{id}`: a partial update. The answer carries no ETag (RFC 9110 §9.3.4: what was stored is not the body sent); read it with `GET /api/events/{id}`.",
    request: { "*": one("Rename it", { title: "Design review (v2)" }) },
    responses: {
      "200": { "*": one("The event after the change", { ...moved, title: "Design review (v2)", start_time: event.start_time, end_time: event.end_time }) },
      "409": { "*": { conflict: { summary: "Moved onto a standup", value: PROBLEM_EXAMPLES.conflict } } },
      "412": { "*": { stale: { summary: "Someone changed it first", value: PROBLEM_EXAMPLES.stale } } },
    },
  },
  deleteEvent: {
    summary: "Delete an event with its permissions and history (owners)",
    description: "Removes the event, its permissions, its versions and every notification about it (owners). Everyone who had access then gets one `event_deleted` notification, the only rows that still name the event. `If-Match` (the ETag, a list, or `*`; strong comparison) makes it conditional: a mismatch is 412 with `current`.",
    responses: { "412": { "*": { stale: { summary: "Someone changed it first", value: PROBLEM_EXAMPLES.stale } } } },
  },
  shareEvent: {
    summary: "Share an event, or change roles (upsert; owners)",
    description: `Grants roles (owners only); sharing again changes the role (upsert). The body is \`{users: [...]}\`, a bare array of items, or one item; a user is named by \`user_id\`, \`username\` or \`email\`, at most ${MAX_COLLABORATORS} at once. An unknown user is a 404 that does not repeat the name (each is named by \`index\`), and nothing is granted. Sharing with yourself, or changing the creator's entry, is a 422. Each user named by \`username\` or \`email\` costs one unit of the caller's lookup limit (30 per ${RATE_LIMIT_PERIODS.lookup} s; then 429); \`user_id\` is free. Everyone with access is notified once.`,
    request: {
      "*": {
        object: { summary: "`{users: [...]}`", value: { users: [{ username: "grace", role: "editor" }, { email: "linus@example.com", role: "viewer" }] } },
        bareArray: { summary: "A bare array", value: [{ user_id: 2, role: "editor" }] },
        item: { summary: "One item", value: { user_id: 3, role: "viewer" } },
      },
    },
    responses: { "200": { "*": one("The full permission list, the creator first", [owner, editor, viewer]) } },
  },
  listEventPermissions: {
    summary: "Who has access; the creator first",
    description: "Everyone with access and their role, the creator first (any role may read it).",
    responses: { "200": { "*": one("The creator and two collaborators", [owner, editor, viewer]) } },
  },
  setEventPermission: {
    summary: "Set one user's role (owners)",
    description: "Sets one collaborator's role (owners only; case-insensitive on input). The creator's entry cannot be changed (422).",
    request: { "*": one("Make them a viewer", { role: "viewer" }) },
    responses: { "200": { "*": one("The permission", { ...editor, role: "viewer" }) } },
  },
  revokeEventPermission: {
    summary: "Remove a collaborator (owners), or leave an event yourself",
    description: "Removes a collaborator (owners), or leaves the event (yourself, any role). The creator's entry cannot be removed (422). The removed user is notified with everyone else who had access.",
  },
  listEventChangelog: {
    summary: "Every version, oldest first, with who changed what",
    description: `Every version of the event, oldest first, with who made it and what changed (\`changes\`: field → {from, to}); paged like every collection. \`html_url\` (on the page and on each entry) is a signed link to the HTML view that opens in a plain browser tab, without a bearer header, for ${HISTORY_LINK_TTL_SECONDS / 60} minutes. \`Accept: text/html\` renders the page-history view directly.`,
    responses: { "200": { "*": one("Created, edited, rolled back", { ...page(changelog), html_url: link("eyJlIjo3LCJ2IjpbImMiXX0.c2ln") }), "text/html": html("The page-history view") } },
  },
  getEventVersion: {
    summary: "The event as of one version",
    description: "The event's fields as of one version, with who made it and when. An unknown version, or one of another event: 404. `Accept: text/html` renders the version as a page linked to its neighbours.",
    responses: {
      "200": {
        "*": one("Version 2", { title: "Design review", description: "Walk through the new onboarding flow.", location: null, start_time: event.start_time, end_time: event.end_time, is_recurring: false, recurrence_pattern: null, timezone: "Europe/Berlin", version: 2, action: "updated", changed_by: { id: 2, username: "grace" }, changed_at: "2031-02-02T08:30:00Z", html_url: link("eyJlIjo3LCJ2IjpbImgiLDJdfQ.c2ln") }),
        "text/html": html("The version as a page"),
      },
    },
  },
  diffEventVersions: {
    summary: "Fields that differ between two versions (either order)",
    description: "The fields that differ between two versions, in either order (`changes` goes from `v1` to `v2`); a version with itself gives `changes: {}`. `Accept: text/html` renders the two side by side.",
    responses: { "200": { "*": one("Version 3 against version 2", { event_id: 7, from_version: 3, to_version: 2, changes: { location: { from: "Room 4", to: null } }, html_url: link("eyJlIjo3LCJ2IjpbImQiLDMsMl19.c2ln") }), "text/html": html("The two versions side by side") } },
  },
  rollbackEvent: {
    summary: "Restore an earlier version's content as a new version (owners, editors)",
    description: "Writes a new version whose content equals the given one, with `restored_from` in the changelog (owners and editors). It is conflict-checked like an update (409) and takes `If-Match` like one (412). Rolling back to the current content creates no version.",
    responses: {
      "200": { "*": one("Back to version 1, as version 3", { ...event, version: 3, updated_at: "2031-02-02T09:00:00Z" }) },
      "409": { "*": { conflict: { summary: "The old times now overlap a standup", value: PROBLEM_EXAMPLES.conflict } } },
      "412": { "*": { stale: { summary: "Someone changed it first", value: PROBLEM_EXAMPLES.stale } } },
    },
  },
  listEventOccurrences: {
    summary: `Occurrences of one event in a window of up to ${MAX_WINDOW_DAYS} days`,
    description: `Every occurrence whose [start, end) meets the window (at most ${MAX_WINDOW_DAYS} days), by start, computed in the event's time zone (09:00 Berlin stays 09:00 across daylight-saving changes). A series has at most one occurrence a day, so the widest window gives at most ${MAX_WINDOW_DAYS + 1} items and the list is not paged. The work is proportional to the window, however long ago the series started. Occurrences that would end after 9999-12-31T23:59:59Z are not part of a series.`,
    parameters: { end: { description: `Window end, exclusive: after \`start\`, at most ${MAX_WINDOW_DAYS} days later.`, example: "2031-04-01T00:00:00Z" } },
    responses: { "200": { "*": one("A weekly standup in March", { items: [{ start_time: "2031-03-03T08:00:00Z", end_time: "2031-03-03T08:15:00Z", original_start: "2031-03-03T08:00:00Z" }, { start_time: "2031-03-05T09:00:00Z", end_time: "2031-03-05T09:15:00Z", original_start: "2031-03-05T08:00:00Z", is_exception: true }] }) } },
  },
  listAgenda: {
    summary: "Every occurrence of every event you can see in a window, by start",
    description: `Every occurrence of your own and shared events in [start, end) (at most ${MAX_WINDOW_DAYS} days), ordered by start, then event id, paged by \`cursor\`. Each page does bounded work: events spanning more than a day (series, multi-day events) that still run at the page's position are merged lazily from that position, at most ${MAX_AGENDA_SERIES} of them (more is a 422 naming \`start\`), with at most ${AGENDA_BUDGET} expansion steps (more is a 422 naming \`end\`: narrow the window).`,
    parameters: { end: { description: `Window end, exclusive: after \`start\`, at most ${MAX_WINDOW_DAYS} days later.`, example: "2031-04-01T00:00:00Z" } },
    responses: {
      "200": {
        "*": one("Two occurrences", page([
          { event_id: 7, title: "Design review", start_time: "2031-03-01T09:00:00Z", end_time: "2031-03-01T10:00:00Z", original_start: "2031-03-01T09:00:00Z", my_role: "owner" },
          { event_id: 8, title: "Standup", start_time: "2031-03-03T08:00:00Z", end_time: "2031-03-03T08:15:00Z", original_start: "2031-03-03T08:00:00Z", my_role: "editor" },
        ])),
      },
    },
  },
  listNotifications: {
    summary: "Your notifications: newest first, or with `since` the ones after it, oldest first",
    description: `Your notifications, newest first; with \`since\`, the ones with a greater id, oldest first (how a client catches up after a socket replay was cut short). \`unread_count\` counts up to ${UNREAD_COUNT_CAP}: ${UNREAD_COUNT_CAP} means that many or more. The actor's own copy of a notification is created already read.`,
    parameters: {
      unread: { description: "`true`: only unread notifications.", example: "true" },
      since: { description: "Only notifications with a greater id, oldest first.", example: 11 },
    },
    responses: { "200": { "*": one("One unread change", { ...page([notification]), unread_count: 1 }) } },
  },
  markNotificationRead: { summary: "Mark one notification read (idempotent)", description: "Marks one of your notifications read; idempotent. Another user's id is a 404." },
  markAllNotificationsRead: { summary: "Mark every notification read", description: "Marks every notification of yours read." },
  connectNotificationSocket: {
    summary: "WebSocket stream of your notifications",
    description: [
      "A WebSocket of your notifications; the AsyncAPI document at `/asyncapi.json` describes every frame. Upgrade with `token` (an access token); a bad, expired or revoked one is refused with 401.",
      `Server frames: first \`{type:'hello', user_id, last_id}\`; with \`since\`, at most ${REPLAY_FRAME_LIMIT} notifications after it in id order, and when more were missed \`{type:'replay_truncated', next_since, last_id}\` (page the rest with \`GET /api/notifications?since=<next_since>\`); then live \`{type:'notification', notification}\`. Delivery is at-least-once: de-duplicate by id.`,
      `Client frames: text \`ping\` is answered \`pong\` without waking the hub. \`{type:'auth', access_token}\` with a fresh access token of the same session extends the socket's life: answered \`{type:'auth_ok', expires_at}\`, or \`{type:'error', code:'unauthorized'}\` (the socket is unchanged); at most ${AUTH_CHECKS_PER_WINDOW} auth frames per user are checked in ${AUTH_WINDOW_MS / 1000} s, more are answered \`{type:'error', code:'rate_limited'}\`. Other frames are ignored. A frame over ${MAX_INBOUND_FRAME_BYTES} bytes closes the socket with 1009; more than ${INBOUND_FRAMES_PER_WINDOW} frames (ping included) in ${INBOUND_WINDOW_MS / 1000} s close it with 1008.`,
      "`format=msgpack` sends the same objects as binary MessagePack frames (and accepts the auth frame as MessagePack too).",
      `Close codes: 4001 when the session is revoked (logout, refresh-token reuse, password change) or the access token expires without renewal; 4008 when the user opens more than ${SOCKETS_PER_USER} sockets (the oldest is closed); 1008, 1009 as above; 1011 when the replay fails.`,
    ].join("\n\n"),
    parameters: {
      token: { description: "An access token (browsers cannot set an Authorization header on a WebSocket).", example: session.access_token },
      since: { description: `Replay the notifications after this id (at most ${REPLAY_FRAME_LIMIT}) before live ones.`, example: 11 },
      format: { description: "`msgpack`: binary MessagePack frames instead of JSON text.", example: "json" },
    },
  },
  createFeed: {
    summary: "Create a calendar subscription feed",
    description: `Creates a subscription feed of every event you can see. The response's \`url\` (and \`webcal_url\`) holds the feed's secret token and is shown only here and by rotate: only its SHA-256 is stored. A user holds at most ${MAX_FEEDS_PER_USER} feeds (more is a 409 \`feed_limit_reached\`). The body is optional.`,
    request: { "*": one("A named feed", { name: "Work" }) },
    responses: { "201": { "*": one("The feed and its secret URL", feedSecret) }, "409": { "*": { feed_limit_reached: { summary: "Too many feeds", value: problemValue(409, "feed_limit_reached", `You already have ${MAX_FEEDS_PER_USER} feeds; delete one first.`) } } } },
    problems: { "409": "feed_limit_reached" },
  },
  listFeeds: {
    summary: "Your feeds, without their secret URLs",
    description: `Your feeds, oldest first (at most ${MAX_FEEDS_PER_USER}), without their secret URLs. \`last_fetched_at\` is recorded at most once per ${FETCH_RECORD_INTERVAL_MS / 60_000} minutes per feed, so it may lag the newest fetch by that much.`,
    responses: { "200": { "*": one("One feed", { items: [{ id: 3, name: "Work", created_at: "2031-02-01T10:00:00Z", last_fetched_at: "2031-02-02T08:35:00Z" }] }) } },
  },
  rotateFeed: {
    summary: "Give a feed a new secret URL; the old one answers 410 Gone",
    description: "Gives the feed a new secret URL, shown in the answer; the old URL answers 410 Gone from then on, so calendar apps subscribed to it stop polling.",
    responses: { "200": { "*": one("The feed with its new URL", { ...feedSecret, url: feedSecret.url.replace("3q2-7wVx", "Zr8t-1Qa"), webcal_url: feedSecret.webcal_url.replace("3q2-7wVx", "Zr8t-1Qa") }) } },
  },
  deleteFeed: { summary: "Delete a feed; its URL answers 410 Gone", description: "Deletes the feed; its URL answers 410 Gone from then on." },
  getFeedCalendar: {
    summary: "A calendar feed (iCalendar), for apps that cannot send a bearer token",
    description: `No authentication: the URL's token is the credential. The calendar holds every event the feed's user can see now that still runs after midnight UTC ${FEED_WINDOW_DAYS} days ago, and every later one (series as RRULE, so an endless series is one VEVENT), at most ${MAX_FEED_EVENTS} events (the earliest-starting). A rotated or deleted feed's URL is 410 Gone (Thunderbird then stops polling); a token never issued is 404. ETag and Last-Modified answer If-None-Match and If-Modified-Since with 304; HEAD works. Each feed may be fetched 30 times a minute (429 with Retry-After past that).`,
    parameters: {
      file: { description: "The feed's secret token followed by `.ics`, as in the feed's `url`.", example: "3q2-7wVxL8m0Tn5cJb1KfZ4sYd9gHe6aRu2iXo0pQvw.ics" },
      "if-modified-since": { description: "An HTTP date; ignored when If-None-Match is sent.", example: "Sat, 01 Mar 2031 09:00:00 GMT" },
    },
    responses: { "200": { "text/calendar": calendar("A feed with one event", [vevent]) } },
    problems: { "410": "gone" },
  },
  syncEvents: {
    summary: "Everything you can see, or what changed since a sync token",
    description: `Without \`sync_token\`: every event you can see, as \`GET /api/events\` lists them, in pages; the last page has \`next_sync_token\`. With it: each event created, changed or newly visible since the token, once, at its latest change (\`{kind, id, event}\`), and \`{kind, id, deleted: true}\` for events deleted or no longer visible; the last page again has \`next_sync_token\`. Continue either listing with \`cursor\` alone. Applying the pages to an empty copy, then each incremental sync, yields exactly what \`GET /api/events\` lists. Tokens last ${SYNC_TOKEN_RETENTION_DEFAULT_SECONDS / 86_400} days; an older, tampered or foreign one is a 410 \`sync_token_expired\`: sync from scratch.`,
    parameters: { sync_token: { description: "`next_sync_token` of your last sync; omit it for a full listing.", example: "eyJ1IjoxLCJuIjo0Mn0.c2lnbmF0dXJl" } },
    responses: {
      "200": {
        "*": {
          changes: { summary: "The last page of an incremental sync", value: { items: [{ kind: "event", id: 7, event: moved }, { kind: "event", id: 9, deleted: true }], next_cursor: null, next_sync_token: "eyJ1IjoxLCJuIjo0NX0.c2lnbmF0dXJl" } },
          full: { summary: "A first page of a full listing", value: { items: [{ kind: "event", id: 7, event }], next_cursor: "eyJ2IjpbImZ1bGwiLDcsOF19.c2lnbmF0dXJl", next_sync_token: null } },
        },
      },
    },
    problems: { "410": "sync_token_expired" },
  },
  getFreeBusy: {
    summary: "Merged busy times of users in a window",
    description: `Each named user's merged busy intervals in [start, end), in request order (\`index\`): every occurrence of every event on their calendar (own and shared), cancelled occurrences left out and moved ones at their new times, clipped to the window, without titles. Visible: yourself and anyone who holds a permission on an event you also hold; others are \`not_visible\` and unknown users \`not_found\`, with the same work for both and without echoing the name. Users are named by id, username or email (with \`@\`); each username or email costs one unit of your lookup limit. Window up to ${MAX_AVAILABILITY_DAYS} days, up to ${MAX_AVAILABILITY_USERS} users, at most ${MAX_BUSY_EVENTS} events and ${BUSY_BUDGET} expansion steps among them: past any, 422.`,
    request: { "*": one("Three users by id, username and email", { start: "2031-03-03T00:00:00Z", end: "2031-03-10T00:00:00Z", users: [1, "grace", "linus@example.com"] }) },
    responses: {
      "200": {
        "*": one("One visible user, one not visible, one unknown", {
          users: [
            { index: 0, user: { id: 1, username: "ada" }, busy: [{ start_time: "2031-03-03T08:00:00Z", end_time: "2031-03-03T08:15:00Z" }, { start_time: "2031-03-04T09:00:00Z", end_time: "2031-03-04T11:30:00Z" }] },
            { index: 1, user: null, error: "not_visible" },
            { index: 2, user: null, error: "not_found" },
          ],
        }),
      },
    },
  },
  findTime: {
    summary: "Slots where every visible user is free",
    description: `Slots of \`duration_minutes\` where every visible named user is free, earliest first: every start on a quarter hour (UTC) in [start, end) whose slot lies inside \`working_hours\` when given (wall-clock times in its \`timezone\`, on \`days\`, default MO..FR; \`end\` may be 24:00). Users who are not visible or unknown are left out and listed in \`unavailable\`. \`limit\` 1..${MAX_SLOTS} (default 20). Limits as for free/busy. A 409 conflict elsewhere suggests up to ${SUGGESTIONS} slots on the owner's calendar within ${SUGGESTION_RANGE_DAYS} days either side.`,
    request: {
      "*": one("An hour for three people in Berlin working hours", {
        users: [1, 2, "linus"],
        duration_minutes: 60,
        start: "2031-03-03T00:00:00Z",
        end: "2031-03-08T00:00:00Z",
        working_hours: { start: "09:00", end: "17:00", timezone: "Europe/Berlin", days: ["MO", "TU", "WE", "TH", "FR"] },
        limit: 3,
      }),
    },
    responses: {
      "200": {
        "*": one("The three earliest slots", {
          items: [
            { start_time: "2031-03-03T10:30:00Z", end_time: "2031-03-03T11:30:00Z" },
            { start_time: "2031-03-03T10:45:00Z", end_time: "2031-03-03T11:45:00Z" },
            { start_time: "2031-03-03T11:00:00Z", end_time: "2031-03-03T12:00:00Z" },
          ],
          unavailable: [],
        }),
      },
    },
  },
  getHistoryView: {
    summary: "The history page of a signed link",
    description: `What the page behind an \`html_url\` (\`/history#<token>\`) loads: the history view the link names, as HTML, with links of the same kind to its neighbours. A link works for ${HISTORY_LINK_TTL_SECONDS / 60} minutes, for its user and session, while they can still read the event; a tampered, expired or revoked one is a 401, and one for an event no longer visible a 404. Answers carry \`Cache-Control: no-store\`.`,
    parameters: { authorization: { description: "`HistoryLink <token>`: the token of the `html_url` (after `#`), which the history page sends.", example: "HistoryLink eyJlIjo3LCJ2IjpbImMiXX0.c2ln" } },
    responses: { "200": { "text/html": html("The changelog view") } },
  },
  importEvents: {
    summary: `Import an iCalendar file: its VEVENTs become events, 1..${MAX_IMPORT_EVENTS}, all or nothing`,
    description: `Imports an iCalendar file (\`Content-Type: text/calendar\`, RFC 5545, UTF-8, at most 1 MiB): each VEVENT without RECURRENCE-ID becomes one event (\`index\` counts them from 0 in file order) with its RRULE, its TZID (an IANA name, or one ending in one) and its EXDATEs as cancelled occurrences; a VEVENT with the same UID and a RECURRENCE-ID becomes a changed occurrence. 1..${MAX_IMPORT_EVENTS} events, with the batch's semantics: any invalid item (422) or overlap (409) creates nothing, each error naming its \`index\`. Malformed text is 400; a file with no VEVENT, too many, an invalid date or a series in an unknown zone is 422. \`warnings\` lists what was dropped (alarms, attendees, other properties, rules outside the supported grammar).`,
    request: { "text/calendar": calendar("A file with one event", [vevent]) },
    responses: {
      "201": { "*": one("Created, with what was dropped", { events: [event], warnings: [{ index: 0, property: "VALARM", message: "Alarms are not kept." }] }) },
      "409": { "*": { conflict: { summary: "Item 1 overlaps item 0", value: PROBLEM_EXAMPLES.batchConflict } } },
    },
  },
  listEventExceptions: {
    summary: "A series' exceptions, by original start",
    description: "The series' changed and cancelled occurrences, by original start; each names only what it overrides. A one-off event has none.",
    responses: { "200": { "*": one("One moved, one cancelled", { items: [exceptionMoved, { original_start: "2031-03-17T08:00:00Z", cancelled: true }] }) } },
  },
  updateOccurrence: {
    summary: "Change one occurrence, or split the series there (scope=following)",
    description: `Changes one occurrence (\`scope=this\`, the default: title, description, location, start_time, end_time) or splits the series there (\`scope=following\`: any writable field; the series ends before \`original_start\` and a new event, \`following\`, starts there with the changes and the same permissions, in one batch). A moved occurrence is conflict-checked like an update (409); every change is a new version of the series, so \`If-Match\` works as on the event (412) and the answer carries the series' new ETag. An \`original_start\` that is not an occurrence, or a one-off event: 404. A series holds at most ${MAX_EXCEPTIONS} exceptions.`,
    parameters: {
      original_start: { description: "The occurrence's original start (ISO 8601 UTC), as `original_start` in occurrences and the agenda; it keeps naming the occurrence after a move.", example: "2031-03-10T08:00:00Z" },
      scope: { description: "`this` (default): this occurrence only. `following`: split the series here.", example: "this" },
      "if-match": { description: "The series' ETag, a list of them, or `*`; a mismatch is 412 with `current`.", example: '"3-2b9CwD8mJ1x0aP4qLk7Z"' },
    },
    request: { "*": { move: { summary: "Move one standup an hour later", value: { start_time: "2031-03-10T10:00:00", end_time: "2031-03-10T10:15:00" } }, rename: { summary: "Rename it (or, with scope=following, every later one)", value: { title: "Standup (demo day)" } } } },
    responses: {
      "200": {
        "*": {
          occurrence: { summary: "scope=this: the occurrence", value: { event_id: 8, original_start: "2031-03-10T08:00:00Z", start_time: "2031-03-10T09:00:00Z", end_time: "2031-03-10T09:15:00Z", title: "Standup", description: "", location: null, cancelled: false, is_exception: true } },
          split: { summary: "scope=following: both halves", value: { series: { ...standup, version: 2, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20310310T075959Z" }, following: { ...standup, id: 9, title: "Standup (demo day)", start_time: "2031-03-10T08:00:00Z", end_time: "2031-03-10T08:15:00Z", recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6" } } },
        },
      },
      "409": { "*": { conflict: { summary: "Moved onto another event", value: PROBLEM_EXAMPLES.conflict } } },
      "412": { "*": { stale: { summary: "Someone changed the series first", value: PROBLEM_EXAMPLES.stale } } },
    },
  },
  cancelOccurrence: {
    summary: "Cancel one occurrence",
    description: "Cancels one occurrence of a series (owners and editors): it frees its slot, and occurrences, the agenda and feeds leave it out. A new version of the series; `If-Match` as on the event (412).",
    parameters: { original_start: { description: "The occurrence's original start (ISO 8601 UTC).", example: "2031-03-17T08:00:00Z" } },
    responses: { "412": { "*": { stale: { summary: "Someone changed the series first", value: PROBLEM_EXAMPLES.stale } } } },
  },
  getAsyncApiDocument: {
    description: "The AsyncAPI 3 document of `GET /ws/notifications`: every frame both ways (hello, notification, replay paging, auth and auth_ok, ping and pong, errors), close codes and the MessagePack variant. A static file of the deployment.",
    responses: { "200": { "*": one("The document (abridged)", { asyncapi: "3.0.0", info: { title: "Collaborative Event Management API: notifications", version: "1.0.0" } }) } },
  },
  getLandingPage: {
    description: "A page for people: what the API is, and links to the web app, Swagger UI (`/docs`), ReDoc (`/redoc`), the OpenAPI and AsyncAPI documents and health.",
    responses: { "200": { "text/html": one("The landing page", '<!doctype html><html lang="en"><head><title>Collaborative Event Management API</title></head><body>…<a href="/docs">Swagger UI</a>…</body></html>') } },
  },
  getWebApp: {
    description: "The web app for people (static assets, not the Worker bundle): sign up and in, a week view of the agenda, create, edit and delete events, share, history with diffs and rollback, notifications and live updates from the socket, calendar feeds.",
    responses: { "200": { "text/html": one("The app's page", '<!doctype html><html lang="en"><head><title>Calendar · Collaborative Events</title><script type="module" src="/app/assets/index.js"></script></head><body><div id="app"></div></body></html>') } },
  },
  getHistoryLinkPage: {
    description: "The page an `html_url` opens (`/history#<token>`): it reads the token from the fragment, which browsers never send to servers or put in Referer headers, and loads the view from `GET /api/history-view`.",
    responses: { "200": { "text/html": one("The history page shell", '<!doctype html><html lang="en"><head><title>History</title><script src="/static/history.js" defer></script></head><body>…</body></html>') } },
  },
  getFavicon: { description: "The site icon (32×32, ICO); `/static/favicon.svg` is the same picture as SVG." },
  getLiveness: {
    summary: "Liveness without touching D1 (also the benchmark's baseline route)",
    description: "200 while the Worker runs; touches nothing else (also the benchmarks' baseline route).",
    responses: { "200": { "*": one("Running", { status: "ok" }) } },
  },
  getHealth: {
    summary: "Liveness, including a round trip to D1",
    description: "200 when a round trip to D1's primary succeeds; 503 (same shape, `db: unreachable`) when it does not.",
    responses: { "200": { "*": one("Healthy", { status: "ok", db: "ok" }) }, "503": { "*": one("D1 is unreachable", { status: "degraded", db: "unreachable" }) } },
  },
};

type Member = { description?: string; example?: Json };
const inputTime: Member = { description: "ISO 8601 with `Z` or an offset; without one it is read in the event's `timezone`.", example: "2031-03-01T10:00:00+02:00" };
const writable: Record<string, Member> = {
  title: { description: "1..200 characters, not blank.", example: "Design review" },
  description: { description: "0..10,000 characters.", example: "Walk through the new onboarding flow." },
  start_time: inputTime,
  end_time: { description: `${inputTime.description} After \`start_time\`.`, example: "2031-03-01T11:00:00+02:00" },
  location: { description: "0..500 characters, or null.", example: "Room 4" },
  recurrence_pattern: { description: "An RFC 5545 RRULE body, or `daily`, `weekly`, `monthly`, `yearly`; needs `is_recurring: true`.", example: "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10" },
  timezone: { description: "An IANA time zone.", example: "Europe/Berlin" },
};

const htmlUrl: Member = { description: `A signed link to this view as an HTML page that opens in a plain browser tab (no bearer header), for ${HISTORY_LINK_TTL_SECONDS / 60} minutes; see \`GET /api/history-view\`.`, example: "http://localhost:8787/history#eyJlIjo3LCJ2IjpbImMiXX0.c2ln" };

/** Whole-schema notes and member descriptions, merged into `components.schemas`. */
export const SCHEMAS: Record<string, { description?: string; example?: Json; properties?: Record<string, Member> }> = {
  Event: { description: "An event as the caller sees it; `my_role` is the caller's role.", properties: { split_from: { description: "The series this one was split off (`scope=following`)." }, dropped_exceptions: { description: "Exceptions the write dropped (their original starts): they are no longer occurrences." } } },
  EventCreate: { description: "A new event; server-owned members (`id`, `owner_id`, `version`, ...) are ignored.", properties: writable },
  EventUpdate: { description: "Any subset of the writable fields; `null` clears an optional field.", properties: writable },
  Conflict: {
    description: "An occurrence the write would overlap.",
    properties: {
      id: { description: "Null for another item of the same batch, or an event you cannot see." },
      title: { description: "Null for an event you cannot see: only its times are told." },
      start_time: { description: "The conflicting occurrence's start." },
      index: { description: "In a batch: the item that conflicts." },
    },
  },
  Session: { properties: { refresh_token: { description: "Opaque and single-use; rotate it with `POST /api/auth/refresh`." }, expires_in: { description: "Access-token lifetime in seconds." } } },
  RegisterRequest: { properties: { username: { description: "3..32 of `[A-Za-z0-9_.-]`, unique case-insensitively.", example: "ada" }, email: { description: "Unique case-insensitively.", example: "ada@example.com" }, password: { description: "8..128 characters.", example: "correct horse battery" } } },
  LoginRequest: { properties: { username: { description: "Username or email.", example: "ada" }, email: { example: "ada@example.com" }, password: { example: "correct horse battery" }, grant_type: { description: "OAuth2 password form only; ignored.", example: "password" } } },
  PasswordChangeRequest: { properties: { current_password: { example: "correct horse battery" }, new_password: { description: "8..128 characters.", example: "a new long passphrase" } } },
  ChangelogPage: { properties: { html_url: htmlUrl } },
  ChangelogEntry: { properties: { html_url: htmlUrl } },
  Snapshot: { properties: { html_url: htmlUrl } },
  Diff: { properties: { html_url: htmlUrl } },
  FeedCreate: { properties: { name: { description: "X-WR-CALNAME, the name calendar apps show; default `Events of <username>`.", example: "Work" } } },
  FeedWithUrl: { properties: { url: { description: "The subscription URL; it holds the feed's secret token and is shown only by create and rotate." }, webcal_url: { description: "The same URL with the webcal: scheme, which opens a calendar app." } } },
  EventDetail: { description: "An event with everyone who has access." },
  Problem: { description: "RFC 9457 problem details. `code` is stable (see the error catalogue); `errors` names every failing field, with `index` for items of a list body." },
  ConflictProblem: { description: "A 409 of a write that overlaps other events of the owner: `conflicts` lists them; `suggestions`, when present, offers up to 3 free slots of the same length nearby." },
  PreconditionProblem: { description: "A 412 of a stale `If-Match`: `current` is the event as it is now." },
  Notification: { description: "One change, for one user. `data` says what changed: the fields with from/to and the version, the new role, ..." },
  NotificationPage: { description: `A page of notifications and the unread count (capped at ${UNREAD_COUNT_CAP}).` },
  TimeSlot: { description: "A free slot, [start_time, end_time)." },
  BatchCreate: { description: `\`{events: [...]}\` or a bare array of 1..${MAX_BATCH} events to create.` },
  ShareRequest: { description: `\`{users: [...]}\`, a bare array of share items, or one item (1..${MAX_COLLABORATORS} users).` },
};
