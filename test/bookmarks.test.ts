import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession } from "../src/db/client";
import { bodyOf, call, json, registerUser, slotMaker } from "./helpers";
import { sendWith } from "./support/faults";

const slot = slotMaker(2034);
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
const ORIGIN = "http://localhost:8787";

const bookmarkOf = (res: { headers: Headers }) => res.headers.get("x-d1-bookmark");

/** The DB binding, recording the constraint or bookmark of every session a request opens. */
function sessionRecordingDb(opened: string[], refuse?: "withSession" | "first query", message = "D1_ERROR: bookmark is not valid for this database"): D1Database {
  return new Proxy(env.DB, {
    get(target, property) {
      if (property === "withSession") {
        return (constraint: string) => {
          opened.push(constraint);
          const isBookmark = constraint !== "first-primary" && constraint !== "first-unconstrained";
          if (isBookmark && refuse === "withSession") throw new Error("D1_ERROR: invalid bookmark");
          const session = target.withSession(constraint);
          if (!isBookmark || refuse !== "first query") return session;
          // How production may refuse a bookmark of the right form: every query of that session fails.
          const fail = () => Promise.reject(new Error(message));
          const statement = { bind: () => statement, first: fail, all: fail, run: fail, raw: fail };
          return { prepare: () => statement, batch: fail, getBookmark: () => session.getBookmark() };
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("X-D1-Bookmark on responses", () => {
  it("is a D1 bookmark on a 2xx read, a 201 create, a 404 of a missing event and a 422 of a body only the stored event can refuse", async () => {
    const user = await registerUser("bm_status");
    const me = await call("GET", "/api/auth/me", { token: user.token });
    const created = await call("POST", "/api/events", { token: user.token, body: { title: "Bookmarked", ...slot() } });
    const missing = await call("GET", "/api/events/999999999", { token: user.token });
    const createdId = (await bodyOf(created)).id as number;
    const invalid = await call("PATCH", `/api/events/${createdId}`, { token: user.token, body: { end_time: "2001-01-01T00:00:00Z" } });
    expect([me.status, created.status, missing.status, invalid.status]).toEqual([200, 201, 404, 422]);
    for (const res of [me, created, missing, invalid]) expect(bookmarkOf(res)).toMatch(BOOKMARK);
  });

  it("is on the 401 of a revoked session's token", async () => {
    const user = await registerUser("bm_revoked");
    expect((await call("POST", "/api/auth/logout", { token: user.token })).status).toBe(204);
    const res = await call("GET", "/api/auth/me", { token: user.token });
    expect(res.status).toBe(401);
    expect(bookmarkOf(res)).toMatch(BOOKMARK);
  });

  it("echoes the client's bookmark on a 401 without a token, a 404 of an unknown route and a 422 of a bad write body, which ask D1 nothing", async () => {
    const user = await registerUser("bm_echo");
    const bookmark = bookmarkOf(await call("GET", "/api/auth/me", { token: user.token }))!;
    const noToken = await call("GET", "/api/events", { headers: { "X-D1-Bookmark": bookmark } });
    const noRoute = await call("GET", "/api/no-such-route", { headers: { "X-D1-Bookmark": bookmark } });
    // A write's session check rides in its first batch, so a body the schema refuses never reaches D1.
    const badBody = await call("POST", "/api/events", { token: user.token, body: { title: "" }, headers: { "X-D1-Bookmark": bookmark } });
    expect([noToken.status, noRoute.status, badBody.status]).toEqual([401, 404, 422]);
    expect([bookmarkOf(noToken), bookmarkOf(noRoute), bookmarkOf(badBody)]).toEqual([bookmark, bookmark, bookmark]);
  });

  it("is absent from a response that asked D1 nothing when the client sent no bookmark, and from non-API paths", async () => {
    const opened: string[] = [];
    const untouched = await sendWith({ DB: sessionRecordingDb(opened) }, { method: "GET", path: "/api/events" });
    expect(untouched.status).toBe(401);
    expect(opened).toEqual([]);
    const noToken = await call("GET", "/api/events");
    const live = await call("GET", "/health/live");
    expect([noToken.status, live.status]).toEqual([401, 200]);
    expect([bookmarkOf(noToken), bookmarkOf(live)]).toEqual([null, null]);
  });
});

describe("read-your-writes", () => {
  it("a read sent with the bookmark of a write sees the write, and hands back a bookmark at least as new", async () => {
    const user = await registerUser("bm_ryw");
    const created = await json("POST", "/api/events", { token: user.token, body: { title: "Before", ...slot() } });
    const patched = await json("PATCH", `/api/events/${created.body.id}`, {
      token: user.token,
      headers: { "If-Match": created.headers.get("etag")!, "X-D1-Bookmark": bookmarkOf(created)! },
      body: { title: "After" },
    });
    expect(patched.status).toBe(200);
    const written = bookmarkOf(patched)!;
    const read = await json("GET", `/api/events/${created.body.id}`, { token: user.token, headers: { "X-D1-Bookmark": written } });
    expect(read.status).toBe(200);
    expect(read.body.title).toBe("After");
    // Bookmarks compare as strings: fixed-width hex, most significant part first.
    expect(bookmarkOf(read)! >= written).toBe(true);
  });

  it("a read opens its session at the client's bookmark, a write too, and without one a read is unconstrained and a write starts at the primary", async () => {
    const user = await registerUser("bm_open");
    const bookmark = bookmarkOf(await call("GET", "/api/auth/me", { token: user.token }))!;
    const opened: string[] = [];
    const DB = sessionRecordingDb(opened);
    const headers = { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" };
    const body = JSON.stringify({ title: "Sessions", ...slot() });
    const statuses = [
      (await sendWith({ DB }, { method: "GET", path: "/api/events", headers })).status,
      (await sendWith({ DB }, { method: "GET", path: "/api/events", headers: { ...headers, "X-D1-Bookmark": bookmark } })).status,
      (await sendWith({ DB }, { method: "POST", path: "/api/events", headers, body })).status,
      (await sendWith({ DB }, { method: "POST", path: "/api/notifications/read-all", headers: { ...headers, "X-D1-Bookmark": bookmark } })).status,
    ];
    const socket = await sendWith({ DB }, { method: "GET", path: `/ws/notifications?token=${user.token}`, headers: { Upgrade: "websocket" } });
    socket.webSocket?.accept();
    socket.webSocket?.close(1000, "done");
    statuses.push(socket.status);
    expect(statuses).toEqual([200, 200, 201, 204, 101]);
    expect(opened).toEqual(["first-unconstrained", bookmark, "first-primary", bookmark, "first-primary"]);
  });
});

describe("invalid bookmarks are ignored", () => {
  const garbage = {
    "a single character": "x",
    "10 KB": "0".repeat(10_240),
    "a malformed D1-like value": "00000000-zzzzzzzz-00000000-00000000000000000000000000000000",
    "a value one hex digit short": "00000000-00000001-00000000-0000000000000000000000000000000",
    "a header injection attempt": "00000000-00000001-00000000-00000000000000000000000000000000, first-primary",
  };
  for (const [name, value] of Object.entries(garbage)) {
    it(`${name} is ignored: the read answers 200 unconstrained and hands back D1's own bookmark`, async () => {
      const user = await registerUser("bm_garbage");
      const opened: string[] = [];
      const res = await sendWith({ DB: sessionRecordingDb(opened) }, { method: "GET", path: "/api/auth/me", headers: { Authorization: `Bearer ${user.token}`, "X-D1-Bookmark": value } });
      expect(res.status).toBe(200);
      expect(opened).toEqual(["first-unconstrained"]);
      expect(bookmarkOf(res)).toMatch(BOOKMARK);
    });
  }

  it("a write with a garbage bookmark starts at the primary and succeeds", async () => {
    const user = await registerUser("bm_garbage_write");
    const res = await json("POST", "/api/events", { token: user.token, headers: { "X-D1-Bookmark": "x".repeat(10_240) }, body: { title: "Garbage", ...slot() } });
    expect(res.status).toBe(201);
    expect(bookmarkOf(res)).toMatch(BOOKMARK);
  });

  for (const refuse of ["withSession", "first query"] as const) {
    it(`a well-formed bookmark that D1 refuses in ${refuse} is dropped: the read starts over unconstrained and answers 200`, async () => {
      const user = await registerUser("bm_refused");
      const opened: string[] = [];
      const bookmark = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";
      const res = await sendWith({ DB: sessionRecordingDb(opened, refuse) }, { method: "GET", path: "/api/auth/me", headers: { Authorization: `Bearer ${user.token}`, "X-D1-Bookmark": bookmark } });
      expect(res.status).toBe(200);
      expect((res.body as { username: string }).username).toBe(user.username);
      expect(opened).toEqual([bookmark, "first-unconstrained"]);
      expect(bookmarkOf(res)).toMatch(BOOKMARK);
    });

    it(`a write whose bookmark D1 refuses in ${refuse} starts over at the primary and is written once`, async () => {
      const user = await registerUser("bm_refused_write");
      const opened: string[] = [];
      const bookmark = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";
      const title = `Refused ${refuse}`;
      const res = await sendWith(
        { DB: sessionRecordingDb(opened, refuse) },
        { method: "POST", path: "/api/events", headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json", "X-D1-Bookmark": bookmark }, body: JSON.stringify({ title, ...slot() }) },
      );
      expect(res.status).toBe(201);
      expect(opened).toEqual([bookmark, "first-primary"]);
      const list = await json("GET", "/api/events?limit=100", { token: user.token });
      expect(list.body.items.filter((e: { title: string }) => e.title === title)).toHaveLength(1);
    });
  }
});

describe("a session opened at a bookmark D1 refuses", () => {
  const bookmark = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";

  it("recovers calls that were in flight together with one fallback session", async () => {
    const opened: string[] = [];
    const session = openSession(sessionRecordingDb(opened, "first query"), "first-unconstrained", bookmark);
    const [a, b] = await Promise.all([session.prepare("SELECT 1 AS n").first<{ n: number }>(), session.prepare("SELECT 2 AS n").all<{ n: number }>()]);
    expect([a?.n, b.results[0].n]).toEqual([1, 2]);
    expect(opened).toEqual([bookmark, "first-unconstrained"]);
    expect(session.getBookmark()).toMatch(BOOKMARK);
  });

  it("does not run a write again when its first call failed for another reason", async () => {
    const opened: string[] = [];
    const session = openSession(sessionRecordingDb(opened, "first query", "D1_ERROR: UNIQUE constraint failed"), "first-primary", bookmark);
    await expect(session.prepare("INSERT INTO users (username, email, password_hash, created_at) VALUES ('x', 'x', '-', 0)").run()).rejects.toThrow(/UNIQUE/);
    expect(opened).toEqual([bookmark]);
  });

  it("keeps the bookmark once D1 answered at it: a later failing read is not retried elsewhere", async () => {
    const opened: string[] = [];
    const primary = env.DB.withSession("first-primary");
    await primary.prepare("SELECT 1").first();
    const session = openSession(sessionRecordingDb(opened), "first-unconstrained", primary.getBookmark()!);
    await session.prepare("SELECT 1").first();
    await expect(session.prepare("SELECT * FROM no_such_table").all()).rejects.toThrow(/no such table/);
    expect(opened).toHaveLength(1);
  });
});

describe("CORS", () => {
  it("a preflight allows X-D1-Bookmark as a request header", async () => {
    const res = await call("OPTIONS", "/api/events", {
      headers: { Origin: ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization, x-d1-bookmark" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase().split(/\s*,\s*/)).toContain("x-d1-bookmark");
  });

  it("a cross-origin response exposes X-D1-Bookmark to the page's script", async () => {
    const user = await registerUser("bm_cors");
    const res = await call("GET", "/api/auth/me", { token: user.token, headers: { Origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase().split(/\s*,\s*/)).toContain("x-d1-bookmark");
    expect(bookmarkOf(res)).toMatch(BOOKMARK);
  });
});
