#!/usr/bin/env node
// CI check of the AsyncAPI document (site/asyncapi.json, served at /asyncapi.json): it parses with
// @asyncapi/parser with no error and no warning, every message example matches its payload schema,
// and the frames a real socket of the built Worker sends (JSON and format=msgpack) match the payload
// of the message they claim to be. Run after `npm run build`. Prints one PASS/FAIL line per check
// and `asyncapi: N passed, M failed`.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Parser } from "@asyncapi/parser";
import { decode, encode } from "@msgpack/msgpack";
import { applyMigrations, randomSecret, startWorker, useMemoryStorage, workerOptions } from "../bench/lib/worker.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const text = readFileSync(join(ROOT, "site", "asyncapi.json"), "utf8");
const document = JSON.parse(text);
const results = [];
const record = (name, failure) => {
  results.push({ name, failure });
  console.log(failure ? `asyncapi: FAIL ${name}: ${failure}` : `asyncapi: PASS ${name}`);
};

const { diagnostics } = await new Parser().parse(text);
const describe = (list) => list.slice(0, 5).map((d) => `${d.path.join(".")}: ${d.message}`).join("; ");
record("parses as AsyncAPI 3 with no errors", diagnostics.some((d) => d.severity === 0) ? describe(diagnostics.filter((d) => d.severity === 0)) : document.asyncapi.startsWith("3.") ? null : `version ${document.asyncapi}`);
record("has no warnings", diagnostics.some((d) => d.severity === 1) ? describe(diagnostics.filter((d) => d.severity === 1)) : null);

// Ajv (JSON Schema draft 2020-12 is not needed: the payloads use draft-07 keywords) comes with the
// parser, which validates documents with it; resolve it from there rather than pin a second copy.
const requireFromParser = createRequire(createRequire(import.meta.url).resolve("@asyncapi/parser"));
const Ajv = requireFromParser("ajv").default;
const addFormats = requireFromParser("ajv-formats").default;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema({ $id: "asyncapi", components: { schemas: document.components.schemas } });
const rewrite = (schema) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"asyncapi#/components/schemas/'));
const validators = new Map();
const validatorOf = (key, payload) => validators.get(key) ?? validators.set(key, ajv.compile(rewrite(payload))).get(key);
const errorsOf = (validate) => validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");

for (const [key, message] of Object.entries(document.components.messages)) {
  for (const example of message.examples ?? []) {
    const validate = validatorOf(key, message.payload);
    record(`example ${key}/${example.name} matches its payload`, validate(example.payload) ? null : errorsOf(validate));
  }
}

/** The message of a channel whose payload is the frame's type. */
function messageFor(channel, frame) {
  for (const { $ref } of Object.values(document.channels[channel].messages)) {
    const key = $ref.split("/").at(-1);
    const message = document.components.messages[key];
    if (message.name === (typeof frame === "string" ? frame : frame?.type)) return { key, message };
  }
  return null;
}

async function observeFrames() {
  useMemoryStorage();
  const server = await startWorker(workerOptions({ root: ROOT, scriptPath: join(ROOT, "dist", "index.js"), jwtSecret: randomSecret() }));
  try {
    await applyMigrations(server.mf, join(ROOT, "migrations"));
    const base = server.url.origin;
    const api = async (method, path, token, body) => {
      const res = await fetch(base + path, { method, headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: body && JSON.stringify(body) });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const username = `asyncapi_${Date.now().toString(36)}`;
    const session = await api("POST", "/api/auth/register", null, { username, email: `${username}@example.com`, password: "correct horse battery" });
    const token = session.access_token;
    let day = 0;
    const slot = () => {
      const start = Date.UTC(2046, 0, 1 + day++, 9);
      return { start_time: new Date(start).toISOString(), end_time: new Date(start + 3600_000).toISOString() };
    };
    await api("POST", "/api/events/batch", token, { events: Array.from({ length: 100 }, () => ({ title: "Batch", ...slot() })) });
    await api("POST", "/api/events", token, { title: "One more", ...slot() });

    const frames = [];
    for (const format of ["json", "msgpack"]) {
      const ws = new WebSocket(`${base.replace("http", "ws")}/ws/notifications?token=${token}&since=0&format=${format}`);
      ws.binaryType = "arraybuffer";
      const got = [];
      ws.addEventListener("message", (event) => got.push(typeof event.data === "string" ? (event.data === "pong" || event.data === "ping" ? event.data : JSON.parse(event.data)) : decode(new Uint8Array(event.data))));
      const waitFor = async (predicate, what) => {
        const deadline = Date.now() + 5000;
        while (!got.some(predicate)) {
          if (Date.now() > deadline) throw new Error(`${format}: no ${what}; got ${JSON.stringify(got.map((f) => f?.type ?? f))}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await waitFor((f) => f?.type === "replay_truncated", "replay_truncated");
      await api("POST", "/api/events", token, { title: `Live ${format}`, ...slot() });
      await waitFor((f) => f?.type === "notification" && f.notification.data.title === `Live ${format}`, "live notification");
      // The auth frame in the socket's own format: MessagePack binary on a msgpack socket.
      const frame = (value) => (format === "json" ? JSON.stringify(value) : encode(value));
      ws.send(frame({ type: "auth", access_token: token }));
      await waitFor((f) => f?.type === "auth_ok", "auth_ok");
      ws.send(frame({ type: "auth", access_token: "not-a-token" }));
      await waitFor((f) => f?.type === "error", "error");
      ws.send("ping");
      await waitFor((f) => f === "pong", "pong");
      ws.close();
      frames.push(...got.map((frame) => ({ channel: format === "json" ? "notifications" : "notificationsMsgpack", frame })));
    }
    return frames;
  } finally {
    await server.mf.dispose();
  }
}

try {
  const frames = await observeFrames();
  const byKind = new Map();
  for (const { channel, frame } of frames) {
    const kind = `${channel} ${typeof frame === "string" ? frame : frame.type}`;
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind).push(frame);
  }
  for (const [kind, list] of byKind) {
    const [channel] = kind.split(" ");
    const found = messageFor(channel, list[0]);
    if (!found) {
      record(`observed ${kind} frames are documented`, "no message of that name in the channel");
      continue;
    }
    const validate = validatorOf(found.key, found.message.payload);
    const bad = list.filter((frame) => !validate(frame));
    record(`observed ${kind} frames (${list.length}) match ${found.key}`, bad.length ? `${bad.length} do not: ${(validate(bad[0]), errorsOf(validate))}` : null);
  }
} catch (error) {
  record("a real socket's frames can be observed", error?.stack ?? String(error));
}

const failed = results.filter((r) => r.failure).length;
console.log(`asyncapi: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
