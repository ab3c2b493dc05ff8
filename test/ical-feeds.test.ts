import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, json, registerUser, type TestUser } from "./helpers";
import { countingDatabase, roundTripLog } from "./support/counting-db";
import { sendWith } from "./support/faults";
import { parseCalendar } from "./support/ical";
import { inOneWindow } from "./support/rate-window";

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const pathOf = (url: string) => new URL(url).pathname;
const summaries = (text: string) =>
  parseCalendar(text)
    .getAllSubcomponents("vevent")
    .map((v) => String(v.getFirstPropertyValue("summary")))
    .sort();

async function sha256Hex(text: string) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function createEvent(user: TestUser, title: string, startMs: number, extra: Record<string, unknown> = {}) {
  const res = await json("POST", "/api/events", { token: user.token, body: { title, start_time: iso(startMs), end_time: iso(startMs + 3600_000), ...extra } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number };
}

async function createFeed(user: TestUser, name?: string) {
  const res = await json("POST", "/api/feeds", { token: user.token, body: name === undefined ? {} : { name } });
  if (res.status !== 201) throw new Error(`feed create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; name: string; url: string; webcal_url: string; created_at: string };
}

let owner: TestUser;
let friend: TestUser;
const soon = Date.UTC(new Date().getUTCFullYear() + 1, 4, 4, 9);

beforeAll(async () => {
  [owner, friend] = await Promise.all([registerUser("feed_owner"), registerUser("feed_friend")]);
  await createEvent(owner, "Owner standup", soon);
});

describe("creating a feed", () => {
  it("answers 201 with an https URL under 200 characters and its webcal twin; the token has 256 random bits and only its hash is stored", async () => {
    const feed = await createFeed(owner, "Work");
    expect(Object.keys(feed).sort()).toEqual(["created_at", "id", "name", "url", "webcal_url"]);
    expect(feed.name).toBe("Work");
    expect(feed.url.length).toBeLessThan(200);
    const match = /^http:\/\/localhost\/feeds\/([A-Za-z0-9_-]{43})\.ics$/.exec(feed.url);
    expect(match).not.toBeNull();
    expect(feed.webcal_url).toBe(feed.url.replace("http:", "webcal:"));
    const token = match![1];
    const row = await env.DB.prepare("SELECT * FROM feeds WHERE id = ?").bind(feed.id).first<Record<string, unknown>>();
    expect(row!.token_hash).toBe(await sha256Hex(token));
    expect(Object.values(row!).some((v) => String(v).includes(token))).toBe(false);
  });

  it("names the feed after its user when no name is sent, and refuses an empty or overlong name with 422", async () => {
    expect((await createFeed(owner)).name).toBe(`Events of ${owner.username}`);
    const empty = await json("POST", "/api/feeds", { token: owner.token, body: { name: "  " } });
    expectProblem(empty, 422, "validation_failed");
    expect(empty.body.errors).toEqual([{ field: "name", message: "Must not be empty." }]);
    expectProblem(await json("POST", "/api/feeds", { token: owner.token, body: { name: "x".repeat(101) } }), 422, "validation_failed");
  });

  it("needs a bearer token", async () => {
    expectProblem(await json("POST", "/api/feeds", { body: {} }), 401, "unauthorized");
    expectProblem(await json("GET", "/api/feeds"), 401, "unauthorized");
  });

  it("allows at most 20 feeds per user: the 21st is 409 feed_limit_reached", async () => {
    const user = await registerUser("feed_many");
    for (let i = 0; i < 20; i++) await createFeed(user, `Feed ${i}`);
    expectProblem(await json("POST", "/api/feeds", { token: user.token, body: {} }), 409, "feed_limit_reached");
    expect((await json("GET", "/api/feeds", { token: user.token })).body.items).toHaveLength(20);
  });
});

describe("fetching a feed", () => {
  it("answers 200 text/calendar without any credentials, with the user's events", async () => {
    const feed = await createFeed(owner, "Fetch");
    const res = await call("GET", pathOf(feed.url));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    const text = await res.text();
    const root = parseCalendar(text);
    expect(root.getFirstPropertyValue("x-wr-calname")).toBe("Fetch");
    expect(summaries(text)).toEqual(["Owner standup"]);
  });

  it("answers 404 for a token that was never issued and for a name that is not a token", async () => {
    expectProblem(await json("GET", `/feeds/${"A".repeat(43)}.ics`), 404, "not_found");
    expectProblem(await json("GET", "/feeds/short.ics"), 404, "not_found");
    expectProblem(await json("GET", `/feeds/${"A".repeat(43)}.txt`), 404, "not_found");
  });

  it("lists the user's feeds without their URLs, with last_fetched_at once fetched", async () => {
    const user = await registerUser("feed_list");
    const feed = await createFeed(user, "Listed");
    let list = await json("GET", "/api/feeds", { token: user.token });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [{ id: feed.id, name: "Listed", created_at: feed.created_at, last_fetched_at: null }] });
    await sendWith({}, { method: "GET", path: pathOf(feed.url) });
    list = await json("GET", "/api/feeds", { token: user.token });
    expect(list.body.items[0].last_fetched_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(JSON.stringify(list.body)).not.toContain(new URL(feed.url).pathname.slice(7, 50));
    expect((await json("GET", "/api/feeds", { token: friend.token })).body).toEqual({ items: [] });
  });

  it("records last_fetched_at with one conditional write, and fetches within the next minutes write nothing", async () => {
    const feed = await createFeed(owner, "Quiet");
    const first = roundTripLog();
    expect((await sendWith({ DB: countingDatabase(env.DB, first) }, { method: "GET", path: pathOf(feed.url) })).status).toBe(200);
    expect(first.sql.filter((s) => /^update "feeds"/i.test(s))).toHaveLength(1);
    const recorded = await env.DB.prepare("SELECT last_fetched_at AS at FROM feeds WHERE id = ?").bind(feed.id).first<{ at: number }>();
    for (let i = 0; i < 3; i++) {
      const log = roundTripLog();
      expect((await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path: pathOf(feed.url) })).status).toBe(200);
      expect(log.sql.filter((s) => /^\s*(update|insert|delete)/i.test(s))).toEqual([]);
      expect(log.roundTrips).toBe(1);
    }
    expect(await env.DB.prepare("SELECT last_fetched_at AS at FROM feeds WHERE id = ?").bind(feed.id).first<{ at: number }>()).toEqual(recorded);
  });

  it("answers HEAD with the GET's status and validators and no body", async () => {
    const feed = await createFeed(owner, "Head");
    const get = await call("GET", pathOf(feed.url));
    const head = await call("HEAD", pathOf(feed.url));
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(get.headers.get("etag"));
    expect(head.headers.get("last-modified")).toBe(get.headers.get("last-modified"));
    expect(head.headers.get("content-type")).toBe("text/calendar; charset=utf-8");
    expect(await head.text()).toBe("");
  });

  it("rate-limits each feed: the 31st fetch in a minute is 429 with Retry-After, while another feed still answers", async () => {
    const user = await registerUser("feed_busy");
    const busy = await createFeed(user, "Busy");
    await inOneWindow(60, 10_000);
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await call("GET", pathOf(busy.url))).status);
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    const limited = await json("GET", pathOf(busy.url));
    expectProblem(limited, 429, "rate_limited");
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(statuses[30]).toBe(429);
    expect((await call("GET", pathOf((await createFeed(user, "Calm")).url))).status).toBe(200);
  });
});

describe("conditional fetches", () => {
  it("answers 304 to If-None-Match with the current ETag, and 200 with a new ETag after an edit", async () => {
    const user = await registerUser("feed_etag");
    const event = await createEvent(user, "Before", soon);
    const feed = await createFeed(user, "Tags");
    const first = await call("GET", pathOf(feed.url));
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await call("GET", pathOf(feed.url), { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");
    expect((await json("PATCH", `/api/events/${event.id}`, { token: user.token, body: { title: "After" } })).status).toBe(200);
    const changed = await call("GET", pathOf(feed.url), { headers: { "If-None-Match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(summaries(await changed.text())).toEqual(["After"]);
  });

  it("answers 304 to If-Modified-Since at or after Last-Modified, 200 before it; If-None-Match wins over it", async () => {
    const user = await registerUser("feed_ims");
    await createEvent(user, "Dated", soon);
    const feed = await createFeed(user, "Dates");
    const first = await call("GET", pathOf(feed.url));
    const lastModified = first.headers.get("last-modified")!;
    expect(new Date(lastModified).toUTCString()).toBe(lastModified);
    expect((await call("GET", pathOf(feed.url), { headers: { "If-Modified-Since": lastModified } })).status).toBe(304);
    const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString();
    expect((await call("GET", pathOf(feed.url), { headers: { "If-Modified-Since": earlier } })).status).toBe(200);
    expect((await call("GET", pathOf(feed.url), { headers: { "If-Modified-Since": lastModified, "If-None-Match": '"other"' } })).status).toBe(200);
  });

  it("moves Last-Modified forward when an event the user saw is deleted", async () => {
    const user = await registerUser("feed_del");
    await createEvent(user, "Stays", soon);
    const doomed = await createEvent(user, "Goes", soon + DAY);
    const feed = await createFeed(user, "Deletions");
    const before = await call("GET", pathOf(feed.url));
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call("DELETE", `/api/events/${doomed.id}`, { token: user.token })).status).toBe(204);
    const after = await call("GET", pathOf(feed.url), { headers: { "If-Modified-Since": before.headers.get("last-modified")! } });
    expect(after.status).toBe(200);
    expect(Date.parse(after.headers.get("last-modified")!)).toBeGreaterThan(Date.parse(before.headers.get("last-modified")!));
    expect(summaries(await after.text())).toEqual(["Stays"]);
  });
});

describe("rotating and deleting", () => {
  it("rotate gives a new URL; the old one is 410 Gone and the new one 200", async () => {
    const feed = await createFeed(owner, "Rotated");
    const rotated = await json("POST", `/api/feeds/${feed.id}/rotate`, { token: owner.token });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ id: feed.id, name: "Rotated", url: expect.any(String), webcal_url: expect.any(String), created_at: feed.created_at });
    expect(rotated.body.url).not.toBe(feed.url);
    expectProblem(await json("GET", pathOf(feed.url)), 410, "gone");
    expect((await call("GET", pathOf(rotated.body.url))).status).toBe(200);
    const twice = await json("POST", `/api/feeds/${feed.id}/rotate`, { token: owner.token });
    expectProblem(await json("GET", pathOf(rotated.body.url)), 410, "gone");
    expectProblem(await json("GET", pathOf(feed.url)), 410, "gone");
    expect((await call("GET", pathOf(twice.body.url))).status).toBe(200);
  });

  it("delete answers 204; the URL is then 410, the feed leaves the list, and rotating or deleting it again is 404", async () => {
    const feed = await createFeed(owner, "Deleted");
    expect((await call("DELETE", `/api/feeds/${feed.id}`, { token: owner.token })).status).toBe(204);
    expectProblem(await json("GET", pathOf(feed.url)), 410, "gone");
    expect((await call("HEAD", pathOf(feed.url))).status).toBe(410);
    expect((await json("GET", "/api/feeds", { token: owner.token })).body.items.map((f: { id: number }) => f.id)).not.toContain(feed.id);
    expectProblem(await json("POST", `/api/feeds/${feed.id}/rotate`, { token: owner.token }), 404, "not_found");
    expectProblem(await json("DELETE", `/api/feeds/${feed.id}`, { token: owner.token }), 404, "not_found");
  });

  it("another user's feed cannot be rotated or deleted (404), and keeps working", async () => {
    const feed = await createFeed(owner, "Mine only");
    expectProblem(await json("POST", `/api/feeds/${feed.id}/rotate`, { token: friend.token }), 404, "not_found");
    expectProblem(await json("DELETE", `/api/feeds/${feed.id}`, { token: friend.token }), 404, "not_found");
    expectProblem(await json("DELETE", "/api/feeds/abc", { token: friend.token }), 404, "not_found");
    expect((await call("GET", pathOf(feed.url))).status).toBe(200);
  });
});

describe("what a feed shows", () => {
  it("shows shared events while the share lasts and never after access is revoked", async () => {
    const host = await registerUser("feed_host");
    const guest = await registerUser("feed_guest");
    const shared = await createEvent(host, "Shared planning", soon);
    await createEvent(guest, "Guest's own", soon + DAY);
    const feed = await createFeed(guest, "Guest");
    expect(summaries(await (await call("GET", pathOf(feed.url))).text())).toEqual(["Guest's own"]);
    expect((await json("POST", `/api/events/${shared.id}/share`, { token: host.token, body: { user_id: guest.id, role: "viewer" } })).status).toBe(200);
    const withShare = await call("GET", pathOf(feed.url));
    expect(summaries(await withShare.text())).toEqual(["Guest's own", "Shared planning"]);
    expect((await call("DELETE", `/api/events/${shared.id}/permissions/${guest.id}`, { token: host.token })).status).toBe(204);
    const revoked = await call("GET", pathOf(feed.url), { headers: { "If-None-Match": withShare.headers.get("etag")! } });
    expect(revoked.status).toBe(200);
    expect(summaries(await revoked.text())).toEqual(["Guest's own"]);
  });

  it("covers events still running 30 days before today (UTC) and every later one, but not older ones", async () => {
    const user = await registerUser("feed_window");
    const today = Math.floor(Date.now() / DAY) * DAY;
    await createEvent(user, "Forty days ago", today - 40 * DAY + 9 * 3600_000);
    await createEvent(user, "Ten days ago", today - 10 * DAY + 9 * 3600_000);
    await createEvent(user, "Next decade", today + 3650 * DAY + 9 * 3600_000);
    await json("POST", "/api/events", { token: user.token, body: { title: "Old weekly", start_time: iso(today - 400 * DAY), end_time: iso(today - 400 * DAY + 3600_000), is_recurring: true, recurrence_pattern: "FREQ=WEEKLY" } });
    await json("POST", "/api/events", { token: user.token, body: { title: "Ended weekly", start_time: iso(today - 400 * DAY), end_time: iso(today - 400 * DAY + 3600_000), is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=3" } });
    const feed = await createFeed(user, "Window");
    expect(summaries(await (await call("GET", pathOf(feed.url))).text())).toEqual(["Next decade", "Old weekly", "Ten days ago"]);
  });
});
