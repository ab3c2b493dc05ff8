/**
 * One SQL statement that fingerprints everything a request may write: counts, maxima and sums
 * per table. Two equal digests mean no row was added, removed or changed in a way these sums see
 * (ids, versions, roles, read flags, revocations, refresh rotations, content lengths).
 */
const DIGEST_SQL = `SELECT
  (SELECT count(*) FROM users) AS users,
  (SELECT coalesce(max(id), 0) FROM users) AS users_max_id,
  (SELECT total(calendar_version) FROM users) AS calendar_versions,
  (SELECT count(*) FROM sessions) AS sessions,
  (SELECT coalesce(max(rowid), 0) FROM sessions) AS sessions_max_rowid,
  (SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL) AS sessions_revoked,
  (SELECT total(expires_at % 1000003) FROM sessions) AS sessions_rotation,
  (SELECT count(*) FROM events) AS events,
  (SELECT coalesce(max(id), 0) FROM events) AS events_max_id,
  (SELECT total(id) FROM events) AS events_id_sum,
  (SELECT total(version) FROM events) AS events_version_sum,
  (SELECT total(updated_at % 1000003) FROM events) AS events_updated,
  (SELECT total(start_time % 1000003 + end_time % 1000003) FROM events) AS events_times,
  (SELECT total(length(title) + length(description) + coalesce(length(location), 0) + coalesce(length(recurrence_pattern), 0)) FROM events) AS events_text,
  (SELECT total(length(exceptions) + coalesce(split_from, 0)) FROM events) AS events_exceptions,
  (SELECT count(*) FROM permissions) AS permissions,
  (SELECT coalesce(max(rowid), 0) FROM permissions) AS permissions_max_rowid,
  (SELECT total(event_id * 7 + user_id) FROM permissions) AS permissions_pairs,
  (SELECT total(CASE role WHEN 'owner' THEN 1 WHEN 'editor' THEN 2 ELSE 4 END) FROM permissions) AS permissions_roles,
  (SELECT count(*) FROM versions) AS versions,
  (SELECT coalesce(max(rowid), 0) FROM versions) AS versions_max_rowid,
  (SELECT total(version) FROM versions) AS versions_sum,
  (SELECT count(*) FROM notifications) AS notifications,
  (SELECT coalesce(max(id), 0) FROM notifications) AS notifications_max_id,
  (SELECT count(*) FROM notifications WHERE is_read = 0) AS notifications_unread`;

export type Digest = Record<string, number>;

/** The fingerprint of the whole database, read in one statement (so one consistent snapshot). */
export async function stateDigest(db: D1Database): Promise<Digest> {
  const row = await db.prepare(DIGEST_SQL).first<Digest>();
  if (!row) throw new Error("digest query returned no row");
  return row;
}

/** The members of two digests that differ, as `{ key: [before, after] }`; empty when equal. */
export function digestDelta(before: Digest, after: Digest): Record<string, [number, number]> {
  const delta: Record<string, [number, number]> = {};
  for (const key of Object.keys(before)) if (before[key] !== after[key]) delta[key] = [before[key], after[key]];
  return delta;
}
