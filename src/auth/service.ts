import { and, eq, isNull, ne, sql } from "drizzle-orm";
import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { Batch } from "../db/batch";
import type { Db } from "../db/client";
import { sessions, users } from "../db/schema";
import type { Actor, SessionClaims } from "../env";
import { ApiError } from "../lib/problem";
import { enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { closeSessionSockets } from "../notifications/delivery";
import { formatUtc } from "../recurrence";
import { decoyPasswordHash, hashPassword, verifyPassword } from "./password";
import { accessTtlSeconds, formatRefreshToken, parseRefreshToken, randomToken, sha256Hex, signAccessToken, verifyAccessToken } from "./tokens";

/** Refresh tokens, and so sessions, live this long without use. */
const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

type UserRow = typeof users.$inferSelect;

export const toUserBody = (user: Pick<UserRow, "id" | "username" | "email" | "createdAt">) => ({
  id: user.id,
  username: user.username,
  email: user.email,
  created_at: formatUtc(user.createdAt),
});

const invalidCredentials = () => new ApiError(401, "unauthorized", "Wrong username, email or password.");
const wrongCurrentPassword = () =>
  new ApiError(403, "forbidden", "The current password is wrong.", { errors: [{ field: "current_password", message: "Does not match." }] });
const invalidRefresh = () => new ApiError(401, "unauthorized", "The refresh token is invalid, expired or already used.");

/**
 * Starts a session for `user`, whose password hash the caller just verified. The insert is
 * conditional on that hash still being the stored one: a login that checked the old password
 * while a password change committed would otherwise create a session the change never revoked.
 */
export async function issueSession(db: Db, env: Env, user: UserRow) {
  const sessionId = randomToken(16);
  const secret = randomToken(32);
  const now = Date.now();
  const result = await db.run(sql`
    INSERT INTO ${sessions} (id, user_id, refresh_hash, spent_hashes, created_at, expires_at)
    SELECT ${sessionId}, ${users.id}, ${await sha256Hex(secret)}, '', ${now}, ${now + SESSION_TTL_MS} FROM ${users}
    WHERE ${users.id} = ${user.id} AND ${users.passwordHash} = ${user.passwordHash}`);
  if (!result.meta.changes) throw invalidCredentials();
  return sessionBody(env, user, sessionId, secret);
}

async function sessionBody(env: Env, user: UserRow, sessionId: string, secret: string) {
  return {
    user: toUserBody(user),
    access_token: await signAccessToken(env, { userId: user.id, sessionId }),
    refresh_token: formatRefreshToken(sessionId, secret),
    token_type: "bearer" as const,
    expires_in: accessTtlSeconds(env),
  };
}

function duplicateUser(field: "username" | "email") {
  return new ApiError(409, "conflict", `That ${field} is already taken.`, { errors: [{ field, message: `This ${field} is already registered.` }] });
}

export async function register(db: Db, env: Env, input: { username: string; email: string; password: string }) {
  const existing = await db
    .select({ username: users.username, email: users.email })
    .from(users)
    .where(sql`lower(${users.username}) = lower(${input.username}) OR lower(${users.email}) = lower(${input.email})`)
    .limit(1);
  if (existing.length) throw duplicateUser(existing[0].username.toLowerCase() === input.username.toLowerCase() ? "username" : "email");
  const passwordHash = await hashPassword(input.password);
  // The unique indexes settle a race between two registrations of the same name.
  const inserted = await db
    .insert(users)
    .values({ username: input.username, email: input.email, passwordHash, createdAt: Date.now() })
    .onConflictDoNothing()
    .returning();
  if (!inserted.length) throw duplicateUser("username");
  return issueSession(db, env, inserted[0]);
}

/**
 * Signs in by username or email. The per-account limiter counts the resolved user, so the
 * username and the email share one bucket; an unknown identifier gets a bucket of its own
 * spelling and the same decoy scrypt, so neither the limiter nor the timing tells the two apart.
 */
export async function login(db: Db, env: Env, identifier: string, password: string) {
  const [user] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = lower(${identifier}) OR lower(${users.email}) = lower(${identifier})`)
    .limit(1);
  const accountKey = user ? `user:${user.id}` : `unknown:${identifier.toLowerCase()}`;
  await enforceRateLimit(env, env.LOGIN_ACCOUNT_LIMITER, accountKey, RATE_LIMIT_PERIODS.login);
  const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyPasswordHash()));
  if (!user || !ok) throw invalidCredentials();
  return issueSession(db, env, user);
}

/** How many rotated-away refresh tokens a session remembers, to recognise their reuse as theft. */
export const SPENT_TOKENS_REMEMBERED = 32;

/**
 * Rotates a refresh token. The swap is one conditional UPDATE on the current hash, so of two
 * concurrent refreshes with the same token exactly one wins. The loser presented a token that
 * was just spent, and so does anyone replaying one of the session's last
 * `SPENT_TOKENS_REMEMBERED` tokens: that is theft, and the whole session is revoked and its
 * sockets closed. A token the session never issued (right session id, wrong secret: the id is in
 * every access token) is a plain 401 that changes nothing.
 */
export async function refresh(db: Db, env: Env, token: string) {
  const parsed = parseRefreshToken(token);
  if (!parsed) throw invalidRefresh();
  const [row] = await db.select().from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.id, parsed.sessionId));
  if (!row || row.sessions.revokedAt !== null || row.sessions.expiresAt < Date.now()) throw invalidRefresh();
  const presented = await sha256Hex(parsed.secret);
  const spent = row.sessions.spentHashes ? row.sessions.spentHashes.split(",") : [];
  if (presented !== row.sessions.refreshHash) {
    if (spent.includes(presented)) await revokeForTheft(db, env, row.sessions.userId, parsed.sessionId);
    throw invalidRefresh();
  }
  const nextSecret = randomToken(32);
  const swapped = await db
    .update(sessions)
    .set({
      refreshHash: await sha256Hex(nextSecret),
      spentHashes: [presented, ...spent].slice(0, SPENT_TOKENS_REMEMBERED).join(","),
      expiresAt: Date.now() + SESSION_TTL_MS,
    })
    .where(and(eq(sessions.id, parsed.sessionId), eq(sessions.refreshHash, presented), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  if (!swapped.length) {
    // A concurrent refresh spent this very token first: a genuine reuse.
    await revokeForTheft(db, env, row.sessions.userId, parsed.sessionId);
    throw invalidRefresh();
  }
  return sessionBody(env, row.users, parsed.sessionId, nextSecret);
}

async function revokeForTheft(db: Db, env: Env, userId: number, sessionId: string): Promise<void> {
  await revokeSession(db, sessionId);
  await closeSessionSockets(env, userId, [sessionId]);
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.update(sessions).set({ revokedAt: Date.now() }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
}

/**
 * Revokes the caller's session, and the session of `refreshToken` too when it is the caller's.
 * Returns the revoked session ids so their sockets can be closed.
 */
export async function logout(db: Db, actor: Actor, refreshToken?: string): Promise<string[]> {
  const revoked = [actor.sessionId];
  const other = refreshToken ? parseRefreshToken(refreshToken) : null;
  if (other && other.sessionId !== actor.sessionId) {
    const [row] = await db.select({ userId: sessions.userId }).from(sessions).where(eq(sessions.id, other.sessionId));
    if (row?.userId === actor.id) revoked.push(other.sessionId);
  }
  for (const id of revoked) await revokeSession(db, id);
  return revoked;
}

/**
 * Changes the password after checking the current one (403 when wrong: the caller is
 * authenticated, so 401 would wrongly tell a client its token is bad). Every other session of the
 * user is revoked in the same batch; the calling one stays. Returns the revoked session ids so
 * their sockets can be closed. Attempts count against the login limiter of the account, since a
 * wrong current password is a password guess. Two round trips: the session check rides with the
 * read of the hash, and the write holds only while the calling session is still live.
 */
export async function changePassword(db: Db, env: Env, caller: Caller, input: { current_password: string; new_password: string }): Promise<{ actor: Actor; revoked: string[] }> {
  await enforceRateLimit(env, env.LOGIN_ACCOUNT_LIMITER, `user:${caller.userId}`, RATE_LIMIT_PERIODS.login);
  const {
    actor,
    results: [[user]],
  } = await withSessionCheck(db, caller, [db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, caller.userId))]);
  if (!user || !(await verifyPassword(input.current_password, user.passwordHash))) throw wrongCurrentPassword();
  const passwordHash = await hashPassword(input.new_password);
  const now = Date.now();
  // Both statements hold only if the hash is still the one just verified: of two changes racing
  // from two sessions, each checked the same old password, and the later batch would otherwise
  // overwrite the earlier one's password and revoke its session, both answered 204. The new hash
  // has a fresh salt, so finding it means the first statement applied in this very batch. The
  // calling session must still be live too: one revoked since the check changes nothing (401).
  const [[stored], changed, revoked] = await db.batch([
    db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, actor.id)),
    db
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, actor.id), eq(users.passwordHash, user.passwordHash), sessionLive(caller)))
      .returning({ id: users.id }),
    db
      .update(sessions)
      .set({ revokedAt: now })
      .where(
        and(
          eq(sessions.userId, actor.id),
          ne(sessions.id, actor.sessionId),
          isNull(sessions.revokedAt),
          sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${actor.id} AND ${users.passwordHash} = ${passwordHash})`,
        ),
      )
      .returning({ id: sessions.id }),
  ]);
  // A hash that moved is the lost race above (403); one that held failed on the session.
  if (!changed.length) throw stored?.passwordHash !== user.passwordHash ? wrongCurrentPassword() : unauthorized();
  return { actor, revoked: revoked.map((r) => r.id) };
}

