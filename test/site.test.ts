import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("the landing page", () => {
  it("links the web app, both docs pages, both API documents and health", async () => {
    const res = await call("GET", "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const links = [...(await res.text()).matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toEqual(["/app", "/docs", "/redoc", "/openapi.json", "/asyncapi.json", "/health"]);
  });

  it("comes with the app's security headers, like every response", async () => {
    const res = await call("GET", "/");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("answers other methods with 405 and Allow, like every route", async () => {
    const res = await call("POST", "/");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("the favicon", () => {
  it("is an ICO holding a 32×32 PNG at /favicon.ico", async () => {
    const res = await call("GET", "/favicon.ico");
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const view = new DataView(bytes.buffer);
    expect({ reserved: view.getUint16(0, true), type: view.getUint16(2, true), count: view.getUint16(4, true), width: bytes[6], height: bytes[7] }).toEqual({ reserved: 0, type: 1, count: 1, width: 32, height: 32 });
    const offset = view.getUint32(18, true);
    expect([...bytes.subarray(offset, offset + 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(view.getUint32(14, true)).toBe(bytes.length - offset);
  });

  it("is an SVG at /static/favicon.svg, which the landing page names", async () => {
    const res = await call("GET", "/static/favicon.svg");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    expect(await res.text()).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(await (await call("GET", "/")).text()).toContain('<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">');
  });
});

describe("the docs pages, static files since they left the bundle", () => {
  it.each(["/docs", "/redoc"])("%s is HTML under the CSP, revalidates with 304, and has no second URL", async (path) => {
    const page = await call("GET", path);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'self'");
    expect(await page.text()).toMatch(/^<!doctype html>/);
    const etag = page.headers.get("etag")!;
    const again = await call("GET", path, { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect((await call("GET", `${path}.html`)).status).toBe(404);
    expect((await call("GET", `${path}/`)).status).toBe(404);
  });

  it("serves Swagger UI's start-up script as a file", async () => {
    const res = await call("GET", "/static/docs/swagger-init.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await res.text()).toContain('url: "/openapi.json"');
  });
});
