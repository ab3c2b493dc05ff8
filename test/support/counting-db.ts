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

const EXECUTE = new Set(["first", "all", "run", "raw"]);
const statementSql = (statement: D1PreparedStatement) => (statement as unknown as { statement: string }).statement;

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
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const track = async <T>(sql: string, run: () => Promise<T>): Promise<T> => {
    log.calls++;
    if (log.inFlight === 0) log.roundTrips++;
    log.inFlight++;
    log.sql.push(sql);
    try {
      return await run();
    } finally {
      log.inFlight--;
    }
  };
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        if (property === "bind") return (...params: unknown[]) => wrap(value.apply(target, params) as D1PreparedStatement);
        if (EXECUTE.has(String(property))) return (...args: unknown[]) => track(statementSql(target), () => value.apply(target, args) as Promise<unknown>);
        return value.bind(target);
      },
    });
    unwrap.set(proxy, statement);
    return proxy;
  };
  const wrapDatabase = <T extends Pick<D1Database, "prepare" | "batch">>(inner: T): T =>
    new Proxy(inner, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as (...args: unknown[]) => unknown;
        if (property === "withSession") return (...args: unknown[]) => wrapDatabase(value.apply(target, args) as D1DatabaseSession);
        if (property === "prepare") return (sql: string) => wrap(value.call(target, sql) as D1PreparedStatement);
        if (property === "batch") {
          return (statements: D1PreparedStatement[]) => {
            const real = statements.map((s) => unwrap.get(s) ?? s);
            return track(real.map(statementSql).join(" ; "), () => value.call(target, real) as Promise<unknown>);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrapDatabase(db);
}
