import { env } from "cloudflare:workers";
import { SignJWT } from "jose";

const encoder = new TextEncoder();
const b64url = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** The claims of one of our access tokens (no verification: the test signed or received it). */
export function claimsOf(token: string): { sub: string; sid: string; [key: string]: unknown } {
  const payload = token.split(".")[1];
  return JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
}

interface Forge {
  sub: string;
  sid: string;
  typ?: string;
  secret?: string;
  issuer?: string;
  audience?: string;
  issuedAt?: number;
  expiresAt?: number | string;
}

/** Signs an access-token-shaped JWT; by default with the Worker's own key, issuer and audience. */
export function forgeToken(claims: Forge): Promise<string> {
  return new SignJWT({ sid: claims.sid, typ: claims.typ ?? "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuer(claims.issuer ?? env.JWT_ISSUER)
    .setAudience(claims.audience ?? env.JWT_AUDIENCE)
    .setIssuedAt(claims.issuedAt ?? Math.floor(Date.now() / 1000))
    .setExpirationTime(claims.expiresAt ?? "10m")
    .sign(encoder.encode(claims.secret ?? env.JWT_SECRET!));
}

/** The same payload with `alg: none` and no signature. */
export function algNoneToken(token: string): string {
  const [, payload] = token.split(".");
  return `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;
}

/** The token with one payload claim replaced and the original signature kept. */
export function tamperedToken(token: string, patch: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  return `${header}.${b64url(JSON.stringify({ ...claimsOf(token), ...patch }))}.${signature}`;
}

/** Flips one character of the signature. */
export function flippedSignature(token: string): string {
  const last = token.at(-2) === "A" ? "B" : "A";
  return `${token.slice(0, -2)}${last}${token.at(-1)}`;
}
