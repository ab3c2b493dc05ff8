import { decode, encode } from "@msgpack/msgpack";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it, onTestFinished } from "vitest";
import type { UserNotificationHub } from "../src/notifications/hub";
import { expectProblem, json, registerUser, type TestUser, slotMaker } from "./helpers";
import { requestAs, sendWith } from "./support/faults";
import { expectErrorLogs } from "./support/logs";
import { claimsOf } from "./support/tokens";

interface Frame {
  binary: boolean;
  data: any;
}

/** A test client of the notification socket: buffers frames so a test can await them in order. */
interface SocketClient {
  ws: WebSocket;
  /** The next frame, waiting up to `timeoutMs` (10 s by default, as expect.poll) for it. */
  next(timeoutMs?: number): Promise<Frame>;
  /** Fails if any frame arrives within `ms`. */
  expectSilence(ms?: number): Promise<void>;
  /** Resolves with the close frame's code once the server closes the socket. */
  closed: Promise<number>;
  isClosed(): boolean;
}

function socketRequest(query: string, headers: Record<string, string> = { Upgrade: "websocket" }) {
  return exports.default.fetch(new Request(`http://localhost/ws/notifications?${query}`, { headers }));
}

async function openSocket(query: string): Promise<SocketClient> {
  return clientOf(await socketRequest(query));
}

/** Wraps the client end of an upgrade response. */
async function clientOf(response: Response): Promise<SocketClient> {
  if (response.status !== 101 || !response.webSocket) throw new Error(`upgrade failed: ${response.status} ${await response.text()}`);
  const ws = response.webSocket;
  const frames: Frame[] = [];
  const waiters: ((frame: Frame) => void)[] = [];
  let closeCode: number | null = null;
  // workerd's standard binaryType is "blob"; ask for ArrayBuffers so msgpack frames decode synchronously.
  ws.binaryType = "arraybuffer";
  ws.accept();
  ws.addEventListener("message", (event) => {
    const frame = typeof event.data === "string" ? { binary: false, data: event.data === "pong" ? "pong" : JSON.parse(event.data) } : { binary: true, data: decode(new Uint8Array(event.data as ArrayBuffer)) };
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else frames.push(frame);
  });
  const closed = new Promise<number>((resolve) => {
    ws.addEventListener("close", (event) => {
      closeCode = event.code;
      resolve(event.code);
    });
  });
  return {
    ws,
    closed,
    isClosed: () => closeCode !== null,
    next(timeoutMs = 10_000) {
      const buffered = frames.shift();
      if (buffered) return Promise.resolve(buffered);
      return new Promise<Frame>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(onFrame), 1);
          reject(new Error(`no frame within ${timeoutMs} ms`));
        }, timeoutMs);
        const onFrame = (frame: Frame) => {
          clearTimeout(timer);
          resolve(frame);
        };
        waiters.push(onFrame);
      });
    },
    async expectSilence(ms = 300) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (frames.length) throw new Error(`unexpected frames: ${JSON.stringify(frames.map((f) => f.data))}`);
    },
  };
}

/** Opens a socket and consumes its hello, returning the client and the hello's last_id. */
async function connect(user: TestUser, extra = ""): Promise<SocketClient & { lastId: number }> {
  const client = await openSocket(`token=${user.token}${extra}`);
  const hello = await client.next();
  expect(hello.data).toMatchObject({ type: "hello", user_id: user.id });
  return Object.assign(client, { lastId: hello.data.last_id as number });
}

/** The next frame, which must be a notification; returns the notification. */
async function nextNotification(client: SocketClient): Promise<any> {
  const frame = await client.next();
  expect(frame.data.type).toBe("notification");
  return frame.data.notification;
}

const slot = slotMaker(2033);

async function createEvent(owner: TestUser, title = "Standup"): Promise<any> {
  const res = await json("POST", "/api/events", { token: owner.token, body: { title, ...slot() } });
  expect(res.status).toBe(201);
  return res.body;
}

