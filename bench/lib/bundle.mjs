import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

// Gzip bytes are zlib's default level 6: the "gzip" figure `wrangler deploy` prints.
/** Issue 13: the Worker without the iCalendar libraries, at most 120 KiB of gzip. */
export const API_LIMIT_BYTES = 122_880;
/** Issue 15: the iCalendar libraries may raise the gate by what they cost, by at most 40 KiB. */
export const ICAL_ALLOWANCE_BYTES = 40_960;
export const LIMIT_BYTES = API_LIMIT_BYTES + ICAL_ALLOWANCE_BYTES;
/** What the iCalendar libraries are; bench/lib/ical-stub.mjs stands in for each to measure their cost. */
export const ICAL_PACKAGES = ["ical.js", "ical-generator", "timezones-ical-library"];

export const gzipSize = (path) => gzipSync(readFileSync(path)).length;

/**
 * The gzip size of the Worker as `wrangler deploy` builds it with every iCalendar library aliased
 * to a stub: what the rest of the Worker costs. The bundle with them minus this is what they cost
 * (both are measured, so neither drifts from a constant written down once).
 */
export function gzipWithoutIcal(root) {
  const outdir = mkdtempSync(join(tmpdir(), "bundle-without-ical-"));
  try {
    const aliases = ICAL_PACKAGES.flatMap((name) => ["--alias", `${name}:./bench/lib/ical-stub.mjs`]);
    execFileSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", outdir, ...aliases], { cwd: root, stdio: "pipe" });
    return gzipSize(join(outdir, "index.js"));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The gates of issues 13 and 15 for a built bundle: a list of what fails, and the figures. */
export function bundleGates(root, scriptPath) {
  const gzip = gzipSize(scriptPath);
  const withoutIcal = gzipWithoutIcal(root);
  const ical = gzip - withoutIcal;
  const failures = [];
  if (withoutIcal > API_LIMIT_BYTES) failures.push(`without the iCalendar libraries the gzip bundle is ${withoutIcal} bytes, ${withoutIcal - API_LIMIT_BYTES} over ${API_LIMIT_BYTES}`);
  if (ical > ICAL_ALLOWANCE_BYTES) failures.push(`the iCalendar libraries cost ${ical} bytes of gzip, ${ical - ICAL_ALLOWANCE_BYTES} over their ${ICAL_ALLOWANCE_BYTES}`);
  return { gzip, withoutIcal, ical, failures };
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = Object.fromEntries([...BASE64].map((c, i) => [c, i]));

/** Decodes one source-map segment (base64 VLQ) into its numbers. */
export function decodeSegment(segment) {
  const values = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = DIGIT[char];
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/**
 * "node_modules/@scope/name/..." -> "@scope/name"; our own code -> "src". drizzle-orm's own source
 * maps point at "node_modules/src/...". zod's locales are counted apart.
 */
function packageOf(source) {
  // zod's namespace export reaches every locale, so esbuild cannot drop the unused ones.
  if (source.includes("/zod/v4/locales/")) return "zod (64 locales; only en is used)";
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (match) return match[1] === "src" ? "drizzle-orm" : match[1];
  if (/(^|\/)src\//.test(source)) return "src (this project)";
  return source.replace(/^(\.\.\/)+/, "");
}

/**
 * Which packages the bundle's bytes come from, by walking its source map: every generated
 * character is charged to the source its mapping segment names (only the source index carries
 * across lines; source line, column and name do not matter here). Returns the top `count`.
 */
export function bundleComposition(scriptPath, count = 8) {
  const mapPath = `${scriptPath}.map`;
  if (!existsSync(mapPath)) return null;
  const map = JSON.parse(readFileSync(mapPath, "utf8"));
  const lines = readFileSync(scriptPath, "utf8").split("\n");
  const bytes = new Map();
  let source = 0;
  map.mappings.split(";").forEach((line, lineIndex) => {
    const text = lines[lineIndex] ?? "";
    let column = 0;
    let previous = null;
    const charge = (until) => {
      if (previous !== null) {
        const name = packageOf(map.sources[previous.source] ?? "?");
        bytes.set(name, (bytes.get(name) ?? 0) + Buffer.byteLength(text.slice(previous.column, until)));
      }
    };
    for (const segment of line ? line.split(",") : []) {
      const [columnDelta, sourceDelta] = decodeSegment(segment);
      column += columnDelta;
      charge(column);
      if (sourceDelta !== undefined) {
        source += sourceDelta;
        previous = { column, source };
      } else previous = null;
    }
    charge(text.length);
  });
  const total = [...bytes.values()].reduce((a, b) => a + b, 0);
  return [...bytes.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, size]) => ({ name, bytes: size, share: size / total }));
}
