import { Buffer } from "node:buffer";
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { SessionClaims } from "../env";
import { ApiError } from "../lib/problem";
import { signingSecret } from "../lib/secret";
import type { HistoryLinks } from "./html";

/**
 * Signed history links: a short-lived credential for one view of one event's history, so the HTML
 * pages open in a plain browser tab, with no bearer header and no cookie.
 *
 * A link is `<origin>/history#<token>`. The token sits in the URL fragment, which a browser never
 * sends: it is in no request line, so no access log, proxy, `wrangler dev` output or Referer ever
 * holds it. The page's script (`/static/history.js`) sends it to `GET /api/history-view` in
 * `Authorization: HistoryLink <token>`, a header Cloudflare's request logs redact.
 *
 * The token binds the user, the session, the event, the view (with its versions, or the page's
 * limit and cursor) and an expiry, signed with HMAC-SHA256 under a key derived from JWT_SECRET by
 * HKDF (info "history-link"), so it cannot be replayed as a JWT or a cursor, nor they as a link.
 * Access and the session are checked when the link is used, never when it was issued.
 */

/** How long a link works after it was issued. Each page issues fresh links to its neighbours. */
export const HISTORY_LINK_TTL_SECONDS = 600;

export type HistoryView =
  | { kind: "changelog"; limit: number; cursor?: string }
  | { kind: "history"; version: number }
  | { kind: "diff"; from: number; to: number };

/** Who a link was issued to: the user and the session it came from. */
export type LinkHolder = Pick<SessionClaims, "userId" | "sessionId">;

export interface HistoryLinkGrant extends LinkHolder {
  eventId: number;
  view: HistoryView;
  /** Unix seconds. */
  expiresAt: number;
}

const keys = new Map<string, Buffer>();
function linkKey(env: Env): Buffer {
  const secret = signingSecret(env);
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(hkdfSync("sha256", secret, "", "history-link", 32));
    keys.set(secret, key);
  }
  return key;
}

const mac = (key: Buffer, payload: string) => createHmac("sha256", key).update(payload).digest().subarray(0, 16).toString("base64url");

type Packed = [kind: "c", limit: number, cursor: string | null] | [kind: "h", version: number] | [kind: "d", from: number, to: number];
const pack = (view: HistoryView): Packed =>
  view.kind === "changelog" ? ["c", view.limit, view.cursor ?? null] : view.kind === "history" ? ["h", view.version] : ["d", view.from, view.to];

const positive = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) > 0;
function unpack(packed: unknown): HistoryView | undefined {
  if (!Array.isArray(packed)) return undefined;
  const [kind, a, b] = packed as unknown[];
  if (kind === "c" && positive(a) && a <= 100 && (b === null || typeof b === "string") && packed.length === 3) return b === null ? { kind: "changelog", limit: a } : { kind: "changelog", limit: a, cursor: b };
  if (kind === "h" && positive(a) && packed.length === 2) return { kind: "history", version: a };
  if (kind === "d" && positive(a) && positive(b) && packed.length === 3) return { kind: "diff", from: a, to: b };
  return undefined;
}

/**
 * The token of a link: base64url(JSON `[userId, sessionId, eventId, view, expiresAt]`), a dot, and
 * the first 128 bits of its HMAC.
 *
 * @example
 * const token = signHistoryLink(env, { userId: 1, sessionId: "s", eventId: 7, view: { kind: "history", version: 2 }, expiresAt: nowSeconds + 600 });
 */
export function signHistoryLink(env: Env, grant: HistoryLinkGrant): string {
  const payload = Buffer.from(JSON.stringify([grant.userId, grant.sessionId, grant.eventId, pack(grant.view), grant.expiresAt])).toString("base64url");
  return `${payload}.${mac(linkKey(env), payload)}`;
}

const invalidLink = () => new ApiError(401, "unauthorized", "This history link is invalid. Open the history again from the API to get a fresh link.", { headers: { "WWW-Authenticate": 'HistoryLink realm="history"' } });

/** The grant a token carries; a tampered, malformed or expired one is a 401 (nothing is read). */
export function verifyHistoryLink(env: Env, token: string, now = Date.now()): HistoryLinkGrant {
  const dot = token.indexOf(".");
  const payload = token.slice(0, dot);
  if (dot <= 0 || !/^[\w-]+\.[\w-]+$/.test(token)) throw invalidLink();
  // The canonical text, not decoded bytes: base64's spare low bits would let two spellings pass.
  const given = Buffer.from(token.slice(dot + 1));
  const wanted = Buffer.from(mac(linkKey(env), payload));
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) throw invalidLink();
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw invalidLink();
  }
  if (!Array.isArray(fields) || fields.length !== 5) throw invalidLink();
  const [userId, sessionId, eventId, packed, expiresAt] = fields as unknown[];
  const view = unpack(packed);
  if (!positive(userId) || typeof sessionId !== "string" || !positive(eventId) || !view || !positive(expiresAt)) throw invalidLink();
  if (expiresAt * 1000 <= now) {
    throw new ApiError(401, "unauthorized", "This history link has expired (links work for 10 minutes). Open the history again from the API to get a fresh link.", { headers: { "WWW-Authenticate": 'HistoryLink realm="history", error="expired"' } });
  }
  return { userId, sessionId, eventId, view, expiresAt };
}

/** Issues links for one holder and event, all expiring HISTORY_LINK_TTL_SECONDS from `now`. */
export function historyLinkIssuer(env: Env, holder: LinkHolder, eventId: number, origin = "", now = Date.now()) {
  const expiresAt = Math.floor(now / 1000) + HISTORY_LINK_TTL_SECONDS;
  const url = (view: HistoryView) => `${origin}/history#${signHistoryLink(env, { userId: holder.userId, sessionId: holder.sessionId, eventId, view, expiresAt })}`;
  return {
    url,
    /** The same links, as the HTML pages' HistoryLinks. */
    pageLinks: (): HistoryLinks => ({
      changelog: (page) => url({ kind: "changelog", limit: page?.limit ?? 50, ...(page ? { cursor: page.cursor } : {}) }),
      history: (version) => url({ kind: "history", version }),
      diff: (from, to) => url({ kind: "diff", from, to }),
    }),
  };
}
