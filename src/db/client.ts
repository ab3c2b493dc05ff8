import { DrizzleD1Database } from "drizzle-orm/d1";
import { SQLiteD1Session } from "drizzle-orm/d1/session";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema";

/**
 * What Drizzle's D1 driver calls on its client: `prepare` and `batch` only (drizzle-orm 0.45
 * `d1/session.js`; `exec` and `dump` are never reached), so a binding and a Sessions API session
 * both serve. Drizzle's own parameter type names the whole `D1Database`, hence the one cast below.
 */
export type D1Client = Pick<D1Database, "prepare" | "batch">;

// No relational schema: nothing here uses Drizzle's relational queries (`db.query.*`), only the
// query builders, so the database is built without one, as drizzle(d1) would; its relational
// query code then has no caller and esbuild leaves most of it out of the bundle.
// The type still names the schema, so tests may hand in drizzle(env.DB, { schema }).
export type Db = DrizzleD1Database<typeof schema>;

// What drizzle(d1) builds, the dialect once per isolate: with a session per request, drizzle()
// itself cost 17-24 µs a request.
const dialect = new SQLiteAsyncDialect();

const instances = new WeakMap<D1Client, Db>();
const build = (d1: D1Client): Db => new DrizzleD1Database<typeof schema>("async", dialect, new SQLiteD1Session(d1 as D1Database, dialect, undefined, {}), undefined);

/**
 * A Drizzle database over a D1 binding or session. One instance per client: a binding keeps its
 * instance for the isolate's life, a session (one per request) for the request's.
 */
export function createDb(d1: D1Client) {
  let db = instances.get(d1);
  if (!db) {
    db = build(d1);
    instances.set(d1, db);
  }
  return db;
}

export const BOOKMARK_HEADER = "X-D1-Bookmark";

/**
 * D1's bookmark format (`00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683`). Anything
 * else is ignored: local D1 accepts garbage and hands it back from `getBookmark()`, so without this
 * check a client's 10 KB header would be echoed on the response.
 */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

/** The request's bookmark when it has D1's form, else undefined (the request starts unconstrained). */
export function validBookmark(header: string | undefined): string | undefined {
  const value = header?.trim();
  return value && BOOKMARK.test(value) ? value : undefined;
}

const WRITE_SQL = /^\s*(?:insert|update|delete|replace|create|drop|alter)\b/i;

interface Bound {
  sql: string;
  params: unknown[];
}

/**
 * A session opened with a client's bookmark. Production D1 may refuse a bookmark of the right form
 * (another database's, one from the future) from `withSession` or from the first query; then the
 * request starts over from `fallback` instead of failing. Only the first call is retried, and a
 * write only when the error names the bookmark: a read is safe to repeat, a write that failed for
 * another reason is not ours to run twice.
 */
class BookmarkSession implements D1Client {
  private session: D1DatabaseSession;
  /** The session at the client's bookmark, until D1 refuses it. */
  private readonly bookmarked: D1DatabaseSession | null = null;
  /** D1 answered a query at the bookmark: from now on an error is the query's own. */
  private accepted = false;

  constructor(
    private readonly d1: D1Database,
    bookmark: string,
    private readonly fallback: D1SessionConstraint,
  ) {
    try {
      this.session = this.bookmarked = d1.withSession(bookmark);
    } catch {
      this.session = d1.withSession(fallback);
    }
  }

  getBookmark() {
    return this.session.getBookmark();
  }

  async execute<T>(writes: boolean, run: (session: D1DatabaseSession) => Promise<T>): Promise<T> {
    const session = this.session;
    if (this.accepted || session !== this.bookmarked) return run(session);
    try {
      const result = await run(session);
      this.accepted = true;
      return result;
    } catch (error) {
      if (this.accepted || (writes && !/bookmark/i.test(String(error)))) throw error;
      // Calls that were in flight together all failed at the bookmark: one fallback for them all.
      if (this.session === this.bookmarked) this.session = this.d1.withSession(this.fallback);
      return run(this.session);
    }
  }

  prepare(sql: string): D1PreparedStatement {
    // Only what Drizzle calls on a statement; the cast is the price of D1's overloaded signatures.
    return new RetryableStatement(this, { sql, params: [] }) as unknown as D1PreparedStatement;
  }

  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    const bound = statements.map((s) => (s as unknown as RetryableStatement).bound);
    return this.execute(bound.some((b) => WRITE_SQL.test(b.sql)), (session) =>
      session.batch<T>(bound.map((b) => session.prepare(b.sql).bind(...b.params))),
    );
  }
}

class RetryableStatement {
  constructor(
    private readonly owner: BookmarkSession,
    readonly bound: Bound,
  ) {}

  private on(session: D1DatabaseSession) {
    return session.prepare(this.bound.sql).bind(...this.bound.params);
  }

  private get writes() {
    return WRITE_SQL.test(this.bound.sql);
  }

  bind(...params: unknown[]) {
    return new RetryableStatement(this.owner, { sql: this.bound.sql, params });
  }

  first(column?: string) {
    return this.owner.execute(this.writes, (s) => (column === undefined ? this.on(s).first() : this.on(s).first(column)));
  }

  all() {
    return this.owner.execute(this.writes, (s) => this.on(s).all());
  }

  run() {
    return this.owner.execute(this.writes, (s) => this.on(s).run());
  }

  raw(options?: { columnNames?: boolean }) {
    return this.owner.execute(this.writes, (s) => (options?.columnNames ? this.on(s).raw({ columnNames: true }) : this.on(s).raw()));
  }
}

/** A request's D1 session: Drizzle's client, and the bookmark to hand back afterwards. */
export type RequestSession = D1Client & Pick<D1DatabaseSession, "getBookmark">;

/**
 * Opens a request's D1 session (Sessions API): at the client's bookmark when it sent a valid one,
 * else unconstrained for reads (a nearby replica may answer) or at the primary for writes.
 *
 * @example
 * const session = openSession(env.DB, "first-unconstrained", c.req.header(BOOKMARK_HEADER));
 */
export function openSession(d1: D1Database, constraint: D1SessionConstraint, header: string | undefined): RequestSession {
  return new LazySession(d1, constraint, validBookmark(header));
}

/**
 * Opens the session at its first query: a request that asks D1 nothing (docs, `/health/live`, a 401
 * without a token) never touches the binding, so a D1 that fails even `withSession` fails only the
 * requests that need it, each through its own error path. Until then the bookmark is the client's.
 */
class LazySession implements RequestSession {
  private opened: RequestSession | undefined;

  constructor(
    private readonly d1: D1Database,
    private readonly constraint: D1SessionConstraint,
    private readonly bookmark: string | undefined,
  ) {}

  private get session(): RequestSession {
    return (this.opened ??= this.bookmark ? new BookmarkSession(this.d1, this.bookmark, this.constraint) : this.d1.withSession(this.constraint));
  }

  prepare(sql: string) {
    return this.session.prepare(sql);
  }

  batch<T = unknown>(statements: D1PreparedStatement[]) {
    return this.session.batch<T>(statements);
  }

  getBookmark() {
    return this.opened ? this.opened.getBookmark() : (this.bookmark ?? null);
  }
}
