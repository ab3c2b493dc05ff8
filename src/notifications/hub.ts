import { DurableObject } from "cloudflare:workers";
import { encode } from "@msgpack/msgpack";
import { createDb } from "../db/client";
import { lastNotificationId, notificationsAfter, type NotificationBody } from "./service";

/** Facts about one socket that must survive hibernation. */
interface SocketAttachment {
  userId: number;
  sessionId: string;
  format: "json" | "msgpack";
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

  /** Upgrade from the Worker, which has already verified the token and passes who the caller is. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const attachment: SocketAttachment = {
      userId: Number(url.searchParams.get("user_id")),
      sessionId: url.searchParams.get("session_id") ?? "",
      format: url.searchParams.get("format") === "msgpack" ? "msgpack" : "json",
    };
    const sinceParam = url.searchParams.get("since");
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [`session:${attachment.sessionId}`]);
    server.serializeAttachment(attachment);
    this.replaying.set(server, []);
    void this.replay(server, attachment, sinceParam === null ? null : Number(sinceParam));
    return new Response(null, { status: 101, webSocket: client });
  }

  private async replay(socket: WebSocket, attachment: SocketAttachment, since: number | null): Promise<void> {
    try {
      const db = createDb(this.env.DB);
      const lastId = await lastNotificationId(db, attachment.userId);
      this.send(socket, attachment, { type: "hello", user_id: attachment.userId, last_id: lastId });
      let sentUpTo = lastId;
      if (since !== null && since < lastId) {
        const missed = await notificationsAfter(db, attachment.userId, since, lastId);
        for (const notification of missed) this.send(socket, attachment, { type: "notification", notification });
      }
      // Everything committed before the hello's last_id query was replayed; anything queued after
      // it with a greater id is new.
      for (const notification of this.replaying.get(socket) ?? []) {
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

  /** Pushes one notification to every socket of this user. Returns how many sockets got it. */
  async deliver(notification: NotificationBody): Promise<number> {
    let delivered = 0;
    for (const socket of this.ctx.getWebSockets()) {
      const queue = this.replaying.get(socket);
      if (queue) {
        queue.push(notification);
        continue;
      }
      if (this.send(socket, socket.deserializeAttachment() as SocketAttachment, { type: "notification", notification })) delivered++;
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
