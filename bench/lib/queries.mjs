/**
 * SQL that the Worker runs, written out so the bench can ask D1 what it costs (`meta.rows_read`).
 * Keep in step with the source named in each comment; the text is drizzle's output for it.
 */

const EVENT_COLUMNS = ["id", "owner_id", "title", "description", "location", "start_time", "end_time", "series_end", "is_recurring", "recurrence_pattern", "timezone", "version", "created_at", "updated_at"]
  .map((c) => `"events"."${c}"`)
  .join(", ");

/**
 * One page of GET /api/events without filters (src/events/service.ts, listEvents): a keyset range
 * scan on permissions_user_start_idx joined to events by primary key, `limit + 1` rows to learn
 * whether a next page exists. With `after` it is a deeper page.
 */
export function listPageQuery(userId, limit, after) {
  const keyset = after ? ` and ("permissions"."start_time", "permissions"."event_id") > (?, ?)` : "";
  return {
    sql:
      `select ${EVENT_COLUMNS}, "permissions"."role" from "permissions" inner join "events" on "events"."id" = "permissions"."event_id"` +
      ` where ("permissions"."user_id" = ?${keyset}) order by "permissions"."start_time" asc, "permissions"."event_id" asc limit ?`,
    params: after ? [userId, after[0], after[1], limit + 1] : [userId, limit + 1],
  };
}

/** The same range scan reading only the index (no join): what the page costs in index entries. */
export function listIndexOnlyQuery(userId, limit, after) {
  const keyset = after ? ` and (start_time, event_id) > (?, ?)` : "";
  return {
    sql: `select event_id from permissions where user_id = ?${keyset} order by start_time, event_id limit ?`,
    params: after ? [userId, after[0], after[1], limit + 1] : [userId, limit + 1],
  };
}

/** The keyset position (start_time, event_id) of a user's n-th event (0-based) in list order. */
export const listPositionQuery = (userId, n) => ({
  sql: `select start_time, event_id from permissions where user_id = ? order by start_time, event_id limit 1 offset ?`,
  params: [userId, n],
});

const CONFLICT_COLUMNS = ["id", "owner_id", "title", "description", "location", "start_time", "end_time", "series_end", "is_recurring", "recurrence_pattern", "timezone", "version", "created_at", "updated_at"]
  .map((c) => `"${c}"`)
  .join(", ");

/**
 * The calendar reads of the conflict check for candidates spanning [earliest, latest)
 * (src/events/conflicts.ts, findConflicts, second and third statements of its batch), on
 * finite events on events_owner_start_idx in a start_time range bounded below by the owner's
 * longest span (one entry of events_owner_span_idx), and endless series (series_end IS NULL) on
 * events_owner_series_end_idx. `latest` is null when a candidate is itself endless (then there is
 * no upper start_time bound).
 */
export function conflictCheckQueries(ownerId, earliest, latest) {
  const before = latest === null ? "" : ` and "events"."start_time" < ?`;
  const tail = latest === null ? [] : [latest];
  return {
    finite: {
      sql: `select ${CONFLICT_COLUMNS} from "events" where ("events"."owner_id" = ? and "events"."series_end" > ?${before} and "events"."start_time" > ? - coalesce((SELECT max(e2.series_end - e2.start_time) FROM events e2 WHERE e2.owner_id = ?), 0))`,
      params: [ownerId, earliest, ...tail, earliest, ownerId],
    },
    endless: {
      sql: `select ${CONFLICT_COLUMNS} from "events" where ("events"."owner_id" = ? and "events"."series_end" is null${before})`,
      params: [ownerId, ...tail],
    },
  };
}

/** Runs a query through the D1 binding and returns its rows, rows_read and the query plan. */
export async function costOf(db, { sql, params }) {
  const result = await db.prepare(sql).bind(...params).all();
  const plan = await db.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all();
  return { rows: result.results.length, rowsRead: result.meta.rows_read, plan: plan.results.map((r) => r.detail), results: result.results };
}
