import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { call, type CallOptions, expectProblem, json, registerUser } from "./helpers";

const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"];

const newAccount = () => {
  const name = `fmt${Math.random().toString(36).slice(2, 12)}`;
  return { username: name, email: `${name}@example.com`, password: "long enough pw" };
};

/** Decodes a response that must be MessagePack. */
async function msgpackOf(response: Response): Promise<any> {
  expect(response.headers.get("content-type")).toBe("application/msgpack");
  return decode(new Uint8Array(await response.arrayBuffer()));
}

/** Sends the same request twice, once asking for JSON and once for MessagePack, and returns both bodies. */
async function bothFormats(method: string, path: string, options: CallOptions = {}) {
  const asJson = await call(method, path, { ...options, accept: "application/json" });
  const asMsgpack = await call(method, path, { ...options, accept: "application/msgpack" });
  expect(asMsgpack.status).toBe(asJson.status);
  return { status: asJson.status, json: await asJson.json<any>(), jsonType: asJson.headers.get("content-type"), msgpack: await msgpackOf(asMsgpack) };
}

/** The request id is the one field of a problem that differs between two otherwise equal calls. */
const withoutRequestId = ({ request_id, ...rest }: Record<string, unknown>) => {
  expect(request_id).toEqual(expect.any(String));
  return rest;
};

