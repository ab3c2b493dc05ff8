/** Nearest-rank percentile of unsorted samples (p in 0..100); null for no samples. */
export function percentile(samples, p) {
  if (!samples.length) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const summarize = (samples) => ({
  n: samples.length,
  p50: percentile(samples, 50),
  p90: percentile(samples, 90),
  p99: percentile(samples, 99),
  max: samples.length ? Math.max(...samples) : null,
});

export const ratio = (value, base) => (value == null || !base ? null : value / base);

export const round = (value, digits = 2) => (value == null ? null : Number(value.toFixed(digits)));

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
