import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ApiError, connectNotifications, createClient, etagOf, ifMatch, memoryTokenStore, storageTokenStore, type ApiClient, type Event, type Notification, type ResponseBody } from "../sdk";
import { freshIp, slotMaker } from "./helpers";
import { sleep, WorkerWebSocket } from "./support/sockets";
import { claimsOf, forgeToken } from "./support/tokens";

const slot = slotMaker(2044);
const BASE = "http://localhost";

/** The Worker's own fetch handler, from one client IP per SDK client (rate limits are per IP). */
function workerFetch(seen: Request[] = []) {
  const ip = freshIp();
  return (input: Request) => {
    const request = new Request(input);
    request.headers.set("CF-Connecting-IP", ip);
    seen.push(request.clone());
    return exports.default.fetch(request);
  };
}

let counter = 0;
const password = "correct horse battery";
async function signUp(prefix: string, seen?: Request[]): Promise<{ api: ApiClient; id: number; username: string }> {
  const api = createClient({ baseUrl: BASE, fetch: workerFetch(seen) });
  const username = `${prefix}_${Date.now().toString(36)}${counter++}`;
  const session = await api.auth.register({ username, email: `${username}@example.com`, password });
  return { api, id: session.user.id, username };
}

/** The first whole second at least `ms` from now (epoch ms): a JWT `exp` that leaves at least that long. */
const wholeSecondsFromNow = (ms: number) => Math.ceil((Date.now() + ms) / 1000) * 1000;

