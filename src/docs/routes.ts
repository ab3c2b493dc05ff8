import { Hono } from "hono";
import type { AppEnv } from "../env";
import { serveAsset } from "../site/routes";

/**
 * The OpenAPI document, Swagger UI and ReDoc, with every script and style served by this Worker (no
 * CDN). All are static assets (site/docs.html, site/redoc.html, and public/openapi.json built from
 * the route schemas by src/docs/document.ts, run by `npm run prepare-assets`): their text stays out
 * of the Worker bundle, and no isolate spends CPU generating the document.
 */
export const docsRoutes = new Hono<AppEnv>()
  .get("/openapi.json", async (c) => {
    const asset = await c.env.ASSETS.fetch(c.req.raw);
    // A deployment without it was built without `npm run prepare-assets`: our failure, not the client's.
    if (asset.status !== 200 && asset.status !== 304) throw new Error("public/openapi.json is missing; run `npm run prepare-assets`.");
    return asset;
  })
  .get("/docs", serveAsset)
  .get("/redoc", serveAsset)
  .get("/static/*", serveAsset);
