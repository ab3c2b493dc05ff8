import { decode } from "@msgpack/msgpack";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, freshIp, json, registerUser, slotMaker, type TestUser } from "./helpers";

/** Generous: a safety net against runaway work, not a benchmark. */
const BOUND_MS = 2_000;
const MIB = 1024 * 1024;
const slot = slotMaker(2061);

const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
/** Every MessagePack length header in its widest form, claiming about 4 billion of something. */
const WIDE_HEADERS: Record<string, number[]> = {
  array32: [0xdd, ...be32(0xffffffff)],
  map32: [0xdf, ...be32(0xffffffff)],
  str32: [0xdb, ...be32(0xffffffff)],
  bin32: [0xc6, ...be32(0xffffffff)],
  ext32: [0xc9, ...be32(0xffffffff), 0x01],
  "array16 claiming 65535": [0xdc, 0xff, 0xff],
  "map16 claiming 65535": [0xde, 0xff, 0xff],
  "fixarray holding array32": [0x91, 0xdd, ...be32(0xffffffff)],
  "fixmap whose value is map32": [0x81, 0xa1, 0x61, 0xdf, ...be32(0xffffffff)],
  "fixmap whose value is str32": [0x81, 0xa5, ...[..."title"].map((ch) => ch.charCodeAt(0)), 0xdb, ...be32(0x7fffffff)],
  "array32 of array32s, each claiming what remains": [0xdd, ...be32(1000), ...Array.from({ length: 200 }, () => [0xdd, ...be32(990)]).flat()],
};

let user: TestUser;
let eventId: number;

beforeAll(async () => {
  user = await registerUser("hostile");
  const res = await json("POST", "/api/events", { token: user.token, body: { title: "Target", ...slot() } });
  eventId = res.body.id;
});

async function timed<T>(work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  expect(performance.now() - started).toBeLessThan(BOUND_MS);
  return result;
}

