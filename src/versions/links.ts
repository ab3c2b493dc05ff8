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
 * holds it. The page's script (site/static/history.js) sends it to `GET /api/history-view` in
 * `Authorization: HistoryLink <token>`, a header that request logs redact.
 *
 * The token binds the user, the session, the event, the view (with its versions, or the page's
 * limit and cursor) and an expiry, signed with HMAC-SHA256 under a key derived from JWT_SECRET by
 * HKDF (info "history-link"), so neither a JWT nor a cursor passes as a link. Access and the
 * session are checked when the link is used, never when it was issued.
 */

/** How long a link works after it was issued. Each page issues fresh links to its neighbours. */
export const HISTORY_LINK_TTL_SECONDS = 600;

/** A view, packed as it travels: the changelog page (limit, cursor), a snapshot, or a diff. */
export type HistoryView = ["c", number, string | null] | ["h", number] | ["d", number, number];

export interface HistoryLinkGrant extends Pick<SessionClaims, "userId" | "sessionId"> {
  eventId: number;
  view: HistoryView;
  /** Unix seconds. */
  expiresAt: number;
}

const keys = new Map<string, Buffer>();
function linkKey(env: Env): Buffer {
  const secret = signingSecret(env);
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = Buffer.from(hkdfSync("sha256", secret, "", "history-link", 32))));
  return key;
}

const mac = (env: Env, payload: string) => createHmac("sha256", linkKey(env)).update(payload).digest().subarray(0, 16).toString("base64url");

/**
 * The token of a link: base64url(JSON `[userId, sessionId, eventId, view, expiresAt]`), a dot, and
 * the first 128 bits of its HMAC.
 *
 * @example
 * const token = signHistoryLink(env, { userId: 1, sessionId: "s", eventId: 7, view: ["h", 2], expiresAt: nowSeconds + 600 });
 */
export function signHistoryLink(env: Env, { userId, sessionId, eventId, view, expiresAt }: HistoryLinkGrant): string {
  const payload = Buffer.from(JSON.stringify([userId, sessionId, eventId, view, expiresAt])).toString("base64url");
  return `${payload}.${mac(env, payload)}`;
}

/** A refused link: 401, with the scheme to use in WWW-Authenticate. */
export const refusedLink = (detail: string) => new ApiError(401, "unauthorized", detail, { headers: { "WWW-Authenticate": 'HistoryLink realm="history"' } });

/**
 * The grant a token carries; a tampered, malformed or expired one is a 401 before anything is
 * read. Only this Worker signs tokens, so a payload that passes the HMAC is one it wrote.
 */
export function verifyHistoryLink(env: Env, token: string, now = Date.now()): HistoryLinkGrant {
  const [payload, signature, extra] = token.split(".");
  // The canonical text, not decoded bytes: base64's spare low bits would let two spellings pass.
  const given = Buffer.from(signature ?? "");
  const wanted = Buffer.from(mac(env, payload));
  if (extra !== undefined || given.length !== wanted.length || !timingSafeEqual(given, wanted)) throw refusedLink("Invalid history link.");
  const [userId, sessionId, eventId, view, expiresAt] = JSON.parse(Buffer.from(payload, "base64url").toString()) as [number, string, number, HistoryView, number];
  if (expiresAt * 1000 <= now) throw refusedLink("Expired history link; get a fresh one.");
  return { userId, sessionId, eventId, view, expiresAt };
}

/** Issues links for one holder and event, all expiring HISTORY_LINK_TTL_SECONDS from `now`. */
export function historyLinkIssuer(env: Env, { userId, sessionId }: Pick<SessionClaims, "userId" | "sessionId">, eventId: number, origin = "", now = Date.now()) {
  const expiresAt = Math.floor(now / 1000) + HISTORY_LINK_TTL_SECONDS;
  const url = (view: HistoryView) => `${origin}/history#${signHistoryLink(env, { userId, sessionId, eventId, view, expiresAt })}`;
  return {
    url,
    /** The same links, as the HTML pages' HistoryLinks. */
    pageLinks: (): HistoryLinks => ({
      changelog: (page) => url(["c", page?.limit ?? 50, page?.cursor ?? null]),
      history: (version) => url(["h", version]),
      diff: (from, to) => url(["d", from, to]),
    }),
  };
}
