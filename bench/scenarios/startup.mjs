import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { summarize } from "../lib/stats.mjs";
import { randomSecret, startWorker, workerOptions } from "../lib/worker.mjs";

/** Raw and gzip size of the bundle (gzip at zlib's default level 6, as an upload would be compressed, and at 9). */
export function bundleSize(scriptPath) {
  const bytes = readFileSync(scriptPath);
  return { rawBytes: bytes.length, gzipBytes: gzipSync(bytes).length, gzip9Bytes: gzipSync(bytes, { level: 9 }).length };
}

/** S9: fresh Miniflare instances, one after another: new + ready, then the first /health/live. */
export async function coldStarts({ root, scriptPath }, count) {
  const runs = [];
  for (let i = 0; i < count; i++) {
    const { mf, timings } = await startWorker(workerOptions({ root, scriptPath, jwtSecret: randomSecret() }));
    runs.push(timings);
    await mf.dispose();
  }
  const mean = (key) => runs.reduce((a, r) => a + r[key], 0) / runs.length;
  return { runs, mean: { readyMs: mean("readyMs"), firstResponseMs: mean("firstResponseMs"), totalMs: mean("totalMs") }, total: summarize(runs.map((r) => r.totalMs)) };
}
