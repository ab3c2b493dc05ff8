// What @hono/zod-openapi gets for `import { z } from "zod"` in the production bundle (wrangler.toml
// [alias]; vitest does not apply it). The library uses that `z` only to call
// extendZodWithOpenApi(z), which reads z.ZodType alone, and to re-export it. Handed zod's whole
// namespace, esbuild must keep every export of zod: its schema compiler, fromJSONSchema and 64
// locales, 470 KB of minified zod where 96 KB is used. So our code imports zod as
// `import * as z from "../lib/zod"` (esbuild then keeps only what it uses) and never takes `z`
// from "@hono/zod-openapi", which in the bundle is this object; scripts/check-bundle.mjs fails the
// build otherwise.
import { ZodType } from "zod/v4";

export const z = { ZodType };
