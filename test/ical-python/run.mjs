#!/usr/bin/env node
// A second, independent RFC 5545 parser reads what we publish: the production bundle (dist/index.js)
// under Miniflare serves a feed for a user with one-offs and series (a weekly Berlin one across both
// DST changes, a monthly BYSETPOS one, an endless one), and Debian's python3-icalendar parses it
// (test/ical-python/check.py), with python-dateutil expanding the rules against GET /api/agenda.
// Run by .ci/checks/70-ical-python.sh after `npm run build`. check.py prints one PASS/FAIL line per
// check and the closing `ical-python: N passed, M failed`; this exits with its status.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyMigrations, randomSecret, startWorker, useMemoryStorage, workerOptions } from "../../bench/lib/worker.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PYTHON = "/usr/bin/python3";
const WINDOW = { start: "2031-01-01T00:00:00Z", end: "2031-12-31T00:00:00Z" };

useMemoryStorage();
const server = await startWorker(workerOptions({ root: ROOT, scriptPath: join(ROOT, "dist", "index.js"), jwtSecret: randomSecret() }));
let status = 1;
let dir;
try {
  await applyMigrations(server.mf, join(ROOT, "migrations"));
  const base = server.url.origin;
  const api = async (method, path, { token, body } = {}) => {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  const session = await api("POST", "/api/auth/register", { body: { username: `icalpy_${Date.now().toString(36)}`, email: `icalpy_${Date.now().toString(36)}@example.com`, password: "correct horse battery" } });
  const token = session.access_token;
  const events = [
    { title: "One-off; with, escapes \\ and ünïcödé 🎉", description: "Line one\nLine two", location: "Café, east", start_time: "2031-05-05T15:00:00Z", end_time: "2031-05-05T16:00:00Z" },
    { title: "Across midnight in Paris", start_time: "2031-07-14T23:30:00", end_time: "2031-07-15T01:00:00", timezone: "Europe/Paris" },
    { title: "Weekly Berlin", start_time: "2031-03-03T09:00:00", end_time: "2031-03-03T10:00:00", timezone: "Europe/Berlin", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20311110T235959Z" },
    { title: "Last weekday", start_time: "2031-01-31T14:00:00", end_time: "2031-01-31T15:00:00", timezone: "America/New_York", is_recurring: true, recurrence_pattern: "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=12" },
    { title: "Endless Sydney", start_time: "2030-06-01T22:00:00", end_time: "2030-06-01T22:30:00", timezone: "Australia/Sydney", is_recurring: true, recurrence_pattern: "FREQ=DAILY;INTERVAL=3" },
    { title: "A long title that the writer must fold across several lines of at most seventy-five octets — ünïcödé everywhere, 日本語も", start_time: "2031-08-01T08:00:00Z", end_time: "2031-08-01T09:00:00Z" },
  ];
  const created = [];
  for (const body of events) created.push(await api("POST", "/api/events", { token, body }));
  // One occurrence of the BYSETPOS series cancelled, one moved (EXDATE and a RECURRENCE-ID VEVENT in the feed).
  const monthly = created[3].id;
  const cancelled = await fetch(`${base}/api/events/${monthly}/occurrences/2031-03-31T18:00:00Z`, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });
  if (cancelled.status !== 204) throw new Error(`cancel: ${cancelled.status}`);
  await api("PATCH", `/api/events/${monthly}/occurrences/2031-04-30T18:00:00Z`, { token, body: { start_time: "2031-05-02T16:00:00Z", end_time: "2031-05-02T17:30:00Z", title: "Moved" } });
  const agenda = [];
  for (let cursor = null, first = true; first || cursor; first = false) {
    const page = await api("GET", `/api/agenda?start=${WINDOW.start}&end=${WINDOW.end}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token });
    agenda.push(...page.items.map((i) => ({ event_id: i.event_id, start_time: i.start_time, end_time: i.end_time })));
    cursor = page.next_cursor;
  }
  const feed = await api("POST", "/api/feeds", { token, body: { name: "Python check" } });
  const res = await fetch(feed.url.replace(/^https?:\/\/[^/]+/, base));
  if (res.status !== 200) throw new Error(`feed fetch: ${res.status}`);
  dir = mkdtempSync(join(tmpdir(), "ical-python-"));
  writeFileSync(join(dir, "feed.ics"), Buffer.from(await res.arrayBuffer()));
  writeFileSync(join(dir, "expected.json"), JSON.stringify({ window: WINDOW, events: created.map((e) => ({ id: e.id, title: e.title, description: e.description, location: e.location })), agenda }));
  const python = spawnSync(PYTHON, [join(ROOT, "test", "ical-python", "check.py"), join(dir, "feed.ics"), join(dir, "expected.json")], { stdio: "inherit" });
  status = python.status ?? 1;
} catch (error) {
  console.log(`ical-python: FAIL setup: ${error.message}`);
  console.log("ical-python: 0 passed, 1 failed");
} finally {
  await server.mf.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