/** The caller behind an access token, or null when the token is bad or its session is revoked. */
export async function authenticate(db: Db, env: Env, token: string): Promise<Actor | null> {
  return (await authenticateAccess(db, env, token))?.actor ?? null;
}

/** Like `authenticate`, also saying when the access token expires (epoch ms), for sockets. */
export async function authenticateAccess(db: Db, env: Env, token: string): Promise<{ actor: Actor; expiresAt: number } | null> {
  const claims = await verifyAccessToken(env, token);
  if (!claims) return null;
  const actor = actorOf(claims, await sessionCheck(db, claims));
  return actor && { actor, expiresAt: claims.expiresAt };
}

/** Who a verified access token names, before its session is checked against D1. */
export type Caller = Pick<SessionClaims, "userId" | "sessionId">;

export const unauthorized = () => new ApiError(401, "unauthorized", "A valid bearer access token is required.");

/** The session check of verified claims, as a query a route can put into its own first batch. */
export const sessionCheck = (db: Db, claims: Caller) =>
  db
    .select({ id: users.id, username: users.username, email: users.email, createdAt: users.createdAt, revokedAt: sessions.revokedAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, claims.sessionId), eq(sessions.userId, claims.userId)));

export type SessionCheckRows = Awaited<ReturnType<typeof sessionCheck>>;

