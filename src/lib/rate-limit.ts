import { ApiError } from "./problem";

/**
 * Consumes one unit of a Workers Rate Limiting binding. The binding does not say when the window
 * resets, so `Retry-After` is the configured period (the worst case).
 *
 * @example
 * await enforceRateLimit(env, env.LOGIN_IP_LIMITER, `ip:${ip}`, 60);
 */
export async function enforceRateLimit(env: Env, limiter: RateLimit, key: string, periodSeconds: number): Promise<void> {
  if (env.RATE_LIMITS === "off") return;
  const { success } = await limiter.limit({ key });
  if (!success) {
    throw new ApiError(429, "rate_limited", "Too many requests; retry after the period in Retry-After.", {
      headers: { "Retry-After": String(periodSeconds) },
    });
  }
}

/** Period, in seconds, of each limiter declared in wrangler.toml (the binding cannot report it). */
export const RATE_LIMIT_PERIODS = { login: 60, register: 60, write: 10, lookup: 60, refresh: 60, feed: 60 } as const;

export const clientIp = (req: Request) => req.headers.get("cf-connecting-ip") ?? "unknown";