async function shareWith(owner: TestUser, eventId: number, user: TestUser, role = "editor") {
  const res = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { users: [{ user_id: user.id, role }] } });
  expect(res.status).toBe(200);
}

/** An event of `owner` shared with `collaborator`, created before any socket opens. */
async function sharedEvent(owner: TestUser, collaborator: TestUser, role = "editor") {
  const event = await createEvent(owner);
  await shareWith(owner, event.id, collaborator, role);
  return event;
}

async function patch(user: TestUser, eventId: number, body: Record<string, unknown>) {
  const res = await json("PATCH", `/api/events/${eventId}`, { token: user.token, body });
  expect(res.status).toBe(200);
  return res.body;
}

/** A second session of the same user (another device). */
async function loginAgain(user: TestUser): Promise<TestUser> {
  const res = await json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } });
  expect(res.status).toBe(200);
  return { ...user, token: res.body.access_token, refresh: res.body.refresh_token };
}

const hubOf = (user: TestUser) => env.NOTIFICATION_HUB.getByName(String(user.id));

/**
 * Evicts the user's hub, keeping its sockets hibernated. A marker set on the old instance shows
 * (see `expectFreshInstance`) that a new instance served what followed.
 */
async function evictHub(user: TestUser) {
  await runInDurableObject(hubOf(user), (instance: UserNotificationHub) => {
    Object.assign(instance, { testMarker: "old instance" });
  });
  await evictDurableObject(hubOf(user));
}

async function expectFreshInstance(user: TestUser) {
  const marker = await runInDurableObject(hubOf(user), (instance: UserNotificationHub) => (instance as unknown as { testMarker?: string }).testMarker);
  expect(marker).toBeUndefined();
}

const isoUtc = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

describe("GET /ws/notifications: the upgrade", () => {
  it("upgrades with 101 and sends hello with the user id and the last notification id first", async () => {
    const alice = await registerUser("wsalice");
    await createEvent(alice);
    const list = await json("GET", "/api/notifications", { token: alice.token });
    const client = await openSocket(`token=${alice.token}`);
    expect(await client.next()).toEqual({ binary: false, data: { type: "hello", user_id: alice.id, last_id: list.body.items[0].id } });
    await client.expectSilence();
  });

  it("says last_id 0 to a user without notifications", async () => {
    const alice = await registerUser("wsalice");
    const client = await openSocket(`token=${alice.token}`);
    expect((await client.next()).data).toEqual({ type: "hello", user_id: alice.id, last_id: 0 });
  });

  it.each([
    ["a garbage token", async () => "not-a-jwt"],
    ["a token signed with another key", async () => signToken({ secret: "another-secret-that-is-long-enough-for-hs256-000" })],
    ["an expired token", async () => signToken({ expiresAt: Math.floor(Date.now() / 1000) - 60 })],
    ["a refresh token", async () => (await registerUser("wsrefresh")).refresh],
  ])("refuses %s with 401 problem+json before upgrading", async (_, token) => {
    const response = await socketRequest(`token=${encodeURIComponent(await token())}`);
    expect(response.webSocket).toBeNull();
    const body = await response.json();
    expectProblem({ status: response.status, body, headers: response.headers }, 401, "unauthorized");
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("refuses a missing token with 401", async () => {
    const response = await socketRequest("");
    expect(response.webSocket).toBeNull();
    expectProblem({ status: response.status, body: await response.json(), headers: response.headers }, 401, "unauthorized");
  });

  it("refuses the access token of a logged-out session with 401", async () => {
    const alice = await registerUser("wsalice");
    expect((await json("POST", "/api/auth/logout", { token: alice.token })).status).toBe(204);
    const response = await socketRequest(`token=${alice.token}`);
    expect(response.webSocket).toBeNull();
    expectProblem({ status: response.status, body: await response.json(), headers: response.headers }, 401, "unauthorized");
  });

  it("refuses a request without an Upgrade header with 426", async () => {
    const alice = await registerUser("wsalice");
    const response = await socketRequest(`token=${alice.token}`, {});
    expectProblem({ status: response.status, body: await response.json(), headers: response.headers }, 426, "upgrade_required");
  });

  it("takes the user from the token and ignores a user_id in the query", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const client = await openSocket(`token=${alice.token}&user_id=${bob.id}&session_id=x`);
    expect((await client.next()).data).toEqual({ type: "hello", user_id: alice.id, last_id: 0 });
    await createEvent(bob);
    await client.expectSilence();
  });
});

/** Signs an access token like the Worker does, with one thing changed. */
async function signToken(options: { secret?: string; expiresAt?: number }) {
  const user = await registerUser("wsforged");
  const me = await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } });
  const sessionId = /^rt_([0-9a-f]{32})\./.exec(me.body.refresh_token)![1];
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: sessionId, typ: "access" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(String(user.id))
    .setIssuer(env.JWT_ISSUER)
    .setAudience(env.JWT_AUDIENCE)
    .setIssuedAt(now - 120)
    .setExpirationTime(options.expiresAt ?? now + 600)
    .sign(new TextEncoder().encode(options.secret ?? env.JWT_SECRET));
}

