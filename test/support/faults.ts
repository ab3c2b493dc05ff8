import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createApp } from "../../src/app";
import { freshIp } from "../helpers";
import { interceptDatabase, statementSql } from "./intercept-db";
import { send, type WireRequest, type WireResponse } from "./wire";

const WRITE_SQL = /^\s*(insert|update|delete|replace)\b/i;

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
      // A D1 session (Sessions API) gets the same faults.
      if (property === "withSession") return (...args: Parameters<D1Database["withSession"]>) => faultyDatabase(target.withSession(...args) as unknown as D1Database, failAt, log);
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

/** What an interfering database saw: whether the interference ran, and before which write. */
export interface Interference {
  ran: boolean;
  /** The SQL of the first write statement, the one the interference ran in front of. */
  before?: string;
}

/**
 * `db` with a concurrent request squeezed in between a service's reads and its writes: the first
 * time the request is about to write (a batch with a write statement, or a single write
 * statement), `interfere` runs to completion first, typically another request through
 * `exports.default.fetch`, which uses the real database. The statements then run unchanged, on
 * the state the interference left: a statement that named the vanished row now succeeds but
 * matches zero rows, which is exactly how a lost race looks to D1. Everything else passes through.
 */
export function interferingDatabase(db: D1Database, interfere: () => Promise<void>, seen: Interference = { ran: false }): D1Database {
  return interceptDatabase(db, async (sql, run) => {
    const write = sql.find((statement) => WRITE_SQL.test(statement));
    if (write !== undefined && !seen.ran) {
      seen.ran = true;
      seen.before = write;
      await interfere();
    }
    return run();
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

/** A JSON request as `user`, from a fresh client IP, ready for `sendWith`. */
export const requestAs = (user: { token: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): WireRequest => ({
  method,
  path,
  headers: { Authorization: `Bearer ${user.token}`, "CF-Connecting-IP": freshIp(), ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
  body: body === undefined ? undefined : JSON.stringify(body),
});

/** Sends `request`, running `interfere` to completion just before its first write reaches D1. */
export async function squeezed(request: WireRequest, interfere: () => Promise<unknown>): Promise<WireResponse> {
  const seen: Interference = { ran: false };
  const res = await sendWith({ DB: interferingDatabase(env.DB, async () => void (await interfere()), seen) }, request);
  expect(seen.ran).toBe(true);
  return res;
}
