import { readFileSync } from "node:fs";

/**
 * Reads the subset of TOML that wrangler.toml uses (tables, arrays of tables, bare and quoted
 * keys, strings, numbers, booleans, string arrays, one-line inline tables), so the bench takes its bindings from the same
 * file as `wrangler deploy` without importing wrangler (which takes seconds to load).
 *
 * @example
 * const config = readWranglerToml("wrangler.toml");
 * config.ratelimits.map((r) => r.name); // ["LOGIN_IP_LIMITER", ...]
 */
export function readWranglerToml(path) {
  const root = {};
  let target = root;
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#")) continue;
    const arrayTable = /^\[\[([\w.]+)\]\]$/.exec(line);
    const table = /^\[([\w.]+)\]$/.exec(line);
    if (arrayTable || table) {
      const keys = (arrayTable ?? table)[1].split(".");
      let parent = root;
      for (const key of keys.slice(0, -1)) parent = parent[key] ??= {};
      const last = keys.at(-1);
      if (arrayTable) (parent[last] ??= []).push((target = {}));
      else target = parent[last] ??= {};
      continue;
    }
    // A bare key, or a quoted one ([alias] names packages: "@scope/name").
    const pair = /^(?:([\w-]+)|"([^"]+)")\s*=\s*(.+)$/.exec(line);
    if (!pair) throw new Error(`${path}: cannot read line ${JSON.stringify(raw)}`);
    target[pair[1] ?? pair[2]] = tomlValue(pair[3]);
  }
  return root;
}

function tomlValue(text) {
  // Inline tables and arrays become JSON once bare keys are quoted and `=` becomes `:`.
  const json = text.startsWith("{") ? text.replace(/([\w-]+)\s*=/g, '"$1":') : text;
  return JSON.parse(json);
}
