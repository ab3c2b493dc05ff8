import { decodeCursor, encodeCursor } from "../lib/cursor";
import { ApiError } from "../lib/problem";

/** How long a sync token stays valid unless `SYNC_TOKEN_RETENTION_SECONDS` says otherwise: 7 days. */
export const SYNC_TOKEN_RETENTION_DEFAULT_SECONDS = 7 * 86_400;

/** The retention in force: the var when it is a positive number of seconds, else the default. */
export function syncTokenRetentionSeconds(env: Env): number {
  const configured = Number(env.SYNC_TOKEN_RETENTION_SECONDS);
  return Number.isFinite(configured) && configured > 0 ? configured : SYNC_TOKEN_RETENTION_DEFAULT_SECONDS;
}

const expired = () => new ApiError(410, "sync_token_expired", "The sync token has expired or is not valid for you; sync again from scratch (without sync_token).");

const scopeOf = (userId: number) => `sync-token:${userId}`;

/**
 * A sync token: the change-log position a sync reached and when it was issued, signed like the
 * cursors and bound to the user.
 *
 * @example
 * const token = await issueSyncToken(env, actor.id, page.syncedTo);
 */
export async function issueSyncToken(env: Env, userId: number, position: number, now = Date.now()): Promise<string> {
  return encodeCursor(env, scopeOf(userId), [position, Math.floor(now / 1000)]);
}

/** The position a token names; 410 when it is older than the retention, tampered or another user's. */
export async function readSyncToken(env: Env, userId: number, token: string, now = Date.now()): Promise<number> {
  let position: (number | string)[];
  try {
    position = await decodeCursor(env, scopeOf(userId), token);
  } catch {
    throw expired();
  }
  const [after, issuedAt] = position;
  if (typeof after !== "number" || typeof issuedAt !== "number" || !Number.isSafeInteger(after) || after < 0) throw expired();
  if (now / 1000 - issuedAt > syncTokenRetentionSeconds(env)) throw expired();
  return after;
}
