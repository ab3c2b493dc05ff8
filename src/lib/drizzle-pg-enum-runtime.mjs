// What drizzle-orm's sql/sql.js gets for "../pg-core/columns/enum.js" in the Worker bundle
// (wrangler.toml [alias], keyed by that exact relative specifier; vitest does not apply it). sql.js
// asks of every chunk whether it is a Postgres enum, and importing the answer from pg-core drags
// Postgres's column builders into a SQLite Worker: 1.2 KB of gzip. The test is the same one
// pg-core/columns/enum.js makes (its brand symbol); nothing here ever makes a pg enum.
const isPgEnumSym = Symbol.for("drizzle:isPgEnum");

export function isPgEnum(obj) {
  return !!obj && typeof obj === "function" && isPgEnumSym in obj && obj[isPgEnumSym] === true;
}
