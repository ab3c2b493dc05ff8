// Writes the OpenAPI document (src/docs/document.ts: the app's route schemas plus the prose of
// src/docs/prose.ts) to public/openapi.json, which the Worker serves as a static asset. The app's
// TypeScript is bundled for Node with esbuild (the exact version wrangler pins and bundles the
// Worker with); the one workerd-only import, cloudflare:workers, becomes a stub class, since
// building the document only declares routes and never runs a Durable Object.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const root = join(import.meta.dirname, "..");

/** The document as `buildOpenApiDocument(createApp())` gives it. */
export async function openApiDocument() {
  const result = await build({
    stdin: { contents: 'export { createApp } from "./src/app"; export { buildOpenApiDocument } from "./src/docs/document";', resolveDir: root, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    logLevel: "error",
    plugins: [
      {
        name: "workerd-stubs",
        setup(b) {
          b.onResolve({ filter: /^cloudflare:/ }, (args) => ({ path: args.path, namespace: "workerd-stub" }));
          b.onLoad({ filter: /.*/, namespace: "workerd-stub" }, () => ({ contents: "export class DurableObject {}", loader: "js" }));
        },
      },
    ],
  });
  const url = `data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString("base64")}`;
  const { createApp, buildOpenApiDocument } = await import(url);
  return buildOpenApiDocument(createApp());
}

/** Builds the document and writes it to `out` (default public/openapi.json); returns the path. */
export async function writeOpenApiDocument(out = join(root, "public", "openapi.json")) {
  const doc = await openApiDocument();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(`OpenAPI document written to ${await writeOpenApiDocument(process.argv[2])}`);
