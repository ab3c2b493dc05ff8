/** Largest inbound frame, in bytes; a bigger one closes the socket with 1009. */
export const MAX_INBOUND_FRAME_BYTES = 4096;
/** Inbound frames (ping included) allowed per socket in each window; one more closes it with 1008. */
export const INBOUND_FRAMES_PER_WINDOW = 30;
export const INBOUND_WINDOW_MS = 10_000;

const encoder = new TextEncoder();

/** Codes a close frame may carry (1005, 1006 and 1015 are only ever reported, never sent). */
const sendableCode = (code: number) => ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999) ? code : 1000);

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(sendableCode(code), reason.slice(0, 100));
  } catch {
    // Already closed.
  }
}

/**
 * Puts the Worker between the client and the hub's hibernatable socket, and returns the end to
 * hand to the client.
 *
 * Why: a hibernatable socket that the hub closes from any context other than that socket's own
 * event (an RPC such as logout, an alarm, another socket's message) completes the close handshake
 * at once, but workerd keeps the underlying connection open until the object next goes idle and
 * hibernates, about 10 s later, and never while pushes keep it busy. A real client (Node's
 * undici, Chromium after its own 2 s timeout) fires its close event only when the connection
 * ends. The bridge's sockets are ordinary ones: the hub's close frame reaches the bridge at once,
 * and the bridge closes the client's socket with the same code, which ends its connection.
 *
 * It also enforces the inbound limits here, so an oversized frame or a flood never wakes the hub:
 * more than MAX_INBOUND_FRAME_BYTES closes with 1009, more than INBOUND_FRAMES_PER_WINDOW frames in
 * INBOUND_WINDOW_MS closes with 1008. `ping` still reaches the hub's auto-response, which answers
 * without waking it. The hub stays hibernatable; the bridge costs the Worker no CPU while idle.
 */
export function bridgeSocket(hubSocket: WebSocket): WebSocket {
  const { 0: client, 1: server } = new WebSocketPair();
  hubSocket.binaryType = "arraybuffer";
  server.binaryType = "arraybuffer";
  hubSocket.accept();
  server.accept();
  let windowStart = Date.now();
  let framesInWindow = 0;
  const shut = (code: number, reason: string) => {
    closeQuietly(server, code, reason);
    closeQuietly(hubSocket, 1000, "client closed");
  };
  hubSocket.addEventListener("message", (event) => {
    try {
      server.send(event.data as string | ArrayBuffer);
    } catch {
      // The client end is closing.
    }
  });
  server.addEventListener("message", (event) => {
    const data = event.data as string | ArrayBuffer;
    // UTF-8 never takes fewer bytes than UTF-16 code units, so only short strings need encoding.
    const size = typeof data === "string" ? (data.length > MAX_INBOUND_FRAME_BYTES ? Infinity : encoder.encode(data).byteLength) : data.byteLength;
    if (size > MAX_INBOUND_FRAME_BYTES) return shut(1009, "frame too large");
    const now = Date.now();
    if (now - windowStart >= INBOUND_WINDOW_MS) {
      windowStart = now;
      framesInWindow = 0;
    }
    if (++framesInWindow > INBOUND_FRAMES_PER_WINDOW) return shut(1008, "too many frames");
    try {
      hubSocket.send(data);
    } catch {
      // The hub end is closing.
    }
  });
  hubSocket.addEventListener("close", (event) => closeQuietly(server, event.code, event.reason));
  server.addEventListener("close", (event) => closeQuietly(hubSocket, event.code, event.reason));
  hubSocket.addEventListener("error", () => shut(1011, "hub socket failed"));
  server.addEventListener("error", () => closeQuietly(hubSocket, 1000, "client failed"));
  return client;
}
