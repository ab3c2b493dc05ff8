/**
 * White-box integrity checks on the database, shared by the race and model-based tests. Each
 * returns the offending rows (empty when the invariant holds), so a failure names what broke.
 * They are state invariants: every committed batch must leave them true, so they may be read at
 * any moment, even with writes in flight.
 */

export interface OrphanRow {
  kind: "version" | "permission" | "notification";
  event_id: number;
  /** The version number, the user id, or the notification type. */
  detail: string;
}

/**
 * Rows that name an event which no longer exists. Deletion notices are one exception: the
 * contract says collaborators are told of a delete, so an `event_deleted` row outlives its event.
 * A removed user's own revocation notice is the other: it is their sync tombstone.
 */
export async function orphanRows(db: D1Database, eventIds?: number[]): Promise<OrphanRow[]> {
  const scope = eventIds ? `AND x.event_id IN (SELECT value FROM json_each(?1))` : "";
  const sql = `
    SELECT 'version' AS kind, x.event_id, CAST(x.version AS TEXT) AS detail FROM versions x
      WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = x.event_id) ${scope}
    UNION ALL
    SELECT 'permission', x.event_id, CAST(x.user_id AS TEXT) FROM permissions x
      WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = x.event_id) ${scope}
    UNION ALL
    SELECT 'notification', x.event_id, x.type FROM notifications x
      WHERE x.event_id IS NOT NULL AND x.type <> 'event_deleted'
        AND NOT (x.type = 'permission_revoked' AND json_extract(x.data, '$.user_id') = x.user_id) AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = x.event_id) ${scope}
    ORDER BY 2, 1, 3`;
  const statement = db.prepare(sql);
  const { results } = await (eventIds ? statement.bind(JSON.stringify(eventIds)) : statement).all<OrphanRow>();
  return results;
}

export interface HistoryFault {
  id: number;
  version: number;
  count: number;
  lowest: number | null;
  highest: number | null;
  creator_role: string | null;
  title_matches: number | null;
}

/**
 * Live events whose history is not exactly versions 1..version (the primary key rules out
 * duplicates, so count, min and max settle it), whose creator lost the owner entry, or whose row
 * differs from its newest version's snapshot (title and description).
 */
export async function historyFaults(db: D1Database, eventIds?: number[]): Promise<HistoryFault[]> {
  const scope = eventIds ? `WHERE e.id IN (SELECT value FROM json_each(?1))` : "";
  const sql = `
    SELECT e.id, e.version,
      (SELECT count(*) FROM versions v WHERE v.event_id = e.id) AS count,
      (SELECT min(version) FROM versions v WHERE v.event_id = e.id) AS lowest,
      (SELECT max(version) FROM versions v WHERE v.event_id = e.id) AS highest,
      (SELECT role FROM permissions p WHERE p.event_id = e.id AND p.user_id = e.owner_id) AS creator_role,
      (SELECT json_extract(v.snapshot, '$.title') = e.title AND json_extract(v.snapshot, '$.description') = e.description
         FROM versions v WHERE v.event_id = e.id AND v.version = e.version) AS title_matches
    FROM events e ${scope}`;
  const statement = db.prepare(sql);
  const { results } = await (eventIds ? statement.bind(JSON.stringify(eventIds)) : statement).all<HistoryFault>();
  return results.filter((r) => r.count !== r.version || r.lowest !== 1 || r.highest !== r.version || r.creator_role !== "owner" || r.title_matches !== 1);
}

/** Both checks at once, labelled, for one `expect(...).toEqual({ orphans: [], history: [] })`. */
export async function integrityReport(db: D1Database, eventIds?: number[]) {
  const [orphans, history] = await Promise.all([orphanRows(db, eventIds), historyFaults(db, eventIds)]);
  return { orphans, history };
}

export interface EventState {
  exists: boolean;
  version: number;
  ownerId: number;
  roles: Map<number, string>;
}

/** The version, owner and permissions of each event, straight from the tables. */
export async function eventStates(db: D1Database, eventIds: number[]): Promise<Map<number, EventState>> {
  const ids = JSON.stringify(eventIds);
  const [events, permissions] = await db.batch<{ id: number; version: number; owner_id: number; event_id: number; user_id: number; role: string }>([
    db.prepare("SELECT id, version, owner_id FROM events WHERE id IN (SELECT value FROM json_each(?1))").bind(ids),
    db.prepare("SELECT event_id, user_id, role FROM permissions WHERE event_id IN (SELECT value FROM json_each(?1))").bind(ids),
  ]);
  const states = new Map<number, EventState>();
  for (const id of eventIds) states.set(id, { exists: false, version: 0, ownerId: 0, roles: new Map() });
  for (const row of events.results) Object.assign(states.get(row.id)!, { exists: true, version: row.version, ownerId: row.owner_id });
  for (const row of permissions.results) states.get(row.event_id)?.roles.set(row.user_id, row.role);
  return states;
}

/**
 * Users that exist only as rows, for grants by user_id: registering hundreds through the API would
 * cost a password hash each. Nobody logs in as them; they only receive permissions.
 */
export async function silentUsers(db: D1Database, prefix: string, count: number): Promise<number[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}_${Date.now().toString(36)}_${i}`);
  await db.prepare("INSERT INTO users (username, email, password_hash, created_at) SELECT value, value || '@example.com', '-', 0 FROM json_each(?1)").bind(JSON.stringify(names)).run();
  const { results } = await db.prepare("SELECT id FROM users WHERE username IN (SELECT value FROM json_each(?1)) ORDER BY id").bind(JSON.stringify(names)).all<{ id: number }>();
  return results.map((r) => r.id);
}

