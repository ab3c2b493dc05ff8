import { beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, json, registerUser, type TestUser, slotMaker } from "./helpers";

let owner: TestUser;
let editor: TestUser;
let stranger: TestUser;
const slot = slotMaker(2034);
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/** Fetches a page the way a browser does and returns its status, type and markup. */
async function page(user: TestUser, path: string, accept = BROWSER_ACCEPT) {
  const res = await call("GET", path, { token: user.token, accept });
  return { status: res.status, type: res.headers.get("content-type") ?? "", vary: res.headers.get("vary") ?? "", html: await res.text() };
}
/** The text of every `<tr>` as its cells, tags stripped. */
const rows = (markup: string) =>
  [...markup.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => cell[1].replace(/<[^>]+>/g, "").trim()));
/**
 * The API path each link of a page stands for. Links are signed history links (`/history#<token>`,
 * see test/history-links.test.ts); the view they open is read back from the token's payload.
 */
function asPath(href: string): string {
  const match = /^\/history#([\w-]+)\.[\w-]+$/.exec(href);
  if (!match) return `not a signed link: ${href}`;
  const [, , eventId, view] = JSON.parse(atob(match[1].replaceAll("-", "+").replaceAll("_", "/"))) as [number, string, number, [string, number, number | string | null]];
  const base = `/api/events/${eventId}`;
  if (view[0] === "h") return `${base}/history/${view[1]}`;
  if (view[0] === "d") return `${base}/diff/${view[1]}/${view[2]}`;
  return view[2] === null ? `${base}/changelog` : `${base}/changelog?limit=${view[1]}&cursor=${encodeURIComponent(view[2] as string)}`;
}
const hrefs = (markup: string) => [...markup.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => asPath(m[1]));

let event: any;
let v2: any;
beforeAll(async () => {
  owner = await registerUser("h_owner");
  editor = await registerUser("h_editor");
  stranger = await registerUser("h_stranger");
  const made = await json("POST", "/api/events", { token: owner.token, body: { title: "Standup", description: "Daily sync", location: "Room 4", ...slot() } });
  event = made.body;
  await json("POST", `/api/events/${event.id}/share`, { token: owner.token, body: { users: [{ user_id: editor.id, role: "editor" }] } });
  v2 = (await json("PATCH", `/api/events/${event.id}`, { token: editor.token, body: { title: "Standup (moved)", location: "Room 7" } })).body;
  await json("PATCH", `/api/events/${event.id}`, { token: owner.token, body: { description: "Weekly sync" } });
  await json("POST", `/api/events/${event.id}/rollback/1`, { token: owner.token });
});

describe("changelog as HTML", () => {
  it("renders a text/html page that varies on Accept", async () => {
    const res = await page(owner, `/api/events/${event.id}/changelog`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/html/);
    expect(res.vary).toMatch(/Accept/);
    expect(res.html).toMatch(/^<!doctype html>/);
  });

  it("shows who changed what and when, old and new values side by side per field", async () => {
    const { html } = await page(owner, `/api/events/${event.id}/changelog`);
    expect(html).toContain(`<strong>${editor.username}</strong> <span class="action">updated</span>`);
    expect(html).toContain(v2.updated_at);
    expect(rows(html)).toEqual(expect.arrayContaining([["title", "Standup", "Standup (moved)"], ["location", "Room 4", "Room 7"], ["description", "Daily sync", "Weekly sync"]]));
    expect(html).toContain('<td class="from"><del><code>Standup</code></del></td><td class="to"><ins><code>Standup (moved)</code></ins></td>');
  });

  it("marks a rollback with the version it restored", async () => {
    const { html } = await page(owner, `/api/events/${event.id}/changelog`);
    const restored = /<span class="action">rolled back<\/span> \(restored from <a href="([^"]+)">v1<\/a>\)/.exec(html);
    expect(restored && asPath(restored[1])).toBe(`/api/events/${event.id}/history/1`);
  });

  it("links every version to its snapshot and to a diff with the one before", async () => {
    const links = hrefs((await page(owner, `/api/events/${event.id}/changelog`)).html);
    const base = `/api/events/${event.id}`;
    expect(links).toEqual(expect.arrayContaining([1, 2, 3, 4].map((v) => `${base}/history/${v}`)));
    expect(links).toEqual(expect.arrayContaining([`${base}/diff/1/2`, `${base}/diff/2/3`, `${base}/diff/3/4`]));
  });

  it("pages with limit and a link to the newer changes that keeps the limit", async () => {
    const first = await page(owner, `/api/events/${event.id}/changelog?limit=2`);
    expect(hrefs(first.html)).toContain(`/api/events/${event.id}/history/2`);
    expect(hrefs(first.html)).not.toContain(`/api/events/${event.id}/history/3`);
    const next = hrefs(first.html).find((h) => h.includes("cursor="))!;
    expect(next).toMatch(new RegExp(`^/api/events/${event.id}/changelog\\?limit=2&cursor=`));
    const second = await page(owner, next);
    expect(second.status).toBe(200);
    expect(hrefs(second.html)).toContain(`/api/events/${event.id}/history/4`);
    expect(hrefs(second.html)).not.toContain(`/api/events/${event.id}/history/2`);
    expect(hrefs(second.html).some((h) => h.includes("cursor="))).toBe(false);
  });
});

