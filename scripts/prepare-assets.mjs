// Copies the Swagger UI and ReDoc browser bundles from node_modules into public/, which wrangler
// serves as static assets (the docs pages then load nothing from a third-party CDN), and builds the
// OpenAPI document into public/openapi.json (scripts/build-openapi.mjs).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const swaggerDir = dirname(require.resolve("swagger-ui-dist/package.json"));
const redocDir = dirname(require.resolve("redoc/package.json"));
const out = new URL("../public/static/", import.meta.url).pathname;

mkdirSync(join(out, "swagger-ui"), { recursive: true });
mkdirSync(join(out, "redoc"), { recursive: true });
for (const file of ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "oauth2-redirect.html", "favicon-32x32.png"]) {
  cpSync(join(swaggerDir, file), join(out, "swagger-ui", file));
}
// ReDoc's footer loads its logo from cdn.redoc.ly; serve the page with nothing from elsewhere.
const redoc = readFileSync(join(redocDir, "bundles", "redoc.standalone.js"), "utf8");
const logo = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'/%3E";
writeFileSync(join(out, "redoc", "redoc.standalone.js"), redoc.replaceAll("https://cdn.redoc.ly/redoc/logo-mini.svg", logo));
console.log(`docs assets copied to ${out}`);

const { writeOpenApiDocument } = await import("./build-openapi.mjs");
console.log(`OpenAPI document written to ${await writeOpenApiDocument()}`);
