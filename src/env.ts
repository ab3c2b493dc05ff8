import type { Db } from "./db/client";

declare global {
  interface Env {
    /** HS256 signing key, at least 32 bytes. A secret (`wrangler secret put JWT_SECRET`), never a var. */
    JWT_SECRET?: string;
    /** Seconds a sync token stays valid (default 7 days; see src/sync/token.ts). */
    SYNC_TOKEN_RETENTION_SECONDS?: string;
    /** `"off"`: 409s carry no suggestions (for the bench's comparison only; see src/availability/suggest.ts). */
    CONFLICT_SUGGESTIONS?: string;
  }
  namespace Cloudflare {
    interface Env {
      JWT_SECRET?: string;
      SYNC_TOKEN_RETENTION_SECONDS?: string;
      CONFLICT_SUGGESTIONS?: string;
    }
  }
}

/** The authenticated caller, as every service receives it. */
export interface Actor {
  id: number;
  username: string;
  email: string;
  createdAt: number;
  sessionId: string;
}

/** What a verified access token says, before its session is checked against D1. */
export interface SessionClaims {
  userId: number;
  sessionId: string;
  expiresAt: number;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    db: Db;
    actor: Actor;
    /** Set instead of `actor` until the route's first batch has checked the session. */
    claims: SessionClaims;
  };
}
