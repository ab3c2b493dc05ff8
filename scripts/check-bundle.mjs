// `npm run check:bundle` (builds first): the production bundle's gzip size against the limit, one
// counted check in .ci/run. It also fails when the way zod is imported stops keeping the bundle
// lean (see src/lib/zod-for-openapi.ts), and when the bundle as built no longer starts or no longer
// answers bad input with zod's English messages: vitest does not apply wrangler's [alias], so only
// this check and the suites run on dist/ (test:bundle, browser, tcp, bench) see the Worker as deployed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bundleComposition, bundleGates, ICAL_ALLOWANCE_BYTES, API_LIMIT_BYTES } from "../bench/lib/bundle.mjs";
import { randomSecret, startWorker, workerOptions } from "../bench/lib/worker.mjs";


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

// Issue 13's gate (the Worker, 120 KiB) and issue 15's (what the iCalendar libraries add, 40 KiB at most).
const gates = bundleGates(root, scriptPath);
console.log(`bundle: ${gates.gzip} gzip: ${gates.withoutIcal} without the iCalendar libraries (limit ${API_LIMIT_BYTES}), and ${gates.ical} for them (limit ${ICAL_ALLOWANCE_BYTES})`);
failures.push(...gates.failures);

const composition = bundleComposition(scriptPath, 8);
if (composition) {
  console.log("bundle: largest origins (bytes of minified output)");
  for (const { name, bytes, share } of composition) console.log(`  ${String(bytes).padStart(7)}  ${(100 * share).toFixed(1).padStart(4)}%  ${name}`);
}

// In the bundle, bare "zod" is the one-member object of src/lib/zod-for-openapi.ts: only
// @hono/zod-openapi may import it, and our code must import zod as a namespace from src/lib/zod.ts
// (a named `z`, from zod or from @hono/zod-openapi, is either that object or zod's whole namespace).
const meta = JSON.parse(readFileSync(metaPath, "utf8"));
for (const [input, { imports }] of Object.entries(meta.inputs)) {
  if (imports.some((i) => i.original === "zod") && !input.includes("node_modules/@hono/zod-openapi/")) {
    failures.push(`${input} imports "zod", which wrangler.toml aliases to src/lib/zod-for-openapi.ts; import * as z from "../lib/zod" instead`);
  }
}
for (const file of sourceFiles(join(root, "src"))) {
  const text = readFileSync(file, "utf8");
  for (const [statement, what, from] of text.matchAll(/^import\s+(?!type\s)([^;]*?)\s+from\s+"(zod(?:\/[^"]*)?|@hono\/zod-openapi)";/gms)) {
    const bad =
      from === "zod" || // aliased in the bundle
      /\{[^}]*\bz\b[^}]*\}/.test(what) || // a named `z` is a namespace re-exported, kept whole
      (from.startsWith("zod") && /^\w+\s*(,|$)/.test(what)); // a default import is the namespace too
    if (bad) failures.push(`${file.slice(root.length + 1)}: \`${statement.replace(/\s+/g, " ")}\`; import zod as \`import * as z from "../lib/zod";\` (src/lib/zod.ts)`);
  }
}
// wrangler.toml also aliases five relative specifiers, each to cut dead code out of one package
// (src/lib/*-runtime.mjs say what and why). An alias matches the specifier wherever it is written,
// so each must be imported by its own package alone, and still be imported at all (after an
// upgrade that renames the module the alias would silently do nothing).
const RELATIVE_ALIASES = {
  "../core/json-schema-processors.js": "node_modules/zod/",
  "../core/to-json-schema.js": "node_modules/zod/",
  "../pg-core/columns/enum.js": "node_modules/drizzle-orm/",
  "../relations.js": "node_modules/drizzle-orm/",
  "../../relations.js": "node_modules/drizzle-orm/",
};
for (const [specifier, owner] of Object.entries(RELATIVE_ALIASES)) {
  const importers = Object.entries(meta.inputs).filter(([, { imports }]) => imports.some((i) => i.original === specifier)).map(([input]) => input);
  if (!importers.length) failures.push(`nothing imports "${specifier}" any more: its [alias] in wrangler.toml is stale`);
  for (const input of importers.filter((i) => !i.includes(owner))) failures.push(`${input} imports "${specifier}", which wrangler.toml aliases for ${owner} alone`);
}
// meta.inputs lists every module esbuild read; the output's inputs say which left bytes in the bundle.
const bundled = Object.values(meta.outputs).flatMap((o) => Object.entries(o.inputs ?? {}).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k));
const locales = bundled.filter((input) => /node_modules\/zod\/v4\/locales\/(?!en\.js$|index\.js$)/.test(input));
if (locales.length) failures.push(`${locales.length} zod locales besides en are bundled (e.g. ${locales[0]}): zod's namespace is referenced as a whole somewhere`);

// The Worker as deployed must start and still validate in English: zod's error map (locales/en.js)
// writes the two type messages; email has a message of its own.
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
  } else console.log("bundle: starts, and a bad registration gets 422 with zod's English messages");
} catch (error) {
  failures.push(`the bundle did not start or answer under Miniflare: ${String(error.message).split("\n")[0]}`);
} finally {
  await worker?.mf.dispose();
}

for (const failure of failures) console.error(`bundle: FAIL ${failure}`);
process.exit(failures.length ? 1 : 0);

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry.name)) yield path;
  }
}
