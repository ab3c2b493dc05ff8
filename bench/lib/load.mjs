import autocannon from "autocannon";
import { sleep, summarize } from "./stats.mjs";
import { cpuMsOf, ownCpuMs } from "./worker.mjs";

/**
 * Waits until workerd is idle (under 10% of a core over 250 ms), at most `maxMs`: requests that a
 * previous run abandoned when it stopped (a login's scrypt, a batch) still run to completion in
 * workerd and would otherwise slow the next run down.
 */
export async function settle(target, maxMs = 15_000) {
  const started = performance.now();
  let before = cpuMsOf(target.pid);
  while (before !== null && performance.now() - started < maxMs) {
    await sleep(250);
    const now = cpuMsOf(target.pid);
    if (now - before < 25) break;
    before = now;
  }
  return performance.now() - started;
}

const debug = process.env.BENCH_DEBUG === "1" ? (...args) => console.error("[debug]", ...args) : () => {};

/**
 * Drives one endpoint with autocannon at fixed concurrency. Latencies are autocannon's
 * per-response timings (fractional ms) of responses with the expected status; CPU is what the
 * workerd process (all its threads: Worker, D1, Durable Objects) spent, read from /proc.
 *
 * With `amount`, the run stops after that many responses instead of after `duration` seconds:
 * for slow requests, where a timed run would end with a whole wave still in flight, uncounted
 * but already paid for in CPU.
 *
 * `clientRequests(i)` may return per-connection request objects (autocannon `requests`), for
 * bodies that must differ per request or headers that differ per connection.
 */
async function measure(target, { path = "/", method = "GET", headers = {}, body, expectStatus = 200, connections: wanted = 8, duration = 5, amount, clientRequests }) {
  const connections = amount ? Math.min(wanted, amount) : wanted;
  const settled = await settle(target);
  const latencies = [];
  let clientIndex = 0;
  const cpuBefore = cpuMsOf(target.pid);
  const ownBefore = ownCpuMs();
  const instance = autocannon({
    url: new URL(path, target.url).href,
    method,
    headers: { accept: "application/json", ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    connections,
    ...(amount ? { amount } : { duration }),
    timeout: 60,
    setupClient: clientRequests ? (client) => client.setRequests(clientRequests(clientIndex++)) : undefined,
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    if (statusCode === expectStatus) latencies.push(responseTime);
  });
  const result = await instance;
  debug(method, path, `settled in ${Math.round(settled)} ms`, JSON.stringify(result.statusCodeStats), `errors ${result.errors}`, `duration ${result.duration}`);
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]));
  return {
    connections,
    seconds: result.duration,
    latencies,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    workerdCpuMs: cpuBefore === null ? null : cpuMsOf(target.pid) - cpuBefore,
    loadGeneratorCpuMs: ownCpuMs() - ownBefore,
    expectStatus,
  };
}

/** Adds up runs of the same spec (rounds of an interleaved measurement) into one report. */
function report(runs) {
  const statuses = {};
  for (const run of runs) for (const [code, n] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const sum = (key) => runs.reduce((total, run) => (total === null || run[key] === null ? null : total + run[key]), 0);
  const seconds = sum("seconds");
  const completed = Object.values(statuses).reduce((a, b) => a + b, 0);
  const ok = statuses[runs[0].expectStatus] ?? 0;
  const cpu = sum("workerdCpuMs");
  return {
    connections: runs[0].connections,
    expectStatus: runs[0].expectStatus,
    seconds,
    rounds: runs.length,
    completed,
    ok,
    rps: ok / seconds,
    latency: summarize(runs.flatMap((r) => r.latencies)),
    statuses,
    errors: sum("errors"),
    timeouts: sum("timeouts"),
    workerdCpuMsPerRequest: cpu === null || !completed ? null : cpu / completed,
    workerdCpuShare: cpu === null ? null : cpu / 1000 / seconds,
    loadGeneratorCpuMsPerRequest: completed ? sum("loadGeneratorCpuMs") / completed : null,
  };
}

/**
 * One autocannon run of `duration` seconds.
 *
 * @example
 * await runLoad(target, { path: "/health/live", duration: 5 });
 */
export async function runLoad(target, spec) {
  return report([await measure(target, spec)]);
}

/**
 * Runs several specs in alternating rounds (A B C A B C ...) after a discarded warm-up of each,
 * so that load from elsewhere on the machine falls on all of them alike and their ratios hold.
 * A spec with `amount` runs that many requests per round instead of `secondsPerRound`; a spec's
 * `afterRun()`, when given, runs after each of its runs, outside the measurement (to undo what
 * the run wrote, say).
 *
 * @example
 * const [base, get] = await runInterleaved(target, [{ path: "/health/live" }, { path: "/api/events/1", headers }], { rounds: 5 });
 */
export async function runInterleaved(target, specs, { rounds = 5, secondsPerRound = 1, warmupSeconds = 1 } = {}) {
  if (warmupSeconds > 0) {
    for (const spec of specs) {
      await measure(target, { ...spec, duration: warmupSeconds });
      await spec.afterRun?.();
    }
  }
  const runs = specs.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, spec] of specs.entries()) {
      runs[i].push(await measure(target, { ...spec, duration: secondsPerRound }));
      await spec.afterRun?.();
    }
  }
  return runs.map(report);
}
