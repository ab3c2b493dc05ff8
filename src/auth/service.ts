import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { sessions, users } from "../db/schema";
import type { Actor } from "../env";
import { ApiError } from "../lib/problem";
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
const invalidRefresh = () => new ApiError(401, "unauthorized", "The refresh token is invalid, expired or already used.");

async function issueSession(db: Db, env: Env, user: UserRow) {
  const sessionId = randomToken(16);
  const secret = randomToken(32);
  const now = Date.now();
  await db.insert(sessions).values({ id: sessionId, userId: user.id, refreshHash: await sha256Hex(secret), createdAt: now, expiresAt: now + SESSION_TTL_MS });
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

export async function login(db: Db, env: Env, identifier: string, password: string) {
  const [user] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = lower(${identifier}) OR lower(${users.email}) = lower(${identifier})`)
    .limit(1);
  const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyPasswordHash()));
  if (!user || !ok) throw invalidCredentials();
  return issueSession(db, env, user);
}

/**
 * Rotates a refresh token. The swap is one conditional UPDATE, so of two concurrent refreshes with
 * the same token exactly one wins; presenting a spent token again is taken as theft and revokes the
 * whole session.
 */
export async function refresh(db: Db, env: Env, token: string) {
  const parsed = parseRefreshToken(token);
  if (!parsed) throw invalidRefresh();
  const [row] = await db.select().from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.id, parsed.sessionId));
  if (!row || row.sessions.revokedAt !== null || row.sessions.expiresAt < Date.now()) throw invalidRefresh();
  const presented = await sha256Hex(parsed.secret);
  const nextSecret = randomToken(32);
  const swapped =
    presented === row.sessions.refreshHash
      ? await db
          .update(sessions)
          .set({ refreshHash: await sha256Hex(nextSecret), expiresAt: Date.now() + SESSION_TTL_MS })
          .where(and(eq(sessions.id, parsed.sessionId), eq(sessions.refreshHash, presented), isNull(sessions.revokedAt)))
          .returning({ id: sessions.id })
      : [];
  if (!swapped.length) {
    await revokeSession(db, parsed.sessionId);
    throw invalidRefresh();
  }
  return sessionBody(env, row.users, parsed.sessionId, nextSecret);
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

/** The caller behind an access token, or null when the token is bad or its session is revoked. */
export async function authenticate(db: Db, env: Env, token: string): Promise<Actor | null> {
  const claims = await verifyAccessToken(env, token);
  if (!claims) return null;
  const [row] = await db
    .select({ id: users.id, username: users.username, email: users.email, createdAt: users.createdAt, revokedAt: sessions.revokedAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, claims.sessionId), eq(sessions.userId, claims.userId)));
  if (!row || row.revokedAt !== null) return null;
  return { id: row.id, username: row.username, email: row.email, createdAt: row.createdAt, sessionId: claims.sessionId };
}
