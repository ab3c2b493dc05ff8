// `npm run build && node bench/tail.mjs`: where the hot routes' p99 comes from. Runs GET
// /health/live (no D1, no auth), GET /health and the changelog (a full page of 20) at 8
// connections, each as five 1-second rounds (as the hot bench does) and as one 5-second run, and
// prints p50, p99 and where in a run the slow responses (over 3× the p50) fall. On this kind of
// machine they come in runs of 8 consecutive responses, every few hundred: all 8 in-flight
// requests stall together, on the trivial route as much as on the changelog, so the tail is the
// runtime's (isolate pauses, scheduling on 2 cores shared with the load generator), not a route's.
import autocannon from "autocannon";
import { join } from "node:path";
import { Api, eventAt, registerUsers } from "./lib/api.mjs";
import { applyMigrations, randomSecret, startWorker, useMemoryStorage, workerOptions } from "./lib/worker.mjs";

const CONNECTIONS = 8;
const root = join(import.meta.dirname, "..");
useMemoryStorage();
const worker = await startWorker(workerOptions({ root, scriptPath: join(root, "dist/index.js"), jwtSecret: randomSecret() }));
try {
  await applyMigrations(worker.mf, join(root, "migrations"));
  const api = new Api(worker.url);
  const [reader] = await registerUsers(api, "tail_", 1);
  const history = await api.createEvent(reader.token, eventAt(1, "Changelog"));
  for (let v = 2; v <= 25; v++) await api.expect(200, "PATCH", `/api/events/${history.id}`, { token: reader.token, body: { description: `v${v}` } });
  const routes = { "GET /health/live": "/health/live", "GET /health": "/health", "GET changelog": `/api/events/${history.id}/changelog` };

  /** Response times in the order the responses came. */
  const run = async (path, duration) => {
    const latencies = [];
    const instance = autocannon({ url: new URL(path, worker.url).href, headers: { authorization: `Bearer ${reader.token}`, accept: "application/json" }, connections: CONNECTIONS, duration });
    instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
    await instance;
    return latencies;
  };
  const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];
  /** Runs of consecutive slow responses, as their lengths. */
  const bursts = (latencies, slow) => latencies.reduce((runs, ms, i) => (ms > slow ? (i > 0 && latencies[i - 1] > slow ? runs[runs.length - 1]++ : runs.push(1), runs) : runs), []);

  for (const [name, path] of Object.entries(routes)) {
    await run(path, 1); // warm-up
    const rounds = [];
    for (let r = 0; r < 5; r++) rounds.push(await run(path, 1));
    const all = rounds.flat();
    const p50 = percentile(all, 0.5);
    const runs = rounds.flatMap((round) => bursts(round, 3 * p50));
    console.log(`${name.padEnd(16)} 5×1 s: p50 ${p50.toFixed(2)} ms, p99 ${percentile(all, 0.99).toFixed(2)} ms (${(percentile(all, 0.99) / p50).toFixed(2)}×), n ${all.length}; slow responses in runs of ${runs.join(",") || "none"}`);
    const long = await run(path, 5);
    console.log(`${name.padEnd(16)} 1×5 s: p50 ${percentile(long, 0.5).toFixed(2)} ms, p99 ${percentile(long, 0.99).toFixed(2)} ms (${(percentile(long, 0.99) / percentile(long, 0.5)).toFixed(2)}×), n ${long.length}`);
  }
} finally {
  await worker.mf.dispose();
}
