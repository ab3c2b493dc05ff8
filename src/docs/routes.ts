import type { OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../env";
import { serveAsset } from "../site/routes";

const DESCRIPTION = `Collaborative events with sharing, a version for every change, and real-time notifications.

Every endpoint speaks JSON and MessagePack: send \`Content-Type: application/msgpack\` and/or \`Accept: application/msgpack\`.
Errors are RFC 9457 problem documents. Times are ISO 8601; output is always UTC with \`Z\`.
Real-time notifications: \`GET /ws/notifications?token=<access_token>[&since=<id>][&format=msgpack]\` (WebSocket; see the README).`;

/**
 * Adds the security schemes and serves the OpenAPI 3.1 document generated from the route schemas,
 * built once per isolate on first request, when every route is registered.
 */
export function registerOpenApi(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  app.openAPIRegistry.registerComponent("securitySchemes", "oauth2", {
    type: "oauth2",
    description: "Log in with username (or email) and password; Swagger UI's Authorize does this for you.",
    flows: { password: { tokenUrl: "/api/auth/login", refreshUrl: "/api/auth/refresh", scopes: {} } },
  });
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  // Not app.doc31: it answers a generation failure with the raw error as JSON, outside the problem path.
  app.get("/openapi.json", (c) => {
    try {
      document ??= app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: { title: "Collaborative Event Management API", version: "1.0.0", description: DESCRIPTION },
        servers: [{ url: "/" }],
      });
    } catch (cause) {
      // zod-to-openapi throws errors that are not `Error`s, which Hono would pass by `onError`.
      throw new Error("The OpenAPI document could not be generated.", { cause });
    }
    return c.json(document);
  });
}

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

/** Swagger UI and ReDoc, with every script and style served by this Worker (no CDN). */
export const docsRoutes = new Hono<AppEnv>()
  .get("/docs", (c) => c.html(swaggerPage))
  .get("/redoc", (c) => c.html(redocPage))
  .get("/static/docs/swagger-init.js", (c) => c.body(swaggerInit, 200, { "Content-Type": "text/javascript; charset=utf-8" }))
  .get("/static/*", serveAsset);
