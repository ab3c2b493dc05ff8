import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { INBOUND_FRAMES_PER_WINDOW, MAX_INBOUND_FRAME_BYTES } from "../src/notifications/socket-bridge";
import { AUTH_CHECKS_PER_WINDOW, REPLAY_FRAME_LIMIT, SOCKETS_PER_USER } from "../src/notifications/hub";
import { isoUtc, json, registerUser, type TestUser } from "./helpers";
import { openSocket, sleep, type SocketClient } from "./support/sockets";
import { claimsOf, forgeToken } from "./support/tokens";

const hubOf = (user: TestUser) => env.NOTIFICATION_HUB.getByName(String(user.id));

async function connect(token: string, extra = ""): Promise<SocketClient & { hello: any }> {
  const socket = await openSocket(`token=${encodeURIComponent(token)}${extra}`);
  const hello = await socket.waitFor((f) => f.type === "hello");
  return Object.assign(socket, { hello });
}

async function loginAgain(user: TestUser): Promise<TestUser> {
  const res = await json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } });
  expect(res.status).toBe(200);
  return { ...user, token: res.body.access_token, refresh: res.body.refresh_token };
}

/** Writes `count` notifications for `user` in one statement (white-box setup; the API would take minutes). */
async function seedNotifications(user: TestUser, count: number) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO notifications (user_id, type, event_id, actor_id, message, data, is_read, created_at)
     SELECT ?, 'event_updated', NULL, ?, 'seeded ' || i, '{"n":' || i || '}', 0, ? FROM n`,
  )
    .bind(count, user.id, user.id, Date.now())
    .run();
}

/**
 * A token of the user's session (signed with the Worker's key) that stays valid for at least
 * `seconds`, and when it expires (epoch ms). `exp` is in whole seconds, so `floor(now) + seconds`
 * would leave anywhere from `seconds - 1` to `seconds`: with 1, a token could expire while its
 * socket was still connecting, and the hub's alarm could close the socket before its hello.
 */
async function shortLivedToken(user: TestUser, seconds: number) {
  const claims = claimsOf(user.token);
  const exp = Math.ceil((Date.now() + seconds * 1000) / 1000);
  return { token: await forgeToken({ sub: claims.sub, sid: claims.sid, expiresAt: exp }), expiresAt: exp * 1000 };
}

/** A notification body as the Worker pushes it to a hub. */
const pushed = (id: number, user: TestUser) => ({
  id,
  type: "event_updated",
  event_id: null,
  actor: { id: user.id, username: user.username },
  message: `pushed ${id}`,
  data: {},
  is_read: false,
  created_at: "2033-01-01T00:00:00Z",
});

describe("replay paging", () => {
  it(`replays at most ${REPLAY_FRAME_LIMIT} of 10,000 missed notifications in id order, then a replay_truncated frame, then live ones`, async () => {
    const user = await registerUser("wspage");
    await seedNotifications(user, 10_000);
    const socket = await connect(user.token, "&since=0");
    const truncated = await socket.waitFor((f) => f.type === "replay_truncated", 10_000);
    const notifications = socket.frames.filter((f) => f.type === "notification").map((f) => f.notification);
    expect(socket.frames[0]).toEqual({ type: "hello", user_id: user.id, last_id: expect.any(Number) });
    expect(socket.frames).toHaveLength(REPLAY_FRAME_LIMIT + 2);
    expect(notifications).toHaveLength(REPLAY_FRAME_LIMIT);
    expect(notifications.map((n) => n.data.n)).toEqual(Array.from({ length: REPLAY_FRAME_LIMIT }, (_, i) => i + 1));
    const ids = notifications.map((n) => n.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(truncated).toEqual({ type: "replay_truncated", next_since: ids.at(-1), last_id: socket.hello.last_id });
    expect(socket.frames.at(-1)).toBe(truncated);

    // The rest pages through REST from next_since, and live frames still arrive on the socket.
    const rest = await json("GET", `/api/notifications?since=${truncated.next_since}&limit=1`, { token: user.token });
    expect(rest.body.items[0].data).toEqual({ n: REPLAY_FRAME_LIMIT + 1 });
    expect((await json("POST", "/api/events", { token: user.token, body: { title: "Live", start_time: "2034-01-01T09:00:00Z", end_time: "2034-01-01T10:00:00Z" } })).status).toBe(201);
    const live = await socket.waitFor((f) => f.type === "notification" && f.notification.type === "event_created");
    expect(live.notification.id).toBeGreaterThan(socket.hello.last_id);
  });

  it(`sends no paging frame when exactly ${REPLAY_FRAME_LIMIT} notifications were missed`, async () => {
    const user = await registerUser("wspage");
    await seedNotifications(user, REPLAY_FRAME_LIMIT);
    const socket = await connect(user.token, "&since=0");
    await socket.waitFor((f) => f.type === "notification" && f.notification.data.n === REPLAY_FRAME_LIMIT);
    await sleep(300);
    expect(socket.frames.filter((f) => f.type === "replay_truncated")).toEqual([]);
    expect(socket.frames).toHaveLength(REPLAY_FRAME_LIMIT + 1);
  });
});

describe("per-user socket cap", () => {
  it(`closes the oldest socket with 4008 when a user opens socket number ${SOCKETS_PER_USER + 1}`, async () => {
    const user = await registerUser("wscap");
    const sockets: (SocketClient & { hello: any })[] = [];
    for (let i = 0; i < SOCKETS_PER_USER; i++) sockets.push(await connect(user.token));
    expect(await hubOf(user).connectionCount()).toBe(SOCKETS_PER_USER);
    expect(sockets.some((s) => s.isClosed())).toBe(false);
    const newest = await connect(user.token);
    expect(await sockets[0].closed).toEqual({ code: 4008, reason: "too many sockets" });
    expect(await hubOf(user).connectionCount()).toBe(SOCKETS_PER_USER);
    expect(sockets.slice(1).some((s) => s.isClosed())).toBe(false);
    // Everyone left still gets live frames.
    expect((await json("POST", "/api/events", { token: user.token, body: { title: "Capped", start_time: "2034-02-01T09:00:00Z", end_time: "2034-02-01T10:00:00Z" } })).status).toBe(201);
    await newest.waitFor((f) => f.type === "notification");
    await sockets[1].waitFor((f) => f.type === "notification");
    for (const socket of [...sockets, newest]) socket.close();
  });
});

describe("inbound frames", () => {
  it(`keeps a socket open for a ${MAX_INBOUND_FRAME_BYTES}-byte frame and closes it with 1009 for one byte more`, async () => {
    const user = await registerUser("wsframe");
    const socket = await connect(user.token);
    socket.send("x".repeat(MAX_INBOUND_FRAME_BYTES));
    socket.send("ping");
    await expect.poll(() => socket.pongs()).toBe(1);
    expect(socket.isClosed()).toBe(false);
    socket.send("x".repeat(MAX_INBOUND_FRAME_BYTES + 1));
    expect(await socket.closed).toEqual({ code: 1009, reason: "frame too large" });
  });

  it("counts multi-byte characters as their UTF-8 bytes", async () => {
    const user = await registerUser("wsframe");
    const socket = await connect(user.token);
    // 2,049 two-byte characters: 4,098 bytes in 2,049 UTF-16 units.
    socket.send("é".repeat(MAX_INBOUND_FRAME_BYTES / 2 + 1));
    expect((await socket.closed).code).toBe(1009);
  });

  it(`answers ${INBOUND_FRAMES_PER_WINDOW} pings in a window and closes the socket with 1008 on one more`, async () => {
    const user = await registerUser("wsflood");
    const socket = await connect(user.token);
    for (let i = 0; i < INBOUND_FRAMES_PER_WINDOW; i++) socket.send("ping");
    await expect.poll(() => socket.pongs()).toBe(INBOUND_FRAMES_PER_WINDOW);
    expect(socket.isClosed()).toBe(false);
    socket.send("ping");
    expect(await socket.closed).toEqual({ code: 1008, reason: "too many frames" });
  });

  it("limits each socket on its own: a flood on one leaves the user's other socket open", async () => {
    const user = await registerUser("wsflood");
    const flooded = await connect(user.token);
    const calm = await connect(user.token);
    for (let i = 0; i <= INBOUND_FRAMES_PER_WINDOW; i++) flooded.send("ping");
    expect((await flooded.closed).code).toBe(1008);
    calm.send("ping");
    await expect.poll(() => calm.pongs()).toBe(1);
    expect(calm.isClosed()).toBe(false);
  });

  it("ignores frames it does not understand and keeps the socket open", async () => {
    const user = await registerUser("wsjunk");
    const socket = await connect(user.token);
    for (const frame of ["not json", "[]", "null", '{"type":"subscribe"}', '{"type":']) socket.send(frame);
    socket.send("ping");
    await expect.poll(() => socket.pongs()).toBe(1);
    expect(socket.isClosed()).toBe(false);
    expect(socket.frames).toEqual([socket.hello]);
  });
});

describe("token expiry and renewal", () => {
  it("closes a socket with 4001 when its access token expires", async () => {
    const user = await registerUser("wsexpire");
    const { token, expiresAt } = await shortLivedToken(user, 2);
    const socket = await connect(token);
    expect(await socket.closed).toEqual({ code: 4001, reason: "access token expired" });
    // Not before the token expired, and soon after: the hub's alarm, not a later sweep.
    const closedAt = Date.now();
    expect(closedAt).toBeGreaterThanOrEqual(expiresAt);
    expect(closedAt - expiresAt).toBeLessThan(2000);
  });

  it("keeps a socket open past its token's expiry after an auth frame with a fresh token of the same session", async () => {
    const user = await registerUser("wsrenew");
    const short = await shortLivedToken(user, 2);
    const socket = await connect(short.token);
    socket.send({ type: "auth", access_token: user.token });
    const ok = await socket.waitFor((f) => f.type === "auth_ok");
    expect(ok).toEqual({ type: "auth_ok", expires_at: isoUtc(Number(claimsOf(user.token).exp) * 1000) });
    // A second past the short token's expiry, when its alarm would have closed the socket.
    await sleep(short.expiresAt + 1000 - Date.now());
    expect(socket.isClosed()).toBe(false);
    expect((await json("POST", "/api/events", { token: user.token, body: { title: "Renewed", start_time: "2034-03-01T09:00:00Z", end_time: "2034-03-01T10:00:00Z" } })).status).toBe(201);
    await socket.waitFor((f) => f.type === "notification" && f.notification.data.title === "Renewed");
    socket.close();
  });

  it("answers a bad token, another session's token or a revoked one with an unauthorized error frame and changes nothing", async () => {
    const user = await registerUser("wsbadauth");
    const other = await loginAgain(user);
    const stranger = await registerUser("wsstranger");
    const revoked = await loginAgain(user);
    expect((await json("POST", "/api/auth/logout", { token: revoked.token })).status).toBe(204);
    const socket = await connect((await shortLivedToken(user, 2)).token);
    for (const token of ["garbage", other.token, stranger.token, revoked.token, user.refresh]) socket.send({ type: "auth", access_token: token });
    socket.send({ type: "auth" });
    await expect.poll(() => socket.frames.filter((f) => f.type === "error").length).toBe(6);
    expect(socket.frames.filter((f) => f.type === "error").every((f) => f.code === "unauthorized")).toBe(true);
    expect(socket.frames.some((f) => f.type === "auth_ok")).toBe(false);
    expect((await socket.closed).code).toBe(4001);
  });

  it(`checks at most ${AUTH_CHECKS_PER_WINDOW} auth frames per user in a window and answers the rest rate_limited`, async () => {
    const user = await registerUser("wsauthflood");
    const first = await connect(user.token);
    const second = await connect(user.token);
    for (let i = 0; i < AUTH_CHECKS_PER_WINDOW; i++) (i % 2 ? first : second).send({ type: "auth", access_token: `garbage${i}` });
    await expect.poll(() => first.frames.length + second.frames.length).toBe(2 + AUTH_CHECKS_PER_WINDOW);
    first.send({ type: "auth", access_token: user.token });
    const refused = await first.waitFor((f) => f.type === "error" && f.code === "rate_limited");
    expect(refused).toMatchObject({ type: "error", code: "rate_limited" });
    expect([...first.frames, ...second.frames].filter((f) => f.code === "unauthorized")).toHaveLength(AUTH_CHECKS_PER_WINDOW);
    expect(first.frames.some((f) => f.type === "auth_ok")).toBe(false);
    expect(first.isClosed() || second.isClosed()).toBe(false);
  });

  it("closes an expired socket after the hub was evicted (the expiry is an alarm, not a timer)", async () => {
    const user = await registerUser("wsalarm");
    const socket = await connect((await shortLivedToken(user, 2)).token);
    await evictDurableObject(hubOf(user));
    expect((await socket.closed).code).toBe(4001);
  });

  it("closes only the expired socket and keeps the user's other sockets", async () => {
    const user = await registerUser("wsalarm");
    const expiring = await connect((await shortLivedToken(user, 1)).token);
    const lasting = await connect(user.token);
    expect((await expiring.closed).code).toBe(4001);
    lasting.send("ping");
    await expect.poll(() => lasting.pongs()).toBe(1);
    expect(lasting.isClosed()).toBe(false);
    lasting.close();
  });
});

describe("revocation closes sockets", () => {
  it("closes the session's sockets with 4001 when a spent refresh token is reused", async () => {
    const user = await registerUser("wstheft");
    const other = await loginAgain(user);
    const socket = await connect(user.token);
    const otherSocket = await connect(other.token);
    expect((await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })).status).toBe(200);
    expect((await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })).status).toBe(401);
    expect(await socket.closed).toEqual({ code: 4001, reason: "session ended" });
    expect(otherSocket.isClosed()).toBe(false);
  });

  it("leaves the sockets open when a forged refresh token names the session", async () => {
    const user = await registerUser("wsforged");
    const socket = await connect(user.token);
    const forged = `rt_${claimsOf(user.token).sid}.${"0".repeat(64)}`;
    expect((await json("POST", "/api/auth/refresh", { body: { refresh_token: forged } })).status).toBe(401);
    await sleep(300);
    expect(socket.isClosed()).toBe(false);
  });

  it("closes every other session's sockets with 4001 on a password change and keeps the caller's", async () => {
    const user = await registerUser("wspassword");
    const laptop = await loginAgain(user);
    const phone = await loginAgain(user);
    const mine = await connect(user.token);
    const laptopSocket = await connect(laptop.token);
    const phoneSocket = await connect(phone.token);
    const res = await json("POST", "/api/auth/password", { token: user.token, body: { current_password: user.password, new_password: "another long passphrase" } });
    expect(res.status).toBe(204);
    expect((await laptopSocket.closed).code).toBe(4001);
    expect((await phoneSocket.closed).code).toBe(4001);
    expect((await json("POST", "/api/events", { token: user.token, body: { title: "Kept", start_time: "2034-04-01T09:00:00Z", end_time: "2034-04-01T10:00:00Z" } })).status).toBe(201);
    await mine.waitFor((f) => f.type === "notification" && f.notification.data.title === "Kept");
    expect(mine.isClosed()).toBe(false);
  });

  it("closes the sockets of both sessions when logout names another own session's refresh token", async () => {
    const user = await registerUser("wslogout2");
    const other = await loginAgain(user);
    const third = await loginAgain(user);
    const mine = await connect(user.token);
    const theirs = await connect(other.token);
    const untouched = await connect(third.token);
    expect((await json("POST", "/api/auth/logout", { token: user.token, body: { refresh_token: other.refresh } })).status).toBe(204);
    expect((await mine.closed).code).toBe(4001);
    expect((await theirs.closed).code).toBe(4001);
    untouched.send("ping");
    await expect.poll(() => untouched.pongs()).toBe(1);
    expect(untouched.isClosed()).toBe(false);
  });

  it("delivers nothing to a revoked session's socket, even a push already on its way", async () => {
    const user = await registerUser("wsrevoked");
    const other = await loginAgain(user);
    const socket = await connect(user.token);
    const otherSocket = await connect(other.token);
    expect((await json("POST", "/api/auth/logout", { token: user.token })).status).toBe(204);
    // The close is done before logout answers: a push arriving now reaches only the live session.
    expect(await hubOf(user).deliver(pushed(socket.hello.last_id + 1_000_000, user))).toBe(1);
    await otherSocket.waitFor((f) => f.type === "notification");
    expect((await socket.closed).code).toBe(4001);
    expect(socket.frames).toEqual([socket.hello]);
  });

  it("refuses an upgrade that reaches the hub after its session was revoked", async () => {
    const user = await registerUser("wslate");
    const { sid } = claimsOf(user.token);
    expect((await json("POST", "/api/auth/logout", { token: user.token })).status).toBe(204);
    // As if the Worker had checked the token just before the logout landed.
    const url = `https://hub/connect?user_id=${user.id}&session_id=${sid}&expires_at=${Date.now() + 600_000}&format=json`;
    const res = await hubOf(user).fetch(new Request(url, { headers: { Upgrade: "websocket" } }));
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
    expect(await hubOf(user).connectionCount()).toBe(0);
  });

  it("refuses the socket of a session revoked by a password change with 401", async () => {
    const user = await registerUser("wspwrefuse");
    const other = await loginAgain(user);
    expect((await json("POST", "/api/auth/password", { token: user.token, body: { current_password: user.password, new_password: "another long passphrase" } })).status).toBe(204);
    const res = await exports.default.fetch(new Request(`http://localhost/ws/notifications?token=${other.token}`, { headers: { Upgrade: "websocket" } }));
    expect(res.status).toBe(401);
    expect(res.webSocket).toBeNull();
  });
});
