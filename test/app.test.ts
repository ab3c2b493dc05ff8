import { describe, expect, it } from "vitest";
import { call } from "./helpers";

/** The script and stylesheet the app's page names (content-hashed names from the Vite build). */
async function appPage() {
  const res = await call("GET", "/app");
  const html = await res.text();
  return { res, html, script: /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1], style: /<link rel="stylesheet" crossorigin href="([^"]+)"/.exec(html)?.[1] };
}

describe("the web app at /app", () => {
  it("is an HTML page from the static assets with one module script, no inline script, under the strict CSP", async () => {
    const { res, html, script, style } = await appPage();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(script).toMatch(/^\/app\/assets\/index-[\w-]+\.js$/);
    expect(style).toMatch(/^\/app\/assets\/index-[\w-]+\.css$/);
    // Every <script> has a src: the CSP would block an inline one.
    expect([...html.matchAll(/<script\b([^>]*)>/g)].map((m) => /\bsrc=/.test(m[1]))).toEqual([true]);
    expect(html).toContain('<div id="app"></div>');
  });

  it("serves its script and stylesheet with their types", async () => {
    const { script, style } = await appPage();
    const js = await call("GET", script!);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^(text|application)\/javascript/);
    expect((await js.text()).length).toBeGreaterThan(1000);
    const css = await call("GET", style!);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
  });

  it("answers a missing file under /app/ with a 404 problem, and other methods with 405", async () => {
    const missing = await call("GET", "/app/assets/nope.js");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    const post = await call("POST", "/app");
    expect(post.status).toBe(405);
  });
});
