import { DurableObject } from "cloudflare:workers";
import { decode, encode } from "@msgpack/msgpack";
import { authenticateAccess } from "../auth/service";
import { createDb } from "../db/client";
import { formatUtc } from "../recurrence";
import { MAX_INBOUND_FRAME_BYTES } from "./socket-bridge";
import { notificationsAfter, socketStart, type NotificationBody } from "./service";

/** Facts about one socket that must survive hibernation. */
interface SocketAttachment {
  userId: number;
  sessionId: string;
  format: "json" | "msgpack";
  /**
   * The hello's `last_id`: everything up to it was committed before the socket opened and was
   * either replayed or not asked for, so a late push of such an id is not sent again.
   */
  floor: number;
  /** When the socket's access token expires (epoch ms); renewed by an `auth` frame. */
  expiresAt: number;
  openedAt: number;
  /** Set when the hub closes the socket: a closing socket stays in getWebSockets for a while. */
  closed?: boolean;
}

/** Close code sent to a session's sockets when it is revoked or its access token expires. */
export const SESSION_ENDED_CLOSE_CODE = 4001;
/** Close code sent to a user's oldest socket when a new one would exceed the cap. */
export const TOO_MANY_SOCKETS_CLOSE_CODE = 4008;
/** Open sockets per user; the upgrade past it closes the oldest one (4008). */
export const SOCKETS_PER_USER = 100;
/** Notification frames in one replay; then a `replay_truncated` frame sends the client to REST. */
export const REPLAY_FRAME_LIMIT = 100;
/**
 * `auth` frames checked per user in AUTH_WINDOW_MS, across all of the user's sockets: each costs
 * a D1 read, and 100 sockets at the bridge's frame rate would otherwise reach 300 reads a second.
 */
export const AUTH_CHECKS_PER_WINDOW = 10;
export const AUTH_WINDOW_MS = 10_000;

/**
 * One per user (named by the user id). Holds that user's WebSockets through the Hibernation API
 * and pushes each notification, already committed to D1, to all of them. Each socket lives only
 * as long as its session and its access token: revocation closes it at once, and one alarm (the
 * earliest expiry among the sockets) closes those whose token ran out.
 */
export class UserNotificationHub extends DurableObject<Env> {
  /**
   * Sockets still receiving their replay. Live notifications for them wait here so that nothing
   * arrives twice or out of order around the hand-over. In memory only: the object cannot
   * hibernate while a replay is awaiting D1.
   */
  private replaying = new Map<WebSocket, NotificationBody[]>();
  /** When recent `auth` frames were checked. In memory: hibernation, like the window, takes 10 s. */
  private authChecks: number[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Upgrade from the Worker, which has already verified the token and passes who the caller is and
   * when the token expires. The replay runs inside this request, before the 101: eviction waits
   * for in-flight requests, not for work left running after the response, and the queue of live
   * pushes lives in memory. Frames sent before the client accepts are buffered. Answers 401 when
   * the session was revoked after the Worker's check.
   */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const attachment: SocketAttachment = {
      userId: Number(url.searchParams.get("user_id")),
      sessionId: url.searchParams.get("session_id") ?? "",
      format: url.searchParams.get("format") === "msgpack" ? "msgpack" : "json",
      floor: Number.MAX_SAFE_INTEGER,
      expiresAt: Number(url.searchParams.get("expires_at")) || Date.now(),
      openedAt: Date.now(),
    };
    const sinceParam = url.searchParams.get("since");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [`session:${attachment.sessionId}`]);
    server.serializeAttachment(attachment);
    this.replaying.set(server, []);
    this.enforceSocketCap();
    await this.scheduleExpiry(attachment.expiresAt);
    const live = await this.replay(server, attachment, sinceParam === null ? null : Number(sinceParam));
    if (!live) return new Response(null, { status: 401 });
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends hello, at most REPLAY_FRAME_LIMIT missed notifications, then the queued live ones. */
  private async replay(socket: WebSocket, attachment: SocketAttachment, since: number | null): Promise<boolean> {
    try {
      // The binding, not a Sessions API session: every query goes to the primary. The hub's reads
      // are revocation checks (socket start, auth frames) for sockets that live for hours, which a
      // lagging replica must not pass, and a hub answers no /api request to hand a bookmark to.
      const db = createDb(this.env.DB);
      const { lastId, sessionLive } = await socketStart(db, attachment.userId, attachment.sessionId);
      if (!sessionLive) {
        this.closeSocket(socket, SESSION_ENDED_CLOSE_CODE, "session ended");
        return false;
      }
      attachment.floor = lastId;
      socket.serializeAttachment(attachment);
      this.send(socket, attachment, { type: "hello", user_id: attachment.userId, last_id: lastId });
      if (since !== null && since < lastId) {
        const missed = await notificationsAfter(db, attachment.userId, since, lastId, REPLAY_FRAME_LIMIT);
        for (const notification of missed) this.send(socket, attachment, { type: "notification", notification });
        const last = missed.at(-1);
        if (missed.length === REPLAY_FRAME_LIMIT && last && last.id < lastId) {
          this.send(socket, attachment, { type: "replay_truncated", next_since: last.id, last_id: lastId });
        }
      }
      // Pushes that arrived meanwhile, in id order: concurrent changes reach the hub in any order.
      let sentUpTo = lastId;
      const queued = (this.replaying.get(socket) ?? []).sort((a, b) => a.id - b.id);
      for (const notification of queued) {
        if (notification.id > sentUpTo) {
          this.send(socket, attachment, { type: "notification", notification });
          sentUpTo = notification.id;
        }
      }
      return true;
    } catch (error) {
      console.error("notification replay failed", error);
      this.closeSocket(socket, 1011, "replay failed");
      return true;
    } finally {
      this.replaying.delete(socket);
    }
  }

