// Stands in for zod's locales index (node_modules/zod/v4/locales/index.js) in the production
// bundle only, through wrangler.toml's [alias]. zod re-exports that index as `z.locales` and
// `z.core.locales`, and @hono/zod-openapi hands the whole `z` namespace to
// extendZodWithOpenApi(z), so esbuild must keep every one of the 64 locales (267 KB raw) although
// nothing here calls z.config(z.locales.xx()). zod installs English itself from locales/en.js,
// which this re-exports, so messages are unchanged and `z.locales.en` still works; any other
// `z.locales.xx` is undefined in the bundle. Tests (vitest) resolve the real index.
export { default as en } from "zod/v4/locales/en.js";
