import { eventAt, mapLimit } from "../lib/api.mjs";
import { sleep, summarize } from "../lib/stats.mjs";
import { rssKibOf } from "../lib/worker.mjs";

const socketUrl = (base, token) => {
  const url = new URL(`/ws/notifications?token=${encodeURIComponent(token)}`, base);
  url.protocol = "ws:";
  return url.href;
};

/**
 * Opens a notification socket and resolves once the hello frame arrived, with the ms from
 * `new WebSocket` to hello. Later frames go to `onFrame(frame, receivedAt)`.
 */
function openSocket(base, token, onFrame = () => {}, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = new WebSocket(socketUrl(base, token));
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("no hello within the timeout"));
    }, timeoutMs);
    let greeted = false;
    socket.addEventListener("message", (message) => {
      const receivedAt = performance.now();
      const frame = JSON.parse(message.data);
      if (!greeted && frame.type === "hello") {
        greeted = true;
        clearTimeout(timer);
        resolve({ socket, helloMs: receivedAt - started });
      } else if (greeted) onFrame(frame, receivedAt);
    });
    socket.addEventListener("error", () => {
      clearTimeout(timer);
      if (!greeted) reject(new Error("socket error before hello"));
    });
  });
}

async function closeAll(sockets) {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.addEventListener("close", resolve);
          socket.close(1000);
          setTimeout(resolve, 2000);
        }),
    ),
  );
}

/**
 * One configuration of S7: `collaborators` viewers with `socketsPerUser` sockets each; the owner
 * PATCHes the event `updates` times, one after another, and every socket must receive each
 * update's frame before the next PATCH (or a timeout counts it missing).
 */
async function fanOut(api, owner, collaborators, socketsPerUser, eventId, updates) {
  const frames = new Map(); // version -> receipt times
  const onFrame = (frame, at) => {
    const n = frame.notification;
    if (frame.type !== "notification" || n?.event_id !== eventId || n.type !== "event_updated") return;
    const list = frames.get(n.data.version) ?? [];
    list.push(at);
    frames.set(n.data.version, list);
  };
  const connections = collaborators.flatMap((user) => Array.from({ length: socketsPerUser }, () => user.token));
  const sockets = (await mapLimit(connections, 16, (token) => openSocket(api.base, token, onFrame))).map((s) => s.socket);
  const expected = sockets.length;
  const fromSend = [];
  const fromResponse = [];
  const responses = [];
  let missing = 0;
  for (let u = 0; u < updates; u++) {
    const sentAt = performance.now();
    const result = await api.send("PATCH", `/api/events/${eventId}`, { token: owner.token, body: { description: `update ${u} ${sentAt}` } });
    const respondedAt = performance.now();
    if (result.status !== 200) throw new Error(`PATCH answered ${result.status}`);
    responses.push(respondedAt - sentAt);
    const version = result.body.version;
    const deadline = respondedAt + 5000;
    while ((frames.get(version)?.length ?? 0) < expected && performance.now() < deadline) await sleep(1);
    const received = frames.get(version) ?? [];
    missing += expected - Math.min(expected, received.length);
    for (const at of received) {
      fromSend.push(at - sentAt);
      fromResponse.push(at - respondedAt);
    }
  }
  await closeAll(sockets);
  return {
    collaborators: collaborators.length,
    socketsPerUser,
    sockets: expected,
    updates,
    framesExpected: expected * updates,
    framesMissing: missing,
    fromSend: summarize(fromSend),
    fromResponse: summarize(fromResponse),
    patchResponse: summarize(responses),
  };
}

/**
 * S7: notification latency with 1, 10 and 100 collaborators (one socket each) and with 10
 * collaborators holding 10 sockets each. Each configuration has its own event, shared first.
 */
export async function notificationLatency({ api, settings }, { owner, collaborators, configurations, firstSlot }) {
  const results = [];
  for (const [i, { users, socketsPerUser }] of configurations.entries()) {
    const audience = collaborators.slice(0, users);
    const event = await api.createEvent(owner.token, eventAt(firstSlot + i, `Fan-out to ${users}x${socketsPerUser}`));
    await api.share(owner.token, event.id, audience.map((u) => ({ user_id: u.id, role: "viewer" })));
    results.push(await fanOut(api, owner, audience, socketsPerUser, event.id, settings.updates));
  }
  return results;
}

/**
 * S8: opens `count` sockets spread over `users` (16 handshakes in flight), timing each from
 * `new WebSocket` to hello; then the RSS of workerd with all of them idle against the RSS before,
 * per socket.
 */
export async function socketScale({ api, target, settings }, { users }) {
  const count = settings.sockets;
  await sleep(1000);
  const rssBefore = rssKibOf(target.pid);
  const tokens = Array.from({ length: count }, (_, i) => users[i % users.length].token);
  const started = performance.now();
  const opened = await mapLimit(tokens, 16, (token) => openSocket(api.base, token));
  const seconds = (performance.now() - started) / 1000;
  await sleep(2000);
  const rssOpen = rssKibOf(target.pid);
  await closeAll(opened.map((o) => o.socket));
  await sleep(1000);
  const rssClosed = rssKibOf(target.pid);
  return {
    sockets: count,
    users: users.length,
    inFlight: 16,
    seconds,
    connectionsPerSecond: count / seconds,
    helloLatency: summarize(opened.map((o) => o.helloMs)),
    rssKib: { before: rssBefore, open: rssOpen, afterClose: rssClosed },
    rssKibPerSocket: rssBefore === null || rssOpen === null ? null : (rssOpen - rssBefore) / count,
  };
}