describe("live notifications", () => {
  it("sends the actor's own event_created, already read, to the actor's socket", async () => {
    const alice = await registerUser("wsalice");
    const client = await connect(alice);
    const event = await createEvent(alice, "Kickoff");
    expect(await client.next()).toEqual({
      binary: false,
      data: {
        type: "notification",
        notification: {
          id: expect.any(Number),
          type: "event_created",
          event_id: event.id,
          actor: { id: alice.id, username: alice.username },
          message: `${alice.username} created "Kickoff"`,
          data: { title: "Kickoff" },
          is_read: true,
          created_at: isoUtc,
        },
      },
    });
  });

  it("sends a collaborator event_updated with each changed field's from and to", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const client = await connect(bob);
    await patch(alice, event.id, { title: "Retro", location: "Room 2" });
    expect(await nextNotification(client)).toEqual({
      id: expect.any(Number),
      type: "event_updated",
      event_id: event.id,
      actor: { id: alice.id, username: alice.username },
      message: `${alice.username} updated "Retro"`,
      data: { version: 2, changes: { title: { from: "Standup", to: "Retro" }, location: { from: null, to: "Room 2" } } },
      is_read: false,
      created_at: isoUtc,
    });
  });

  it("sends a collaborator event_deleted", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const client = await connect(bob);
    expect((await json("DELETE", `/api/events/${event.id}`, { token: alice.token })).status).toBe(204);
    expect(await nextNotification(client)).toMatchObject({
      type: "event_deleted",
      event_id: event.id,
      actor: { id: alice.id, username: alice.username },
      message: `${alice.username} deleted "Standup"`,
      data: { title: "Standup" },
      is_read: false,
    });
  });

  it("sends a collaborator event_rolled_back with the restored version and the changes", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    await patch(alice, event.id, { title: "Renamed" });
    const client = await connect(bob);
    const res = await json("POST", `/api/events/${event.id}/rollback/1`, { token: alice.token });
    expect(res.status).toBe(200);
    expect(await nextNotification(client)).toMatchObject({
      type: "event_rolled_back",
      event_id: event.id,
      actor: { id: alice.id, username: alice.username },
      message: `${alice.username} rolled back to version 1 "Standup"`,
      data: { version: 3, restored_from: 1, changes: { title: { from: "Renamed", to: "Standup" } } },
      is_read: false,
    });
  });

  it("sends event_shared to the user the event was shared with", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await createEvent(alice);
    const client = await connect(bob);
    await shareWith(alice, event.id, bob, "viewer");
    expect(await nextNotification(client)).toMatchObject({
      type: "event_shared",
      event_id: event.id,
      actor: { id: alice.id, username: alice.username },
      message: `${alice.username} shared "Standup" with ${bob.username} as viewer`,
      data: { user_id: bob.id, username: bob.username, role: "viewer", previous_role: null },
      is_read: false,
    });
  });

  it("sends permission_updated with the new and the previous role", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob, "viewer");
    const client = await connect(bob);
    expect((await json("PUT", `/api/events/${event.id}/permissions/${bob.id}`, { token: alice.token, body: { role: "editor" } })).status).toBe(200);
    expect(await nextNotification(client)).toMatchObject({
      type: "permission_updated",
      event_id: event.id,
      data: { user_id: bob.id, username: bob.username, role: "editor", previous_role: "viewer" },
      is_read: false,
    });
  });

  it("sends permission_revoked to the user who lost access", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const client = await connect(bob);
    expect((await json("DELETE", `/api/events/${event.id}/permissions/${bob.id}`, { token: alice.token })).status).toBe(204);
    expect(await nextNotification(client)).toMatchObject({
      type: "permission_revoked",
      event_id: event.id,
      message: `${alice.username} removed ${bob.username} from "Standup"`,
      data: { user_id: bob.id, username: bob.username, previous_role: "editor" },
      is_read: false,
    });
  });

  it("sends each notification to every socket of the user", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const phone = await connect(bob);
    const laptop = await connect(await loginAgain(bob));
    await patch(alice, event.id, { title: "Both" });
    const onPhone = await nextNotification(phone);
    expect(onPhone).toMatchObject({ type: "event_updated", event_id: event.id });
    expect(await nextNotification(laptop)).toEqual(onPhone);
  });

  it("sends nothing to the socket of a user without access", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const mallory = await registerUser("wsmallory");
    const event = await sharedEvent(alice, bob);
    const collaborator = await connect(bob);
    const outsider = await connect(mallory);
    await patch(alice, event.id, { title: "Private" });
    await nextNotification(collaborator);
    await outsider.expectSilence();
  });

  it("answers the text frame ping with pong", async () => {
    const alice = await registerUser("wsalice");
    const client = await connect(alice);
    client.ws.send("ping");
    expect(await client.next()).toEqual({ binary: false, data: "pong" });
  });

  it("sends binary MessagePack frames with format=msgpack that decode to the JSON frames' objects", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const asJson = await connect(bob);
    const asMsgpack = await openSocket(`token=${bob.token}&format=msgpack`);
    const hello = await asMsgpack.next();
    expect(hello).toEqual({ binary: true, data: { type: "hello", user_id: bob.id, last_id: asJson.lastId } });
    await patch(alice, event.id, { title: "Packed", description: "binary" });
    const jsonFrame = await asJson.next();
    const msgpackFrame = await asMsgpack.next();
    expect(jsonFrame.binary).toBe(false);
    expect(msgpackFrame.binary).toBe(true);
    expect(msgpackFrame.data).toEqual(jsonFrame.data);
    expect(msgpackFrame.data.notification.data.changes).toEqual({ title: { from: "Standup", to: "Packed" }, description: { from: "", to: "binary" } });
  });
});

