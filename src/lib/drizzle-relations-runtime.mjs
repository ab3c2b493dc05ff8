// What drizzle-orm's SQLite dialect, D1 driver and relational query builder get for its relations
// module in the Worker bundle (wrangler.toml [alias], keyed by the exact relative specifiers
// "../relations.js" and "../../relations.js"; vitest does not apply it). They reach it only for
// db.query.* (relational queries), which needs drizzle(..., { schema }): src/db/client.ts passes no
// schema, so the code is unreachable here, and it was 1.3 KB of gzip. If a schema is ever passed,
// the first call throws instead of querying wrongly.
function relationalQueriesAreNotBundled() {
  throw new Error("drizzle's relational queries (db.query.*) are not in this Worker; see src/lib/drizzle-relations-runtime.mjs.");
}

export class One {}
export class Many {}
export {
  relationalQueriesAreNotBundled as createTableRelationsHelpers,
  relationalQueriesAreNotBundled as extractTablesRelationalConfig,
  relationalQueriesAreNotBundled as getOperators,
  relationalQueriesAreNotBundled as getOrderByOperators,
  relationalQueriesAreNotBundled as mapRelationalRow,
  relationalQueriesAreNotBundled as normalizeRelation,
};
