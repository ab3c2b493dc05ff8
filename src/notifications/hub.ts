import { DurableObject } from "cloudflare:workers";
import { encode } from "@msgpack/msgpack";
import { createDb } from "../db/client";
import { lastNotificationId, notificationsAfter, type NotificationBody } from "./service";

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
}

/** Close code sent to a session's sockets when it logs out. */
export const SESSION_ENDED_CLOSE_CODE = 4001;

/**
 * One per user (named by the user id). Holds that user's WebSockets through the Hibernation API
 * and pushes each notification, already committed to D1, to all of them.
 */
export class UserNotificationHub extends DurableObject<Env> {
  /**
   * Sockets still receiving their replay. Live notifications for them wait here so that nothing
   * arrives twice or out of order around the hand-over. In memory only: the object cannot
   * hibernate while a replay is awaiting D1.
   */
  private replaying = new Map<WebSocket, NotificationBody[]>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Upgrade from the Worker, which has already verified the token and passes who the caller is.
   * The replay runs inside this request, before the 101: eviction waits for in-flight requests,
   * not for work left running after the response, and the queue of live pushes lives in memory.
   * Frames sent before the client accepts are buffered.
   */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const attachment: SocketAttachment = {
      userId: Number(url.searchParams.get("user_id")),
      sessionId: url.searchParams.get("session_id") ?? "",
      format: url.searchParams.get("format") === "msgpack" ? "msgpack" : "json",
      floor: Number.MAX_SAFE_INTEGER,
    };
    const sinceParam = url.searchParams.get("since");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [`session:${attachment.sessionId}`]);
    server.serializeAttachment(attachment);
    this.replaying.set(server, []);
    await this.replay(server, attachment, sinceParam === null ? null : Number(sinceParam));
    return new Response(null, { status: 101, webSocket: client });
  }

  private async replay(socket: WebSocket, attachment: SocketAttachment, since: number | null): Promise<void> {
    try {
      const db = createDb(this.env.DB);
      const lastId = await lastNotificationId(db, attachment.userId);
      attachment.floor = lastId;
      socket.serializeAttachment(attachment);
      this.send(socket, attachment, { type: "hello", user_id: attachment.userId, last_id: lastId });
      if (since !== null && since < lastId) {
        const missed = await notificationsAfter(db, attachment.userId, since, lastId);
        for (const notification of missed) this.send(socket, attachment, { type: "notification", notification });
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
    } catch (error) {
      console.error("notification replay failed", error);
      socket.close(1011, "replay failed");
    } finally {
      this.replaying.delete(socket);
    }
  }

  /** Pushes several notifications, in id order. Returns the number of socket sends. */
  async deliverMany(notifications: NotificationBody[]): Promise<number> {
    let sent = 0;
    for (const notification of notifications) sent += await this.deliver(notification);
    return sent;
  }

  /** Pushes one notification to every socket of this user. Returns how many sockets got it. */
  async deliver(notification: NotificationBody): Promise<number> {
    let delivered = 0;
    for (const socket of this.ctx.getWebSockets()) {
      const queue = this.replaying.get(socket);
      if (queue) {
        queue.push(notification);
        continue;
      }
      const attachment = socket.deserializeAttachment() as SocketAttachment;
      if (notification.id <= attachment.floor) continue;
      if (this.send(socket, attachment, { type: "notification", notification })) delivered++;
    }
    return delivered;
  }

  /** Closes the sockets of the given sessions with 4001. Returns how many were closed. */
  async closeSessions(sessionIds: string[]): Promise<number> {
    let closed = 0;
    for (const sessionId of sessionIds) {
      for (const socket of this.ctx.getWebSockets(`session:${sessionId}`)) {
        try {
          socket.close(SESSION_ENDED_CLOSE_CODE, "session ended");
          closed++;
        } catch {
          // Already closing.
        }
      }
    }
    return closed;
  }

  /** Open sockets held by this hub. */
  async connectionCount(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // "ping" is answered by the auto-response without waking us; other frames carry no meaning.
    if (message === "ping") socket.send("pong");
  }

  async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    this.replaying.delete(socket);
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // Already closed.
    }
  }

  async webSocketError(socket: WebSocket): Promise<void> {
    this.replaying.delete(socket);
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