describe("renewal on a MessagePack socket", () => {
  it("accepts a MessagePack auth frame and answers auth_ok in MessagePack", async () => {
    const alice = await registerUser("wsalice");
    const client = await openSocket(`token=${alice.token}&format=msgpack`);
    expect((await client.next()).data.type).toBe("hello");
    client.ws.send(encode({ type: "auth", access_token: alice.token }));
    expect(await client.next()).toEqual({ binary: true, data: { type: "auth_ok", expires_at: expect.stringMatching(/Z$/) } });
    client.ws.send(encode({ type: "auth", access_token: "garbage" }));
    expect(await client.next()).toMatchObject({ binary: true, data: { type: "error", code: "unauthorized" } });
  });
});

describe("replay with since", () => {
  it("sends hello, then exactly the missed notifications in id order, then live ones", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const first = await connect(bob);
    first.ws.close(1000, "offline");
    for (const title of ["One", "Two", "Three"]) await patch(alice, event.id, { title });
    const missed = (await json("GET", `/api/notifications?since=${first.lastId}`, { token: bob.token })).body.items;
    expect(missed.map((n: any) => n.data.changes.title.to)).toEqual(["One", "Two", "Three"]);

    const again = await openSocket(`token=${bob.token}&since=${first.lastId}`);
    expect((await again.next()).data).toEqual({ type: "hello", user_id: bob.id, last_id: missed[2].id });
    const replayed = [await nextNotification(again), await nextNotification(again), await nextNotification(again)];
    expect(replayed).toEqual(missed);
    await again.expectSilence();
    await patch(alice, event.id, { title: "Four" });
    expect(await nextNotification(again)).toMatchObject({ type: "event_updated", data: { changes: { title: { from: "Three", to: "Four" } } } });
  });

  it("sends every notification after since exactly once when changes race the reconnect", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const events = [await sharedEvent(alice, bob), await sharedEvent(alice, bob), await sharedEvent(alice, bob)];
    const since = (await connect(bob)).lastId;
    const changes = events.flatMap((event) => [1, 2, 3].map((n) => () => patch(alice, event.id, { description: `change ${n}` })));
    const [client] = await Promise.all([
      openSocket(`token=${bob.token}&since=${since}`),
      // Three writers, one per event, each writing its event's changes in turn.
      ...events.map((_, i) => changes.slice(i * 3, i * 3 + 3).reduce((done, change) => done.then(change), Promise.resolve())),
    ]);
    const expected = (await json("GET", `/api/notifications?since=${since}`, { token: bob.token })).body.items.map((n: any) => n.id);
    expect(expected).toHaveLength(9);
    const hello = await client.next();
    expect(hello.data.type).toBe("hello");
    const received: number[] = [];
    while (received.length < expected.length) received.push((await nextNotification(client)).id);
    await client.expectSilence();
    expect([...received].sort((a, b) => a - b)).toEqual(expected);
    // What the hub knew when it said hello comes first and in order, however the live pushes raced.
    const replayed = received.filter((id) => id <= hello.data.last_id);
    expect(received.slice(0, replayed.length)).toEqual(replayed);
    expect(replayed).toEqual([...replayed].sort((a, b) => a - b));
  });
});

