import { exports } from "cloudflare:workers";

export interface SocketClient {
  status: number;
  ws: WebSocket;
  /** Every text frame received so far, parsed as JSON. */
  frames: any[];
  /**
   * Resolves with the first frame matching `predicate`, or rejects after `timeoutMs` (10 s by
   * default, as expect.poll: only a frame that never comes waits that long).
   */
  waitFor(predicate: (frame: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Resolves with the code and reason of the close once the server (or the client) closes. */
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  /** How many `pong` frames arrived. */
  pongs(): number;
  /** Sends a frame: objects as JSON text. */
  send(frame: unknown): void;
  close(): void;
}

/** Opens `/ws/notifications` through the Worker and collects its JSON frames. */
export async function openSocket(query: string): Promise<SocketClient> {
  const res = await exports.default.fetch(new Request(`http://localhost/ws/notifications?${query}`, { headers: { Upgrade: "websocket" } }));
  const ws = res.webSocket;
  if (!ws) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  ws.accept();
  let closeSeen = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (event) => {
      closeSeen = true;
      resolve({ code: event.code, reason: event.reason });
    });
  });
  const frames: any[] = [];
  let pongs = 0;
  const waiters: { predicate: (frame: any) => boolean; resolve: (frame: any) => void }[] = [];
  ws.addEventListener("message", (event) => {
    if (event.data === "pong") pongs++;
    if (typeof event.data !== "string" || event.data === "pong") return;
    const frame = JSON.parse(event.data);
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  return {
    status: res.status,
    ws,
    frames,
    closed,
    isClosed: () => closeSeen,
    pongs: () => pongs,
    send(frame) {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    },
    waitFor(predicate, timeoutMs = 10_000) {
      const seen = frames.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (frame) => (clearTimeout(timer), resolve(frame)) });
      });
    },
    close() {
      try {
        ws.close(1000, "test done");
      } catch {
        // Already closed.
      }
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Listener = (event: any) => void;

/**
 * A WebSocket constructor for code written against the browser's (the SDK's socket client): it
 * upgrades through the Worker's own fetch handler, so the socket reaches the real hub in the pool.
 * A refused upgrade ends like a browser's: an `error`, then a `close` with 1006.
 */
export class WorkerWebSocket {
  static opened: WorkerWebSocket[] = [];
  readyState = 0;
  /** The status of the upgrade response, once it came. */
  status: number | null = null;
  private ws: WebSocket | null = null;
  private listeners = new Map<string, Listener[]>();

  constructor(readonly url: string) {
    WorkerWebSocket.opened.push(this);
    const request = new Request(url.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
    void exports.default.fetch(request).then((response) => {
      this.status = response.status;
      const ws = response.webSocket;
      if (!ws) return this.ended(1006, "");
      ws.accept();
      this.ws = ws;
      if (this.readyState === 2) return ws.close(1000, "closed before open");
      this.readyState = 1;
      this.emit("open", {});
      ws.addEventListener("message", (event) => this.emit("message", { data: event.data }));
      ws.addEventListener("close", (event) => this.ended(event.code, event.reason));
    });
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    this.ws?.send(data);
  }

  close(code = 1000, reason = ""): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.ws?.close(code, reason);
  }

  private ended(code: number, reason: string): void {
    if (this.readyState === 3) return;
    if (code === 1006) this.emit("error", {});
    this.readyState = 3;
    this.emit("close", { code, reason });
  }

  private emit(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}