/** Waits until `check` holds, polling every few ms, or fails after `ms` (10 s by default, as expect.poll). */
async function until(check: () => boolean, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("the SDK against the Worker", () => {
  it("drives register, create, share, patch with If-Match, changelog, diff, rollback and notifications", async () => {
    const alice = await signUp("sdk_alice");
    const bob = await signUp("sdk_bob");

    const created = await alice.api.POST("/api/events", { body: { title: "Planning", ...slot() } });
    expect(created.response.status).toBe(201);
    const event: Event = created.data!;
    expect(created.response.headers.get("Location")).toBe(`/api/events/${event.id}`);
    expect(event).toMatchObject({ title: "Planning", version: 1, owner_id: alice.id, my_role: "owner" });

    const shared = await alice.api.POST("/api/events/{id}/share", { params: { path: { id: event.id } }, body: { users: [{ username: bob.username, role: "editor" }] } });
    expect(shared.response.status).toBe(200);
    expect(shared.data!.map((p) => [p.user_id, p.role])).toEqual([
      [alice.id, "owner"],
      [bob.id, "editor"],
    ]);

    const read = await bob.api.GET("/api/events/{id}", { params: { path: { id: event.id } } });
    expect(read.data!.my_role).toBe("editor");
    const etag = etagOf(read.response);
    expect(etag).toMatch(/^"/);

    const patched = await bob.api.PATCH("/api/events/{id}", { params: { path: { id: event.id } }, headers: ifMatch(etag), body: { title: "Planning v2" } });
    expect(patched.response.status).toBe(200);
    expect(patched.data).toMatchObject({ title: "Planning v2", version: 2 });

    const stale = await bob.api.PATCH("/api/events/{id}", { params: { path: { id: event.id } }, headers: ifMatch(etag), body: { title: "Lost update" } });
    expect(stale.response.status).toBe(412);
    expect(stale.error).toMatchObject({ status: 412, code: "precondition_failed" });
    const precondition = stale.error as ResponseBody<"/api/events/{id}", "patch", 412>;
    expect(precondition.current).toMatchObject({ id: event.id, title: "Planning v2", version: 2 });

    const clash = await alice.api.POST("/api/events", { body: { title: "Double booked", start_time: event.start_time, end_time: event.end_time } });
    expect(clash.response.status).toBe(409);
    const conflict = clash.error as ResponseBody<"/api/events", "post", 409>;
    expect(conflict.conflicts.map((c) => [c.id, c.title])).toEqual([[event.id, "Planning v2"]]);

    const changelog = await alice.api.GET("/api/events/{id}/changelog", { params: { path: { id: event.id } } });
    expect(changelog.data!.items.map((entry) => [entry.version, entry.action, entry.changed_by.id])).toEqual([
      [1, "created", alice.id],
      [2, "updated", bob.id],
    ]);
    expect(changelog.data!.items[1].changes).toEqual({ title: { from: "Planning", to: "Planning v2" } });

    const diff = await alice.api.GET("/api/events/{id}/diff/{v1}/{v2}", { params: { path: { id: event.id, v1: 1, v2: 2 } } });
    expect(diff.data).toMatchObject({ event_id: event.id, from_version: 1, to_version: 2, changes: { title: { from: "Planning", to: "Planning v2" } } });

    const current = etagOf((await alice.api.GET("/api/events/{id}", { params: { path: { id: event.id } } })).response);
    const rolledBack = await alice.api.POST("/api/events/{id}/rollback/{version}", { params: { path: { id: event.id, version: 1 } }, headers: ifMatch(current) });
    expect(rolledBack.response.status).toBe(200);
    expect(rolledBack.data).toMatchObject({ title: "Planning", version: 3 });
    const latest = await alice.api.GET("/api/events/{id}/changelog", { params: { path: { id: event.id } } });
    expect(latest.data!.items.at(-1)).toMatchObject({ version: 3, action: "rolled_back", restored_from: 1 });

    const inbox = await bob.api.GET("/api/notifications", { params: { query: { since: 0 } } });
    expect(inbox.data!.items.map((n: Notification) => [n.type, n.event_id, n.actor.id])).toEqual([
      ["event_shared", event.id, alice.id],
      ["event_updated", event.id, bob.id],
      ["event_rolled_back", event.id, alice.id],
    ]);
    expect(inbox.data!.unread_count).toBe(2);
  });

  it("answers an unknown id with the typed problem and no data", async () => {
    const { api } = await signUp("sdk_lost");
    const missing = await api.GET("/api/events/{id}", { params: { path: { id: 999_999_999 } } });
    expect(missing.response.status).toBe(404);
    expect(missing.data).toBeUndefined();
    expect(missing.error).toMatchObject({ status: 404, code: "not_found" });
  });

  it("refreshes a rejected access token once, silently, and retries the request", async () => {
    const sessions: (string | null)[] = [];
    const { api, id } = await signUp("sdk_refresh");
    const real = api.auth.tokens()!;
    const store = memoryTokenStore({ ...real, access_token: "not-a-token", expires_at: Date.now() + 600_000 });
    const stale = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: store, onSession: (t) => sessions.push(t?.access_token ?? null) });
    const me = await stale.GET("/api/auth/me");
    expect(me.response.status).toBe(200);
    expect(me.data!.id).toBe(id);
    expect(store.get()!.access_token).not.toBe("not-a-token");
    expect(store.get()!.refresh_token).not.toBe(real.refresh_token);
    expect(sessions).toEqual([store.get()!.access_token]);
  });

  it("shares one refresh among concurrent 401s, since a spent refresh token presented twice revokes the session", async () => {
    const { api } = await signUp("sdk_concurrent");
    const store = memoryTokenStore({ ...api.auth.tokens()!, access_token: "not-a-token", expires_at: Date.now() + 600_000 });
    const stale = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: store });
    const answers = await Promise.all([stale.GET("/api/auth/me"), stale.GET("/api/events"), stale.GET("/api/notifications")]);
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200]);
    expect((await stale.GET("/api/auth/me")).response.status).toBe(200);
  });

  it("logs in again with the credentials callback when the refresh token is refused", async () => {
    const { api, username } = await signUp("sdk_relogin");
    const store = memoryTokenStore({ access_token: "not-a-token", refresh_token: "rt_nope", expires_at: Date.now() + 600_000 });
    const client = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: store, credentials: () => ({ username, password }) });
    const me = await client.GET("/api/auth/me");
    expect(me.response.status).toBe(200);
    expect(me.data!.username).toBe(username);
    await api.auth.logout();
  });

  it("returns the 401 and forgets the session when neither refresh nor credentials help", async () => {
    const store = memoryTokenStore({ access_token: "not-a-token", refresh_token: "rt_nope", expires_at: Date.now() + 600_000 });
    const sessions: unknown[] = [];
    const client = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: store, onSession: (t) => sessions.push(t) });
    const me = await client.GET("/api/auth/me");
    expect(me.response.status).toBe(401);
    expect(me.error).toMatchObject({ code: "unauthorized" });
    expect(store.get()).toBeNull();
    expect(sessions).toEqual([null]);
  });

  it("throws ApiError with the problem on a wrong password, without trying a refresh", async () => {
    const seen: Request[] = [];
    const { api, username } = await signUp("sdk_wrongpw");
    const client = createClient({ baseUrl: BASE, fetch: workerFetch(seen), tokens: memoryTokenStore(api.auth.tokens()) });
    const refused = await client.auth.login({ username, password: "not the password" }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 401, problem: { code: "unauthorized" } });
    expect(seen.map((r) => new URL(r.url).pathname)).toEqual(["/api/auth/login"]);
  });

  it("keeps the session in a Web Storage, so a new client (a reload) resumes it, and logout clears it", async () => {
    const entries = new Map<string, string>();
    const storage = { getItem: (k: string) => entries.get(k) ?? null, setItem: (k: string, v: string) => void entries.set(k, v), removeItem: (k: string) => void entries.delete(k) };
    const first = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: storageTokenStore(storage) });
    const username = `sdk_storage_${Date.now().toString(36)}`;
    await first.auth.register({ username, email: `${username}@example.com`, password });
    const reloaded = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: storageTokenStore(storage) });
    expect((await reloaded.GET("/api/auth/me")).data?.username).toBe(username);
    await reloaded.auth.logout();
    expect([...entries.keys()]).toEqual([]);
    entries.set("collab-events-api.session", "{not json");
    expect(storageTokenStore(storage).get()).toBeNull();
  });

  it("remembers the newest X-D1-Bookmark and sends it with every later request", async () => {
    const seen: Request[] = [];
    const { api } = await signUp("sdk_bookmark", seen);
    const afterRegister = api.bookmark();
    expect(afterRegister).toMatch(/^[0-9a-f]{8}-/);
    await api.POST("/api/events", { body: { title: "Bookmarked", ...slot() } });
    const afterWrite = api.bookmark()!;
    expect(afterWrite >= afterRegister!).toBe(true);
    await api.GET("/api/events");
    expect(seen.at(-1)!.headers.get("X-D1-Bookmark")).toBe(afterWrite);
    expect(seen[0].headers.get("X-D1-Bookmark")).toBeNull();
  });

  it("logs out: the session's token stops working and the client forgets it", async () => {
    const { api } = await signUp("sdk_logout");
    const token = api.auth.tokens()!.access_token;
    await api.auth.logout();
    expect(api.auth.tokens()).toBeNull();
    const after = await exports.default.fetch(new Request(`${BASE}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } }));
    expect(after.status).toBe(401);
  });
});

describe("the SDK's notification socket against the Worker", () => {
  it("replays after since, then streams live notifications, once each, and stops for good on logout (4001)", async () => {
    const alice = await signUp("sdk_sock_a");
    const bob = await signUp("sdk_sock_b");
    const { data: event } = await alice.api.POST("/api/events", { body: { title: "Standup", ...slot() } });
    await alice.api.POST("/api/events/{id}/share", { params: { path: { id: event!.id } }, body: { users: [{ user_id: bob.id, role: "editor" }] } });

    const got: Notification[] = [];
    const states: string[] = [];
    let stoppedWith: number | undefined;
    const stream = bob.api.notifications({
      WebSocket: WorkerWebSocket,
      since: 0,
      onNotification: (n) => got.push(n),
      onState: (state, detail) => {
        states.push(state);
        if (state === "stopped") stoppedWith = detail.code;
      },
    });
    const hello = await stream.ready();
    expect(hello.user_id).toBe(bob.id);
    await until(() => got.length === 1, "the replayed share");
    expect(got[0]).toMatchObject({ type: "event_shared", event_id: event!.id });

    await alice.api.PATCH("/api/events/{id}", { params: { path: { id: event!.id } }, body: { title: "Standup (moved)" } });
    await until(() => got.length === 2, "the live update");
    expect(got[1]).toMatchObject({ type: "event_updated", data: { changes: { title: { from: "Standup", to: "Standup (moved)" } } } });
    expect(stream.lastId()).toBe(got[1].id);

    await bob.api.auth.logout();
    await until(() => stream.state() === "stopped", "the stop");
    expect(stoppedWith).toBe(4001);
    const sockets = WorkerWebSocket.opened.length;
    await sleep(1200);
    expect(WorkerWebSocket.opened.length).toBe(sockets);
    expect(new Set(got.map((n) => n.id)).size).toBe(got.length);
    expect(states).toEqual(["connecting", "open", "stopped"]);
  });

  it("reconnects after the socket drops, resuming from the last id it saw without repeats", async () => {
    const alice = await signUp("sdk_resume");
    const got: Notification[] = [];
    const stream = alice.api.notifications({ WebSocket: WorkerWebSocket, onNotification: (n) => got.push(n), backoff: { initialMs: 20, maxMs: 50 } });
    const first = await stream.ready();
    await alice.api.POST("/api/events", { body: { title: "Before the drop", ...slot() } });
    await until(() => got.length === 1, "the first live notification");

    const socket = WorkerWebSocket.opened.at(-1)!;
    const reconnected = stream.ready();
    socket.close(4000, "network went away");
    await alice.api.POST("/api/events", { body: { title: "During the drop", ...slot() } });
    await reconnected;
    const resumed = WorkerWebSocket.opened.at(-1)!;
    expect(resumed).not.toBe(socket);
    expect(new URL(resumed.url).searchParams.get("since")).toBe(String(got[0].id));
    await until(() => got.length === 2, "the notification missed while away");
    await alice.api.POST("/api/events", { body: { title: "After the drop", ...slot() } });
    await until(() => got.length === 3, "the next live notification");
    expect(got.map((n) => n.data.title)).toEqual(["Before the drop", "During the drop", "After the drop"]);
    expect(got[0].id).toBeGreaterThan(first.last_id);
    stream.close();
    expect(stream.state()).toBe("stopped");
  });

  it("pages a truncated replay through GET /api/notifications before any live notification", async () => {
    const alice = await signUp("sdk_paging");
    const { data: hello } = await alice.api.GET("/api/notifications", { params: { query: { limit: 1 } } });
    const since = hello!.items[0]?.id ?? 0;
    // 105 notifications: one batch of 100 events plus 5 single creates, past the 100-frame replay.
    const batch = Array.from({ length: 100 }, () => ({ title: "Batch item", ...slot() }));
    expect((await alice.api.POST("/api/events/batch", { body: { events: batch } })).response.status).toBe(201);
    for (let i = 0; i < 5; i++) await alice.api.POST("/api/events", { body: { title: `Single ${i}`, ...slot() } });

    const got: Notification[] = [];
    const stream = alice.api.notifications({ WebSocket: WorkerWebSocket, since, onNotification: (n) => got.push(n) });
    await stream.ready();
    await until(() => got.length === 105, "all 105 missed notifications", 10_000);
    await alice.api.POST("/api/events", { body: { title: "Live", ...slot() } });
    await until(() => got.length === 106, "the live one");
    const ids = got.map((n) => n.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(106);
    expect(got.at(-1)!.data.title).toBe("Live");
    stream.close();
  });

  it("renews a short-lived token with an auth frame before it expires, and the socket outlives it", async () => {
    const alice = await signUp("sdk_renew");
    const real = alice.api.auth.tokens()!;
    // A token of the same session that lives at least 3 s (exp is whole seconds, rounded up, so
    // the store's expires_at is the token's own): the hub closes the socket then unless renewed.
    const expiresAt = wholeSecondsFromNow(3000);
    const short = await forgeToken({ sub: claimsOf(real.access_token).sub, sid: claimsOf(real.access_token).sid, expiresAt: expiresAt / 1000 });
    const store = memoryTokenStore({ ...real, access_token: short, expires_at: expiresAt });
    const client = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: store });
    const got: Notification[] = [];
    const states: string[] = [];
    const stream = client.notifications({ WebSocket: WorkerWebSocket, renewBeforeMs: 1000, onNotification: (n) => got.push(n), onState: (s) => states.push(s) });
    await stream.ready();
    expect(new URL(WorkerWebSocket.opened.at(-1)!.url).searchParams.get("token")).toBe(short);
    await sleep(Math.max(0, expiresAt + 1500 - Date.now()));
    expect(store.get()!.access_token).not.toBe(short);
    expect(states).toEqual(["connecting", "open"]);
    await client.POST("/api/events", { body: { title: "After the old token expired", ...slot() } });
    await until(() => got.length === 1, "a notification on the renewed socket");
    stream.close();
  });

  it("retries once with a fresh token after an expiry close, and stops when none can be had", async () => {
    const alice = await signUp("sdk_expire");
    const real = alice.api.auth.tokens()!;
    // At least 2 s to connect with: rounded down, the token could have had just over 1 s.
    const expiresAt = wholeSecondsFromNow(2000);
    const short = await forgeToken({ sub: claimsOf(real.access_token).sub, sid: claimsOf(real.access_token).sid, expiresAt: expiresAt / 1000 });
    const asked: boolean[] = [];
    const stops: { code?: number; reason?: string }[] = [];
    const stream = connectNotifications({
      baseUrl: BASE,
      WebSocket: WorkerWebSocket,
      // Hands out the short token and cannot renew it: the renewal sends nothing.
      accessToken: async ({ fresh }) => (asked.push(fresh), fresh ? null : short),
      pageSince: async () => [],
      onNotification: () => {},
      onState: (state, detail) => state === "stopped" && stops.push(detail),
    });
    await stream.ready();
    await until(() => stream.state() === "stopped", "the stop");
    expect(asked).toEqual([false, true, true]);
    expect(stops).toEqual([{ code: 4001, reason: "no access token" }]);
  });

  it("stops when the upgrade is refused and the session cannot be renewed", async () => {
    const store = memoryTokenStore({ access_token: "not-a-token", refresh_token: "rt_nope", expires_at: Date.now() + 600_000 });
    const client = createClient({ baseUrl: BASE, fetch: workerFetch(), tokens: store });
    let stoppedWith: number | undefined;
    const stream = client.notifications({ WebSocket: WorkerWebSocket, backoff: { initialMs: 10, maxMs: 20 }, onNotification: () => {}, onState: (s, d) => s === "stopped" && (stoppedWith = d.code) });
    await until(() => stream.state() === "stopped", "the stop");
    expect(stoppedWith).toBe(4001);
    expect(WorkerWebSocket.opened.at(-1)!.status).toBe(401);
  });
});
