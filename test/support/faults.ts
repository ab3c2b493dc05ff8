import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";
import { send, type WireRequest, type WireResponse } from "./wire";

const WRITE_SQL = /^\s*(insert|update|delete|replace)\b/i;
const statementSql = (statement: D1PreparedStatement) => (statement as unknown as { statement: string }).statement;

/** What a faulty database saw: the length of every batch that writes. */
export interface FaultLog {
  writeBatches: number[];
}

/**
 * `db` with one fault in every batch that writes: statement `failAt` is replaced by one that fails
 * (a table that does not exist), or, with `failAt = "reject"`, the batch is refused before anything
 * runs. Batches of reads only, and everything else, pass through untouched.
 */
export function faultyDatabase(db: D1Database, failAt: number | "reject", log: FaultLog = { writeBatches: [] }): D1Database {
  return new Proxy(db, {
    get(target, property) {
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (!statements.some((s) => WRITE_SQL.test(statementSql(s)))) return target.batch(statements);
          log.writeBatches.push(statements.length);
          if (failAt === "reject") throw new Error("injected fault: batch refused");
          if (failAt >= statements.length) return target.batch(statements);
          const faulty = [...statements];
          faulty[failAt] = target.prepare("INSERT INTO no_such_table VALUES (1)");
          return target.batch(faulty);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const app = createApp();

/** Sends a request through the app with some bindings replaced, then waits for its waitUntil work. */
export async function sendWith(bindings: Partial<Env>, request: WireRequest): Promise<WireResponse> {
  const ctx = createExecutionContext();
  const res = await send(request, (req) => Promise.resolve(app.fetch(req, { ...env, ...bindings }, ctx)));
  await waitOnExecutionContext(ctx);
  return res;
}
