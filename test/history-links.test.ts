import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { HISTORY_LINK_TTL_SECONDS, signHistoryLink, type HistoryView } from "../src/versions/links";
import { call, expectProblem, json, registerUser, slotMaker, type TestUser } from "./helpers";

let owner: TestUser;
let viewer: TestUser;
const slot = slotMaker(2037);

/** The token of an html_url: everything after `#`. */
const tokenOf = (url: string) => new URL(url).hash.slice(1);
/** Opens a token the way /history's script does: the token in the Authorization header, nothing else. */
async function open(token: string, headers: Record<string, string> = {}) {
  const res = await call("GET", "/api/history-view", { headers: { Authorization: `HistoryLink ${token}`, Accept: "text/html", ...headers } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}
const hrefs = (markup: string) => [...markup.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]);
const rows = (markup: string) =>
  [...markup.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => cell[1].replace(/<[^>]+>/g, "").trim()));
const payloadOf = (token: string) => JSON.parse(atob(token.split(".")[0].replaceAll("-", "+").replaceAll("_", "/"))) as [number, string, number, unknown[], number];
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** A link signed with the real key, for claims the API would never issue (expired, unknown version). */
const forged = (user: TestUser, eventId: number, view: HistoryView, expiresAt = nowSeconds() + 60, sessionId = payloadOf(ownLink)[1]) =>
  signHistoryLink(env, { userId: user.id, sessionId, eventId, view, expiresAt });
/** A token whose payload is replaced by `change(fields)`, keeping the original signature. */
const repacked = (token: string, change: (fields: unknown[]) => unknown[]) =>
  `${btoa(JSON.stringify(change(payloadOf(token)))).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_")}.${token.split(".")[1]}`;

