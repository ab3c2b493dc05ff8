// zod as this project imports it: `import * as z from "../lib/zod"`. @hono/zod-openapi is loaded
// first because it installs .openapi() on zod's ZodType, which schemas call at module scope. A
// namespace import through `export *` lets esbuild keep only the members we use, where a named
// `z` (from zod or @hono/zod-openapi) keeps all of zod; see zod-for-openapi.ts.
import "@hono/zod-openapi";

export * from "zod/v4";