describe("logout", () => {
  it("closes the logged-out session's socket with 4001 and leaves the other session's socket open", async () => {
    const alice = await registerUser("wsalice");
    const laptop = await loginAgain(alice);
    const phoneSocket = await connect(alice);
    const laptopSocket = await connect(laptop);
    expect((await json("POST", "/api/auth/logout", { token: alice.token })).status).toBe(204);
    expect(await phoneSocket.closed).toBe(4001);
    await createEvent(laptop, "Still here");
    expect(await nextNotification(laptopSocket)).toMatchObject({ type: "event_created", data: { title: "Still here" } });
    expect(laptopSocket.isClosed()).toBe(false);
  });
});

describe("hibernation", () => {
  it("delivers to hibernated sockets in each socket's own format after the hub is evicted", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const asJson = await connect(bob);
    const asMsgpack = await openSocket(`token=${bob.token}&format=msgpack`);
    expect((await asMsgpack.next()).data.type).toBe("hello");
    await evictHub(bob);
    await patch(alice, event.id, { title: "After sleep" });
    const jsonFrame = await asJson.next();
    const msgpackFrame = await asMsgpack.next();
    expect(jsonFrame).toMatchObject({ binary: false, data: { type: "notification", notification: { type: "event_updated", event_id: event.id } } });
    expect(msgpackFrame).toEqual({ binary: true, data: jsonFrame.data });
    await expectFreshInstance(bob);
  });

  it("answers ping through the auto-response: the hub's message handler never runs for it", async () => {
    const alice = await registerUser("wsalice");
    const client = await connect(alice);
    let handled = 0;
    await runInDurableObject(hubOf(alice), (target: UserNotificationHub) => {
      const prototype = Object.getPrototypeOf(target) as UserNotificationHub;
      const original = prototype.webSocketMessage;
      prototype.webSocketMessage = async function (this: UserNotificationHub, ...args) {
        if (this === target) handled++;
        return original.apply(this, args);
      };
      onTestFinished(() => {
        prototype.webSocketMessage = original;
      });
    });
    client.ws.send("ping");
    expect(await client.next()).toEqual({ binary: false, data: "pong" });
    client.ws.send(JSON.stringify({ type: "something" }));
    // expect.poll waits 10 s (vitest.config.ts); vi.waitFor gave the frame 1 s to reach the hub.
    await expect.poll(() => handled).toBe(1);
  });

  it("still answers ping with pong after the hub is evicted", async () => {
    const alice = await registerUser("wsalice");
    const client = await connect(alice);
    await evictHub(alice);
    client.ws.send("ping");
    expect(await client.next()).toEqual({ binary: false, data: "pong" });
  });

  it("still closes only the logged-out session's socket with 4001 after the hub is evicted", async () => {
    const alice = await registerUser("wsalice");
    const laptop = await loginAgain(alice);
    const phoneSocket = await connect(alice);
    const laptopSocket = await connect(laptop);
    await evictHub(alice);
    expect((await json("POST", "/api/auth/logout", { token: alice.token })).status).toBe(204);
    expect(await phoneSocket.closed).toBe(4001);
    await createEvent(laptop, "Awake");
    expect(await nextNotification(laptopSocket)).toMatchObject({ type: "event_created", data: { title: "Awake" } });
    expect(laptopSocket.isClosed()).toBe(false);
    await expectFreshInstance(alice);
  });

  it("completes the replay of a socket whose hub is evicted right after the upgrade", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    for (const title of ["One", "Two"]) await patch(alice, event.id, { title });
    const missed = (await json("GET", "/api/notifications?since=0", { token: bob.token })).body.items;
    const client = await openSocket(`token=${bob.token}&since=0`);
    await evictDurableObject(hubOf(bob));
    expect((await client.next()).data).toEqual({ type: "hello", user_id: bob.id, last_id: missed.at(-1).id });
    expect([await nextNotification(client), await nextNotification(client), await nextNotification(client)]).toEqual(missed);
  });

  it("replays from since on a new socket after the hub is evicted", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const first = await connect(bob);
    await evictHub(bob);
    await patch(alice, event.id, { title: "While asleep" });
    const live = await nextNotification(first);
    const again = await openSocket(`token=${bob.token}&since=${first.lastId}`);
    expect((await again.next()).data).toEqual({ type: "hello", user_id: bob.id, last_id: live.id });
    expect(await nextNotification(again)).toEqual(live);
    await again.expectSilence();
  });
});

