import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../env";
import { serveAsset } from "../site/routes";

const swaggerPage = html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Collaborative Event Management API: Swagger UI</title>
    <link rel="icon" href="/static/swagger-ui/favicon-32x32.png" />
    <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
    <script src="/static/swagger-ui/swagger-ui-standalone-preset.js"></script>
    <script src="/static/docs/swagger-init.js"></script>
  </body>
</html>`;

// Served as a file, not inline, so the page works under a strict script policy too.
const swaggerInit = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  // The default badge is an image from validator.swagger.io: a third-party request from our page.
  validatorUrl: null,
  oauth2RedirectUrl: location.origin + "/static/swagger-ui/oauth2-redirect.html",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});`;

const redocPage = html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Collaborative Event Management API: ReDoc</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="/static/swagger-ui/favicon-32x32.png" />
  </head>
  <body>
    <redoc spec-url="/openapi.json" hide-download-button="false"></redoc>
    <script src="/static/redoc/redoc.standalone.js"></script>
  </body>
</html>`;

/**
 * The OpenAPI document, Swagger UI and ReDoc, with every script and style served by this Worker (no
 * CDN). The document is a static asset built from the route schemas (src/docs/document.ts, run by
 * `npm run prepare-assets`): its prose stays out of the Worker bundle, and no isolate spends CPU
 * generating it.
 */
export const docsRoutes = new Hono<AppEnv>()
  .get("/openapi.json", async (c) => {
    const asset = await c.env.ASSETS.fetch(c.req.raw);
    // A deployment without it was built without `npm run prepare-assets`: our failure, not the client's.
    if (asset.status !== 200 && asset.status !== 304) throw new Error("public/openapi.json is missing; run `npm run prepare-assets`.");
    return asset;
  })
  .get("/docs", (c) => c.html(swaggerPage))
  .get("/redoc", (c) => c.html(redocPage))
  .get("/static/docs/swagger-init.js", (c) => c.body(swaggerInit, 200, { "Content-Type": "text/javascript; charset=utf-8" }))
  .get("/static/*", serveAsset);
