import { SignJWT, jwtVerify } from "jose";
import { signingSecret } from "../lib/secret";

const encoder = new TextEncoder();

export interface AccessClaims {
  userId: number;
  sessionId: string;
}

const keys = new Map<string, Promise<CryptoKey>>();

/**
 * The HS256 key of a secret, imported once per isolate: handed the raw bytes, jose imports them
 * again on every sign and every verify, that is on every authenticated request.
 */
function hmacKey(env: Env): Promise<CryptoKey> {
  const secret = signingSecret(env);
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"])));
  return key;
}

export const accessTtlSeconds = (env: Env) => Number(env.ACCESS_TOKEN_TTL) || 900;

/** Signs a short-lived HS256 access token carrying the session id, so logout can revoke it. */
export async function signAccessToken(env: Env, claims: AccessClaims): Promise<string> {
  return new SignJWT({ sid: claims.sessionId, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(String(claims.userId))
    .setIssuer(env.JWT_ISSUER)
    .setAudience(env.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${accessTtlSeconds(env)}s`)
    .sign(await hmacKey(env));
}

/** A verified access token: who, which session, and when it expires (epoch ms). */
export interface VerifiedAccess extends AccessClaims {
  expiresAt: number;
}

/** Verifies signature (HS256 only), issuer, audience, expiry and token type; null when any fails. */
export async function verifyAccessToken(env: Env, token: string): Promise<VerifiedAccess | null> {
  const key = await hmacKey(env);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      requiredClaims: ["exp", "iat", "sub", "sid"],
    });
    const userId = Number(payload.sub);
    if (payload.typ !== "access" || typeof payload.sid !== "string" || !Number.isSafeInteger(userId)) return null;
    return { userId, sessionId: payload.sid, expiresAt: (payload.exp ?? 0) * 1000 };
  } catch {
    return null;
  }
}

const toHex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

export const randomToken = (bytes: number) => toHex(crypto.getRandomValues(new Uint8Array(bytes)).buffer);

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Refresh tokens are opaque (`rt_<session>.<secret>`), never JWTs, so neither kind of token can be
 * mistaken for the other. Only the secret's hash is stored.
 */
export const formatRefreshToken = (sessionId: string, secret: string) => `rt_${sessionId}.${secret}`;

export function parseRefreshToken(token: string): { sessionId: string; secret: string } | null {
  const match = /^rt_([0-9a-f]{32})\.([0-9a-f]{64})$/.exec(token);
  return match ? { sessionId: match[1], secret: match[2] } : null;
}
