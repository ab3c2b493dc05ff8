import { ApiError } from "./problem";

const MIN_SECRET_BYTES = 32;
const encoder = new TextEncoder();

/**
 * The JWT key, refusing to sign with a missing or short one: a weak key would let anyone forge
 * sessions, so the Worker answers 500 and logs why instead.
 */
export function signingSecret(env: Env): string {
  const secret = env.JWT_SECRET;
  if (!secret || encoder.encode(secret).byteLength < MIN_SECRET_BYTES) {
    console.error(`JWT_SECRET is missing or shorter than ${MIN_SECRET_BYTES} bytes; refusing to issue or verify tokens. Set it with \`wrangler secret put JWT_SECRET\`.`);
    throw new ApiError(500, "server_misconfigured", "The server is not configured to issue tokens.");
  }
  return secret;
}
