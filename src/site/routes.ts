import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as z from "../lib/zod";
import type { AppEnv } from "../env";
import { createRouter } from "../lib/openapi";
import { notFound } from "../lib/problem";

/** A file of the static assets (public/, built by scripts/prepare-assets.mjs), not of the bundle; 404 as a problem. */
export async function serveAsset(c: Context<AppEnv>) {
  const file = await c.env.ASSETS.fetch(c.req.raw);
  if (file.status === 404) throw notFound("file");
  return file;
}

const PAGES: [path: string, operationId: string, summary: string, type: string][] = [
  ["/", "getLandingPage", "Landing page", "text/html"],
  ["/app", "getWebApp", "The web app", "text/html"],
  ["/history", "getHistoryLinkPage", "The page of a signed history link (`html_url`)", "text/html"],
  ["/favicon.ico", "getFavicon", "Site icon", "image/x-icon"],
  ["/asyncapi.json", "getAsyncApiDocument", "The AsyncAPI 3 document of the notification socket (`/ws/notifications`)", "application/json"],
];

export const siteRoutes = createRouter();
for (const [path, operationId, summary, type] of PAGES) {
  siteRoutes.openapi(createRoute({ method: "get", path, operationId, tags: ["Documentation"], summary, security: [], responses: { 200: { description: summary, content: { [type]: { schema: type === "application/json" ? z.object({ asyncapi: z.string() }).passthrough() : z.string() } } } } }), path === "/app" ? serveApp : serveAsset);
}

/** The web app's page, public/app/index.html (built from app/ by scripts/prepare-assets.mjs). */
function serveApp(c: Context<AppEnv>) {
  return c.env.ASSETS.fetch(new Request(new URL("/app/", c.req.url), { headers: c.req.raw.headers }));
}
// The app's scripts and styles (public/app/assets/, content-hashed file names).
siteRoutes.get("/app/*", serveAsset);