/** The actor from the session check's rows, or null when the session is gone or revoked. */
export function actorOf(claims: Caller, rows: SessionCheckRows): Actor | null {
  const [row] = rows;
  if (!row || row.revokedAt !== null) return null;
  return { id: row.id, username: row.username, email: row.email, createdAt: row.createdAt, sessionId: claims.sessionId };
}

/** The actor from the session check's rows; 401 when the session is gone or revoked. */
export function liveActor(claims: Caller, rows: SessionCheckRows): Actor {
  const actor = actorOf(claims, rows);
  if (!actor) throw unauthorized();
  return actor;
}

/**
 * True while the caller's session is live, as SQL: a write's premise (see changes/guards), so a
 * session revoked between a write's first batch and its write batch writes nothing.
 */
export const sessionLive = (claims: Caller) =>
  sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${claims.sessionId} AND user_id = ${claims.userId} AND revoked_at IS NULL)`;

/**
 * Runs `queries` with the session check in front, in one batch: the live actor and the queries'
 * results, or 401 before any result is looked at. One batch is one snapshot, so a session revoked
 * before it gets nothing, and one revoked after it was live when the data was read.
 *
 * @example
 * const { actor, results: [[access]] } = await withSessionCheck(db, claims, [accessQuery(db, claims.userId, id)]);
 */
export async function withSessionCheck<U extends BatchItem<"sqlite">, T extends Readonly<[U, ...U[]]>>(db: Db, claims: Caller, queries: T): Promise<{ actor: Actor; results: BatchResponse<T> }> {
  const [session, ...results] = await db.batch([sessionCheck(db, claims), ...queries]);
  return { actor: liveActor(claims, session as SessionCheckRows), results: results as BatchResponse<T> };
}

/**
 * A `Batch` whose first call carries the session check (401 before any result is looked at);
 * later calls wait for it and then go straight to D1: the session was live when the first data
 * was read. `actor()` is the live actor once the first call has answered.
 *
 * @example
 * const checked = sessionCheckedBatchOf(db, claims);
 * await findConflicts(db, claims.userId, candidates, checked.batch);
 * const actor = checked.actor();
 */
export function sessionCheckedBatchOf(db: Db, claims: Caller, onActor?: (actor: Actor) => void): { batch: Batch; actor: () => Actor } {
  let checked: Promise<unknown> | undefined;
  let actor: Actor | undefined;
  const batch: Batch = async (queries) => {
    // A later call waits for the check, so nothing is read for a refused session even in parallel.
    if (checked) return checked.then(() => db.batch(queries));
    const first = withSessionCheck(db, claims, queries).then((answer) => {
      actor = answer.actor;
      onActor?.(answer.actor);
      return answer.results;
    });
    checked = first;
    return first;
  };
  return {
    batch,
    actor: () => {
      if (!actor) throw new Error("The session check has not answered yet.");
      return actor;
    },
  };
}
