#!/usr/bin/env node
// Socket lifecycles as a real client sees them: the production bundle (dist/index.js) under
// Miniflare, reached over TCP with Node's own WebSocket (undici). In-pool tests cannot see when a
// real client's close event fires; this suite measures it. Run with `npm run test:tcp` (it builds
// first). Prints one PASS/FAIL line per check and a closing `tcp: N passed, M failed`; exits
// non-zero on any failure.
import { existsSync } from "node:fs";
import { createServer, connect as connectTcp } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyMigrations, randomSecret, startWorker, useMemoryStorage, workerOptions } from "../../bench/lib/worker.mjs";
// The SDK's socket client, as TypeScript: Node 24 strips the types.
import { connectNotifications } from "../../sdk/socket.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The contract: a revocation reaches a real client's close event within a second. */
const CLOSE_BUDGET_MS = 1000;
/** Access-token lifetime of the second server, for the expiry checks. */
const SHORT_TTL_SECONDS = 3;
const CHECK_TIMEOUT_MS = 20_000;

process.chdir(ROOT);
const log = (...args) => console.log("tcp:", ...args);

const servers = [];
async function startServer(ttlSeconds) {
  const options = workerOptions({ root: ROOT, scriptPath: join(ROOT, "dist", "index.js"), jwtSecret: randomSecret() });
  options.bindings = { ...options.bindings, ACCESS_TOKEN_TTL: String(ttlSeconds) };
  const server = await startWorker(options);
  servers.push(server);
  await applyMigrations(server.mf, join(ROOT, "migrations"));
  return server.url.origin;
}

async function stopServers() {
  await Promise.allSettled(servers.map((s) => s.mf.dispose()));
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stopServers().finally(() => process.exit(1)));

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * When an access token expires (epoch ms): its `exp` claim, in whole seconds. The server signs
 * `exp = floor(now) + TTL`, so a token lives between TTL - 1 and TTL seconds; checks that depend on
 * the expiry read it from the token instead of assuming either end.
 */
const expiryOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).exp * 1000;

function client(base) {
  async function api(method, path, { token, body } = {}) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
  async function expectStatus(status, promise, what) {
    const res = await promise;
    assert(res.status === status, `${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  let counter = 0;
  const password = "correct horse battery staple";
  async function register() {
    const username = `tcp_${Date.now().toString(36)}_${counter++}`;
    const session = await expectStatus(201, api("POST", "/api/auth/register", { body: { username, email: `${username}@example.com`, password } }), "register");
    return { id: session.user.id, username, password, token: session.access_token, refresh: session.refresh_token };
  }
  async function login(user) {
    const session = await expectStatus(200, api("POST", "/api/auth/login", { body: { username: user.username, password: user.password } }), "login");
    return { ...user, token: session.access_token, refresh: session.refresh_token };
  }
  let slot = 0;
  async function createEvent(user, title) {
    const start = Date.UTC(2035, 0, 1 + slot++, 9);
    const body = { title, start_time: new Date(start).toISOString(), end_time: new Date(start + 3600_000).toISOString() };
    return expectStatus(201, api("POST", "/api/events", { token: user.token, body }), `create ${title}`);
  }

  /** A WebSocket over TCP that records every frame and the close event, with timestamps. */
  async function connect(token) {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws/notifications?token=${encodeURIComponent(token)}`);
    const socket = { ws, frames: [], closeEvent: null };
    socket.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => {
        socket.closeEvent = { code: event.code, reason: event.reason, at: performance.now(), wallMs: Date.now() };
        resolve(socket.closeEvent);
      });
    });
    ws.addEventListener("message", (event) => {
      const data = typeof event.data === "string" && event.data !== "pong" ? JSON.parse(event.data) : event.data;
      socket.frames.push({ data, at: performance.now() });
    });
    socket.waitFor = async (predicate, what, timeoutMs = 5000) => {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        const hit = socket.frames.find((f) => predicate(f.data));
        if (hit) return hit.data;
        if (socket.closeEvent) break;
        await sleep(10);
      }
      throw new Error(`no ${what} within ${timeoutMs} ms; frames ${JSON.stringify(socket.frames.map((f) => f.data))}, close ${JSON.stringify(socket.closeEvent)}`);
    };
    await socket.waitFor((f) => f?.type === "hello", "hello");
    return socket;
  }

  /** Waits for the close event; fails unless it has `code` and fires within `budgetMs` of `since`. */
  async function expectClose(socket, code, since, what, budgetMs = CLOSE_BUDGET_MS) {
    const event = await Promise.race([socket.closed, sleep(budgetMs + 15_000).then(() => null)]);
    assert(event, `${what}: the close event never fired`);
    const ms = Math.round(event.at - since);
    assert(event.code === code, `${what}: closed with ${event.code} (${event.reason}), expected ${code}`);
    assert(ms <= budgetMs, `${what}: the close event fired after ${ms} ms, budget ${budgetMs} ms`);
    return ms;
  }

  /** Fails if `socket` received a notification frame after `since`. */
  function expectNoNotificationAfter(socket, since, what) {
    const late = socket.frames.filter((f) => f.at >= since && f.data?.type === "notification");
    assert(late.length === 0, `${what}: ${late.length} notification frame(s) after the revocation`);
  }

  return { base, api, expectStatus, register, login, createEvent, connect, expectClose, expectNoNotificationAfter };
}

