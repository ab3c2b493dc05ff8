import { interceptDatabase } from "./intercept-db";

/** What a counting database saw during one request. */
export interface RoundTripLog {
  /** Sequential D1 round trips: calls that started while no other call of the request was in flight. */
  roundTrips: number;
  /** Every D1 call (`batch`, `first`, `all`, `run`, `raw`), concurrent ones included. */
  calls: number;
  /** The SQL of each call in order; a batch's statements joined with " ; ". */
  sql: string[];
  inFlight: number;
}

export const roundTripLog = (): RoundTripLog => ({ roundTrips: 0, calls: 0, sql: [], inFlight: 0 });

/**
 * `db` counting what a request costs in D1 round trips, the latency a distant client waits for.
 * Calls that overlap (Promise.all) count as one round trip. Sessions from `withSession` are
 * counted too, so pass it as the request's `DB` binding (`sendWith({ DB: countingDatabase(...) })`).
 *
 * @example
 * const log = roundTripLog();
 * await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path: "/api/events" });
 * expect(log.roundTrips).toBe(1);
 */
export function countingDatabase(db: D1Database, log: RoundTripLog): D1Database {
  return interceptDatabase(db, async (sql, run) => {
    log.calls++;
    if (log.inFlight === 0) log.roundTrips++;
    log.inFlight++;
    log.sql.push(sql.join(" ; "));
    try {
      return await run();
    } finally {
      log.inFlight--;
    }
  });
}
