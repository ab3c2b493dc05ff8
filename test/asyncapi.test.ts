import { describe, expect, it } from "vitest";
import document from "../site/asyncapi.json";
import * as hub from "../src/notifications/hub";
import hubSource from "../src/notifications/hub.ts?raw";
import * as bridge from "../src/notifications/socket-bridge";
import bridgeSource from "../src/notifications/socket-bridge.ts?raw";
import { call, registerUser, slotMaker } from "./helpers";
import { openSocket } from "./support/sockets";

const slot = slotMaker(2045);

type Schema = { type?: string | string[]; const?: unknown; enum?: unknown[]; required?: string[]; properties?: Record<string, Schema>; $ref?: string };
type Message = { name: string; contentType?: string; payload: Schema };
const components = document.components as unknown as { messages: Record<string, Message>; schemas: Record<string, Schema> };
const resolve = (schema: Schema): Schema => (schema.$ref ? resolve(components.schemas[schema.$ref.split("/").at(-1)!]) : schema);
const messageRef = (ref: string) => components.messages[ref.split("/").at(-1)!];

/** The messages of the JSON channel that the server sends, or receives, by their frame `type`. */
function framesOf(action: "send" | "receive"): Map<string, Message> {
  const frames = new Map<string, Message>();
  const channelMessages = document.channels.notifications.messages as Record<string, { $ref: string }>;
  for (const operation of Object.values(document.operations) as { action: string; channel: { $ref: string }; messages: { $ref: string }[]; reply?: { messages: { $ref: string }[] } }[]) {
    if (operation.channel.$ref !== "#/channels/notifications") continue;
    const refs = operation.action === action ? operation.messages : [];
    const replies = operation.action !== action ? (operation.reply?.messages ?? []) : [];
    for (const { $ref } of [...refs, ...replies]) {
      const message = messageRef(channelMessages[$ref.split("/").at(-1)!].$ref);
      frames.set(message.name, message);
    }
  }
  return frames;
}

/** Checks a frame against a documented payload: required members, consts, enums and JSON types. */
function problemsOf(value: unknown, schema: Schema, at = "frame"): string[] {
  const s = resolve(schema);
  const problems: string[] = [];
  if (s.const !== undefined && value !== s.const) problems.push(`${at} is ${JSON.stringify(value)}, documented ${JSON.stringify(s.const)}`);
  if (s.enum && !s.enum.includes(value)) problems.push(`${at} ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  const types = s.type === undefined ? [] : [s.type].flat();
  const actual = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  if (types.length && !types.includes(actual) && !(actual === "integer" && types.includes("number"))) problems.push(`${at} is ${actual}, documented ${types.join("|")}`);
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in object)) problems.push(`${at}.${key} is missing`);
    for (const [key, member] of Object.entries(s.properties ?? {})) if (key in object) problems.push(...problemsOf(object[key], member, `${at}.${key}`));
    for (const key of Object.keys(object)) if (s.properties && !(key in s.properties)) problems.push(`${at}.${key} is not documented`);
  }
  return problems;
}

describe("GET /asyncapi.json", () => {
  it("serves the AsyncAPI 3 document from the static assets", async () => {
    const response = await call("GET", "/asyncapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(document);
    expect(document.asyncapi).toMatch(/^3\./);
  });

  it("documents every frame type the hub sends, and none it does not", () => {
    const sent = new Set([...hubSource.matchAll(/this\.send\([^{]*\{ type: "(\w+)"/g)].map((m) => m[1]));
    // The runtime's auto-response (setWebSocketAutoResponse) and the hub's fallback answer `ping`.
    sent.add("pong");
    expect(sent.size).toBeGreaterThanOrEqual(6);
    expect([...framesOf("send").keys()].sort()).toEqual([...sent].sort());
  });

  it("documents the client frames the hub reads: ping and auth", () => {
    expect(hubSource).toContain('new WebSocketRequestResponsePair("ping", "pong")');
    expect(hubSource).toContain('frame?.type !== "auth"');
    expect([...framesOf("receive").keys()].sort()).toEqual(["auth", "ping"]);
  });

  it("lists every close code and reason the hub and the bridge send to the client", () => {
    const named: Record<string, number> = { SESSION_ENDED_CLOSE_CODE: hub.SESSION_ENDED_CLOSE_CODE, TOO_MANY_SOCKETS_CLOSE_CODE: hub.TOO_MANY_SOCKETS_CLOSE_CODE };
    const fromHub = [...hubSource.matchAll(/closeSocket\(\w+, (\w+), "([^"]+)"\)/g)].map(([, code, reason]) => `${named[code] ?? Number(code)} ${reason}`);
    const fromBridge = [...bridgeSource.matchAll(/shut\((\d+), "([^"]+)"\)/g)].map(([, code, reason]) => `${code} ${reason}`);
    const sent = new Set([...fromHub, ...fromBridge]);
    expect(sent.size).toBeGreaterThanOrEqual(7);
    expect(document["x-close-codes"].map((c) => `${c.code} ${c.reason}`).sort()).toEqual([...sent].sort());
  });

  it("states the limits the code enforces", () => {
    expect(document["x-limits"]).toEqual({
      replayFrames: hub.REPLAY_FRAME_LIMIT,
      socketsPerUser: hub.SOCKETS_PER_USER,
      inboundFrameBytes: bridge.MAX_INBOUND_FRAME_BYTES,
      inboundFramesPerWindow: bridge.INBOUND_FRAMES_PER_WINDOW,
      inboundWindowSeconds: bridge.INBOUND_WINDOW_MS / 1000,
      authChecksPerWindow: hub.AUTH_CHECKS_PER_WINDOW,
      authWindowSeconds: hub.AUTH_WINDOW_MS / 1000,
    });
  });

  it("describes the frames a real socket receives: hello, replay, replay_truncated, notification, auth_ok, error, pong", async () => {
    const ada = await registerUser("asyncapi");
    const batch = Array.from({ length: 100 }, () => ({ title: "Batch", ...slot() }));
    expect((await call("POST", "/api/events/batch", { token: ada.token, body: { events: batch } })).status).toBe(201);
    expect((await call("POST", "/api/events", { token: ada.token, body: { title: "One more", ...slot() } })).status).toBe(201);
    const socket = await openSocket(`token=${ada.token}&since=0`);
    await socket.waitFor((f) => f.type === "replay_truncated");
    await call("POST", "/api/events", { token: ada.token, body: { title: "Live", ...slot() } });
    await socket.waitFor((f) => f.type === "notification" && f.notification.data.title === "Live");
    socket.send({ type: "auth", access_token: ada.token });
    await socket.waitFor((f) => f.type === "auth_ok");
    socket.send({ type: "auth", access_token: "not-a-token" });
    await socket.waitFor((f) => f.type === "error");
    socket.send("ping");
    await expect.poll(() => socket.pongs()).toBe(1);
    socket.close();

    const documented = framesOf("send");
    const seen = new Set(socket.frames.map((f) => f.type));
    expect([...seen].sort()).toEqual(["auth_ok", "error", "hello", "notification", "replay_truncated"]);
    const problems = socket.frames.flatMap((frame) => problemsOf(frame, documented.get(frame.type)!.payload, frame.type));
    expect(problems).toEqual([]);
  });
});
