// What the Worker bundle gets for "@asteasolutions/zod-to-openapi" (wrangler.toml [alias]; vitest
// and scripts/build-openapi.mjs do not apply it). @hono/zod-openapi needs the registry at runtime,
// to record each route as it is declared, but its document generators only when a document is
// built, and the document is built at build time (scripts/build-openapi.mjs writes
// public/openapi.json). Referenced from OpenAPIHono's methods, the generators (and the JSON
// Schema code they pull in) stayed in the bundle: 5.6 KB of gzip. The real module by its path:
// esbuild's alias also rewrites the package's subpaths. Plain JS, so tsc, which would find no
// declarations for that path, leaves it alone.
export { OpenAPIRegistry, extendZodWithOpenApi, getOpenApiMetadata } from "../../node_modules/@asteasolutions/zod-to-openapi/dist/index.mjs";

class BuiltAtBuildTime {
  constructor() {
    throw new Error("The OpenAPI document is built at build time (scripts/build-openapi.mjs), not in the Worker.");
  }
}

export { BuiltAtBuildTime as OpenApiGeneratorV3, BuiltAtBuildTime as OpenApiGeneratorV31 };
