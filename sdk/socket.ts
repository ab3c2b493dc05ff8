import type { components } from "./schema";

type Notification = components["schemas"]["Notification"];

/** The part of the WebSocket interface the client uses: browsers', Node's and test adapters fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "error", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type HelloFrame = { type: "hello"; user_id: number; last_id: number };
export type ServerFrame =
  | HelloFrame
  | { type: "notification"; notification: Notification }
  | { type: "replay_truncated"; next_since: number; last_id: number }
  | { type: "auth_ok"; expires_at: string }
  | { type: "error"; code: string; message?: string };

export type StreamState = "connecting" | "open" | "waiting" | "stopped";

export interface NotificationStreamOptions {
  /** Where the API lives (`http(s)://`; the socket uses `ws(s)://` on the same host). */
  baseUrl: string;
  /**
   * An access token valid for at least `minValidityMs` more; `fresh` asks for a newly issued one
   * (after a refused upgrade, or to renew the socket). Null ends the stream.
   */
  accessToken: (request: { minValidityMs: number; fresh: boolean }) => Promise<string | null>;
  /** The notifications after `since`, oldest first, at most one page (GET /api/notifications?since=). */
  pageSince: (since: number) => Promise<Notification[]>;
  /** Each notification once, in id order within a replay; live ones as they come. */
  onNotification: (notification: Notification) => void;
  /** Resume after this id: everything newer is replayed first. Without it, live ones only. */
  since?: number;
  /** The WebSocket constructor: the global one by default. */
  WebSocket?: WebSocketConstructor;
  onHello?: (hello: HelloFrame) => void;
  /** `error` frames (`unauthorized` after a refused renewal, `rate_limited`). */
  onError?: (frame: { code: string; message?: string }) => void;
  /** State changes; `stopped` comes with the close code that ended the stream (or 0). */
  onState?: (state: StreamState, detail: { code?: number; reason?: string }) => void;
  /** Renew the token this long before it expires (default 60 s; at most half its remaining life). */
  renewBeforeMs?: number;
  /** Send `ping` this often (default 30 s); no frame for two intervals counts as a dead socket. */
  pingIntervalMs?: number;
  /** Reconnect delays: first, then doubled up to the maximum, with jitter (default 500 ms..30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface NotificationStream {
  /** Closes the socket for good. */
  close(): void;
  /** The highest notification id delivered (or the hello's `last_id`): where a reconnect resumes. */
  lastId(): number | null;
  state(): StreamState;
  /** Resolves with the next hello (after the next successful connect). */
  ready(): Promise<HelloFrame>;
}

/** Close code of a revoked session or an expired token: the stream stops (see the reason below). */
export const SESSION_ENDED = 4001;
/** Too many sockets for this user: reconnecting would close another of them, so the stream stops. */
export const TOO_MANY_SOCKETS = 4008;
/** The reason the hub gives when a token ran out; only then is a 4001 worth one retry. */
const EXPIRED_REASON = "access token expired";
/** Ids remembered for de-duplication, past the highest one. */
const SEEN_WINDOW = 1024;

