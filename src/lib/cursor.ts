import { ApiError } from "./problem";
import { signingSecret } from "./secret";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(`cursor:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

const toBase64Url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const fromBase64Url = (text: string) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (ch) => ch.charCodeAt(0));

/**
 * Opaque keyset cursors, signed and bound to one user and one collection, so a tampered cursor or
 * one taken from another user's page is rejected (422) instead of leaking or skipping rows.
 *
 * @example
 * const next = await encodeCursor(env, `events:${actor.id}`, [lastStart, lastId]);
 */
export async function encodeCursor(env: Env, scope: string, position: (number | string)[]): Promise<string> {
  const body = encoder.encode(JSON.stringify({ s: scope, p: position }));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(signingSecret(env)), body));
  return `${toBase64Url(body)}.${toBase64Url(mac.subarray(0, 16))}`;
}

export async function decodeCursor(env: Env, scope: string, cursor: string): Promise<(number | string)[]> {
  const invalid = new ApiError(422, "validation_failed", "The cursor is invalid; start again from the first page.", {
    errors: [{ field: "cursor", message: "Invalid or foreign cursor." }],
  });
  const parts = cursor.split(".");
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw invalid;
  const [bodyPart, macPart] = parts;
  try {
    const body = fromBase64Url(bodyPart);
    const expected = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(signingSecret(env)), body)).subarray(0, 16);
    // Compare the canonical text, not decoded bytes: base64's unused low bits would otherwise let
    // several spellings of one signature pass.
    const given = encoder.encode(macPart);
    const wanted = encoder.encode(toBase64Url(expected));
    if (given.length !== wanted.length || !crypto.subtle.timingSafeEqual(given, wanted)) throw invalid;
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { s?: unknown; p?: unknown };
    if (parsed.s !== scope || !Array.isArray(parsed.p)) throw invalid;
    return parsed.p as (number | string)[];
  } catch {
    throw invalid;
  }
}
