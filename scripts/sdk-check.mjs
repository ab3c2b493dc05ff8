#!/usr/bin/env node
// CI check of the SDK (run after `npm run build`): sdk/schema.d.ts is what the built Worker's
// /openapi.json generates; the SDK and its flow test type-check under strict, with the Worker's
// types and alone with the browser's, the README's examples included (sdk/example.ts); and the generated types of every 409 and 412 body and of
// the changelog, history and diff bodies contain no `unknown` (an untyped member would reach the
// app as `unknown`). Prints one PASS/FAIL line per check and `sdk: N passed, M failed`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { schemaSource, servedDocument } from "./sdk-generate.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const results = [];
const record = (name, failure) => {
  results.push({ name, failure });
  console.log(failure ? `sdk: FAIL ${name}: ${failure}` : `sdk: PASS ${name}`);
};

const document = await servedDocument();
const generated = await schemaSource(document);
const committed = readFileSync(join(ROOT, "sdk", "schema.d.ts"), "utf8");
record("sdk/schema.d.ts is what /openapi.json generates", committed === generated ? null : "differs; run `npm run sdk:generate` and commit sdk/schema.d.ts");

{
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### SDK"), readme.indexOf("\n## ", readme.indexOf("### SDK")));
  const example = readFileSync(join(ROOT, "sdk", "example.ts"), "utf8");
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const drifted = blocks.filter((block) => !example.includes(block)).length;
  record("the README's SDK examples are sdk/example.ts", blocks.length === 0 ? "no ```ts block under ### SDK" : drifted ? `${drifted} of ${blocks.length} blocks differ from sdk/example.ts` : null);
}

for (const project of ["sdk/tsconfig.json", "sdk/tsconfig.browser.json"]) {
  try {
    execFileSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", project], { cwd: ROOT, stdio: "pipe" });
    record(`tsc -p ${project}`, null);
  } catch (error) {
    record(`tsc -p ${project}`, `\n${error.stdout}${error.stderr}`.trimEnd());
  }
}

/** Bodies that must be fully typed: every 409 and 412, and the version views. */
const VERSION_VIEWS = /\/(changelog|history\/\{[^}]+\}|diff\/\{[^}]+\}\/\{[^}]+\})$/;
const targets = [];
for (const [path, item] of Object.entries(document.paths ?? {})) {
  for (const method of ["get", "put", "post", "patch", "delete"]) {
    for (const status of Object.keys(item[method]?.responses ?? {})) {
      if (status === "409" || status === "412" || (status === "200" && method === "get" && VERSION_VIEWS.test(path))) targets.push({ path, method, status });
    }
  }
}

const probe = targets.map((t, i) => `export type T${i} = ResponseBody<${JSON.stringify(t.path)}, ${JSON.stringify(t.method)}, ${t.status}>;`).join("\n");
const probeFile = join(ROOT, "sdk", "__unknown-probe.ts");
const options = { strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, lib: ["lib.es2023.d.ts", "lib.dom.d.ts"], types: [] };
const host = ts.createCompilerHost(options);
const readFile = host.readFile;
host.readFile = (file) => (file === probeFile ? `import type { ResponseBody } from "./index";\n${probe}\n` : readFile(file));
host.fileExists = ((exists) => (file) => file === probeFile || exists(file))(host.fileExists);
const program = ts.createProgram([probeFile], options, host);
const checker = program.getTypeChecker();
const source = program.getSourceFile(probeFile);

/** Where `unknown` (or `any`) hides in a type: member paths, or [] when nowhere. */
function unknownsIn(type, at = "body", seen = new Set(), found = []) {
  if (found.length >= 5 || seen.has(type)) return found;
  if (type.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) return found.push(at) && found;
  if (type.flags & ts.TypeFlags.Never && at === "body") return found.push(`${at} is never (no JSON content)`) && found;
  seen.add(type);
  if (type.isUnionOrIntersection()) {
    for (const part of type.types) unknownsIn(part, at, seen, found);
    return found;
  }
  if (!(type.flags & ts.TypeFlags.Object)) return found;
  if (checker.isArrayType(type)) return unknownsIn(checker.getTypeArguments(type)[0], `${at}[]`, seen, found);
  for (const info of checker.getIndexInfosOfType(type)) unknownsIn(info.type, `${at}[key]`, seen, found);
  for (const property of checker.getPropertiesOfType(type)) unknownsIn(checker.getTypeOfSymbol(property), `${at}.${property.name}`, seen, found);
  return found;
}

const aliases = source.statements.filter(ts.isTypeAliasDeclaration);
targets.forEach((target, i) => {
  const type = checker.getTypeAtLocation(aliases[i].name);
  const where = unknownsIn(type);
  record(`${target.status} body of ${target.method.toUpperCase()} ${target.path} has no unknown`, where.length ? `unknown at ${where.join(", ")}` : null);
});
if (targets.length === 0) record("the document has 409 and 412 responses to check", "none found");

const failed = results.filter((r) => r.failure).length;
console.log(`sdk: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