describe("diff as HTML", () => {
  it("renders both versions side by side with who made each and when", async () => {
    const res = await page(owner, `/api/events/${event.id}/diff/1/3`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/html/);
    const [header, ...fields] = rows(res.html);
    expect(header).toEqual(["Field", `v1 (${owner.username}, ${event.created_at.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC")})`, expect.stringMatching(new RegExp(`^v3 \\(${owner.username}, `))]);
    expect(fields).toEqual([["title", "Standup", "Standup (moved)"], ["description", "Daily sync", "Weekly sync"], ["location", "Room 4", "Room 7"]]);
  });

  it("links to the full history and the neighbouring changes", async () => {
    const links = hrefs((await page(owner, `/api/events/${event.id}/diff/2/3`)).html);
    const base = `/api/events/${event.id}`;
    // Then the versions in the span, each linked to its snapshot.
    expect(links).toEqual([`${base}/changelog`, `${base}/diff/1/2`, `${base}/diff/3/4`, `${base}/history/3`]);
  });

  it("says so when nothing differs", async () => {
    const { html } = await page(owner, `/api/events/${event.id}/diff/1/4`);
    expect(html).toContain("No field differs.");
    expect(rows(html)).toEqual([]);
  });
});

describe("snapshot as HTML", () => {
  it("shows every field of the version and links to its neighbours and diffs", async () => {
    const res = await page(editor, `/api/events/${event.id}/history/2`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/html/);
    expect(rows(res.html).slice(1, 4)).toEqual([["title", "Standup (moved)"], ["description", "Daily sync"], ["location", "Room 7"]]);
    const base = `/api/events/${event.id}`;
    expect(hrefs(res.html)).toEqual([`${base}/changelog`, `${base}/history/1`, `${base}/diff/1/2`, `${base}/diff/2/4`, `${base}/history/3`]);
  });
});

describe("escaping", () => {
  const payload = `<script>alert(1)</script> "quotes" 'single' &amp;`;
  const escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quotes&quot; &#39;single&#39; &amp;amp;";
  let hostile: any;
  beforeAll(async () => {
    hostile = (await json("POST", "/api/events", { token: owner.token, body: { title: `T ${payload}`, description: `D ${payload}`, location: `L ${payload}`, ...slot() } })).body;
    await json("PATCH", `/api/events/${hostile.id}`, { token: owner.token, body: { title: `T2 ${payload}`, description: `D2 ${payload}`, location: `L2 ${payload}` } });
  });

  it.each([
    ["changelog", () => `/api/events/${hostile.id}/changelog`],
    ["diff", () => `/api/events/${hostile.id}/diff/1/2`],
    ["snapshot", () => `/api/events/${hostile.id}/history/2`],
  ])("escapes every text field on the %s page", async (_name, path) => {
    const { status, html } = await page(owner, path());
    expect(status).toBe(200);
    expect(html).not.toContain("<script");
    expect(html).not.toContain(`"quotes"`);
    expect(html).not.toContain(`'single'`);
    expect(html).not.toContain(" &amp; ");
    for (const prefix of ["T2", "D2", "L2"]) expect(html).toContain(`${prefix} ${escaped}`);
  });

  it("escapes the old values too", async () => {
    const { html } = await page(owner, `/api/events/${hostile.id}/diff/1/2`);
    for (const prefix of ["T", "D", "L"]) expect(html).toContain(`<code>${prefix} ${escaped}</code>`);
  });
});

describe("negotiation and access", () => {
  it("answers a stranger with a 404 problem, not a page", async () => {
    for (const path of [`/api/events/${event.id}/changelog`, `/api/events/${event.id}/diff/1/2`, `/api/events/${event.id}/history/1`]) {
      const res = await json("GET", path, { token: stranger.token, accept: BROWSER_ACCEPT });
      expectProblem(res, 404, "not_found");
      expect(JSON.stringify(res.body)).not.toContain("Standup");
    }
  });

  it("answers an unknown version with a 404 problem, not a page", async () => {
    expectProblem(await json("GET", `/api/events/${event.id}/diff/1/9`, { token: owner.token, accept: BROWSER_ACCEPT }), 404, "not_found");
    expectProblem(await json("GET", `/api/events/${event.id}/history/9`, { token: owner.token, accept: BROWSER_ACCEPT }), 404, "not_found");
  });

  it.each([
    ["no Accept", undefined],
    ["*/*", "*/*"],
    ["JSON preferred over HTML", "application/json, text/html;q=0.5"],
  ])("returns JSON with %s", async (_name, accept) => {
    const res = await json("GET", `/api/events/${event.id}/changelog`, { token: owner.token, accept });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body.items.map((e: { version: number }) => e.version)).toEqual([1, 2, 3, 4]);
  });

  it("returns HTML when text/html is preferred, q-values honoured", async () => {
    const res = await page(owner, `/api/events/${event.id}/diff/1/2`, "application/json;q=0.4, text/html");
    expect(res.type).toMatch(/^text\/html/);
  });

  it("returns MessagePack when that is preferred over HTML", async () => {
    const res = await json("GET", `/api/events/${event.id}/diff/1/2`, { token: owner.token, accept: "application/msgpack, text/html;q=0.5" });
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    expect(res.body).toEqual({ event_id: event.id, from_version: 1, to_version: 2, changes: { title: { from: "Standup", to: "Standup (moved)" }, location: { from: "Room 4", to: "Room 7" } }, html_url: expect.stringMatching(/^http:\/\/localhost\/history#/) });
  });
});