/** A body that arrives in 64 KiB chunks with no Content-Length, like HTTP chunked transfer. */
function chunkedBody(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

const routes = () => [
  { method: "POST", path: "/api/auth/register", auth: false },
  { method: "POST", path: "/api/auth/login", auth: false },
  { method: "POST", path: "/api/events", auth: false },
  { method: "POST", path: "/api/events", auth: true },
  { method: "POST", path: "/api/events/batch", auth: true },
  { method: "PUT", path: `/api/events/${eventId}`, auth: true },
  { method: "POST", path: `/api/events/${eventId}/share`, auth: true },
  { method: "POST", path: "/api/no-such-route", auth: false },
];

describe("MessagePack length headers that claim more than the body holds", () => {
  for (const [name, bytes] of Object.entries(WIDE_HEADERS)) {
    it(`answers a ${name} header with 400 malformed_body on every write route, signed in or not`, async () => {
      for (const route of routes()) {
        const res = await timed(() =>
          json(route.method, route.path, { token: route.auth ? user.token : undefined, body: new Uint8Array(bytes), headers: { "Content-Type": "application/msgpack" } }),
        );
        expectProblem(res, 400, "malformed_body");
      }
    });
  }

  it("answers in MessagePack when the client accepts only that", async () => {
    const res = await call("POST", "/api/events", { body: new Uint8Array(WIDE_HEADERS.array32), headers: { "Content-Type": "application/msgpack" }, accept: "application/msgpack" });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    expect(decode(new Uint8Array(await res.arrayBuffer()))).toMatchObject({ status: 400, code: "malformed_body" });
  });

  it("still accepts a MessagePack body whose headers tell the truth", async () => {
    const res = await call("POST", "/api/events", { token: user.token, body: { title: "Honest", ...slot() }, msgpack: "application/msgpack" });
    expect(res.status).toBe(201);
  });

  it("answers a body with bytes after its one value with 400", async () => {
    const res = await json("POST", "/api/events", { token: user.token, body: new Uint8Array([0x80, 0x80]), headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 400, "malformed_body");
  });

  it("answers a map whose key is an array with 400", async () => {
    const res = await json("POST", "/api/events", { token: user.token, body: new Uint8Array([0x81, 0x90, 0xc0]), headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 400, "malformed_body");
  });

  it("names the path of a MessagePack value nested too deep under map keys", async () => {
    // {"a": {"a": ... 70 levels ... nil}}
    const bytes = new Uint8Array([...Array.from({ length: 70 }, () => [0x81, 0xa1, 0x61]).flat(), 0xc0]);
    const res = await json("POST", "/api/events", { token: user.token, body: bytes, headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: Array(64).fill("a").join("."), message: expect.stringMatching(/nest/) }]);
  });
});

describe("large JSON bodies", () => {
  it("answers a 1 MiB JSON array of zeros with a 4xx, quickly", async () => {
    const body = `[${"0,".repeat(MIB / 2 - 2)}0]`;
    expect(body.length).toBeLessThanOrEqual(MIB);
    for (const route of routes()) {
      const res = await timed(() => json(route.method, route.path, { token: route.auth ? user.token : undefined, body, headers: { "Content-Type": "application/json" } }));
      expect(res.status, `${route.method} ${route.path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${route.method} ${route.path}`).toBeLessThan(500);
    }
  });

  it("answers a 1 MiB JSON object with half a million keys with a 4xx, quickly", async () => {
    const keys = Array.from({ length: 60_000 }, (_, i) => `"k${i}":0`).join(",");
    const res = await timed(() => json("POST", "/api/events", { token: user.token, body: `{${keys}}`, headers: { "Content-Type": "application/json" } }));
    expectProblem(res, 422, "validation_failed");
  });

  it("names the path of a JSON value JSON cannot carry deep in a large array", async () => {
    const res = await json("POST", "/api/events/batch", { token: user.token, body: `{"events":[${'{"title":"x"},'.repeat(50)}{"title":[[[${"[".repeat(70)}${"]".repeat(70)}]]]}]}`, headers: { "Content-Type": "application/json" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors[0].field).toMatch(/^events\.50\.title(\.0)+$/);
  });
});

describe("JSON nested too deep is refused from its bytes, before it is parsed", () => {
  const post = (body: string) => json("POST", "/api/events", { token: user.token, body, headers: { "Content-Type": "application/json" } });
  const depthError = (field: string) => [{ field, message: `Arrays and objects may nest at most 64 levels deep.` }];

  it("answers a 1 MiB body of nested arrays with 422 naming the 65th array's place, quickly", async () => {
    const levels = MIB / 2 - 1;
    const res = await timed(() => post("[".repeat(levels) + "]".repeat(levels)));
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual(depthError(Array(64).fill("0").join(".")));
  });

  it("refuses the depth before parsing: a body malformed after its 65th bracket is 422, not 400", async () => {
    expectProblem(await post("[".repeat(65) + "not json"), 422, "validation_failed");
    // The same malformed tail one level shallower is left to the parser.
    expectProblem(await post("[".repeat(64) + "not json"), 400, "malformed_body");
  });

  it("accepts 64 levels of ignored nesting and refuses 65", async () => {
    const nested = (levels: number) => JSON.stringify({ title: "Deep", ...slot(), extra: JSON.parse("[".repeat(levels - 1) + "]".repeat(levels - 1)) });
    expect((await post(nested(64))).status).toBe(201);
    const res = await post(nested(65));
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual(depthError(["extra", ...Array(63).fill("0")].join(".")));
  });

  it("does not count brackets inside strings, escaped quotes included", async () => {
    const title = `[{"\\"${"[".repeat(90)}\"${"{".repeat(90)}`;
    const res = await post(JSON.stringify({ title, ...slot() }));
    expect(res.status).toBe(201);
    expect(res.body.title).toBe(title);
  });

  it("names object keys and array indices on the way down, keys with brackets, escapes and non-ASCII included", async () => {
    const keys = ['a[b', 'q"{', "ü,x"];
    const body = `{"pad":[1,"]",{}],${JSON.stringify(keys[0])}:[0,1,{"x":1,${JSON.stringify(keys[1])}:{"y":[],${JSON.stringify(keys[2])}:${"[".repeat(61)}${"]".repeat(61)}}}]}`;
    const res = await post(body);
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual(depthError([keys[0], "2", keys[1], keys[2], ...Array(60).fill("0")].join(".")));
  });
});

describe("bodies without a Content-Length", () => {
  for (const target of [
    { method: "POST", path: "/api/auth/register" },
    { method: "POST", path: "/api/events" },
    { method: "PUT", path: "/api/events/1" },
    { method: "POST", path: "/api/nothing/here" },
    { method: "DELETE", path: "/api/events/1" },
    { method: "POST", path: "/health" },
  ]) {
    it(`cuts a chunked 6 MiB body to ${target.method} ${target.path} at the limit with 413, and serves the next request`, async () => {
      const request = new Request(`http://localhost${target.path}`, {
        method: target.method,
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": freshIp() },
        body: chunkedBody(6 * MIB),
        // @ts-expect-error workerd needs duplex for a streamed request body, like undici.
        duplex: "half",
      });
      expect(request.headers.get("content-length")).toBe(null);
      const res = await timed(async () => {
        const response = await exports.default.fetch(request);
        return { status: response.status, body: await response.json(), headers: response.headers };
      });
      expectProblem(res, 413, "payload_too_large");
      const next = await json("GET", "/health");
      expect(next.status).toBe(200);
    });
  }

  it("renders the 413 of a chunked body in MessagePack when the client accepts only that", async () => {
    const res = await exports.default.fetch(
      new Request("http://localhost/api/events", {
        method: "POST",
        headers: { "Content-Type": "application/msgpack", Accept: "application/msgpack", "CF-Connecting-IP": freshIp() },
        body: chunkedBody(6 * MIB),
        // @ts-expect-error see above
        duplex: "half",
      }),
    );
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toBe("application/msgpack");
    expect(decode(new Uint8Array(await res.arrayBuffer()))).toMatchObject({ status: 413, code: "payload_too_large", request_id: expect.any(String) });
  });

  it("accepts a small chunked body", async () => {
    const text = JSON.stringify({ title: "Streamed", ...slot() });
    const bytes = new TextEncoder().encode(text);
    const res = await exports.default.fetch(
      new Request("http://localhost/api/events", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${user.token}`, "CF-Connecting-IP": freshIp() },
        body: new ReadableStream({ start: (c) => (c.enqueue(bytes), c.close()) }),
        // @ts-expect-error see above
        duplex: "half",
      }),
    );
    expect(res.status).toBe(201);
  });

  it("answers a body whose Content-Length claims less than it sends with 413, counting what arrives", async () => {
    const res = await timed(() =>
      exports.default.fetch(
        new Request("http://localhost/api/events", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Content-Length": "10", "CF-Connecting-IP": freshIp() },
          body: chunkedBody(6 * MIB),
          // @ts-expect-error see above
          duplex: "half",
        }),
      ),
    );
    expect(res.status).toBe(413);
    expect((await json("GET", "/health")).status).toBe(200);
  });

  it("answers a declared Content-Length over the limit with 413 before reading the body", async () => {
    const res = await json("POST", "/api/events", { body: "{}", headers: { "Content-Type": "application/json", "Content-Length": String(2 * MIB) } });
    expectProblem(res, 413, "payload_too_large");
  });
});