/**
 * A TCP proxy in front of the server whose connections can be cut, as a network drop cuts them:
 * the client sees no close frame, only the connection ending (close code 1006).
 */
async function cuttableProxy(base) {
  const target = new URL(base);
  const pairs = new Set();
  const server = createServer((downstream) => {
    const upstream = connectTcp(Number(target.port), target.hostname);
    const pair = [downstream, upstream];
    pairs.add(pair);
    downstream.pipe(upstream).on("error", () => {});
    upstream.pipe(downstream).on("error", () => {});
    for (const end of pair) end.on("close", () => (pair.forEach((e) => e.destroy()), pairs.delete(pair)));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    cut: () => pairs.forEach((pair) => pair.forEach((end) => end.destroy())),
    close: () => (pairs.forEach((pair) => pair.forEach((end) => end.destroy())), new Promise((resolve) => server.close(resolve))),
  };
}

/** The SDK's socket client with Node's WebSocket, recording every URL it connects to. */
function sdkStream(c, base, user, options = {}) {
  const urls = [];
  const got = [];
  const states = [];
  class RecordingWebSocket extends WebSocket {
    constructor(url) {
      super(url);
      urls.push(new URL(url));
    }
  }
  const stream = connectNotifications({
    baseUrl: base,
    WebSocket: RecordingWebSocket,
    accessToken: async () => user.token,
    pageSince: async (since) => (await c.api("GET", `/api/notifications?since=${since}&limit=100`, { token: user.token })).body.items,
    onNotification: (n) => got.push(n),
    onState: (state, detail) => states.push({ state, ...detail, at: performance.now() }),
    backoff: { initialMs: 100, maxMs: 400 },
    ...options,
  });
  const until = async (check, what, timeoutMs = 5000) => {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; states ${JSON.stringify(states.map((s) => s.state))}, got ${JSON.stringify(got.map((n) => n.data.title))}`);
      await sleep(10);
    }
  };
  return { stream, urls, got, states, until };
}

const figures = {};

/**
 * Each check is a named function of the two servers' clients. The revocation checks run one at a
 * time, so their close budget is not spent waiting on each other's password hashing.
 */
const revocationChecks = [
  async function logoutClosesTheSessionsSocketsWithin1s({ normal: c }) {
    const alice = await c.register();
    const laptop = await c.login(alice);
    const phone = await c.connect(alice.token);
    const phone2 = await c.connect(alice.token);
    const laptopSocket = await c.connect(laptop.token);
    const started = performance.now();
    await c.expectStatus(204, c.api("POST", "/api/auth/logout", { token: alice.token }), "logout");
    const answered = performance.now();
    figures.logoutCloseMs = await c.expectClose(phone, 4001, started, "logout");
    await c.expectClose(phone2, 4001, started, "logout, second socket");
    // A change right after the logout reaches the live session only.
    await c.createEvent(laptop, "After logout");
    await laptopSocket.waitFor((f) => f?.type === "notification" && f.notification.data.title === "After logout", "the live session's notification");
    c.expectNoNotificationAfter(phone, answered, "logout");
    assert(!laptopSocket.closeEvent, "the other session's socket was closed");
    laptopSocket.ws.close();
  },

  async function refreshTokenReuseClosesTheSessionsSocketsWithin1s({ normal: c }) {
    const bob = await c.register();
    const socket = await c.connect(bob.token);
    const rotated = await c.expectStatus(200, c.api("POST", "/api/auth/refresh", { body: { refresh_token: bob.refresh } }), "refresh");
    const started = performance.now();
    await c.expectStatus(401, c.api("POST", "/api/auth/refresh", { body: { refresh_token: bob.refresh } }), "reuse");
    const answered = performance.now();
    figures.reuseCloseMs = await c.expectClose(socket, 4001, started, "refresh-token reuse");
    await c.expectStatus(401, c.api("GET", "/api/auth/me", { token: rotated.access_token }), "the rotated token after reuse");
    c.expectNoNotificationAfter(socket, answered, "refresh-token reuse");
  },

  async function aForgedRefreshTokenLeavesTheSocketOpen({ normal: c }) {
    const carol = await c.register();
    const socket = await c.connect(carol.token);
    const sid = /^rt_([0-9a-f]{32})\./.exec(carol.refresh)[1];
    await c.expectStatus(401, c.api("POST", "/api/auth/refresh", { body: { refresh_token: `rt_${sid}.${"0".repeat(64)}` } }), "forged refresh");
    await sleep(CLOSE_BUDGET_MS);
    assert(!socket.closeEvent, `the socket closed: ${JSON.stringify(socket.closeEvent)}`);
    await c.createEvent(carol, "Still mine");
    await socket.waitFor((f) => f?.type === "notification" && f.notification.data.title === "Still mine", "a notification after the forged refresh");
    socket.ws.close();
  },

  async function aPasswordChangeClosesEveryOtherSessionsSocketsWithin1s({ normal: c }) {
    const dave = await c.register();
    const tablet = await c.login(dave);
    const phone = await c.login(dave);
    const mine = await c.connect(dave.token);
    const tabletSocket = await c.connect(tablet.token);
    const phoneSocket = await c.connect(phone.token);
    const started = performance.now();
    await c.expectStatus(204, c.api("POST", "/api/auth/password", { token: dave.token, body: { current_password: dave.password, new_password: "a new long passphrase" } }), "password change");
    const answered = performance.now();
    figures.passwordCloseMs = Math.max(await c.expectClose(tabletSocket, 4001, started, "password change"), await c.expectClose(phoneSocket, 4001, started, "password change"));
    await c.createEvent(dave, "After the change");
    await mine.waitFor((f) => f?.type === "notification" && f.notification.data.title === "After the change", "the caller's notification");
    c.expectNoNotificationAfter(tabletSocket, answered, "password change");
    c.expectNoNotificationAfter(phoneSocket, answered, "password change");
    assert(!mine.closeEvent, "the caller's own socket was closed");
    mine.ws.close();
  },

  async function theSdkSocketClientReconnectsAfterANetworkDropResumingWithSince({ normal: c }) {
    const ivan = await c.register();
    const proxy = await cuttableProxy(c.base);
    const sdk = sdkStream(c, proxy.base, ivan);
    try {
      await sdk.stream.ready();
      await c.createEvent(ivan, "Before the drop");
      await sdk.until(() => sdk.got.length === 1, "the first notification");
      const resumed = sdk.stream.ready();
      proxy.cut();
      await c.createEvent(ivan, "During the drop");
      await resumed;
      assert(sdk.urls.length === 2, `${sdk.urls.length} connects, expected 2`);
      assert(sdk.urls[1].searchParams.get("since") === String(sdk.got[0].id), `reconnected with since=${sdk.urls[1].searchParams.get("since")}, expected ${sdk.got[0].id}`);
      await sdk.until(() => sdk.got.length === 2, "the notification sent while the network was down");
      await c.createEvent(ivan, "After the drop");
      await sdk.until(() => sdk.got.length === 3, "the next live notification");
      const titles = sdk.got.map((n) => n.data.title).join(", ");
      assert(titles === "Before the drop, During the drop, After the drop", `got ${titles}`);
      const dropped = sdk.states.find((s) => s.state === "waiting");
      assert(dropped, "the client never noticed the drop");
    } finally {
      sdk.stream.close();
      await proxy.close();
    }
  },

  async function theSdkSocketClientStopsForGoodOn4001({ normal: c }) {
    const judy = await c.register();
    const sdk = sdkStream(c, c.base, judy);
    await sdk.stream.ready();
    const started = performance.now();
    await c.expectStatus(204, c.api("POST", "/api/auth/logout", { token: judy.token }), "logout");
    await sdk.until(() => sdk.stream.state() === "stopped", "the stop", CLOSE_BUDGET_MS + 1000);
    const stop = sdk.states.at(-1);
    assert(stop.code === 4001, `stopped with ${stop.code} (${stop.reason}), expected 4001`);
    figures.sdkStopMs = Math.round(stop.at - started);
    assert(figures.sdkStopMs <= CLOSE_BUDGET_MS, `stopped ${figures.sdkStopMs} ms after the logout started, budget ${CLOSE_BUDGET_MS} ms`);
    await sleep(1500);
    assert(sdk.urls.length === 1, `${sdk.urls.length - 1} reconnect(s) after 4001`);
  },

  async function pingIsAnsweredAndAnOversizedFrameClosesWith1009({ normal: c }) {
    const erin = await c.register();
    const socket = await c.connect(erin.token);
    socket.ws.send("ping");
    await socket.waitFor((f) => f === "pong", "pong");
    const started = performance.now();
    socket.ws.send("x".repeat(5000));
    await c.expectClose(socket, 1009, started, "oversized frame");
  },

];

/** On the server with a short ACCESS_TOKEN_TTL; mostly waiting, so they run alongside. */
const expiryChecks = [
  async function anExpiredAccessTokenClosesTheSocketWith4001({ short: c }) {
    const frank = await c.register();
    const expiresAt = expiryOf(frank.token);
    const socket = await c.connect(frank.token);
    const event = await Promise.race([socket.closed, sleep(SHORT_TTL_SECONDS * 1000 + 5000).then(() => null)]);
    assert(event, "the socket outlived its token by 5 s");
    assert(event.code === 4001, `closed with ${event.code} (${event.reason}), expected 4001`);
    // Measured from the token's own expiry, not from before the register request: that request's
    // password hashing (a few hundred ms on a loaded machine) is not part of the alarm's delay.
    const ms = event.wallMs - expiresAt;
    figures.closeAfterExpiryMs = ms;
    assert(ms >= 0 && ms <= CLOSE_BUDGET_MS, `closed ${ms} ms after the token expired (budget 0..${CLOSE_BUDGET_MS} ms)`);
  },

  async function aRenewedAccessTokenKeepsTheSocketOpen({ short: c }) {
    const grace = await c.register();
    const firstExpiry = expiryOf(grace.token);
    const socket = await c.connect(grace.token);
    // Renew one second before the first token expires, just after a whole second: the renewed
    // token's whole-second `exp` is then exactly two seconds after the first one's. (A fixed pause
    // after connecting left anywhere from 0.5 to 1.5 s for the refresh and the auth frame, and a
    // loaded machine missed the shorter end: the first token expired and the hub closed the socket.)
    await sleep(firstExpiry - 1000 + 20 - Date.now());
    const renewed = await c.expectStatus(200, c.api("POST", "/api/auth/refresh", { body: { refresh_token: grace.refresh } }), "refresh");
    const renewedExpiry = expiryOf(renewed.access_token);
    assert(renewedExpiry > firstExpiry, `the renewed token expires at ${renewedExpiry}, not after the first one (${firstExpiry})`);
    socket.ws.send(JSON.stringify({ type: "auth", access_token: renewed.access_token }));
    const ok = await socket.waitFor((f) => f?.type === "auth_ok", "auth_ok");
    assert(Date.parse(ok.expires_at) === renewedExpiry, `auth_ok expires_at ${ok.expires_at} is not the renewed token's expiry ${new Date(renewedExpiry).toISOString()}`);
    // Past the first token's expiry (and its alarm), the socket is open and still receives frames.
    await sleep(firstExpiry + 200 - Date.now());
    assert(!socket.closeEvent, `closed despite the renewal: ${JSON.stringify(socket.closeEvent)}`);
    await c.createEvent({ ...grace, token: renewed.access_token }, "Renewed");
    await socket.waitFor((f) => f?.type === "notification" && f.notification.data.title === "Renewed", "a notification after renewal");
    // And it closes once the renewed token expires.
    const event = await Promise.race([socket.closed, sleep(SHORT_TTL_SECONDS * 1000 + 5000).then(() => null)]);
    assert(event?.code === 4001 && event.wallMs >= renewedExpiry, `after the renewed token expired at ${renewedExpiry}: ${JSON.stringify(event)}`);
  },

  async function theSdkSocketClientRenewsItsTokenAndOutlivesIt({ short: c }) {
    const kim = await c.register();
    let session = { token: kim.token, refresh: kim.refresh };
    const renewals = [];
    const sdk = sdkStream(c, c.base, kim, {
      accessToken: async ({ fresh }) => {
        if (!fresh) return session.token;
        const rotated = await c.expectStatus(200, c.api("POST", "/api/auth/refresh", { body: { refresh_token: session.refresh } }), "refresh");
        session = { token: rotated.access_token, refresh: rotated.refresh_token };
        renewals.push(performance.now());
        return session.token;
      },
    });
    try {
      await sdk.stream.ready();
      await sleep(SHORT_TTL_SECONDS * 2000 + 500);
      assert(sdk.urls.length === 1 && sdk.stream.state() === "open", `the socket did not outlive its tokens: states ${JSON.stringify(sdk.states.map((s) => [s.state, s.code]))}`);
      assert(renewals.length >= 2, `${renewals.length} renewals in ${SHORT_TTL_SECONDS * 2} s of ${SHORT_TTL_SECONDS} s tokens`);
      await c.createEvent({ ...kim, token: session.token }, "Renewed by the SDK");
      await sdk.until(() => sdk.got.some((n) => n.data.title === "Renewed by the SDK"), "a notification after the renewals");
    } finally {
      sdk.stream.close();
    }
  },

  async function aBadAuthFrameIsAnsweredUnauthorizedAndChangesNothing({ short: c }) {
    const heidi = await c.register();
    const other = await c.login(heidi);
    // A token of heidi's first session signed after the login: the register's token has aged by
    // the login's password hashing, which on a loaded machine can outlast a 3 s token.
    const mine = await c.expectStatus(200, c.api("POST", "/api/auth/refresh", { body: { refresh_token: heidi.refresh } }), "refresh");
    const socket = await c.connect(mine.access_token);
    socket.ws.send(JSON.stringify({ type: "auth", access_token: other.token }));
    const error = await socket.waitFor((f) => f?.type === "error", "error frame");
    assert(error.code === "unauthorized", `error code ${error.code}`);
    const event = await Promise.race([socket.closed, sleep(SHORT_TTL_SECONDS * 1000 + 5000).then(() => null)]);
    assert(event?.code === 4001, `the other session's token must not extend the socket: ${JSON.stringify(event)}`);
  },
];

async function main() {
  if (!existsSync("dist/index.js")) throw new Error("dist/index.js is missing: run `npm run build` first (npm run test:tcp does)");
  useMemoryStorage();
  const [normal, short] = await Promise.all([startServer(900), startServer(SHORT_TTL_SECONDS)]);
  const contexts = { normal: client(normal), short: client(short) };
  const run = async (check) => {
    try {
      await Promise.race([check(contexts), sleep(CHECK_TIMEOUT_MS).then(() => Promise.reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)))]);
      return { name: check.name, ok: true };
    } catch (error) {
      return { name: check.name, ok: false, error };
    }
  };
  const [timed, expiry] = await Promise.all([
    (async () => {
      const done = [];
      for (const check of revocationChecks) done.push(await run(check));
      return done;
    })(),
    Promise.all(expiryChecks.map(run)),
  ]);
  const results = [...timed, ...expiry];
  for (const { name, ok, error } of results) log(ok ? `PASS ${name}` : `FAIL ${name}: ${error?.message ?? error}`);
  log(`close event after the revoking request started: ${JSON.stringify(figures)} (budget ${CLOSE_BUDGET_MS} ms)`);
  await stopServers();
  const passed = results.filter((r) => r.ok).length;
  console.log(`tcp: ${passed} passed, ${results.length - passed} failed`);
  process.exit(passed === results.length ? 0 : 1);
}

main().catch(async (error) => {
  log(`FAIL setup: ${error?.stack ?? error}`);
  await stopServers();
  console.log(`tcp: 0 passed, ${revocationChecks.length + expiryChecks.length} failed`);
  process.exit(1);
});
