import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as z from "../lib/zod";
import type { AppEnv } from "../env";
import { createRouter } from "../lib/openapi";
import { notFound } from "../lib/problem";

const tags = ["Documentation"];
const page = { "text/html": { schema: z.string() } };
const image = (type: string) => ({ [type]: { schema: z.string().openapi({ format: "binary" }) } });

/** The pages of site/, served from the static assets (built by scripts/prepare-assets.mjs), not from the bundle. */
async function asset(c: Context<AppEnv>) {
  const file = await c.env.ASSETS.fetch(c.req.raw);
  if (file.status === 404) throw notFound("file");
  return file;
}

const landingRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Landing page: links to the web app, the docs, ReDoc, the OpenAPI and AsyncAPI documents and health",
  security: [],
  responses: { 200: { description: "The landing page", content: page } },
});

const historyPageRoute = createRoute({
  method: "get",
  path: "/history",
  tags,
  summary: "The page a signed history link (`html_url`) opens",
  description:
    "A static page whose script reads the link's token from the URL fragment (`/history#<token>`, never sent to the server) and loads `GET /api/history-view` with it.",
  security: [],
  responses: { 200: { description: "The page", content: page } },
});

const faviconRoute = createRoute({
  method: "get",
  path: "/favicon.ico",
  tags,
  summary: "The site icon (32×32)",
  security: [],
  responses: { 200: { description: "The icon", content: image("image/x-icon") } },
});

const faviconSvgRoute = createRoute({
  method: "get",
  path: "/favicon.svg",
  tags,
  summary: "The site icon as SVG",
  security: [],
  responses: { 200: { description: "The icon", content: image("image/svg+xml") } },
});

export const siteRoutes = createRouter()
  .openapi(landingRoute, asset)
  .openapi(historyPageRoute, asset)
  .openapi(faviconRoute, asset)
  .openapi(faviconSvgRoute, asset);
