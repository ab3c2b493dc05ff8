// Builds public/, which wrangler serves as static assets (outside the Worker bundle): the pages in
// site/ (landing page, history-link page, favicon), a favicon.ico drawn here, the Swagger UI and
// ReDoc browser bundles copied from node_modules (so the docs pages load nothing from a CDN), and
// the OpenAPI document (scripts/build-openapi.mjs), and the web app (app/, built by Vite into public/app/).
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { deflateSync } from "node:zlib";

const require = createRequire(import.meta.url);
const swaggerDir = dirname(require.resolve("swagger-ui-dist/package.json"));
const redocDir = dirname(require.resolve("redoc/package.json"));
const out = new URL("../public/static/", import.meta.url).pathname;

mkdirSync(join(out, "swagger-ui"), { recursive: true });
mkdirSync(join(out, "redoc"), { recursive: true });
for (const file of ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "oauth2-redirect.html", "favicon-32x32.png"]) {
  cpSync(join(swaggerDir, file), join(out, "swagger-ui", file));
}
// ReDoc's footer loads its logo from cdn.redoc.ly; serve the page with nothing from elsewhere.
const redoc = readFileSync(join(redocDir, "bundles", "redoc.standalone.js"), "utf8");
const logo = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'/%3E";
writeFileSync(join(out, "redoc", "redoc.standalone.js"), redoc.replaceAll("https://cdn.redoc.ly/redoc/logo-mini.svg", logo));

const site = new URL("../site/", import.meta.url).pathname;
const root = new URL("../public/", import.meta.url).pathname;
cpSync(site, root, { recursive: true });
writeFileSync(join(root, "favicon.ico"), faviconIco());
console.log(`site and docs assets copied to ${root}`);

/** site/favicon.svg's picture as a 32×32 PNG inside an ICO, for clients that ask /favicon.ico. */
function faviconIco() {
  const size = 32;
  const pixels = Buffer.alloc(size * size * 4);
  const fill = (x0, y0, w, h, [r, g, b]) => {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) pixels.set([r, g, b, 255], (y * size + x) * 4);
  };
  const blue = [0x1f, 0x5f, 0xbf];
  fill(0, 0, size, size, blue);
  for (const [x, y] of [[0, 0], [1, 0], [0, 1], [30, 0], [31, 0], [31, 1], [0, 30], [0, 31], [1, 31], [31, 30], [30, 31], [31, 31]]) pixels[(y * size + x) * 4 + 3] = 0;
  fill(6, 8, 20, 18, [255, 255, 255]);
  fill(6, 8, 20, 5, [0x9c, 0xc2, 0xff]);
  fill(10, 5, 3, 6, [255, 255, 255]);
  fill(19, 5, 3, 6, [255, 255, 255]);
  for (const [x, y] of [[11, 19], [12, 20], [13, 21], [14, 22], [15, 21], [16, 20], [17, 19], [18, 18], [19, 17], [20, 16]]) fill(x, y, 2, 2, blue);
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  const rows = Buffer.concat(Array.from({ length: size }, (_, y) => Buffer.concat([Buffer.from([0]), pixels.subarray(y * size * 4, (y + 1) * size * 4)])));
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
  // ICONDIR (one image) and its ICONDIRENTRY; a PNG may stand in for the bitmap since Windows Vista.
  const dir = Buffer.alloc(22);
  dir.writeUInt16LE(1, 2);
  dir.writeUInt16LE(1, 4);
  dir.set([size, size, 0, 0], 6);
  dir.writeUInt16LE(1, 10);
  dir.writeUInt16LE(32, 12);
  dir.writeUInt32LE(png.length, 14);
  dir.writeUInt32LE(22, 18);
  return Buffer.concat([dir, png]);
}

// The web app: Preact + Vite, built from app/ into public/app/ (static assets, never in the Worker bundle).
const { build } = await import("vite");
await build({ configFile: new URL("../app/vite.config.ts", import.meta.url).pathname });
console.log(`web app built into ${join(root, "app")}`);

const { writeOpenApiDocument } = await import("./build-openapi.mjs");
console.log(`OpenAPI document written to ${await writeOpenApiDocument()}`);
