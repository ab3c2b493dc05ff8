// `.ci/checks/40-openapi-lint.sh` (after `npm run build`): the OpenAPI document as the built Worker
// serves it, linted with Redocly's recommended rules (redocly.yaml; 0 errors and 0 warnings to
// pass), then turned into TypeScript by openapi-typescript with its default options (the SDK's
// generator) and type-checked under `strict` as a client would use it. Prints one line
// `openapi-lint: N passed, M failed`; exits non-zero on any failure.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { randomSecret, workerOptions } from "../bench/lib/worker.mjs";

const root = join(import.meta.dirname, "..");
const documentPath = join(root, "public", "openapi.json");
const work = mkdtempSync(join(tmpdir(), "openapi-check-"));
const results = [];
const check = async (name, run) => {
  try {
    const failure = await run();
    results.push({ name, failure });
  } catch (error) {
    results.push({ name, failure: String(error?.message ?? error).split("\n")[0] });
  }
};
const npx = (args) => spawnSync("npx", args, { cwd: root, encoding: "utf8" });

await check("the built Worker serves public/openapi.json at /openapi.json", async () => {
  const { serviceBindings: _stub, ...options } = workerOptions({ root, scriptPath: join(root, "dist", "index.js"), jwtSecret: randomSecret() });
  const mf = new Miniflare(
    convertV4MiniflareOptions({ ...options, assets: { directory: join(root, "public"), binding: "ASSETS", routerConfig: { invoke_user_worker_ahead_of_assets: true, has_user_worker: true } } }),
  );
  try {
    const res = await mf.dispatchFetch("http://localhost/openapi.json");
    const served = await res.text();
    if (res.status !== 200) return `GET /openapi.json answered ${res.status}`;
    if (JSON.stringify(JSON.parse(served)) !== JSON.stringify(JSON.parse(readFileSync(documentPath, "utf8")))) return "the served document differs from public/openapi.json";
    return null;
  } finally {
    await mf.dispose();
  }
});

await check("redocly lint (recommended): 0 errors, 0 warnings", () => {
  const run = npx(["redocly", "lint", "public/openapi.json", "--format=summary"]);
  const out = `${run.stdout}\n${run.stderr}`;
  console.log(out.trim());
  if (run.status !== 0) return "redocly lint reported errors";
  if (/warning/i.test(out.replace(/problems? (is|are) explicitly ignored/g, ""))) return "redocly lint reported warnings";
  if (!/Your API description is valid/.test(out)) return "redocly lint did not confirm the document is valid";
  return null;
});

const typesPath = join(work, "api.d.ts");
await check("openapi-typescript generates types with its default options", () => {
  const run = npx(["openapi-typescript", documentPath, "-o", typesPath]);
  if (run.status !== 0) return `openapi-typescript failed: ${(run.stderr || run.stdout).trim().split("\n").at(-1)}`;
  return null;
});

await check("the generated types serve a strict client: defaults optional in requests, 409/412/changelog bodies typed", () => {
  const usage = join(work, "usage.ts");
  writeFileSync(
    usage,
    `import type { components, paths } from "./api";
type Schemas = components["schemas"];
type IsUnknown<T> = unknown extends T ? true : false;
// A create body needs only what the server requires; defaulted members stay optional.
export const create: paths["/api/events"]["post"]["requestBody"]["content"]["application/json"] = { title: "Standup", start_time: "2031-03-03T09:00:00", end_time: "2031-03-03T09:15:00" };
export const share: Schemas["ShareRequest"][] = [{ users: [{ user_id: 2, role: "editor" }] }, [{ username: "grace", role: "viewer" }], { email: "a@b.c", role: "owner" }];
export const batch: Schemas["BatchCreate"][] = [{ events: [create] }, [create]];
type Conflict = paths["/api/events"]["post"]["responses"][409]["content"]["application/problem+json"];
type Stale = paths["/api/events/{id}"]["patch"]["responses"][412]["content"]["application/problem+json"];
type Changelog = paths["/api/events/{id}/changelog"]["get"]["responses"][200]["content"]["application/json"];
export const typed: [IsUnknown<Conflict["conflicts"]>, IsUnknown<Conflict["suggestions"]>, IsUnknown<Stale["current"]>, IsUnknown<Changelog["items"]>, IsUnknown<Conflict["code"]>] = [false, false, false, false, false];
export const when: string = ({} as Stale)["current"].start_time;
`,
  );
  const run = npx(["tsc", "--noEmit", "--strict", "--exactOptionalPropertyTypes", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", usage]);
  if (run.status !== 0) return `tsc: ${run.stdout.trim().split("\n").slice(0, 3).join(" | ")}`;
  return null;
});

for (const { name, failure } of results) console.log(`openapi-lint: ${failure ? "FAIL" : "PASS"} ${name}${failure ? `: ${failure}` : ""}`);
const failed = results.filter((r) => r.failure).length;
console.log(`openapi-lint: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
