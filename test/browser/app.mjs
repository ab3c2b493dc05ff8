#!/usr/bin/env node
// Chromium tests of the web app (/app) against the production bundle and its static assets under
// Miniflare: two people in two browser contexts collaborating live, a conflict shown in the
// dialog, axe-core on every screen, and screenshots of every screen at 375 px and 1,440 px into
// test/browser/screenshots/app/ (git-ignored). Run with `npm run test:app` (it builds first).
// Prints one PASS/FAIL line per check and a closing `app: N passed, M failed`.
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium, startServer } from "./harness.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SHOTS = join(ROOT, "test", "browser", "screenshots", "app");
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const RUN_BUDGET_MS = 240_000;
const CHECK_TIMEOUT_MS = 120_000;
const WIDTHS = [375, 1440];
const PASSWORD = "correct horse battery staple";
process.chdir(ROOT);
const log = (...args) => console.log("app:", ...args);

let mf;
let browser;
let BASE;
const cleanup = async () => {
  await browser?.close().catch(() => {});
  await mf?.dispose().catch(() => {});
};

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** A context for one person: its own storage, its time zone, console errors and CSP reports recorded. */
async function person(timezoneId) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId, locale: "en-GB" });
  context.setDefaultTimeout(15_000);
  // Layout shifts (the Layout Instability API), for the "no layout shift on live updates" check.
  await context.addInitScript(() => {
    window.__shifts = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push({ at: entry.startTime, value: entry.value });
    }).observe({ type: "layout-shift", buffered: true });
  });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && !/status of 4\d\d/.test(m.text()) && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  return { context, page, errors };
}

const axeResults = [];
/** axe-core on the page as it is: no serious or critical violation. Evaluated over CDP, which the page's CSP does not govern. */
async function axe(page, screen) {
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0]?.target.join(" ") })));
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeResults.push({ screen, violations: violations.length, bad: bad.length });
  assert(!bad.length, `axe on ${screen}: ${bad.map((v) => `${v.id} (${v.impact}, ${v.nodes} nodes, e.g. ${v.target})`).join("; ")}`);
}

const screenshots = [];
/** The screen at both widths: axe at each, a screenshot of each; back to 1,440 px after. */
async function screen(page, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width < 800 ? 812 : 900 });
    await page.waitForTimeout(150);
    await axe(page, `${name} @${width}`);
    const path = join(SHOTS, `${name}-${width}.png`);
    await page.screenshot({ path, fullPage: true });
    screenshots.push(relative(ROOT, path));
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

