import type { BatchItem, BatchResponse } from "drizzle-orm/batch";
import type { Db } from "./client";

/**
 * Runs one D1 batch. A service that reads in several sequential calls takes one, so a route can
 * hand it a batch that puts the session check in front of the first call (`sessionCheckedBatch`)
 * while the service stays free of Hono and of auth.
 */
export type Batch = <U extends BatchItem<"sqlite">, T extends Readonly<[U, ...U[]]>>(queries: T) => Promise<BatchResponse<T>>;

/** The database's own batch, for callers with no session check to fold in (tests, services). */
export const plainBatch =
  (db: Db): Batch =>
  (queries) =>
    db.batch(queries);