let event: { id: number; title: string };
let ownLink: string;
beforeAll(async () => {
  [owner, viewer] = await Promise.all([registerUser("hl_owner"), registerUser("hl_viewer")]);
  event = (await json("POST", "/api/events", { token: owner.token, body: { title: "Planning", location: "Room 1", ...slot() } })).body;
  expect((await json("POST", `/api/events/${event.id}/share`, { token: owner.token, body: { users: [{ user_id: viewer.id, role: "viewer" }] } })).status).toBe(200);
  expect((await json("PATCH", `/api/events/${event.id}`, { token: owner.token, body: { title: "Planning (moved)", location: "Room 2" } })).status).toBe(200);
  expect((await json("PATCH", `/api/events/${event.id}`, { token: owner.token, body: { description: "Bring numbers" } })).status).toBe(200);
  ownLink = tokenOf((await json("GET", `/api/events/${event.id}/changelog`, { token: owner.token })).body.html_url);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("html_url in the JSON", () => {
  it("is on the changelog page and on every entry, as /history with the token in the fragment", async () => {
    const res = await json("GET", `/api/events/${event.id}/changelog`, { token: owner.token });
    expect(res.status).toBe(200);
    const urls = [res.body.html_url, ...res.body.items.map((item: { html_url: string }) => item.html_url)];
    expect(urls).toHaveLength(4);
    for (const url of urls) {
      const parsed = new URL(url);
      expect({ origin: parsed.origin, path: parsed.pathname, search: parsed.search }).toEqual({ origin: "http://localhost", path: "/history", search: "" });
      expect(parsed.hash).toMatch(/^#[\w-]+\.[\w-]{22}$/);
    }
    expect(res.body.items.map((item: { html_url: string }) => payloadOf(tokenOf(item.html_url))[3])).toEqual([["h", 1], ["h", 2], ["h", 3]]);
    expect(payloadOf(tokenOf(res.body.html_url))[3]).toEqual(["c", 50, null]);
  });

  it("binds each link to the user, the session, the event and the view, and expires it in 10 minutes", async () => {
    const before = nowSeconds();
    const res = await json("GET", `/api/events/${event.id}/diff/1/3`, { token: viewer.token });
    const [userId, sessionId, eventId, view, expiresAt] = payloadOf(tokenOf(res.body.html_url));
    expect({ userId, eventId, view }).toEqual({ userId: viewer.id, eventId: event.id, view: ["d", 1, 3] });
    expect(sessionId).toBe(JSON.parse(atob(viewer.token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/"))).sid);
    expect(HISTORY_LINK_TTL_SECONDS).toBe(600);
    expect(expiresAt - before).toBeGreaterThanOrEqual(600);
    expect(expiresAt - nowSeconds()).toBeLessThanOrEqual(600);
  });

  it("is on the history snapshot and the diff, next to the contract's fields", async () => {
    const snapshot = await json("GET", `/api/events/${event.id}/history/2`, { token: owner.token });
    expect(snapshot.body).toMatchObject({ version: 2, title: "Planning (moved)" });
    expect(payloadOf(tokenOf(snapshot.body.html_url))[3]).toEqual(["h", 2]);
    const diff = await json("GET", `/api/events/${event.id}/diff/3/1`, { token: owner.token });
    expect(Object.keys(diff.body).sort()).toEqual(["changes", "event_id", "from_version", "html_url", "to_version"]);
    expect(payloadOf(tokenOf(diff.body.html_url))[3]).toEqual(["d", 3, 1]);
  });

  it("keeps the page's limit and cursor in the changelog page's link", async () => {
    const first = await json("GET", `/api/events/${event.id}/changelog?limit=1`, { token: owner.token });
    const second = await json("GET", `/api/events/${event.id}/changelog?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`, { token: owner.token });
    expect(payloadOf(tokenOf(second.body.html_url))[3]).toEqual(["c", 1, first.body.next_cursor]);
    const page = await open(tokenOf(second.body.html_url));
    expect(page.status).toBe(200);
    expect(page.text).toContain('<li id="v2">');
    expect(page.text).not.toContain('<li id="v1">');
  });

  it("is there in MessagePack too", async () => {
    const res = await json("GET", `/api/events/${event.id}/history/1`, { token: owner.token, accept: "application/msgpack" });
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    expect(payloadOf(tokenOf(res.body.html_url))[3]).toEqual(["h", 1]);
  });
});

describe("opening a link", () => {
  it("renders the changelog page with no bearer and no cookie, not cached, with no referrer", async () => {
    const page = await open(ownLink);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("set-cookie")).toBeNull();
    expect(page.text).toContain("History of “Planning (moved)”");
    expect(rows(page.text)).toEqual(expect.arrayContaining([["title", "Planning", "Planning (moved)"], ["location", "Room 1", "Room 2"]]));
  });

  it("shows the same page as the bearer route, both linking with signed links only", async () => {
    const signed = await open(ownLink);
    const bearer = await (await call("GET", `/api/events/${event.id}/changelog`, { token: owner.token, accept: "text/html" })).text();
    const strip = (markup: string) => markup.replace(/href="\/history#[^"]*"/g, 'href=""');
    expect(strip(signed.text)).toBe(strip(bearer));
    const links = (markup: string) => [...markup.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]);
    expect(links(bearer).length).toBe(5);
    for (const href of [...links(signed.text), ...links(bearer)]) expect(href).toMatch(/^\/history#[\w-]+\.[\w-]{22}$/);
  });

  it("links to pages that open in turn: changelog → diff → snapshot → changelog", async () => {
    const changelog = await open(ownLink);
    const views = hrefs(changelog.text).map((href) => payloadOf(href.slice("/history#".length))[3]);
    expect(views).toEqual([["h", 1], ["h", 2], ["d", 1, 2], ["h", 3], ["d", 2, 3]]);
    const diff = await open(hrefs(changelog.text)[2].slice("/history#".length));
    expect(diff.status).toBe(200);
    expect(diff.text).toContain("“Planning (moved)”: v1 ↔ v2");
    expect(rows(diff.text).slice(1)).toEqual([["title", "Planning", "Planning (moved)"], ["location", "Room 1", "Room 2"]]);
    // The diff page credits the versions in its span, in the same round trip (see round-trips).
    expect(diff.text).toContain(`by <strong>${owner.username}</strong> (title, location)`);
    const snapshotHref = hrefs(diff.text).find((href) => JSON.stringify(payloadOf(href.slice(9))[3]) === '["h",2]')!;
    const snapshot = await open(snapshotHref.slice("/history#".length));
    expect(snapshot.status).toBe(200);
    expect(rows(snapshot.text).slice(1, 3)).toEqual([["title", "Planning (moved)"], ["description", "empty text"]]);
    const back = await open(hrefs(snapshot.text)[0].slice("/history#".length));
    expect(back.status).toBe(200);
    expect(back.text).toContain("History of “Planning (moved)”");
  });

  it("issues the page's links to the same user and session as the link it opened", async () => {
    const page = await open(tokenOf((await json("GET", `/api/events/${event.id}/history/1`, { token: viewer.token })).body.html_url));
    for (const href of hrefs(page.text)) {
      const [userId, sessionId, eventId] = payloadOf(href.slice("/history#".length));
      expect({ userId, eventId }).toEqual({ userId: viewer.id, eventId: event.id });
      expect(sessionId).toBe(payloadOf(tokenOf((await json("GET", `/api/events/${event.id}/history/1`, { token: viewer.token })).body.html_url))[1]);
    }
  });

  it("logs nothing that holds a link, on success and on refusal", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, level).mockImplementation((...args) => void lines.push(args.map(String).join(" ")));
    const link = tokenOf((await json("GET", `/api/events/${event.id}/changelog`, { token: owner.token })).body.html_url);
    expect((await open(link)).status).toBe(200);
    expect((await open(`${link.slice(0, -2)}AA`)).status).toBe(401);
    const signature = link.split(".")[1];
    expect(lines.filter((line) => line.includes(signature) || line.includes("HistoryLink"))).toEqual([]);
  });
});

describe("refused links", () => {
  it("without a token is a 401 problem that names the HistoryLink scheme", async () => {
    const res = await json("GET", "/api/history-view", { accept: "text/html" });
    expectProblem(res, 401, "unauthorized");
    expect(res.headers.get("www-authenticate")).toBe('HistoryLink realm="history"');
  });

  it("a bearer access token is not a link", async () => {
    expectProblem(await json("GET", "/api/history-view", { token: owner.token }), 401, "unauthorized");
    expectProblem(await json("GET", "/api/history-view", { headers: { Authorization: `HistoryLink ${owner.token}` } }), 401, "unauthorized");
  });

  it.each([
    ["one changed character of the signature", (t: string) => `${t.slice(0, -1)}${t.endsWith("A") ? "B" : "A"}`],
    ["a signature spelled differently (spare base64 bits)", (t: string) => `${t.slice(0, -1)}${String.fromCharCode(t.charCodeAt(t.length - 1) ^ 1)}`],
    ["no signature", (t: string) => t.split(".")[0]],
    ["an empty signature", (t: string) => `${t.split(".")[0]}.`],
    ["a third part", (t: string) => `${t}.AAAA`],
    ["the payload of another user with this signature", (t: string) => repacked(t, ([, ...rest]) => [viewer.id, ...rest])],
    ["the payload of another event with this signature", (t: string) => repacked(t, ([u, s, e, ...rest]) => [u, s, (e as number) + 1, ...rest])],
    ["the payload of another version with this signature", (t: string) => repacked(t, ([u, s, e, , x]) => [u, s, e, ["h", 2], x])],
    ["the payload of another view with this signature", (t: string) => repacked(t, ([u, s, e, , x]) => [u, s, e, ["d", 1, 3], x])],
    ["a later expiry with this signature", (t: string) => repacked(t, ([u, s, e, v, x]) => [u, s, e, v, (x as number) + 86400])],
    ["garbage", () => "not a link at all"],
  ])("with %s is a 401 that reads nothing", async (_name, tamper) => {
    const res = await open(tamper(ownLink));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: "unauthorized", detail: "Invalid history link." });
    expect(res.text).not.toContain("Planning");
  });

  it("signed with another key (a cursor's or another deployment's) is a 401", async () => {
    const other = { ...env, JWT_SECRET: "another-secret-that-is-long-enough-for-hs256-xyz" };
    const token = signHistoryLink(other, { userId: owner.id, sessionId: payloadOf(ownLink)[1], eventId: event.id, view: ["h", 1], expiresAt: nowSeconds() + 60 });
    expect((await open(token)).status).toBe(401);
    const cursor = (await json("GET", `/api/events/${event.id}/changelog?limit=1`, { token: owner.token })).body.next_cursor;
    expect((await open(cursor)).status).toBe(401);
  });

  it("once expired is a 401 that says so", async () => {
    const res = await open(forged(owner, event.id, ["h", 1], nowSeconds() - 1));
    expect(res.status).toBe(401);
    expect(res.body.detail).toContain("Expired");
    expect(res.headers.get("www-authenticate")).toBe('HistoryLink realm="history"');
    expect(res.text).not.toContain("Planning");
  });

  it("for a version that does not exist is a 404", async () => {
    const res = await open(forged(owner, event.id, ["h", 99]));
    expect(res.status).toBe(404);
    expect((await open(forged(owner, event.id, ["d", 1, 99]))).status).toBe(404);
  });

  it("of a user who lost access gives nothing: 404, even on pages already linked", async () => {
    const guest = await registerUser("hl_guest");
    expect((await json("POST", `/api/events/${event.id}/share`, { token: owner.token, body: { users: [{ user_id: guest.id, role: "viewer" }] } })).status).toBe(200);
    const link = tokenOf((await json("GET", `/api/events/${event.id}/changelog`, { token: guest.token })).body.html_url);
    const page = await open(link);
    expect(page.status).toBe(200);
    expect((await call("DELETE", `/api/events/${event.id}/permissions/${guest.id}`, { token: owner.token })).status).toBe(204);
    for (const token of [link, ...hrefs(page.text).map((href) => href.slice("/history#".length))]) {
      const res = await open(token);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("not_found");
      expect(res.text).not.toContain("Planning");
    }
  });

  it("whose session was revoked (logout) is a 401", async () => {
    const leaver = await registerUser("hl_leaver");
    const mine = (await json("POST", "/api/events", { token: leaver.token, body: { title: "Leaving", ...slot() } })).body;
    const link = tokenOf((await json("GET", `/api/events/${mine.id}/changelog`, { token: leaver.token })).body.html_url);
    expect((await open(link)).status).toBe(200);
    expect((await call("POST", "/api/auth/logout", { token: leaver.token })).status).toBe(204);
    const res = await open(link);
    expect(res.status).toBe(401);
    expect(res.body.detail).toContain("session");
    expect(res.text).not.toContain("Leaving");
  });

  it("of a deleted event is a 404", async () => {
    const doomed = (await json("POST", "/api/events", { token: owner.token, body: { title: "Doomed", ...slot() } })).body;
    const link = tokenOf((await json("GET", `/api/events/${doomed.id}/history/1`, { token: owner.token })).body.html_url);
    expect((await call("DELETE", `/api/events/${doomed.id}`, { token: owner.token })).status).toBe(204);
    expect((await open(link)).status).toBe(404);
  });

  it("whose session is not the user's is a 401, even when correctly signed", async () => {
    expect((await open(forged(viewer, event.id, ["h", 1])))).toMatchObject({ status: 401 });
  });
});

describe("the pages around the links", () => {
  it("/history is a static page whose script reads the fragment and sends it as HistoryLink", async () => {
    const page = await call("GET", "/history");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const markup = await page.text();
    expect(markup).toContain('<meta name="referrer" content="no-referrer">');
    expect(markup).toContain('<script src="/static/history.js" defer></script>');
    const script = await (await call("GET", "/static/history.js")).text();
    expect(script).toContain("location.hash");
    expect(script).toContain("Authorization: `HistoryLink ${token}`");
    expect(script).toContain('"/api/history-view"');
  });
});
