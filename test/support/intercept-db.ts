export const statementSql = (statement: D1PreparedStatement) => (statement as unknown as { statement: string }).statement;

const EXECUTE = new Set(["first", "all", "run", "raw"]);

/**
 * `db` with every D1 call (a statement's `first`/`all`/`run`/`raw`, or a `batch`) passed through
 * `around`, with the SQL it is about to send (one entry per statement of a batch). Statements keep
 * working through `bind`, batches get the real statements back, and sessions from `withSession`
 * are wrapped too, so it can stand as a request's `DB` binding.
 *
 * @example
 * const db = interceptDatabase(env.DB, (sql, run) => (console.log(sql), run()));
 */
export function interceptDatabase(db: D1Database, around: (sql: string[], run: () => Promise<unknown>) => Promise<unknown>): D1Database {
  const unwrap = new WeakMap<object, D1PreparedStatement>();
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        if (property === "bind") return (...params: unknown[]) => wrap(value.apply(target, params) as D1PreparedStatement);
        if (EXECUTE.has(String(property))) return (...args: unknown[]) => around([statementSql(target)], () => value.apply(target, args) as Promise<unknown>);
        return value.bind(target);
      },
    });
    unwrap.set(proxy, statement);
    return proxy;
  };
  type Database = Pick<D1Database, "prepare" | "batch">;
  const wrapDatabase = <T extends Database>(inner: T): T =>
    new Proxy(inner, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as (...args: unknown[]) => unknown;
        if (property === "withSession") return (...args: unknown[]) => wrapDatabase(value.apply(target, args) as Database);
        if (property === "prepare") return (sql: string) => wrap(value.call(target, sql) as D1PreparedStatement);
        if (property === "batch") {
          return (statements: D1PreparedStatement[]) => {
            const real = statements.map((s) => unwrap.get(s) ?? s);
            return around(real.map(statementSql), () => value.call(target, real) as Promise<unknown>);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return wrapDatabase(db);
}
