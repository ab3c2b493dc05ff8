/**
 * Miniflare's rate limiters count in fixed windows aligned to the wall clock (epoch =
 * floor(now / period)), so a test that counts up to a limit and expects the next request refused
 * fails if a window boundary falls between them. This waits, when the current window has less than
 * `needMs` left, until the next one starts, so the requests that follow all land in one window.
 */
export async function inOneWindow(periodSeconds: 10 | 60, needMs: number): Promise<void> {
  const period = periodSeconds * 1000;
  const left = period - (Date.now() % period);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 25));
}
