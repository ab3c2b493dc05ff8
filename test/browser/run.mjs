#!/usr/bin/env node
// Browser checks of the docs pages (/docs, /redoc) and the HTML history pages, in a real headless
// Chromium against the production bundle (dist/index.js) under Miniflare.
// Run with `npm run test:browser` (it builds first). Prints one PASS/FAIL line per check, the
// screenshot paths, and a closing `browser: N passed, N failed`; exits non-zero on any failure.
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium, startServer } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// Its own folder: the app suite writes test/browser/screenshots/app/, which this run must not wipe.
const SHOTS = join(ROOT, "test", "browser", "screenshots", "docs");
// Everything after the Chromium install must finish within this; a hung page must not hang CI.
const RUN_BUDGET_MS = 170_000;
const CHECK_TIMEOUT_MS = 45_000;
// A public-looking origin that the browser is made to reach the local server under, so the docs
// pages behave as in production (Swagger UI, for one, treats localhost specially).
const PUBLIC_ORIGIN = "https://collab-events.example";

process.chdir(ROOT);
const log = (...args) => console.log("browser:", ...args);

let mf;
let browser;
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    await browser?.close().catch((error) => log(`closing Chromium failed: ${error.message}`));
    await mf?.dispose().catch((error) => log(`stopping Miniflare failed: ${error.message}`));
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => cleanup().finally(() => process.exit(1)));
}

let BASE;

async function api(method, path, { token, body } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function expectStatus(expected, promise, what) {
  const res = await promise;
  if (res.status !== expected) throw new Error(`${what}: expected ${expected}, got ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
}

const PASSWORD = "correct horse battery staple";
async function register(username) {
  const session = await expectStatus(201, api("POST", "/api/auth/register", { body: { username, email: `${username}@example.com`, password: PASSWORD } }), `register ${username}`);
  return { username, password: PASSWORD, id: session.user.id, token: session.access_token };
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const isLocal = (url) => {
  const { protocol, hostname } = new URL(url);
  return protocol === "data:" || protocol === "blob:" || hostname === "127.0.0.1" || hostname === "localhost";
};
const isServer = (url) => isLocal(url) || new URL(url).origin === PUBLIC_ORIGIN;

/**
 * A fresh browser context whose page records every request, failed load, console error, page
 * error and dialog. PUBLIC_ORIGIN is proxied to the server; a request to any other host is
 * recorded in `foreign` (with its fate: blocked by the page's CSP, or aborted here) and never
 * reaches the network.
 */
async function openPage(contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...contextOptions });
  context.setDefaultTimeout(30_000);
  const seen = { requests: [], foreign: new Map(), failed: [], errors: [], dialogs: [] };
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === PUBLIC_ORIGIN) {
      const response = await route.fetch({ url: BASE + url.pathname + url.search }).catch(() => undefined);
      return response ? route.fulfill({ response }) : route.abort();
    }
    return isLocal(url.href) ? route.continue() : route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("request", (request) => {
    seen.requests.push(request);
    if (!isServer(request.url())) seen.foreign.set(request.url(), "requested");
  });
  page.on("requestfailed", (request) => {
    const reason = request.failure()?.errorText ?? "failed";
    if (!isServer(request.url())) seen.foreign.set(request.url(), reason === "csp" ? "blocked by the page's CSP" : "aborted by this test");
    else seen.failed.push(`${request.method()} ${request.url()}: ${reason}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400 && new URL(response.url()).pathname !== "/favicon.ico") seen.failed.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });
  page.on("console", (message) => {
    // Failed loads are reported from the responses (which name the URL); CSP reports from `foreign`.
    if (message.type() === "error" && !/status of 4\d\d|Content Security Policy/.test(message.text())) seen.errors.push(message.text());
  });
  page.on("pageerror", (error) => seen.errors.push(`uncaught: ${error.message}`));
  page.on("dialog", (dialog) => {
    seen.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  return { context, page, seen };
}

const foreignList = (seen) => [...seen.foreign].map(([url, fate]) => `${url} (${fate})`).join(", ");

const screenshots = [];
async function shoot(page, name, { fullPage = true } = {}) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  screenshots.push(relative(ROOT, path));
}