describe("MessagePack request bodies", () => {
  it.each(MSGPACK_TYPES)("registers an account from a %s body and answers in JSON", async (type) => {
    const input = newAccount();
    const res = await call("POST", "/api/auth/register", { body: input, msgpack: type });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await res.json<any>();
    expect(body.user).toEqual({ id: expect.any(Number), username: input.username, email: input.email, created_at: expect.stringMatching(/Z$/) });
    expect(body.token_type).toBe("bearer");
  });

  it.each(MSGPACK_TYPES)("logs in from a %s body with the same result as from JSON", async (type) => {
    const user = await registerUser("fmtlogin");
    const credentials = { username: user.username, password: user.password };
    const fromJson = await json("POST", "/api/auth/login", { body: credentials });
    const fromMsgpack = await json("POST", "/api/auth/login", { body: credentials, msgpack: type });
    expect(fromMsgpack.status).toBe(200);
    expect(fromJson.status).toBe(200);
    expect(fromMsgpack.body.user).toEqual(fromJson.body.user);
  });

  it.each(MSGPACK_TYPES)("validates a %s body exactly like the same JSON body (422)", async (type) => {
    const invalid = { username: "a b", email: "nope", password: "short" };
    const fromJson = await json("POST", "/api/auth/register", { body: invalid });
    const fromMsgpack = await json("POST", "/api/auth/register", { body: invalid, msgpack: type });
    expectProblem(fromMsgpack, 422, "validation_failed");
    expect(withoutRequestId(fromMsgpack.body)).toEqual(withoutRequestId(fromJson.body));
  });

  it("accepts a MessagePack content type with parameters and in any case", async () => {
    const res = await call("POST", "/api/auth/register", { body: newAccount(), msgpack: "Application/MsgPack; charset=binary" });
    expect(res.status).toBe(201);
  });

  it("answers JSON bytes that are not UTF-8 with 400 malformed_body", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"username":"'), 0xff, 0xfe, ...new TextEncoder().encode('"}')]);
    const res = await json("POST", "/api/auth/register", { body: bytes, headers: { "Content-Type": "application/json" } });
    expectProblem(res, 400, "malformed_body");
  });

  it("answers JSON that starts with a byte order mark with 400 malformed_body", async () => {
    const res = await json("POST", "/api/auth/register", { body: "\ufeff" + JSON.stringify(newAccount()), headers: { "Content-Type": "application/json; charset=utf-8" } });
    expectProblem(res, 400, "malformed_body");
  });

  it("answers malformed MessagePack bytes with 400 malformed_body", async () => {
    const res = await json("POST", "/api/auth/register", { body: new Uint8Array([0xc1, 0x00, 0xff]), headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 400, "malformed_body");
    expect(res.body.detail).toMatch(/MessagePack/);
  });

  it("answers truncated MessagePack with 400 malformed_body", async () => {
    const bytes = encode(newAccount());
    const res = await json("POST", "/api/auth/register", { body: bytes.subarray(0, bytes.byteLength - 5), headers: { "Content-Type": "application/x-msgpack" } });
    expectProblem(res, 400, "malformed_body");
  });

  it("answers MessagePack with trailing bytes after the value with 400 malformed_body", async () => {
    const bytes = new Uint8Array([...encode(newAccount()), 0xc0]);
    const res = await json("POST", "/api/auth/register", { body: bytes, headers: { "Content-Type": "application/vnd.msgpack" } });
    expectProblem(res, 400, "malformed_body");
  });

  it("answers a MessagePack NaN float, which JSON cannot carry, with 422 naming the field", async () => {
    const res = await json("POST", "/api/auth/register", { body: { ...newAccount(), password: Number.NaN }, msgpack: "application/msgpack" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "password", message: expect.any(String) }]);
  });

  it("answers a MessagePack timestamp extension, which JSON cannot carry, with 422", async () => {
    const res = await json("POST", "/api/auth/register", { body: { ...newAccount(), password: new Date() }, msgpack: "application/msgpack" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["password"]);
  });

  it.each([1_000, 200_000])("answers MessagePack arrays nested %i deep with 422, not a stack overflow", async (depth) => {
    const bytes = new Uint8Array(depth + 1).fill(0x91);
    bytes[depth] = 0xc0;
    const res = await json("POST", "/api/auth/register", { body: bytes, headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: expect.stringMatching(/^0(\.0)+$/), message: expect.stringMatching(/nest/) }]);
  });

  it("answers MessagePack maps nested 20,000 deep with 422", async () => {
    const bytes = new Uint8Array(20_000 * 2 + 1);
    for (let i = 0; i < 20_000; i++) bytes.set([0x81, 0xa0], i * 2);
    bytes[bytes.length - 1] = 0xc0;
    const res = await json("POST", "/api/auth/register", { body: bytes, headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 422, "validation_failed");
  });

  it("answers JSON arrays nested 200,000 deep with 422, as for MessagePack", async () => {
    const res = await json("POST", "/api/auth/register", { body: "[".repeat(200_000) + "]".repeat(200_000), headers: { "Content-Type": "application/json" } });
    expectProblem(res, 422, "validation_failed");
  });

  it("accepts an ignored unknown field nested a few levels deep", async () => {
    const res = await call("POST", "/api/auth/register", { body: { ...newAccount(), extra: { a: [{ b: [[{ c: 1 }]] }] } }, msgpack: "application/msgpack" });
    expect(res.status).toBe(201);
  });

  it("answers a MessagePack 64-bit integer beyond 2^53, which JSON cannot carry exactly, with 422", async () => {
    const bytes = encode({ ...newAccount(), password: 2n ** 64n - 1n }, { useBigInt64: true });
    const res = await json("POST", "/api/auth/register", { body: bytes, headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["password"]);
  });

  it("reads a small integer sent in MessagePack's 64-bit encoding as a number", async () => {
    const owner = await registerUser("fmtint64");
    const friend = await registerUser("fmtfriend");
    const created = await json("POST", "/api/events", { token: owner.token, body: { title: "Int64", start_time: "2031-01-01T10:00:00Z", end_time: "2031-01-01T11:00:00Z" } });
    expect(created.status).toBe(201);
    const text = (value: string) => [0xa0 + value.length, ...new TextEncoder().encode(value)];
    const int64 = new Uint8Array(9);
    int64[0] = 0xd3;
    new DataView(int64.buffer).setBigInt64(1, BigInt(friend.id));
    const bytes = new Uint8Array([0x81, ...text("users"), 0x91, 0x82, ...text("user_id"), ...int64, ...text("role"), ...text("viewer")]);
    expect(decode(bytes, { useBigInt64: true })).toEqual({ users: [{ user_id: BigInt(friend.id), role: "viewer" }] });
    const res = await json("POST", `/api/events/${created.body.id}/share`, { token: owner.token, body: bytes, headers: { "Content-Type": "application/msgpack" } });
    expect(res.status).toBe(200);
    expect(res.body.map((p: { user_id: number; role: string }) => [p.user_id, p.role])).toContainEqual([friend.id, "viewer"]);
  });

  it("answers a MessagePack extension type with 422", async () => {
    const { username, email } = newAccount();
    const twoEntries = encode({ username, email });
    // A third entry, password: a fixext1 of application type 7, after widening the map header to 3.
    const withExt = new Uint8Array([0x83, ...twoEntries.subarray(1), 0xa8, ...new TextEncoder().encode("password"), 0xd4, 0x07, 0x00]);
    const res = await json("POST", "/api/auth/register", { body: withExt, headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["password"]);
  });

  it("answers a body of another media type with 415", async () => {
    const res = await json("POST", "/api/auth/register", { body: "<user/>", headers: { "Content-Type": "application/xml" } });
    expectProblem(res, 415, "unsupported_media_type");
  });

  it("answers a body without a content type with 415", async () => {
    const res = await json("POST", "/api/auth/register", { body: new TextEncoder().encode(JSON.stringify(newAccount())) });
    expectProblem(res, 415, "unsupported_media_type");
  });

  it("answers an empty register body with 422 naming the body", async () => {
    const res = await json("POST", "/api/auth/register", { body: "", headers: { "Content-Type": "application/json" } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.length).toBeGreaterThan(0);
  });

  it("answers an empty MessagePack register body with 422", async () => {
    const res = await json("POST", "/api/auth/register", { body: new Uint8Array(), headers: { "Content-Type": "application/msgpack" } });
    expectProblem(res, 422, "validation_failed");
  });
});

describe("MessagePack responses", () => {
  it("answers GET /api/auth/me in MessagePack that decodes to the JSON body", async () => {
    const user = await registerUser("fmtme");
    const res = await bothFormats("GET", "/api/auth/me", { token: user.token });
    expect(res.status).toBe(200);
    expect(res.jsonType).toMatch(/^application\/json/);
    expect(res.msgpack).toEqual(res.json);
    expect(res.msgpack).toEqual({ id: user.id, username: user.username, email: user.email, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) });
  });

  it("keeps times as ISO strings in MessagePack", async () => {
    const user = await registerUser("fmttime");
    const res = await call("GET", "/api/auth/me", { token: user.token, accept: "application/msgpack" });
    const body = await msgpackOf(res);
    expect(typeof body.created_at).toBe("string");
  });

  it("answers a JSON request in MessagePack when Accept asks for it", async () => {
    const input = newAccount();
    const res = await call("POST", "/api/auth/register", { body: input, accept: "application/msgpack" });
    expect(res.status).toBe(201);
    const body = await msgpackOf(res);
    expect(body.user).toEqual({ id: expect.any(Number), username: input.username, email: input.email, created_at: expect.stringMatching(/Z$/) });
    expect(body).toEqual({ user: body.user, access_token: expect.any(String), refresh_token: expect.any(String), token_type: "bearer", expires_in: 900 });
  });

  it.each(MSGPACK_TYPES)("answers in MessagePack when Accept names %s", async (type) => {
    const user = await registerUser("fmtacc");
    const res = await call("GET", "/api/auth/me", { token: user.token, accept: type });
    expect(res.status).toBe(200);
    expect((await msgpackOf(res)).id).toBe(user.id);
  });

  it("answers a MessagePack request in MessagePack when Accept asks for it", async () => {
    const input = newAccount();
    const res = await call("POST", "/api/auth/register", { body: input, msgpack: "application/vnd.msgpack", accept: "application/vnd.msgpack" });
    expect(res.status).toBe(201);
    expect((await msgpackOf(res)).user.username).toBe(input.username);
  });

  it("prefers MessagePack when JSON has the lower q-value", async () => {
    const user = await registerUser("fmtq1");
    const res = await call("GET", "/api/auth/me", { token: user.token, accept: "application/json;q=0.5, application/msgpack" });
    expect((await msgpackOf(res)).id).toBe(user.id);
  });

  it("prefers JSON when MessagePack has the lower q-value", async () => {
    const user = await registerUser("fmtq2");
    const res = await call("GET", "/api/auth/me", { token: user.token, accept: "application/msgpack;q=0.1, application/json" });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await res.json<any>()).id).toBe(user.id);
  });

  it("answers in JSON for Accept: */*", async () => {
    const user = await registerUser("fmtq3");
    const res = await call("GET", "/api/auth/me", { token: user.token, accept: "*/*" });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("answers in JSON when MessagePack is refused with q=0", async () => {
    const user = await registerUser("fmtq4");
    const res = await call("GET", "/api/auth/me", { token: user.token, accept: "application/msgpack;q=0" });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("answers in JSON without an Accept header", async () => {
    const user = await registerUser("fmtq5");
    const res = await call("GET", "/api/auth/me", { token: user.token });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("errors in MessagePack", () => {
  it("renders a 422 as MessagePack with the same members as the problem+json", async () => {
    const invalid = { username: "x", email: "not-an-email", password: "short" };
    const res = await bothFormats("POST", "/api/auth/register", { body: invalid });
    expect(res.status).toBe(422);
    expect(res.jsonType).toBe("application/problem+json");
    expect(res.json.code).toBe("validation_failed");
    expect(withoutRequestId(res.msgpack)).toEqual(withoutRequestId(res.json));
  });

  it("renders a 401 as MessagePack with the same members as the problem+json", async () => {
    const res = await bothFormats("GET", "/api/auth/me");
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("unauthorized");
    expect(withoutRequestId(res.msgpack)).toEqual(withoutRequestId(res.json));
  });

  it("keeps WWW-Authenticate on a 401 rendered as MessagePack", async () => {
    const res = await call("GET", "/api/auth/me", { accept: "application/msgpack" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("renders a 404 for an unknown route as MessagePack with the same members as the problem+json", async () => {
    const res = await bothFormats("GET", "/api/no-such-thing");
    expect(res.status).toBe(404);
    expect(res.json.code).toBe("not_found");
    expect(withoutRequestId(res.msgpack)).toEqual(withoutRequestId(res.json));
  });

  it("renders a 409 duplicate registration as MessagePack with the same members as the problem+json", async () => {
    const input = newAccount();
    expect((await call("POST", "/api/auth/register", { body: input })).status).toBe(201);
    const res = await bothFormats("POST", "/api/auth/register", { body: input });
    expect(res.status).toBe(409);
    expect(res.json.code).toBe("conflict");
    expect(withoutRequestId(res.msgpack)).toEqual(withoutRequestId(res.json));
  });

  it("renders a 400 for malformed MessagePack as MessagePack when Accept asks for it", async () => {
    const res = await call("POST", "/api/auth/register", { body: new Uint8Array([0xc1]), headers: { "Content-Type": "application/msgpack" }, accept: "application/msgpack" });
    expect(res.status).toBe(400);
    const body = await msgpackOf(res);
    expect(withoutRequestId(body)).toEqual({
      type: expect.any(String),
      title: "Bad Request",
      status: 400,
      code: "malformed_body",
      detail: expect.any(String),
    });
  });

  it("renders a 415 as MessagePack when Accept asks for it", async () => {
    const res = await call("POST", "/api/auth/register", { body: "x", headers: { "Content-Type": "text/plain" }, accept: "application/msgpack" });
    expect(res.status).toBe(415);
    expect((await msgpackOf(res)).code).toBe("unsupported_media_type");
  });

  it("renders a 413 for an oversized body as MessagePack when Accept asks for it", async () => {
    const huge = { ...newAccount(), bio: "x".repeat(1_100_000) };
    const res = await call("POST", "/api/auth/register", { body: huge, msgpack: "application/msgpack", accept: "application/msgpack" });
    expect(res.status).toBe(413);
    expect((await msgpackOf(res)).code).toBe("payload_too_large");
  });

  it("renders a 422 for a NaN MessagePack float as MessagePack when Accept asks for it", async () => {
    const res = await call("POST", "/api/auth/register", { body: { ...newAccount(), password: Number.NaN }, msgpack: "application/msgpack", accept: "application/msgpack" });
    expect(res.status).toBe(422);
    expect((await msgpackOf(res)).code).toBe("validation_failed");
  });
});

describe("Vary: Accept", () => {
  it.each([
    ["a 200", "GET", "/api/auth/me", true, undefined],
    ["a 401", "GET", "/api/auth/me", false, undefined],
    ["a 404", "GET", "/api/nothing-here", false, undefined],
    ["a 405", "DELETE", "/api/auth/me", true, undefined],
    ["a 201", "POST", "/api/auth/register", false, "register"],
    ["a 400", "POST", "/api/auth/register", false, "malformed"],
    ["a 415", "POST", "/api/auth/register", false, "text"],
    ["a 204", "POST", "/api/auth/logout", true, undefined],
    ["the health check", "GET", "/health", false, undefined],
    ["the OpenAPI document", "GET", "/openapi.json", false, undefined],
  ] as const)("is sent on %s", async (_name, method, path, authed, bodyKind) => {
    const token = authed ? (await registerUser("vary")).token : undefined;
    const options: CallOptions = { token, accept: "application/msgpack" };
    if (bodyKind === "register") options.body = newAccount();
    if (bodyKind === "malformed") Object.assign(options, { body: "{", headers: { "Content-Type": "application/json" } });
    if (bodyKind === "text") Object.assign(options, { body: "hi", headers: { "Content-Type": "text/plain" } });
    const res = await call(method, path, options);
    expect(res.headers.get("vary") ?? "").toMatch(/\bAccept\b/i);
  });
});
