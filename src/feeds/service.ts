import { and, asc, desc, eq, gt, gte, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { events, feedDeadTokens, feeds, notifications, permissions } from "../db/schema";
import type { Actor } from "../env";
import type { EventRow } from "../events/policy";
import { ApiError, notFound } from "../lib/problem";
import { formatUtc } from "../recurrence";
import { SHORT_SPAN_MS } from "../calendar/service";

/** A feed shows events still running this many days before the start of today (UTC), and all later ones. */
export const FEED_WINDOW_DAYS = 30;
/**
 * Most events one feed carries: the earliest-starting of those it reads, which are at most this
 * many of each kind (short events by start, longer ones by end, endless series by start).
 */
export const MAX_FEED_EVENTS = 500;
/** Feeds one user may hold at once. */
export const MAX_FEEDS_PER_USER = 20;
/** `last_fetched_at` is written at most once per feed in this interval (fetches in between write nothing). */
export const FETCH_RECORD_INTERVAL_MS = 5 * 60_000;

const DAY_MS = 86_400_000;
const encoder = new TextEncoder();

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** A feed token: 256 random bits as 43 base64url characters. Its shape is checked before any lookup. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export async function hashToken(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function newToken() {
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return { token, hash: await hashToken(token) };
}

type FeedRow = typeof feeds.$inferSelect;

/** The feed's URLs: https (or whatever the API is served on) and webcal, for clients that open it. */
export function feedUrls(origin: string, token: string) {
  const url = `${origin}/feeds/${token}.ics`;
  return { url, webcal_url: url.replace(/^https?:/, "webcal:") };
}

const withSecret = (row: FeedRow, origin: string, token: string) => ({ id: row.id, name: row.name, ...feedUrls(origin, token), created_at: formatUtc(row.createdAt) });

export const toFeedBody = (row: Pick<FeedRow, "id" | "name" | "createdAt" | "lastFetchedAt">) => ({
  id: row.id,
  name: row.name,
  created_at: formatUtc(row.createdAt),
  last_fetched_at: row.lastFetchedAt === null ? null : formatUtc(row.lastFetchedAt),
});

const tooMany = () => new ApiError(409, "feed_limit_reached", `You already have ${MAX_FEEDS_PER_USER} feeds; delete one first.`);

/** Creates a feed; its URL (holding the token) is returned only here and by rotate. */
export async function createFeed(db: Db, actor: Actor, name: string | undefined, origin: string) {
  const { token, hash } = await newToken();
  const now = Date.now();
  const feedName = name?.trim() || `Events of ${actor.username}`;
  // The cap is checked by the insert itself, so two concurrent creates cannot both pass it.
  const rows = await db.all<{ id: number; name: string; created_at: number }>(sql`
    INSERT INTO feeds (user_id, name, token_hash, created_at)
    SELECT ${actor.id}, ${feedName}, ${hash}, ${now}
    WHERE (SELECT count(*) FROM feeds WHERE user_id = ${actor.id}) < ${MAX_FEEDS_PER_USER}
    RETURNING id, name, created_at`);
  const [row] = rows;
  if (!row) throw tooMany();
  return withSecret({ id: row.id, name: row.name, createdAt: row.created_at, userId: actor.id, tokenHash: hash, lastFetchedAt: null }, origin, token);
}

export const feedsQuery = (db: Db, userId: number) =>
  db.select({ id: feeds.id, name: feeds.name, createdAt: feeds.createdAt, lastFetchedAt: feeds.lastFetchedAt }).from(feeds).where(eq(feeds.userId, userId)).orderBy(asc(feeds.id));

/** Moves the feed's current hash to the dead ones, in the same batch as the change that retires it. */
const retireToken = (db: Db, userId: number, feedId: number, now: number) =>
  db
    .insert(feedDeadTokens)
    .select(db.select({ tokenHash: feeds.tokenHash, feedId: feeds.id, diedAt: sql<number>`${now}`.as("died_at") }).from(feeds).where(and(eq(feeds.id, feedId), eq(feeds.userId, userId))))
    .onConflictDoNothing();

/** A new token for the feed; the old URL answers 410 from now on. */
export async function rotateFeed(db: Db, actor: Actor, feedId: number, origin: string) {
  const { token, hash } = await newToken();
  const now = Date.now();
  const [, updated] = await db.batch([
    retireToken(db, actor.id, feedId, now),
    db.update(feeds).set({ tokenHash: hash }).where(and(eq(feeds.id, feedId), eq(feeds.userId, actor.id))).returning(),
  ]);
  const [row] = updated;
  if (!row) throw notFound("feed");
  return withSecret(row, origin, token);
}

export async function deleteFeed(db: Db, actor: Actor, feedId: number) {
  const [, deleted] = await db.batch([retireToken(db, actor.id, feedId, Date.now()), db.delete(feeds).where(and(eq(feeds.id, feedId), eq(feeds.userId, actor.id))).returning({ id: feeds.id })]);
  if (!deleted.length) throw notFound("feed");
}

/** The start of the window a feed covers at `now`: midnight UTC, FEED_WINDOW_DAYS days back. */
export const feedWindowStart = (now: number) => Math.floor(now / DAY_MS) * DAY_MS - FEED_WINDOW_DAYS * DAY_MS;

export type FeedLookup =
  | { state: "unknown" }
  | { state: "gone" }
  | { state: "live"; feed: FeedRow; events: EventRow[]; lastChange: number };

/**
 * Everything a feed fetch needs, in one D1 round trip: the feed by its token's hash (or whether the
 * hash died), and the events its user can see now that still run after the window start, read
 * through the user's permissions (so a revoked share drops out at once) in the three index ranges
 * the event list uses: short events by start, long finite ones by end, endless series. The user's
 * newest notification dates the last change to what they can see (every change, share, revocation
 * and delete notifies each affected user), which a deletion cannot take back, unlike the newest
 * `updated_at` among what is left.
 */
export async function lookupFeed(db: Db, hash: string, now: number): Promise<FeedLookup> {
  const windowStart = feedWindowStart(now);
  const owner = sql`(SELECT user_id FROM feeds WHERE token_hash = ${hash})`;
  const visible = () => db.select({ event: events }).from(permissions).innerJoin(events, eq(events.id, permissions.eventId));
  const short = sql`${permissions.seriesEnd} - ${permissions.startTime} <= ${sql.raw(String(SHORT_SPAN_MS))}`;
  const long = sql`${permissions.seriesEnd} - ${permissions.startTime} > ${sql.raw(String(SHORT_SPAN_MS))}`;
  const [found, dead, shortRows, longRows, endlessRows, [latest]] = await db.batch([
    db.select().from(feeds).where(eq(feeds.tokenHash, hash)),
    db.select({ feedId: feedDeadTokens.feedId }).from(feedDeadTokens).where(eq(feedDeadTokens.tokenHash, hash)),
    visible()
      .where(and(eq(permissions.userId, owner), gte(permissions.startTime, windowStart - SHORT_SPAN_MS), gt(permissions.seriesEnd, windowStart), short))
      .orderBy(asc(permissions.startTime), asc(permissions.eventId))
      .limit(MAX_FEED_EVENTS),
    visible()
      .where(and(eq(permissions.userId, owner), gt(permissions.seriesEnd, windowStart), long))
      // In the partial index's order (by end), so the read stops after MAX_FEED_EVENTS rows however
      // many long events the user has; ordered by start, SQLite would read them all to sort.
      .orderBy(asc(permissions.seriesEnd), asc(permissions.eventId))
      .limit(MAX_FEED_EVENTS),
    visible().where(and(eq(permissions.userId, owner), isNull(permissions.seriesEnd))).orderBy(asc(permissions.startTime), asc(permissions.eventId)).limit(MAX_FEED_EVENTS),
    db.select({ at: notifications.createdAt }).from(notifications).where(eq(notifications.userId, owner)).orderBy(desc(notifications.id)).limit(1),
  ]);
  const [feed] = found;
  if (!feed) return { state: dead.length ? "gone" : "unknown" };
  const rows = [...shortRows, ...longRows, ...endlessRows]
    .map((r) => r.event)
    .sort((a, b) => a.startTime - b.startTime || a.id - b.id)
    .slice(0, MAX_FEED_EVENTS);
  const lastChange = Math.max(latest?.at ?? 0, feed.createdAt, ...rows.map((r) => r.updatedAt));
  return { state: "live", feed, events: rows, lastChange };
}

/**
 * Records a fetch, at most once per FETCH_RECORD_INTERVAL_MS per feed: null when the stored time is
 * recent enough (the common case, no write at all), else a conditional UPDATE that also holds when
 * several fetches race to write it.
 */
export function recordFetch(db: Db, feed: Pick<FeedRow, "id" | "lastFetchedAt">, now: number) {
  if (feed.lastFetchedAt !== null && feed.lastFetchedAt > now - FETCH_RECORD_INTERVAL_MS) return null;
  return db
    .update(feeds)
    .set({ lastFetchedAt: now })
    .where(and(eq(feeds.id, feed.id), or(isNull(feeds.lastFetchedAt), lt(feeds.lastFetchedAt, now - FETCH_RECORD_INTERVAL_MS))))
    .run();
}
