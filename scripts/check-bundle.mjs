// `npm run check:bundle` (after `npm run build`): the production bundle's gzip size against the
// limit, one counted check in .ci/run. Also fails when zod's locale alias (wrangler.toml) stops
// doing its job or starts catching another package's import, and when the aliased bundle no longer
// answers bad input with zod's English messages: vitest does not apply wrangler's [alias], so only
// this check and the suites run on dist/ (browser, tcp, bench) see the bundle as deployed.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { bundleComposition } from "../bench/lib/bundle.mjs";
import { randomSecret, startWorker, workerOptions } from "../bench/lib/worker.mjs";

/**
 * Gzip bytes (zlib level 6, the figure `wrangler deploy` prints as "gzip") the Worker may reach.
 * The goal is 120 KB (issue 13); the bundle is not there yet, so this holds the size reached
 * (146,670 bytes at the time of writing) with a little room, and goes down as the bundle does.
 */
export const LIMIT_BYTES = 150 * 1024;

const root = join(import.meta.dirname, "..");
// Another build's output directory may be named (wrangler deploy --dry-run --outdir <dir> --metafile <dir>/meta.json).
const dist = process.argv[2] ?? join(root, "dist");
const scriptPath = join(dist, "index.js");
const metaPath = join(dist, "meta.json");

const failures = [];

if (!existsSync(scriptPath) || !existsSync(metaPath)) {
  console.error(`${scriptPath} or ${metaPath} is missing: run \`npm run build\` first.`);
  process.exit(1);
}

const gzipBytes = gzipSync(readFileSync(scriptPath)).length;
console.log(`bundle: ${gzipBytes} gzip (limit ${LIMIT_BYTES})`);
if (gzipBytes > LIMIT_BYTES) failures.push(`the gzip bundle is ${gzipBytes - LIMIT_BYTES} bytes over the limit`);

// The alias key is a relative specifier, and wrangler matches it in every importer: only zod's
// own modules may import it, and only zod's English locale may be in the bundle.
const meta = JSON.parse(readFileSync(metaPath, "utf8"));
const aliasKey = "../locales/index.js";
for (const [input, { imports }] of Object.entries(meta.inputs)) {
  if (imports.some((i) => i.original === aliasKey) && !input.includes("node_modules/zod/")) {
    failures.push(`${input} imports "${aliasKey}", which wrangler.toml aliases to zod's English locale`);
  }
}
const locales = Object.keys(meta.inputs).filter((input) => input.includes("node_modules/zod/v4/locales/"));
const extra = locales.filter((input) => !input.endsWith("/locales/en.js"));
if (extra.length) failures.push(`zod locales other than en are bundled (${extra.length}, e.g. ${extra[0]}): is the [alias] in wrangler.toml still matching?`);

const composition = bundleComposition(scriptPath, 8);
if (composition) {
  console.log("bundle: largest origins (raw bytes of minified output)");
  for (const { name, bytes, share } of composition) console.log(`  ${String(bytes).padStart(7)}  ${(100 * share).toFixed(1).padStart(4)}%  ${name}`);
}

// The bundle as deployed must still validate, in English: zod's error map from locales/en.js
// writes the two type messages (email has a message of its own).
const expected = [
  "email: A valid email address.",
  "password: Invalid input: expected string, received undefined",
  "username: Invalid input: expected string, received number",
];
let worker;
try {
  worker = await startWorker(workerOptions({ root, scriptPath, jwtSecret: randomSecret() }));
  const response = await fetch(new URL("/api/auth/register", worker.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: 7 }),
  });
  const body = await response.json();
  const messages = (body.errors ?? []).map((e) => `${e.field}: ${e.message}`).sort();
  if (response.status !== 422 || JSON.stringify(messages) !== JSON.stringify(expected)) {
    failures.push(`the bundle answered a bad registration with ${response.status} ${JSON.stringify(messages)}, not 422 ${JSON.stringify(expected)}`);
  } else console.log("bundle: a bad registration gets 422 with zod's English messages");
} catch (error) {
  failures.push(`the bundle did not start or answer under Miniflare: ${error.message.split("\n")[0]}`);
} finally {
  await worker?.mf.dispose();
}

for (const failure of failures) console.error(`bundle: FAIL ${failure}`);
process.exit(failures.length ? 1 : 0);