/** An error's message without Playwright's long call log, keeping the step it was waiting for. */
function describe(error) {
  const [message, callLog = ""] = String(error?.message ?? error).split("Call log:");
  const step = callLog.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((line) => line.trim()).find((line) => line.startsWith("- waiting for"));
  return step ? `${message.trim()} (${step.slice(2)})` : message.trim();
}

/**
 * The checks, in order. Each is a named function; a check that throws (or runs past
 * CHECK_TIMEOUT_MS) fails with the error's message and the next one still runs.
 */
const checks = [];
const check = (name, run) => checks.push({ name, run });
const results = new Map();

async function runCheck({ name, run }) {
  const started = performance.now();
  let timer;
  try {
    await Promise.race([run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS)))]);
    results.set(name, true);
    log(`PASS ${name} (${Math.round(performance.now() - started)} ms)`);
  } catch (error) {
    results.set(name, false);
    log(`FAIL ${name}: ${describe(error).split("\n").join("\n      ")}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Swagger UI has rendered the document (at least one operation), or says why it could not. */
async function swaggerReady(page) {
  const operation = page.locator(".swagger-ui .opblock").first();
  const failure = page.locator(".swagger-ui .errors-wrapper, .swagger-ui .loading-container .errors");
  await operation.or(failure).first().waitFor();
  if (await operation.isVisible()) return;
  await shoot(page, "docs-failed");
  const spec = await api("GET", "/openapi.json");
  throw new Error(`Swagger UI shows no operations: ${(await failure.first().innerText()).replace(/\s+/g, " ").slice(0, 300)}; GET /openapi.json answers ${spec.status} ${spec.text.slice(0, 200)}`);
}

let ada;
let grace;
// Swagger UI state carries from check to check (authorize, then try it out) on this one page.
let docs;

/** Chromium, the server, two registered users and the Swagger UI page the first checks share. */
async function setup() {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  let origin;
  ({ mf, origin } = await startServer());
  BASE = origin;
  log(`server ${BASE} (dist/index.js under Miniflare)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  log(`Chromium ${browser.version()}`);
  ada = await register("ada_lovelace");
  grace = await register("grace_hopper");
  docs = await openPage();
}

check("/docs loads with no request leaving localhost", async () => {
  const { page, seen } = docs;
  await page.goto(`${BASE}/docs`, { waitUntil: "networkidle" });
  await swaggerReady(page);
  const styled = await page.evaluate(() => ({ rules: [...document.styleSheets].find((s) => s.href?.endsWith("/swagger-ui.css"))?.cssRules.length ?? 0 }));
  await shoot(page, "docs");
  const problems = [];
  if (seen.foreign.size) problems.push(`requests to other hosts: ${foreignList(seen)}`);
  if (seen.failed.length) problems.push(`failed loads: ${seen.failed.join(", ")}`);
  if (seen.errors.length) problems.push(`console errors: ${seen.errors.join(" | ")}`);
  if (styled.rules < 100) problems.push(`swagger-ui.css is not applied (${styled.rules} rules)`);
  const hosts = new Set(seen.requests.map((r) => new URL(r.url()).host));
  log(`  /docs made ${seen.requests.length} requests, to ${[...hosts].join(", ")}; swagger-ui.css applied (${styled.rules} rules)`);

  // The same page served under a public host name, as in production, where Swagger UI no longer
  // treats the host as local: still nothing from elsewhere, not even the localhost server.
  const prod = await openPage();
  try {
    await prod.page.goto(`${PUBLIC_ORIGIN}/docs`, { waitUntil: "networkidle" });
    await swaggerReady(prod.page);
    await prod.page.waitForTimeout(500);
    await shoot(prod.page, "docs-public-host");
    const elsewhere = prod.seen.requests.map((r) => r.url()).filter((url) => !url.startsWith(PUBLIC_ORIGIN) && !/^(data|blob):/.test(url));
    if (elsewhere.length) problems.push(`served as ${PUBLIC_ORIGIN}, /docs requested ${[...new Set(elsewhere)].map((url) => `${url} (${prod.seen.foreign.get(url) ?? "requested"})`).join(", ")}`);
    if (prod.seen.failed.length) problems.push(`served as ${PUBLIC_ORIGIN}, failed loads: ${prod.seen.failed.join(", ")}`);
    if (prod.seen.errors.length) problems.push(`served as ${PUBLIC_ORIGIN}, console errors: ${prod.seen.errors.join(" | ")}`);
    if (!elsewhere.length) log(`  served as ${PUBLIC_ORIGIN}: ${prod.seen.requests.length} requests, none elsewhere`);
  } finally {
    await prod.context.close();
  }
  assert(!problems.length, problems.join("\n"));
});

check("Authorize (OAuth2 password flow) with a registered user works", async () => {
  const { page, seen } = docs;
  if (!(await page.locator(".swagger-ui .opblock").count())) await page.goto(`${BASE}/docs`, { waitUntil: "networkidle" });
  await swaggerReady(page);
  await page.locator(".swagger-ui .scheme-container button.btn.authorize").click();
  const modal = page.locator(".swagger-ui .dialog-ux .modal-ux");
  await modal.waitFor();
  // Found by its heading: once authorized, the container shows the username as text, not an input.
  const oauth = modal.locator(".auth-container").filter({ hasText: "OAuth2, password" });
  await oauth.locator("#oauth_username").fill(ada.username);
  await oauth.locator("#oauth_password").fill(ada.password);
  const tokenResponse = page.waitForResponse((r) => r.url().startsWith(`${BASE}/api/auth/login`) && r.request().method() === "POST");
  await oauth.locator("button.authorize").click();
  const response = await tokenResponse;
  const loginBody = response.request().postData() ?? "";
  assert(response.status() === 200, `POST /api/auth/login from Swagger UI answered ${response.status()}: ${(await response.text()).slice(0, 300)}`);
  assert(/application\/x-www-form-urlencoded/.test(response.request().headers()["content-type"] ?? ""), `the token request was not the OAuth2 form: ${response.request().headers()["content-type"]}`);
  assert(loginBody.includes("grant_type=password"), `the token request lacks grant_type=password: ${loginBody.replace(/password=[^&]*/, "password=…")}`);
  await oauth.locator("button", { hasText: "Logout" }).waitFor();
  const oauthText = await oauth.innerText();
  assert(/Authorized/i.test(oauthText), `the OAuth2 section does not say Authorized: ${oauthText.slice(0, 300)}`);
  // The viewport only: the dialog is fixed to it, a full-page capture would leave it at the top of a long page.
  await shoot(page, "docs-authorize-dialog", { fullPage: false });
  await modal.locator("button.btn-done").first().click();
  await modal.waitFor({ state: "detached" });
  await page.locator(".swagger-ui .scheme-container button.btn.authorize.locked").waitFor();
  const locks = await page.evaluate(() => ({
    locked: document.querySelectorAll('.swagger-ui .opblock .authorization__btn[aria-label="authorization button locked"]').length,
    unlocked: document.querySelectorAll('.swagger-ui .opblock .authorization__btn[aria-label="authorization button unlocked"]').length,
  }));
  assert(locks.locked > 0, `no operation shows a closed lock after authorizing (${JSON.stringify(locks)})`);
  log(`  the token request was a form POST to /api/auth/login (200); ${locks.locked} operations show a closed lock, ${locks.unlocked} an open one`);
  assert(!seen.errors.length, `console errors: ${seen.errors.join(" | ")}`);
});

check('"Try it out" on POST /api/events creates an event and shows 201', async () => {
  const { page } = docs;
  await swaggerReady(page);
  if (!(await page.locator(".swagger-ui .scheme-container button.btn.authorize.locked").count())) {
    // So that this check stands on its own when the OAuth2 one failed: the bearerAuth scheme.
    log("  not authorized by the previous check; pasting an access token into bearerAuth instead");
    await page.locator(".swagger-ui .scheme-container button.btn.authorize").click();
    const bearer = page.locator(".swagger-ui .modal-ux .auth-container").filter({ has: page.locator("#auth-bearer-value") });
    await bearer.locator("#auth-bearer-value").fill(ada.token);
    await bearer.locator("button.authorize").click();
    await page.locator(".swagger-ui .modal-ux button.btn-done").first().click();
  }
  const op = page.locator(".swagger-ui .opblock.opblock-post").filter({ has: page.locator('.opblock-summary-path[data-path="/api/events"]') });
  assert((await op.count()) === 1, `expected one POST /api/events block, found ${await op.count()}`);
  await op.locator(".opblock-summary").first().click();
  await op.locator("button.try-out__btn").click();
  const mediaType = op.locator(".opblock-section-request-body select").first();
  if (await mediaType.count()) await mediaType.selectOption("application/json");
  const title = `Swagger UI try-out ${Date.now()}`;
  const event = { title, description: "Created from the docs page", start_time: "2031-03-03T10:00:00Z", end_time: "2031-03-03T11:00:00Z", location: "Room 1", timezone: "UTC" };
  await op.locator("textarea.body-param__text").fill(JSON.stringify(event, null, 2));
  const sent = page.waitForRequest((r) => r.url() === `${BASE}/api/events` && r.method() === "POST");
  await op.locator("button.execute").click();
  const request = await sent;
  assert(/^Bearer \S+/.test(request.headers().authorization ?? ""), `the request carried no Authorization: Bearer (headers: ${Object.keys(request.headers()).join(", ")})`);
  const status = op.locator(".live-responses-table tbody tr.response .response-col_status").first();
  await status.waitFor();
  const code = (await status.innerText()).trim();
  const shown = await op.locator(".live-responses-table tbody tr.response .response-col_description").first().innerText();
  await op.scrollIntoViewIfNeeded();
  await shoot(page, "docs-try-it-out");
  assert(code === "201", `the page shows response code ${code}: ${shown.slice(0, 300)}`);
  assert(shown.includes(title), `the response body on the page does not contain the title: ${shown.slice(0, 300)}`);
  const mine = await expectStatus(200, api("GET", `/api/events?q=${encodeURIComponent("try-out")}`, { token: ada.token }), "list events");
  assert(mine.items.some((e) => e.title === title), "the event created from Swagger UI is not in the user's list");
  log(`  Execute sent Authorization: Bearer …; the page shows ${code} and the created event`);
});

check("/redoc renders every tag", async () => {
  const spec = (await api("GET", "/openapi.json")).json;
  assert(spec?.paths, "GET /openapi.json did not return an OpenAPI document");
  const tags = [...new Set(Object.values(spec.paths).flatMap((ops) => Object.values(ops).flatMap((op) => op?.tags ?? [])))];
  assert(tags.length > 0, "no operation in /openapi.json has a tag");
  const { context, page, seen } = await openPage();
  try {
    await page.goto(`${BASE}/redoc`, { waitUntil: "networkidle" });
    await page.locator(".menu-content label").first().waitFor();
    const menu = await page.evaluate(() =>
      [...document.querySelectorAll(".menu-content li[data-item-id]")]
        .filter((li) => /^tag\/[^/]+$/.test(li.dataset.itemId))
        .map((li) => li.querySelector(":scope > label")?.innerText.trim()),
    );
    await shoot(page, "redoc");
    const missing = tags.filter((tag) => !menu.includes(tag));
    assert(!missing.length, `tags missing from ReDoc's side menu: ${missing.join(", ")} (menu: ${menu.join(", ")})`);
    assert(!seen.failed.length && !seen.errors.length, `problems loading /redoc: ${[...seen.failed, ...seen.errors].join(" | ")}`);
    log(`  side menu: ${menu.join(", ")}`);
    // Not part of this check, but the contract wants no third-party CDN: say so loudly.
    if (seen.foreign.size) log(`  WARN /redoc tried to load from other hosts: ${foreignList(seen)}`);
  } finally {
    await context.close();
  }
});

check("changelog and diff pages show v1..v3, both editors and side-by-side values", async () => {
  const before = { title: "Quarterly planning", location: "Room 4.01", description: "Agenda to follow" };
  const after = { title: "Quarterly planning (moved)", location: "Main hall", description: "Agenda: budget, hiring, roadmap" };
  const event = await expectStatus(201, api("POST", "/api/events", { token: ada.token, body: { ...before, start_time: "2031-04-01T09:00:00Z", end_time: "2031-04-01T10:30:00Z" } }), "create event");
  await expectStatus(200, api("POST", `/api/events/${event.id}/share`, { token: ada.token, body: { users: [{ user_id: grace.id, role: "editor" }] } }), "share with editor");
  await expectStatus(200, api("PUT", `/api/events/${event.id}`, { token: grace.token, body: { title: after.title, location: after.location } }), "editor changes title and location");
  await expectStatus(200, api("PATCH", `/api/events/${event.id}`, { token: ada.token, body: { description: after.description } }), "owner changes description");

  const { context, page, seen } = await openPage({ extraHTTPHeaders: { Authorization: `Bearer ${ada.token}`, Accept: "text/html" } });
  try {
    const changelog = await page.goto(`${BASE}/api/events/${event.id}/changelog`);
    assert(changelog.status() === 200 && /text\/html/.test(changelog.headers()["content-type"] ?? ""), `changelog answered ${changelog.status()} ${changelog.headers()["content-type"]}`);
    await shoot(page, "changelog");
    const text = await page.locator("body").innerText();
    const missing = ["v1", "v2", "v3", ada.username, grace.username, before.title, after.title, before.location, after.location, before.description, after.description].filter((s) => !text.includes(s));
    assert(!missing.length, `the changelog page lacks ${missing.map((s) => JSON.stringify(s)).join(", ")}`);
    const entries = await page.evaluate(() => [...document.querySelectorAll("li[id^=v]")].map((li) => ({ id: li.id, text: li.innerText })));
    const byVersion = Object.fromEntries(entries.map((e) => [e.id, e.text]));
    assert(byVersion.v1?.includes(ada.username) && byVersion.v2?.includes(grace.username) && byVersion.v3?.includes(ada.username), `versions are not attributed as v1 ${ada.username}, v2 ${grace.username}, v3 ${ada.username}: ${JSON.stringify(entries).slice(0, 500)}`);

    const diff = await page.goto(`${BASE}/api/events/${event.id}/diff/1/3`);
    assert(diff.status() === 200 && /text\/html/.test(diff.headers()["content-type"] ?? ""), `diff answered ${diff.status()} ${diff.headers()["content-type"]}`);
    await shoot(page, "diff");
    const rows = await page.evaluate(() =>
      [...document.querySelectorAll("table tbody tr")].map((tr) => [...tr.cells].map((cell) => ({ text: cell.innerText.trim() }))),
    );
    const head = await page.locator("table thead").innerText();
    for (const field of ["title", "location", "description"]) {
      const row = rows.find((cells) => cells[0]?.text === field);
      assert(row, `the diff table has no ${field} row: ${JSON.stringify(rows)}`);
      const values = row.slice(1).map((cell) => cell.text);
      const i = values.indexOf(before[field]);
      assert(i >= 0 && values[i + 1] === after[field], `${field}: expected ${JSON.stringify(before[field])} and ${JSON.stringify(after[field])} in adjacent cells, got ${JSON.stringify(values)}`);
    }
    assert(head.includes("v1") && head.includes("v3"), `the diff table's header does not name v1 and v3: ${head}`);
    const pageText = await page.locator("body").innerText();
    assert(pageText.includes(ada.username), `the diff page does not name ${ada.username}`);
    assert(!seen.failed.length && !seen.errors.length, `problems loading the pages: ${[...seen.failed, ...seen.errors].join(" | ")}`);
    log(`  changelog: ${entries.map((e) => e.id).join(", ")}; diff 1→3 rows: ${rows.map((r) => r[0].text).join(", ")}`);
  } finally {
    await context.close();
  }
});

check("a history page of an event titled with <script> runs no script", async () => {
  const title = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;
  const event = await expectStatus(201, api("POST", "/api/events", { token: ada.token, body: { title, description: `<b onmouseover="window.__pwned=3">bold?</b>`, start_time: "2031-05-01T09:00:00Z", end_time: "2031-05-01T10:00:00Z" } }), "create event");
  await expectStatus(200, api("PATCH", `/api/events/${event.id}`, { token: ada.token, body: { location: `"><svg onload="window.__pwned=4">` } }), "update event");
  const { context, page, seen } = await openPage({ extraHTTPHeaders: { Authorization: `Bearer ${ada.token}`, Accept: "text/html" } });
  try {
    const response = await page.goto(`${BASE}/api/events/${event.id}/changelog`, { waitUntil: "networkidle" });
    assert(response.status() === 200, `changelog answered ${response.status()}`);
    await page.waitForTimeout(300);
    await shoot(page, "changelog-script-title");
    const state = await page.evaluate(() => ({
      pwned: typeof window.__pwned,
      scripts: document.scripts.length,
      injected: document.querySelectorAll("img, svg, b, [onerror], [onload], [onmouseover]").length,
      h1: document.querySelector("h1")?.textContent ?? "",
      title: document.title,
      body: document.body.innerText,
    }));
    const problems = [];
    if (state.pwned !== "undefined") problems.push(`window.__pwned is ${state.pwned}`);
    if (seen.dialogs.length) problems.push(`dialogs fired: ${seen.dialogs.join(", ")}`);
    if (state.scripts) problems.push(`${state.scripts} <script> elements in the page`);
    if (state.injected) problems.push(`${state.injected} injected elements (img/svg/b or inline handlers)`);
    const stray = seen.requests.filter((r) => /\/x$/.test(new URL(r.url()).pathname)).map((r) => r.url());
    if (stray.length) problems.push(`the injected <img> was loaded: ${stray.join(", ")}`);
    if (!state.h1.includes(title)) problems.push(`the heading does not show the title literally: ${JSON.stringify(state.h1)}`);
    if (!state.title.includes(title)) problems.push(`the document title does not show the title literally: ${JSON.stringify(state.title)}`);
    if (!state.body.includes(`<b onmouseover="window.__pwned=3">bold?</b>`)) problems.push("the description is not shown literally");
    if (!state.body.includes(`"><svg onload="window.__pwned=4">`)) problems.push("the location is not shown literally");
    assert(!problems.length, problems.join("\n"));
    log("  title, description and location show as literal text; no script, element, request or dialog came from them");
  } finally {
    await context.close();
  }
});

check("a changelog's html_url opens in a fresh tab with no headers, and its links click through to a diff", async () => {
  const event = await expectStatus(201, api("POST", "/api/events", { token: ada.token, body: { title: "Offsite", location: "Lisbon", start_time: "2031-06-01T09:00:00Z", end_time: "2031-06-01T17:00:00Z" } }), "create event");
  await expectStatus(200, api("POST", `/api/events/${event.id}/share`, { token: ada.token, body: { users: [{ user_id: grace.id, role: "editor" }] } }), "share with editor");
  await expectStatus(200, api("PATCH", `/api/events/${event.id}`, { token: grace.token, body: { location: "Porto" } }), "editor moves it");
  const changelog = await expectStatus(200, api("GET", `/api/events/${event.id}/changelog`, { token: grace.token }), "changelog JSON");
  const link = new URL(changelog.html_url);
  assert(link.pathname === "/history" && !link.search && link.hash.length > 20, `html_url is not /history#<token>: ${changelog.html_url}`);
  const signature = link.hash.split(".").at(-1);

  // A fresh context: no Authorization, no cookie, nothing from the earlier checks.
  const { context, page, seen } = await openPage();
  try {
    const opened = await page.goto(changelog.html_url);
    assert(opened.status() === 200, `/history answered ${opened.status()}`);
    assert(opened.headers()["referrer-policy"] === "no-referrer", `/history has Referrer-Policy ${opened.headers()["referrer-policy"]}`);
    await page.locator("li#v2").waitFor();
    await shoot(page, "history-link-changelog");
    const text = await page.locator("body").innerText();
    const missing = ["v1", "v2", ada.username, grace.username, "Lisbon", "Porto"].filter((s) => !text.includes(s));
    assert(!missing.length, `the changelog opened from html_url lacks ${missing.map((s) => JSON.stringify(s)).join(", ")}`);

    await page.locator("li#v2 a", { hasText: "diff with v1" }).click();
    await page.locator("h1", { hasText: "v1 ↔ v2" }).waitFor();
    await shoot(page, "history-link-diff");
    const row = await page.evaluate(() => [...document.querySelectorAll("table tbody tr")].map((tr) => [...tr.cells].map((cell) => cell.innerText.trim())).find((cells) => cells[0] === "location"));
    assert(JSON.stringify(row) === JSON.stringify(["location", "Lisbon", "Porto"]), `the diff's location row is ${JSON.stringify(row)}`);
    await page.locator("a", { hasText: "Full history" }).click();
    await page.locator("li#v1").waitFor();
    await page.goBack();
    await page.locator("h1", { hasText: "v1 ↔ v2" }).waitFor();

    const sent = seen.requests.map((r) => ({ url: r.url(), headers: r.headers() }));
    const problems = [];
    const bearer = sent.filter((r) => /^bearer/i.test(r.headers.authorization ?? "") || r.headers.cookie);
    if (bearer.length) problems.push(`requests carried a bearer token or a cookie: ${bearer.map((r) => r.url).join(", ")}`);
    const leaked = sent.filter((r) => r.url.includes(signature) || (r.headers.referer ?? "").includes(signature));
    if (leaked.length) problems.push(`the link's signature was sent in a URL or Referer: ${leaked.map((r) => r.url).join(", ")}`);
    const views = sent.filter((r) => new URL(r.url).pathname === "/api/history-view");
    if (views.length < 3 || !views.every((r) => /^HistoryLink \S+$/.test(r.headers.authorization ?? ""))) problems.push(`expected every page to load /api/history-view with Authorization: HistoryLink, saw ${views.length} loads`);
    if (seen.failed.length || seen.errors.length) problems.push(`problems loading the pages: ${[...seen.failed, ...seen.errors].join(" | ")}`);
    assert(!problems.length, problems.join("\n"));
    log(`  html_url → changelog (v1, v2) → diff v1 ↔ v2 → history → back; ${views.length} page loads, none with a bearer token, the signature in no URL`);

    // A tampered link shows a small message page, and the API said 401.
    const refused = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/history-view");
    await page.goto(`${link.origin}/history${link.hash.slice(0, -2)}xx`);
    const status = (await refused).status();
    await page.locator("h1", { hasText: "This link does not work" }).waitFor();
    assert(status === 401, `a tampered link got ${status} from /api/history-view`);
  } finally {
    await context.close();
  }
});

check("the landing page links the app, docs, ReDoc, both API documents and health, with its favicon", async () => {
  const { context, page, seen } = await openPage();
  try {
    const res = await page.goto(`${BASE}/`, { waitUntil: "networkidle" });
    assert(res.status() === 200, `/ answered ${res.status()}`);
    await shoot(page, "landing");
    const links = await page.evaluate(() => [...document.querySelectorAll("a")].map((a) => new URL(a.href).pathname));
    assert(JSON.stringify(links) === JSON.stringify(["/app", "/docs", "/redoc", "/openapi.json", "/asyncapi.json", "/health"]), `the landing page links ${links.join(", ")}`);
    const icon = seen.requests.find((r) => new URL(r.url()).pathname === "/static/favicon.svg");
    assert(icon && (await icon.response())?.status() === 200, "the favicon (/static/favicon.svg) was not loaded");
    assert(!seen.failed.length && !seen.errors.length && !seen.foreign.size, `problems loading /: ${[...seen.failed, ...seen.errors, foreignList(seen)].join(" | ")}`);
    await page.locator("a", { hasText: "Health" }).click();
    await page.waitForURL(`${BASE}/health`);
    const health = JSON.parse(await page.locator("body").innerText());
    assert(health.status === "ok", `/health from the landing page shows ${JSON.stringify(health)}`);
  } finally {
    await context.close();
  }
});

/** Prints the screenshots and the closing line, then exits; unfinished checks count as failed. */
function finish() {
  if (screenshots.length) log(`screenshots:\n${screenshots.map((path) => `  ${path}`).join("\n")}`);
  const passed = checks.filter(({ name }) => results.get(name) === true).length;
  console.log(`browser: ${passed} passed, ${checks.length - passed} failed`);
  process.exit(passed === checks.length ? 0 : 1);
}

try {
  ensureChromium(log);
  setTimeout(() => {
    log(`FAIL the run exceeded ${RUN_BUDGET_MS / 1000} s; stopping`);
    cleanup().finally(finish);
  }, RUN_BUDGET_MS).unref();
  await setup();
  for (const entry of checks) await runCheck(entry);
} catch (error) {
  log(`FAIL setup: ${error.stack ?? error}`);
} finally {
  await cleanup();
}
finish();
