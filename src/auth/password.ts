import { scrypt, timingSafeEqual, randomBytes } from "node:crypto";

/**
 * scrypt with OWASP's minimum (N=2^14, r=8, p=5). Production workerd rejects scrypt when
 * N·r·p > 2^20, and caps PBKDF2 at 100,000 iterations, below OWASP's 600,000 for PBKDF2-SHA256;
 * a test keeps these parameters inside the cap.
 */
export const PASSWORD_HASH_PARAMS = { N: 2 ** 14, r: 8, p: 5, keyLength: 32, saltLength: 16 } as const;

/** workerd's production ceiling for scrypt's N·r·p. */
export const WORKERD_SCRYPT_CAP = 2 ** 20;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number; keyLength: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFKC"), salt, params.keyLength, { N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Returns `scrypt$N$r$p$salt$hash` (base64), self-describing so parameters can change later. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, saltLength } = PASSWORD_HASH_PARAMS;
  const salt = randomBytes(saltLength);
  const key = await derive(password, salt, PASSWORD_HASH_PARAMS);
  return ["scrypt", N, r, p, salt.toString("base64"), key.toString("base64")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = await derive(password, Buffer.from(salt, "base64"), { N: Number(n), r: Number(r), p: Number(p), keyLength: expected.length });
  return timingSafeEqual(actual, expected);
}

let decoyHash: Promise<string> | undefined;

/**
 * A real hash to verify against when the account does not exist, so an unknown user costs the
 * same scrypt work as a wrong password and timing does not reveal which accounts exist.
 */
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(crypto.randomUUID());
  return decoyHash;
}
