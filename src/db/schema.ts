import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The data model. Times are epoch milliseconds (integers compare and index cheaply); the API
 * renders them as ISO 8601 UTC strings.
 */
export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    username: text("username").notNull(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    // Bumped by every write that changes this user's calendar as owner. Writers guard on the value
    // they read, which makes "check for conflicts, then write" atomic without transactions.
    calendarVersion: integer("calendar_version").notNull().default(0),
  },
  (t) => [
    uniqueIndex("users_username_unique").on(sql`lower(${t.username})`),
    uniqueIndex("users_email_unique").on(sql`lower(${t.email})`),
  ],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: integer("user_id").notNull(),
    // SHA-256 of the one refresh token that is currently valid for this session.
    refreshHash: text("refresh_hash").notNull(),
    // Hashes of the refresh tokens this session issued and already rotated away, newest first,
    // comma-separated and capped (see auth/service): presenting one again is theft, while a token
    // that was never issued is only a bad guess.
    spentHashes: text("spent_hashes").notNull().default(""),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ownerId: integer("owner_id").notNull(),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    location: text("location"),
    startTime: integer("start_time").notNull(),
    endTime: integer("end_time").notNull(),
    // End of the last occurrence; null for an endless series. Lets SQL pre-filter conflicts and
    // list windows before occurrences are expanded in code.
    seriesEnd: integer("series_end"),
    isRecurring: integer("is_recurring", { mode: "boolean" }).notNull().default(false),
    recurrencePattern: text("recurrence_pattern"),
    timezone: text("timezone").notNull().default("UTC"),
    // JSON: the series' single-occurrence exceptions, sorted by original start (migration 0011,
    // src/exceptions/model.ts). Content: versioned with the rest.
    exceptions: text("exceptions").notNull().default("[]"),
    // The series this one was split from by a "this and following" change; null otherwise.
    splitFrom: integer("split_from"),
    version: integer("version").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  // Conflict candidates: finite events in a start_time range bounded below by the owner's
  // longest span (its max is one entry of the expression index), and endless series by an
  // equality on series_end IS NULL. Both ranges stay small wherever the new event falls.
  (t) => [
    index("events_owner_series_end_idx").on(t.ownerId, t.seriesEnd, t.startTime),
    index("events_owner_start_idx").on(t.ownerId, t.startTime),
    index("events_owner_span_idx").on(t.ownerId, sql`series_end - start_time`),
  ],
);

/**
 * Who may see an event, including its creator (role `owner`). The event's start and series end
 * are copied here so that "my events, in start order" is one index range scan: keyset pages read
 * `limit` rows whatever the calendar's size.
 */
export const permissions = sqliteTable(
  "permissions",
  {
    eventId: integer("event_id").notNull(),
    userId: integer("user_id").notNull(),
    role: text("role", { enum: ["owner", "editor", "viewer"] }).notNull(),
    grantedBy: integer("granted_by").notNull(),
    grantedAt: integer("granted_at").notNull(),
    startTime: integer("start_time").notNull(),
    seriesEnd: integer("series_end"),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.userId] }),
    index("permissions_user_start_idx").on(t.userId, t.startTime, t.eventId),
    index("permissions_user_role_start_idx").on(t.userId, t.role, t.startTime, t.eventId),
    // The user's longest finite span bounds how far before a window start a list must look.
    index("permissions_user_span_idx").on(t.userId, sql`series_end - start_time`),
    index("permissions_user_endless_idx").on(t.userId, t.startTime, t.eventId).where(sql`series_end IS NULL`),
    // Events spanning over a day (series, multi-day) still running after an instant: the agenda
    // reads them by this range (migration 0006; the literal must match the query's term).
    index("permissions_user_long_end_idx").on(t.userId, t.seriesEnd).where(sql`series_end - start_time > 86400000`),
  ],
);

/** One row per version of an event; `(event_id, version)` is unique so versions never fork. */
export const versions = sqliteTable(
  "versions",
  {
    eventId: integer("event_id").notNull(),
    version: integer("version").notNull(),
    action: text("action", { enum: ["created", "updated", "rolled_back"] }).notNull(),
    changedBy: integer("changed_by").notNull(),
    changedAt: integer("changed_at").notNull(),
    // JSON: the event's content fields as of this version.
    snapshot: text("snapshot").notNull(),
    // JSON: { field: { from, to } } against the previous version.
    changes: text("changes").notNull(),
    restoredFrom: integer("restored_from"),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.version] }), index("versions_event_time_idx").on(t.eventId, t.changedAt)],
);

export const notifications = sqliteTable(
  "notifications",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id").notNull(),
    type: text("type").notNull(),
    eventId: integer("event_id"),
    actorId: integer("actor_id").notNull(),
    message: text("message").notNull(),
    data: text("data").notNull(),
    isRead: integer("is_read", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("notifications_user_idx").on(t.userId, t.id),
    index("notifications_user_unread_idx").on(t.userId, t.isRead, t.id),
    // Deleting an event removes the notifications about it (see events/service deleteEvent).
    index("notifications_event_idx").on(t.eventId),
    // Sync: whether a later change of the same event follows a change-log row (migration 0013).
    index("notifications_user_event_idx").on(t.userId, t.eventId, t.id),
  ],
);

/**
 * Calendar subscription feeds. A feed's URL carries a secret token; only its SHA-256 is stored,
 * so the table cannot be turned back into URLs.
 */
export const feeds = sqliteTable(
  "feeds",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id").notNull(),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    // Written at most once per feed per FETCH_RECORD_INTERVAL (see feeds/service), not per fetch.
    lastFetchedAt: integer("last_fetched_at"),
  },
  (t) => [uniqueIndex("feeds_token_hash_unique").on(t.tokenHash), index("feeds_user_idx").on(t.userId, t.id)],
);

/** Hashes of rotated and deleted feed tokens: their URLs answer 410 Gone, unknown ones 404. */
export const feedDeadTokens = sqliteTable("feed_dead_tokens", {
  tokenHash: text("token_hash").primaryKey(),
  feedId: integer("feed_id").notNull(),
  diedAt: integer("died_at").notNull(),
});