/** Seconds-since-epoch `exp` of a JWT, in ms; null when the token does not say. */
function expiryOf(token: string): number | null {
  try {
    const payload = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const exp = JSON.parse(atob(payload)).exp;
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Connects to `/ws/notifications` and keeps the stream going: it reconnects with backoff resuming
 * from the last id it saw (`since`), delivers each notification once (by id), pages a truncated
 * replay through `pageSince` before the live ones, renews its token with the `auth` frame before
 * it expires, and stops for good on 4001 (session revoked) and 4008.
 *
 * @example
 * const stream = connectNotifications({ baseUrl, accessToken, pageSince, onNotification: (n) => console.log(n.message) });
 */
export function connectNotifications(options: NotificationStreamOptions): NotificationStream {
  const Socket = options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor);
  const renewBeforeMs = options.renewBeforeMs ?? 60_000;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const initialMs = options.backoff?.initialMs ?? 500;
  const maxMs = options.backoff?.maxMs ?? 30_000;

  let state: StreamState = "connecting";
  let socket: WebSocketLike | null = null;
  let lastId: number | null = options.since ?? null;
  const seen = new Set<number>();
  let attempt = 0;
  /** Consecutive connects that never got a hello: the token may be revoked, so ask for a new one. */
  let refused = 0;
  let expiryRetry = false;
  let timers: ReturnType<typeof setTimeout>[] = [];
  let waiters: ((hello: HelloFrame) => void)[] = [];

  /** A function, not a comparison: TypeScript would narrow `state` across the awaits. */
  const stopped = () => state === "stopped";
  const setState = (next: StreamState, detail: { code?: number; reason?: string } = {}) => {
    state = next;
    options.onState?.(next, detail);
  };
  const later = (ms: number, run: () => void) => timers.push(setTimeout(run, Math.max(0, ms)));
  const clearTimers = () => {
    for (const timer of timers) clearTimeout(timer);
    timers = [];
  };

  const deliver = (notification: Notification) => {
    if (seen.has(notification.id) || (lastId !== null && notification.id <= lastId - SEEN_WINDOW)) return;
    seen.add(notification.id);
    if (seen.size > SEEN_WINDOW) for (const id of seen) if (seen.size > SEEN_WINDOW) seen.delete(id);
    lastId = Math.max(lastId ?? 0, notification.id);
    options.onNotification(notification);
  };

  const stop = (code = 0, reason = "") => {
    if (stopped()) return;
    clearTimers();
    setState("stopped", { code, reason });
    const current = socket;
    socket = null;
    if (current && current.readyState <= 1) current.close(1000, "client closed");
  };

  const reconnect = () => {
    if (stopped()) return;
    setState("waiting");
    const ceiling = Math.min(maxMs, initialMs * 2 ** attempt++);
    later(ceiling / 2 + Math.random() * (ceiling / 2), () => void open());
  };

  async function open(): Promise<void> {
    if (stopped()) return;
    setState("connecting");
    clearTimers();
    const token = await options.accessToken({ minValidityMs: renewBeforeMs, fresh: refused >= 2 || expiryRetry }).catch(() => null);
    if (stopped()) return;
    if (!token) return stop(SESSION_ENDED, "no access token");
    const url = new URL("/ws/notifications", options.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", token);
    if (lastId !== null) url.searchParams.set("since", String(lastId));
    const ws = new Socket(url.toString());
    socket = ws;
    let hello = false;
    /** Live notifications that arrive while a truncated replay is paged through REST. */
    let held: Notification[] | null = null;
    let heardAt = Date.now();

    // At renewBeforeMs before expiry, but never in the first half of the token's remaining life:
    // a margin longer than the token's lifetime must not renew in a loop.
    const renewAt = (expiresAt: number | null) => {
      if (expiresAt === null) return;
      const left = expiresAt - Date.now();
      later(Math.max(left / 2, left - renewBeforeMs), () => void renew());
    };
    const renew = async () => {
      const fresh = await options.accessToken({ minValidityMs: renewBeforeMs, fresh: true }).catch(() => null);
      if (socket !== ws || stopped()) return;
      // No session to renew with: the server closes the socket with 4001 when the token runs out.
      if (fresh) ws.send(JSON.stringify({ type: "auth", access_token: fresh }));
    };
    const heartbeat = () => {
      if (socket !== ws) return;
      if (Date.now() - heardAt > 2 * pingIntervalMs) return ws.close(4000, "no frames");
      ws.send("ping");
      later(pingIntervalMs, heartbeat);
    };
    const followTruncation = async (nextSince: number, upTo: number) => {
      held = [];
      let since = nextSince;
      try {
        while (since < upTo) {
          const page = await options.pageSince(since);
          if (socket !== ws) return;
          for (const notification of page) if (notification.id <= upTo) deliver(notification);
          const last = page.at(-1);
          if (!last || last.id <= since) break;
          since = last.id;
        }
        // Everything up to the hello's last_id was delivered or never existed.
        lastId = Math.max(lastId ?? 0, upTo);
      } catch {
        // Resume from what was delivered: the next connect replays the rest.
        if (socket === ws) ws.close(4000, "replay paging failed");
        return;
      }
      const queued = held.sort((a, b) => a.id - b.id);
      held = null;
      for (const notification of queued) deliver(notification);
    };

    ws.addEventListener("message", (event) => {
      if (socket !== ws) return;
      heardAt = Date.now();
      if (typeof event.data !== "string" || event.data === "pong") return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      switch (frame.type) {
        case "hello":
          hello = true;
          attempt = 0;
          refused = 0;
          expiryRetry = false;
          // Ids up to last_id were committed before this socket opened: replayed after `since`,
          // or not asked for; a reconnect resumes from there at the earliest.
          if (lastId === null) lastId = frame.last_id;
          setState("open");
          renewAt(expiryOf(token));
          later(pingIntervalMs, heartbeat);
          options.onHello?.(frame);
          for (const resolve of waiters.splice(0)) resolve(frame);
          break;
        case "notification":
          if (held) held.push(frame.notification);
          else deliver(frame.notification);
          break;
        case "replay_truncated":
          void followTruncation(frame.next_since, frame.last_id);
          break;
        case "auth_ok":
          renewAt(Date.parse(frame.expires_at));
          break;
        case "error":
          options.onError?.(frame);
          break;
      }
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      clearTimers();
      if (!hello) refused++;
      if (event.code === SESSION_ENDED && event.reason === EXPIRED_REASON && !expiryRetry) {
        // The token ran out (a sleeping tab misses its renewal): one try with a fresh one.
        expiryRetry = true;
        return reconnect();
      }
      if (event.code === SESSION_ENDED || event.code === TOO_MANY_SOCKETS) return stop(event.code, event.reason);
      reconnect();
    });
  }

  void open();
  return {
    close: () => stop(1000, "closed by the client"),
    lastId: () => lastId,
    state: () => state,
    ready: () => new Promise<HelloFrame>((resolve) => waiters.push(resolve)),
  };
}