describe("delivery faults", () => {
  /**
   * The hub namespace with `user`'s hub failing every push: each RPC to it rejects, which is how a
   * hub that throws looks to the Worker. The fault is on the stub, not inside the object: an
   * exception thrown out of a Durable Object's RPC method is printed by workerd as uncaught, noise
   * in a green run (test/faults.test.ts breaks a hub from inside, where it meets a failed write).
   */
  function hubsFailingFor(user: TestUser): Env["NOTIFICATION_HUB"] {
    const failing = new Proxy({}, { get: (_target, method) => (method === "then" ? undefined : async () => Promise.reject(new Error("boom"))) });
    return new Proxy(env.NOTIFICATION_HUB, {
      get(target, key) {
        if (key === "getByName") return (name: string) => (name === String(user.id) ? failing : target.getByName(name));
        const value = Reflect.get(target, key) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  it("keeps the change and its notification when the recipient's hub throws", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const event = await sharedEvent(alice, bob);
    const client = await connect(bob);
    const logs = expectErrorLogs();
    const res = await sendWith({ NOTIFICATION_HUB: hubsFailingFor(bob) }, requestAs(alice, "PATCH", `/api/events/${event.id}`, { title: "Despite boom" }));
    expect(res.status).toBe(200);
    expect((res.body as { title: string }).title).toBe("Despite boom");
    expect(logs.lines).toEqual(["notification delivery failed Error: boom"]);
    await client.expectSilence();
    const listed = (await json("GET", "/api/notifications", { token: bob.token })).body.items[0];
    expect(listed).toMatchObject({ type: "event_updated", data: { changes: { title: { from: "Standup", to: "Despite boom" } } }, is_read: false });
    const again = await openSocket(`token=${bob.token}&since=${client.lastId}`);
    expect((await again.next()).data).toEqual({ type: "hello", user_id: bob.id, last_id: listed.id });
    expect(await nextNotification(again)).toEqual(listed);
  });

  it("still delivers to the other recipients when one hub throws", async () => {
    const alice = await registerUser("wsalice");
    const bob = await registerUser("wsbob");
    const carol = await registerUser("wscarol");
    const event = await sharedEvent(alice, bob);
    await shareWith(alice, event.id, carol);
    const bobSocket = await connect(bob);
    const carolSocket = await connect(carol);
    const logs = expectErrorLogs();
    const res = await sendWith({ NOTIFICATION_HUB: hubsFailingFor(bob) }, requestAs(alice, "PATCH", `/api/events/${event.id}`, { title: "Partial" }));
    expect(res.status).toBe(200);
    expect(await nextNotification(carolSocket)).toMatchObject({ type: "event_updated", data: { changes: { title: { to: "Partial" } } } });
    await bobSocket.expectSilence();
    expect(logs.lines).toEqual(["notification delivery failed Error: boom"]);
  });
});

describe("the hub around a replay (white-box)", () => {
  /** A notification body as the Worker pushes it; the hub does not look it up. */
  const pushed = (id: number, user: TestUser) => ({
    id,
    type: "event_updated",
    event_id: 1,
    actor: { id: user.id, username: user.username },
    message: `pushed ${id}`,
    data: {},
    is_read: false,
    created_at: "2033-01-01T00:00:00Z",
  });

  /**
   * Inside the hub: starts an upgrade, pushes `ids` while its replay is still reading D1 (the
   * upgrade has accepted the socket and is awaiting its first query), then hands the client end to
   * `check`. Everything runs in the hub's own request, where the client socket lives.
   */
  function upgradeWhilePushing(user: TestUser, ids: number[], check: (client: SocketClient, hub: UserNotificationHub) => Promise<void>) {
    return runInDurableObject(hubOf(user), async (hub: UserNotificationHub) => {
      const url = `https://hub/connect?user_id=${user.id}&session_id=${claimsOf(user.token).sid}&expires_at=${Date.now() + 600_000}&format=json&since=0`;
      const upgrading = hub.fetch(new Request(url, { headers: { Upgrade: "websocket" } }));
      for (const id of ids) await hub.deliver(pushed(id, user));
      await check(await clientOf(await upgrading), hub);
    });
  }

  it("sends pushes that arrive during the replay after it, in id order, whatever order they came in", async () => {
    const alice = await registerUser("wsalice");
    await createEvent(alice);
    await upgradeWhilePushing(alice, [1_000_002, 1_000_001], async (client) => {
      const hello = await client.next();
      expect(hello.data).toMatchObject({ type: "hello", user_id: alice.id });
      expect((await nextNotification(client)).id).toBe(hello.data.last_id);
      expect((await nextNotification(client)).id).toBe(1_000_001);
      expect((await nextNotification(client)).id).toBe(1_000_002);
      await client.expectSilence();
    });
  });

  it("does not send again a late push of a notification the replay already sent", async () => {
    const alice = await registerUser("wsalice");
    await createEvent(alice);
    await upgradeWhilePushing(alice, [], async (client, hub) => {
      const hello = await client.next();
      const replayed = await nextNotification(client);
      expect(await hub.deliver(replayed)).toBe(0);
      await client.expectSilence();
      expect(await hub.deliver(pushed(hello.data.last_id + 1_000_000, alice))).toBe(1);
      expect((await nextNotification(client)).id).toBe(hello.data.last_id + 1_000_000);
    });
  });
});
