import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../../src/db/schema";

export interface RecordedStatement {
  sql: string;
  params: unknown[];
}

/**
 * A Drizzle database over the test's D1 that records every statement it binds, batched ones
 * included (drizzle's logger skips batches), so a test can call a service and then ask D1 what the
 * same statements cost.
 *
 * @example
 * const { db, statements } = recordingDb();
 * await listEvents(db, actor, { limit: 50 });
 * expect(await rowsReadOf(statements)).toBeLessThan(110);
 */
export function recordingDb() {
  const statements: RecordedStatement[] = [];
  const recording = {
    prepare: (sql: string) => {
      const statement = env.DB.prepare(sql);
      return new Proxy(statement, {
        get(target, key) {
          if (key === "bind") return (...params: unknown[]) => (statements.push({ sql, params }), target.bind(...params));
          const value = Reflect.get(target, key);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
    batch: (list: D1PreparedStatement[]) => env.DB.batch(list),
  } as unknown as D1Database;
  return { db: drizzle(recording, { schema }), statements };
}

/** Runs recorded statements again and sums D1's `meta.rows_read` (what D1 bills) over them. */
export async function rowsReadOf(statements: RecordedStatement[]): Promise<number> {
  let rowsRead = 0;
  for (const { sql, params } of statements) rowsRead += (await env.DB.prepare(sql).bind(...params).all()).meta.rows_read;
  return rowsRead;
}

/** SQLite's plan for one recorded statement, one line per step. */
export async function queryPlan({ sql, params }: RecordedStatement): Promise<string[]> {
  return (await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail);
}