  /** Past SOCKETS_PER_USER open sockets, closes the oldest ones with 4008. */
  private enforceSocketCap(): void {
    const open = this.openSockets();
    if (open.length <= SOCKETS_PER_USER) return;
    open.sort((a, b) => a.attachment.openedAt - b.attachment.openedAt);
    for (const { socket } of open.slice(0, open.length - SOCKETS_PER_USER)) this.closeSocket(socket, TOO_MANY_SOCKETS_CLOSE_CODE, "too many sockets");
  }

  /** Pushes several notifications, in id order. Returns the number of socket sends. */
  async deliverMany(notifications: NotificationBody[]): Promise<number> {
    let sent = 0;
    for (const notification of notifications) sent += await this.deliver(notification);
    return sent;
  }

  /**
   * Pushes one notification to every open socket of this user. A socket being closed, or whose
   * token has expired but whose alarm has not run yet, gets nothing. Returns how many got it.
   */
  async deliver(notification: NotificationBody): Promise<number> {
    let delivered = 0;
    const now = Date.now();
    for (const socket of this.ctx.getWebSockets()) {
      const queue = this.replaying.get(socket);
      if (queue) {
        queue.push(notification);
        continue;
      }
      const attachment = socket.deserializeAttachment() as SocketAttachment;
      if (attachment.closed || attachment.expiresAt <= now || notification.id <= attachment.floor) continue;
      if (this.send(socket, attachment, { type: "notification", notification })) delivered++;
    }
    return delivered;
  }

  /** Closes the sockets of the given sessions with 4001. Returns how many were closed. */
  async closeSessions(sessionIds: string[]): Promise<number> {
    let closed = 0;
    for (const sessionId of sessionIds) {
      for (const socket of this.ctx.getWebSockets(`session:${sessionId}`)) {
        if (this.closeSocket(socket, SESSION_ENDED_CLOSE_CODE, "session ended")) closed++;
      }
    }
    return closed;
  }

  /** Open sockets held by this hub (closing ones excluded). */
  async connectionCount(): Promise<number> {
    return this.openSockets().length;
  }

  /** Closes the sockets whose access token has expired, then waits for the next expiry. */
  async alarm(): Promise<void> {
    const now = Date.now();
    let next = Infinity;
    for (const { socket, attachment } of this.openSockets()) {
      if (attachment.expiresAt <= now) this.closeSocket(socket, SESSION_ENDED_CLOSE_CODE, "access token expired");
      else next = Math.min(next, attachment.expiresAt);
    }
    if (next !== Infinity) await this.ctx.storage.setAlarm(next);
  }