/** Signs up through the form. */
async function signUp(page, username, shoot = false) {
  await page.goto(`${BASE}/app`);
  await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
  if (shoot) await screen(page, "sign-in");
  await page.getByRole("button", { name: "New here? Create an account" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Email").fill(`${username}@example.com`);
  await page.getByLabel("Password").fill(PASSWORD);
  if (shoot) await screen(page, "sign-up");
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await page.getByRole("grid").waitFor();
}

/** `YYYY-MM-DDTHH:mm` of an instant in a zone (a datetime-local value). */
function local(instant, timeZone) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** `HH:mm` of an instant in a zone, as the app shows times. */
const clock = (instant, timeZone) => local(instant, timeZone).slice(11);

/** The date (`YYYY-MM-DD`, at 00:00 UTC) of the Monday of the week holding `instant` in `timeZone`: the app's week. */
function mondayIn(instant, timeZone) {
  const day = Date.parse(`${local(instant, timeZone).slice(0, 10)}T00:00:00Z`);
  return day - ((new Date(day).getUTCDay() + 6) % 7) * 86_400_000;
}

/**
 * The app shows the week of the user's own zone, so Berlin (A) starts a week 6 hours before New
 * York (B) does: from Sunday 23:00 to Monday 05:00 UTC (an hour earlier in summer) the two weeks
 * differ, and B is moved to A's week after signing up. A week that starts during the run would
 * move the app's "Today" and every reload, so a run that would see one waits for it first.
 */
const runStartsIn = (budgetMs) => [A_ZONE, B_ZONE].some((zone) => mondayIn(Date.now(), zone) !== mondayIn(Date.now() + budgetMs, zone));
/** Set once the run may start: the Monday of A's week. */
let WEEK;
/** Wednesday `hour`:00 UTC of A's week (and, once moved, B's). */
const wednesday = (hour = 15) => WEEK + 2 * 86_400_000 + hour * 3_600_000;

const eventButton = (page, title) => page.getByRole("grid").getByRole("button", { name: new RegExp(`^${title.replace(/[()]/g, "\\$&")} \\d`) });

async function openEvent(page, title) {
  await eventButton(page, title).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Title").waitFor();
  return dialog;
}

/** Closes the open dialog (another may open in its place: share and history go back to the event). */
async function closeDialog(page) {
  const dialog = page.getByRole("dialog");
  const name = await dialog.getByRole("heading").first().innerText();
  await dialog.getByRole("button", { name: "Close" }).click();
  await page.getByRole("dialog", { name, exact: true }).waitFor({ state: "detached" });
}

const A_ZONE = "Europe/Berlin";
const B_ZONE = "America/New_York";
const stamp = Date.now().toString(36).slice(-5);
const ADA = `ada_${stamp}`;
const BOB = `bob_${stamp}`;
let a;
let b;

const checks = [];
const check = (name, run) => checks.push({ name, run });

/** The app's gzip JS budget (issue 18): every .js under public/app/, gzipped at level 9, summed. */
const JS_BUDGET = 80 * 1024;
check(`the app's JavaScript is within its gzip budget (${JS_BUDGET / 1024} KB)`, async () => {
  const files = readdirSync("public/app", { recursive: true }).filter((f) => String(f).endsWith(".js"));
  assert(files.length > 0, "public/app/ holds no .js file: run `npm run build`");
  const sizes = files.map((f) => [String(f), gzipSync(readFileSync(join("public/app", String(f))), { level: 9 }).length]);
  const total = sizes.reduce((n, [, size]) => n + size, 0);
  log(`  ${sizes.map(([f, size]) => `${f} ${(size / 1024).toFixed(1)} KB`).join(", ")}: ${(total / 1024).toFixed(1)} KB gzip of ${JS_BUDGET / 1024} KB`);
  assert(total <= JS_BUDGET, `the app's JS is ${total} bytes gzip, over the budget of ${JS_BUDGET}`);
});

check("A shares an event with B as editor; B's edit, A's rollback, B's demotion to viewer and A's changes while B is offline all reach the other live", async () => {
  a = await person(A_ZONE);
  b = await person(B_ZONE);
  await signUp(a.page, ADA, true);
  await signUp(b.page, BOB);
  const weekOf = (page) => page.getByRole("grid").getAttribute("aria-label");
  if ((await weekOf(b.page)) !== (await weekOf(a.page))) {
    // Monday has begun in Berlin but not yet in New York: B looks at A's week.
    const loaded = b.page.waitForResponse((r) => new URL(r.url()).pathname === "/api/agenda" && r.status() === 200);
    await b.page.getByRole("button", { name: "Next week" }).click();
    await loaded;
  }
  assert((await weekOf(b.page)) === (await weekOf(a.page)), `A and B look at different weeks: ${await weekOf(a.page)} and ${await weekOf(b.page)}`);
  await screen(a.page, "week-empty");

  // A creates an event.
  const start = wednesday();
  await a.page.getByRole("button", { name: "New event" }).click();
  const create = a.page.getByRole("dialog");
  await create.getByLabel("Title").fill("Design review");
  await create.getByLabel("Start").fill(local(start, A_ZONE));
  await create.getByLabel("End").fill(local(start + 3_600_000, A_ZONE));
  await create.getByLabel("Location").fill("Room 4");
  await create.getByLabel("Description").fill("Walk through the new calendar.");
  assert((await create.getByLabel("Time zone").inputValue()) === A_ZONE, `the Time zone field does not default to the user's zone ${A_ZONE}`);
  await screen(a.page, "event-new");
  await create.getByRole("button", { name: "Save" }).click();
  await create.waitFor({ state: "detached" });
  await eventButton(a.page, "Design review").waitFor();
  await screen(a.page, "week");

  // A shares it with B as editor; B watches the week meanwhile, on a 375 px phone screen, where the
  // days once stacked and an arriving event pushed every later day down (its layout shifts are
  // measured from here until the event appears, without B touching anything).
  await b.page.setViewportSize({ width: 375, height: 812 });
  await b.page.waitForTimeout(600); // the resize's own relayout stays outside the measured span
  const watchFrom = await b.page.evaluate(() => performance.now());
  await openEvent(a.page, "Design review");
  await screen(a.page, "event-edit");
  await a.page.getByRole("dialog").getByRole("button", { name: "Share" }).click();
  const share = a.page.getByRole("dialog");
  await share.getByLabel("Username or email").fill(BOB);
  await share.getByLabel("Role", { exact: true }).selectOption("editor");
  await share.getByRole("button", { name: "Add" }).click();
  await share.getByLabel(`Role of ${BOB}`).waitFor();
  assert((await share.getByLabel(`Role of ${BOB}`).inputValue()) === "editor", "B is not listed as editor");
  await screen(a.page, "share");
  await closeDialog(a.page); // back to the event
  await closeDialog(a.page);

  // B sees it appear without reloading, with the event's zone (A's) shown since it differs from B's.
  await eventButton(b.page, "Design review").waitFor({ timeout: 5_000 });
  const bText = await eventButton(b.page, "Design review").innerText();
  assert(bText.includes(A_ZONE), `B's week does not show the event's zone ${A_ZONE}: ${JSON.stringify(bText)}`);
  const shifted = await b.page.evaluate((from) => window.__shifts.filter((e) => e.at >= from).reduce((n, e) => n + e.value, 0), watchFrom);
  log(`  layout shift on B's week while the shared event arrived live: ${shifted.toFixed(4)}`);
  assert(shifted < 0.01, `B's week at 375 px shifted by ${shifted.toFixed(4)} (cumulative layout shift) when the event arrived live`);
  // The week scrolls sideways inside its own box; the page itself must not.
  const pageWidth = await b.page.evaluate(() => document.documentElement.scrollWidth);
  assert(pageWidth <= 375, `B's page is ${pageWidth} px wide at a 375 px viewport: something overflows it sideways`);
  await b.page.setViewportSize({ width: 1440, height: 900 });
  await screen(b.page, "week-shared");

  // B edits the title; A sees it within 2 s without reloading.
  const edit = await openEvent(b.page, "Design review");
  await edit.getByLabel("Title").fill("Design review (B)");
  const saved = b.page.waitForResponse((r) => r.request().method() === "PATCH" && r.status() === 200);
  await edit.getByRole("button", { name: "Save" }).click();
  await saved;
  const t0 = Date.now();
  await eventButton(a.page, "Design review (B)").waitFor({ timeout: 2_000 });
  log(`  A saw B's title ${Date.now() - t0} ms after B's save answered`);

  // A opens History: B's change with B's name; A rolls back and B sees it live.
  await openEvent(a.page, "Design review (B)");
  await a.page.getByRole("dialog").getByRole("button", { name: "History" }).click();
  const history = a.page.getByRole("dialog");
  const v2 = history.getByRole("list", { name: "Changelog" }).getByRole("listitem").filter({ hasText: "v2" });
  await v2.waitFor();
  const v2Text = await v2.innerText();
  assert(v2Text.includes(BOB) && v2Text.includes("Design review (B)"), `the changelog's v2 does not show B's name and change: ${JSON.stringify(v2Text)}`);
  const diffRow = history.getByRole("table").getByRole("row").filter({ hasText: "title" });
  const diffText = await diffRow.innerText();
  assert(diffText.includes("Design review") && diffText.includes("Design review (B)"), `the v1→v2 diff lacks the title change: ${JSON.stringify(diffText)}`);
  await screen(a.page, "history");
  const rolled = Date.now();
  await history.getByRole("button", { name: "Roll back to v1" }).click();
  await history.getByRole("list", { name: "Changelog" }).getByRole("listitem").filter({ hasText: "rolled back to v1" }).waitFor();
  await eventButton(b.page, "Design review").waitFor({ timeout: 2_000 });
  const rollbackShift = await b.page.evaluate((from) => window.__shifts.filter((e) => e.at >= from).reduce((n, e) => n + e.value, 0), await b.page.evaluate(() => performance.now()) - (Date.now() - rolled));
  assert(rollbackShift < 0.01, `B's week shifted by ${rollbackShift.toFixed(4)} when the rollback arrived live`);
  log(`  B saw the rollback ${Date.now() - rolled} ms after A clicked Roll back`);
  await closeDialog(a.page);
  await closeDialog(a.page);

  // B has the event open; A makes B a viewer; B's editing controls disappear live.
  const open = await openEvent(b.page, "Design review");
  assert(await open.getByRole("button", { name: "Save" }).isVisible(), "B, an editor, has no Save button");
  await openEvent(a.page, "Design review");
  await a.page.getByRole("dialog").getByRole("button", { name: "Share" }).click();
  await a.page.getByRole("dialog").getByLabel(`Role of ${BOB}`).selectOption("viewer");
  const demoted = Date.now();
  await open.getByRole("button", { name: "Save" }).waitFor({ state: "detached", timeout: 2_000 });
  assert(await open.getByLabel("Title").evaluate((el) => el.readOnly), "B's Title field is still editable as a viewer");
  log(`  B's Save button went away ${Date.now() - demoted} ms after A chose viewer`);
  await screen(b.page, "event-viewer");
  await closeDialog(a.page);
  await closeDialog(a.page);
  await closeDialog(b.page);

  // B goes offline; A makes two changes; B comes back and gets both (replayed from the socket).
  await b.context.setOffline(true);
  await b.page.waitForTimeout(300);
  for (const [label, value] of [["Title", "Design review, final"], ["Location", "Main hall"]]) {
    const title = label === "Title" ? "Design review" : "Design review, final";
    const dialog = await openEvent(a.page, title);
    await dialog.getByLabel(label).fill(value);
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
  }
  await b.page.waitForTimeout(500);
  assert(!(await eventButton(b.page, "Design review, final").count()), "B saw A's change while offline: the test did not cut B off");
  await b.context.setOffline(false);
  await eventButton(b.page, "Design review, final").waitFor({ timeout: 10_000 });
  const after = await openEvent(b.page, "Design review, final");
  assert((await after.getByLabel("Location").inputValue()) === "Main hall", "B does not see A's second change (Location) after reconnecting");
  await closeDialog(b.page);
  await b.page.getByRole("button", { name: /^Notifications/ }).click();
  const notes = b.page.getByRole("dialog").getByRole("list", { name: "Notifications" });
  await notes.getByRole("listitem").first().waitFor();
  const [newest, before] = await notes.getByRole("listitem").allInnerTexts();
  assert(newest.includes("location: Room 4 → Main hall") && before.includes("title: Design review → Design review, final"), `B's newest notifications are not A's two offline changes: ${JSON.stringify([newest, before])}`);
  const badge = await b.page.getByRole("button", { name: /^Notifications/ }).innerText();
  assert(/\b5$/.test(badge.trim()), `B's unread count is ${JSON.stringify(badge)}, not 5 (shared, rolled back, role changed, two edits; B's own edit is born read)`);
  await screen(b.page, "notifications");
  await b.page.getByRole("dialog").getByRole("button", { name: "Mark all read" }).click();
  await b.page.getByRole("button", { name: /^Notifications 0 unread/ }).waitFor();
  await closeDialog(b.page);
  const errors = [...a.errors, ...b.errors];
  assert(!errors.length, `console errors: ${errors.join(" | ")}`);
});

check("creating an overlapping event shows the conflict in the dialog, with the conflicting time", async () => {
  const { page } = a;
  const start = wednesday(15) + 30 * 60_000;
  await page.getByRole("button", { name: "New event" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Title").fill("Overlapping call");
  await dialog.getByLabel("Start").fill(local(start, A_ZONE));
  await dialog.getByLabel("End").fill(local(start + 3_600_000, A_ZONE));
  await dialog.getByRole("button", { name: "Save" }).click();
  const conflict = dialog.getByLabel("Conflicts");
  await conflict.waitFor();
  const text = await conflict.innerText();
  // The existing event is 15:00–16:00 UTC: 16:00–17:00 in Berlin in winter, 17:00–18:00 in summer.
  const existing = `${clock(wednesday(15), A_ZONE)}–${clock(wednesday(16), A_ZONE)}`;
  assert(text.includes("Design review, final") && text.includes(existing), `the conflict does not name the event and its time ${existing}: ${JSON.stringify(text)}`);
  assert(await dialog.getByRole("alert").isVisible(), "no error in words is shown");
  await conflict.scrollIntoViewIfNeeded();
  await screen(page, "event-conflict");
  // The server's free slots: the first one fills the times in, and then the event saves.
  const use = conflict.getByRole("button", { name: /^Use / });
  assert((await use.count()) > 0, "the conflict shows no suggested free time");
  await use.first().click();
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  await eventButton(page, "Overlapping call").waitFor();
});

check("the feeds dialog creates a subscription URL and copies it", async () => {
  const { page, context } = a;
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  await page.getByRole("button", { name: "Feeds" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Create subscription URL" }).click();
  const url = await dialog.getByLabel("Subscription URL").inputValue();
  assert(/\/feeds\/[^/]+\.ics$/.test(new URL(url).pathname), `not a feed URL: ${url}`);
  await dialog.getByRole("button", { name: "Copy" }).click();
  await dialog.getByRole("button", { name: "Copied" }).waitFor();
  assert((await page.evaluate(() => navigator.clipboard.readText())) === url, "the clipboard does not hold the URL");
  const feed = await fetch(url);
  assert(feed.status === 200 && (await feed.text()).includes("SUMMARY:Design review\\, final"), `the feed URL answers ${feed.status} without the event`);
  await screen(page, "feeds");
  await closeDialog(page);
  // Sign out ends the session: back at sign-in, and a reload stays there.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
  await page.reload();
  await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
});

check("sign in with the form; a spent access token is refreshed silently on reload", async () => {
  const { page } = a;
  await page.getByLabel("Username").fill(ADA);
  await page.getByLabel("Password").fill("wrong password!");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const refused = await page.getByRole("alert").innerText();
  assert(/password|credentials|invalid/i.test(refused), `a wrong password shows ${JSON.stringify(refused)}`);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await eventButton(page, "Design review, final").waitFor();
  // The access token stops working (as after expiry); the app refreshes and carries on.
  await page.evaluate(() => {
    const tokens = JSON.parse(localStorage.getItem("collab-events.tokens"));
    localStorage.setItem("collab-events.tokens", JSON.stringify({ ...tokens, access_token: `${tokens.access_token}x` }));
  });
  const refreshed = page.waitForResponse((r) => r.url().endsWith("/api/auth/refresh") && r.status() === 200);
  await page.reload();
  await refreshed;
  await eventButton(page, "Design review, final").waitFor();
  assert(!(await page.getByRole("button", { name: "Sign in", exact: true }).count()), "the app fell back to sign-in");
});

check("a stale edit (412) shows what changed meanwhile and re-applies the edit on top", async () => {
  const first = a.page;
  const second = await a.context.newPage();
  await second.goto(`${BASE}/app`);
  const mine = await openEvent(first, "Overlapping call");
  await mine.getByLabel("Description").fill("Agenda in the doc.");
  const theirs = await openEvent(second, "Overlapping call");
  await theirs.getByLabel("Location").fill("Room 9");
  await theirs.getByRole("button", { name: "Save" }).click();
  await theirs.waitFor({ state: "detached" });
  await second.close();
  await first.waitForTimeout(300);
  await mine.getByRole("button", { name: "Save" }).click();
  const changed = mine.getByLabel("Changed meanwhile");
  await changed.waitFor();
  const text = await changed.innerText();
  assert(text.includes("Location: (empty) → Room 9"), `the 412 does not show the other change: ${JSON.stringify(text)}`);
  await changed.scrollIntoViewIfNeeded();
  await screen(first, "event-stale");
  await mine.getByRole("button", { name: "Re-apply my changes" }).click();
  await mine.waitFor({ state: "detached" });
  const again = await openEvent(first, "Overlapping call");
  assert((await again.getByLabel("Location").inputValue()) === "Room 9" && (await again.getByLabel("Description").inputValue()) === "Agenda in the doc.", "after re-applying, the event lacks one of the two edits");
  await closeDialog(first);
});

check("keyboard only: Tab reaches New event, Enter opens the dialog with focus in it, Escape closes it and focus returns", async () => {
  const { page } = a;
  await page.getByRole("button", { name: "Today" }).focus();
  for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.textContent === "New event")); i++) await page.keyboard.press("Tab");
  assert(await page.evaluate(() => document.activeElement?.textContent === "New event"), "Tab from Today never reaches New event");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert(outline !== "none", "the focused button shows no outline");
  await page.keyboard.press("Enter");
  await page.getByRole("dialog").waitFor();
  assert(await page.evaluate(() => !!document.activeElement?.closest("dialog")), "focus is not inside the dialog");
  await page.keyboard.type("Typed by keyboard");
  assert((await page.getByRole("dialog").getByLabel("Title").inputValue()) === "Typed by keyboard", "typing did not reach the Title field");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
  const back = await page.waitForFunction(() => document.activeElement?.textContent === "New event", null, { timeout: 1_000 }).then(() => true, () => false);
  assert(back, `focus did not return to New event (it is on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80))})`);
});

check("a weekly event made with the Repeat preset shows in the following weeks; a raw RRULE is sent as typed", async () => {
  const { page } = a;
  const start = wednesday(8);
  await page.getByRole("button", { name: "New event" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Title").fill("Weekly standup");
  await dialog.getByLabel("Start").fill(local(start, A_ZONE));
  await dialog.getByLabel("End").fill(local(start + 900_000, A_ZONE));
  await dialog.getByLabel("Repeat").selectOption({ label: "Every week" });
  assert((await dialog.getByLabel("RRULE").inputValue()) === "FREQ=WEEKLY", "the Every week preset does not fill RRULE with FREQ=WEEKLY");
  await dialog.getByLabel("RRULE").fill("FREQ=WEEKLY;COUNT=3");
  assert((await dialog.getByLabel("Repeat").inputValue()) === "custom", "a typed rule does not switch Repeat to Custom rule");
  const created = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/api/events"));
  await dialog.getByRole("button", { name: "Save" }).click();
  const body = await (await created).json();
  assert(body.is_recurring === true && body.recurrence_pattern === "FREQ=WEEKLY;COUNT=3", `the rule was not sent as typed: ${JSON.stringify(body).slice(0, 300)}`);
  await dialog.waitFor({ state: "detached" });
  await eventButton(page, "Weekly standup").waitFor();
  await page.getByRole("button", { name: "Next week" }).click();
  await eventButton(page, "Weekly standup").waitFor();
  await page.getByRole("button", { name: "Next week" }).click();
  await eventButton(page, "Weekly standup").waitFor();
  await page.getByRole("button", { name: "Next week" }).click();
  await page.getByRole("grid").getByText("Weekly standup").waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Today" }).click();
  await eventButton(page, "Design review, final").waitFor();
});

async function runCheck({ name, run }) {
  const started = performance.now();
  let timer;
  try {
    await Promise.race([run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS)))]);
    log(`PASS ${name} (${Math.round(performance.now() - started)} ms)`);
    return true;
  } catch (error) {
    log(`FAIL ${name}: ${String(error?.message ?? error).split("Call log:")[0].trim()}`);
    for (const p of [a, b]) if (p) await p.page.screenshot({ path: join(SHOTS, `failed-${p === a ? "a" : "b"}.png`), fullPage: true }).catch(() => {});
    return false;
  } finally {
    clearTimeout(timer);
  }
}

let passed = 0;
let failed = 0;
try {
  ensureChromium(log);
  if (runStartsIn(RUN_BUDGET_MS)) log("a week starts in Berlin or New York within the run's budget: waiting for it");
  while (runStartsIn(RUN_BUDGET_MS)) await new Promise((resolve) => setTimeout(resolve, 5_000));
  WEEK = mondayIn(Date.now(), A_ZONE);
  setTimeout(() => {
    log(`FAIL the run exceeded ${RUN_BUDGET_MS / 1000} s`);
    cleanup().finally(() => (console.log(`app: ${passed} passed, ${checks.length - passed} failed`), process.exit(1)));
  }, RUN_BUDGET_MS).unref();
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  ({ mf, origin: BASE } = await startServer());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  log(`server ${BASE}; Chromium ${browser.version()}`);
  for (const entry of checks) (await runCheck(entry)) ? passed++ : failed++;
} catch (error) {
  log(`FAIL setup: ${error.stack ?? error}`);
} finally {
  await cleanup();
}
failed = checks.length - passed;
log(`axe: ${axeResults.length} screens checked, ${axeResults.reduce((n, r) => n + r.violations, 0)} minor or moderate violations, ${axeResults.reduce((n, r) => n + r.bad, 0)} serious or critical`);
if (screenshots.length) log(`screenshots:\n${screenshots.map((p) => `  ${p}`).join("\n")}`);
console.log(`app: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