  /**
   * Frames from the client (the Worker's bridge has already capped their size and rate). "ping"
   * is answered by the auto-response without waking us. `{"type":"auth","access_token"}` renews
   * the socket's lifetime with a fresh access token of the same session; anything else is ignored.
   */
  async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === "ping") {
      socket.send("pong");
      return;
    }
    const frame = parseFrame(message);
    if (frame?.type !== "auth") return;
    const attachment = socket.deserializeAttachment() as SocketAttachment;
    if (attachment.closed) return;
    const now = Date.now();
    this.authChecks = this.authChecks.filter((at) => now - at < AUTH_WINDOW_MS);
    if (this.authChecks.length >= AUTH_CHECKS_PER_WINDOW) {
      this.send(socket, attachment, { type: "error", code: "rate_limited", message: "Too many auth frames; retry in a few seconds." });
      return;
    }
    this.authChecks.push(now);
    const token = typeof frame.access_token === "string" ? frame.access_token : "";
    const access = token ? await authenticateAccess(createDb(this.env.DB), this.env, token) : null;
    if (!access || access.actor.id !== attachment.userId || access.actor.sessionId !== attachment.sessionId) {
      this.send(socket, attachment, { type: "error", code: "unauthorized", message: "The access token is invalid, expired, revoked or of another session." });
      return;
    }
    // Re-read: the socket may have been closed while the token was being checked.
    const current = socket.deserializeAttachment() as SocketAttachment;
    if (current.closed) return;
    current.expiresAt = Math.max(current.expiresAt, access.expiresAt);
    socket.serializeAttachment(current);
    await this.scheduleExpiry(current.expiresAt);
    this.send(socket, current, { type: "auth_ok", expires_at: formatUtc(current.expiresAt) });
  }

  /**
   * Nothing to answer: with `web_socket_auto_reply_to_close` (default since 2026-04-07) the
   * runtime replies to the client's close frame itself, and for a close the hub started the
   * handshake is already complete.
   */
  async webSocketClose(socket: WebSocket): Promise<void> {
    this.replaying.delete(socket);
  }

  async webSocketError(socket: WebSocket): Promise<void> {
    this.replaying.delete(socket);
  }

  /** Sets the alarm to `at` unless an earlier one is already set. */
  private async scheduleExpiry(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  private openSockets(): { socket: WebSocket; attachment: SocketAttachment }[] {
    const open = [];
    for (const socket of this.ctx.getWebSockets()) {
      const attachment = socket.deserializeAttachment() as SocketAttachment | null;
      if (attachment && !attachment.closed) open.push({ socket, attachment });
    }
    return open;
  }

  /** Marks the socket closed (so no later push reaches it) and closes it. False if it already was. */
  private closeSocket(socket: WebSocket, code: number, reason: string): boolean {
    const attachment = socket.deserializeAttachment() as SocketAttachment | null;
    if (attachment?.closed) return false;
    if (attachment) socket.serializeAttachment({ ...attachment, closed: true });
    try {
      socket.close(code, reason);
      return true;
    } catch {
      return false;
    }
  }

  private send(socket: WebSocket, attachment: SocketAttachment, frame: unknown): boolean {
    try {
      socket.send(attachment.format === "msgpack" ? encode(frame) : JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }
}

/** A client frame as an object: JSON text, or MessagePack binary; null when it is neither. */
function parseFrame(message: string | ArrayBuffer): Record<string, unknown> | null {
  try {
    const size = typeof message === "string" ? message.length : message.byteLength;
    if (size > MAX_INBOUND_FRAME_BYTES) return null;
    const value =
      typeof message === "string"
        ? JSON.parse(message)
        : decode(new Uint8Array(message), { maxStrLength: MAX_INBOUND_FRAME_BYTES, maxBinLength: MAX_INBOUND_FRAME_BYTES, maxArrayLength: 64, maxMapLength: 64, maxExtLength: 0 });
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
