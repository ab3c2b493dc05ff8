import { beforeAll, describe, expect, it } from "vitest";
import { call, expectProblem, json, registerUser, slotMaker, type TestUser } from "./helpers";

const slot = slotMaker(2041);
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

const create = async (title = "Tagged") => {
  const res = await json("POST", "/api/events", { token: alice.token, body: { title, ...slot() } });
  expect(res.status).toBe(201);
  return res.body as { id: number; version: number };
};
const get = (user: TestUser, id: number, headers: Record<string, string> = {}, accept?: string) => call("GET", `/api/events/${id}`, { token: user.token, headers, accept });
const tagOf = async (user: TestUser, id: number) => {
  const res = await get(user, id);
  expect(res.status).toBe(200);
  return res.headers.get("etag")!;
};
const share = async (id: number, user: TestUser, role: string) => expect((await json("POST", `/api/events/${id}/share`, { token: alice.token, body: { user_id: user.id, role } })).status).toBe(200);
const patch = (user: TestUser, id: number, body: unknown, ifMatch?: string) => json("PATCH", `/api/events/${id}`, { token: user.token, body, headers: ifMatch === undefined ? {} : { "If-Match": ifMatch } });
const weak = (tag: string) => `W/${tag}`;

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([registerUser("et_alice"), registerUser("et_bob"), registerUser("et_carol")]);
});

describe("the ETag of GET /api/events/{id}", () => {
  it("is strong, stable while nothing changes, and differs between readers whose my_role differs", async () => {
    const event = await create();
    await share(event.id, bob, "viewer");
    const [first, second, forBob] = [await tagOf(alice, event.id), await tagOf(alice, event.id), await tagOf(bob, event.id)];
    expect(first).toMatch(/^"[\x21\x23-\x7e]+"$/);
    expect(second).toBe(first);
    expect(forBob).not.toBe(first);
  });

  it("changes for the owner and the new collaborator when the event is shared, while version stays the content version", async () => {
    const event = await create();
    const before = await tagOf(alice, event.id);
    await share(event.id, bob, "viewer");
    const after = await get(alice, event.id, { "If-None-Match": before });
    expect(after.status).toBe(200);
    expect(after.headers.get("etag")).not.toBe(before);
    const body = await after.json<{ version: number; permissions: unknown[] }>();
    expect(body.version).toBe(1);
    expect(body.permissions).toHaveLength(2);
    const bobBefore = await tagOf(bob, event.id);
    await share(event.id, carol, "editor");
    const bobAfter = await get(bob, event.id, { "If-None-Match": bobBefore });
    expect(bobAfter.status).toBe(200);
    expect(bobAfter.headers.get("etag")).not.toBe(bobBefore);
  });

  it("changes for the owner and for the collaborator whose role changes", async () => {
    const event = await create();
    await share(event.id, bob, "viewer");
    const [ownerBefore, bobBefore] = [await tagOf(alice, event.id), await tagOf(bob, event.id)];
    expect((await json("PUT", `/api/events/${event.id}/permissions/${bob.id}`, { token: alice.token, body: { role: "editor" } })).status).toBe(200);
    const bobAfter = await get(bob, event.id, { "If-None-Match": bobBefore });
    expect(bobAfter.status).toBe(200);
    expect((await bobAfter.json<{ my_role: string }>()).my_role).toBe("editor");
    expect((await get(alice, event.id, { "If-None-Match": ownerBefore })).status).toBe(200);
    expect(await tagOf(alice, event.id)).not.toBe(ownerBefore);
  });

  it("changes for the owner and the remaining collaborator when someone is revoked, and the revoked user gets 404", async () => {
    const event = await create();
    await share(event.id, bob, "viewer");
    await share(event.id, carol, "viewer");
    const [ownerBefore, bobBefore] = [await tagOf(alice, event.id), await tagOf(bob, event.id)];
    expect((await call("DELETE", `/api/events/${event.id}/permissions/${carol.id}`, { token: alice.token })).status).toBe(204);
    expect((await get(alice, event.id, { "If-None-Match": ownerBefore })).status).toBe(200);
    expect((await get(bob, event.id, { "If-None-Match": bobBefore })).status).toBe(200);
    expect((await get(carol, event.id, { "If-None-Match": "*" })).status).toBe(404);
  });

  it("differs between the JSON and the MessagePack representation, each answering its own If-None-Match", async () => {
    const event = await create();
    const jsonTag = await tagOf(alice, event.id);
    const packed = await get(alice, event.id, {}, "application/msgpack");
    const packedTag = packed.headers.get("etag")!;
    expect(packedTag).not.toBe(jsonTag);
    expect((await get(alice, event.id, { "If-None-Match": packedTag }, "application/msgpack")).status).toBe(304);
    expect((await get(alice, event.id, { "If-None-Match": jsonTag }, "application/msgpack")).status).toBe(200);
  });
});

describe("If-None-Match on GET (RFC 9110 §13.1.2, weak comparison)", () => {
  it("answers 304 with the ETag and no body for the current tag, a list holding it, its weak form and *", async () => {
    const event = await create();
    const tag = await tagOf(alice, event.id);
    for (const header of [tag, `"nope", ${tag}`, `${tag},"other"`, weak(tag), "*"]) {
      const res = await get(alice, event.id, { "If-None-Match": header });
      expect({ header, status: res.status, etag: res.headers.get("etag"), body: await res.text() }).toEqual({ header, status: 304, etag: tag, body: "" });
    }
  });

  it("answers 200 with the body for other tags, a list without the current one, the bare version and garbage", async () => {
    const event = await create();
    const tag = await tagOf(alice, event.id);
    for (const header of ['"1"', '"nope", "other"', tag.slice(1, -1), "garbage", '""']) {
      const res = await get(alice, event.id, { "If-None-Match": header });
      expect({ header, status: res.status }).toEqual({ header, status: 200 });
      expect(res.headers.get("etag")).toBe(tag);
    }
  });
});

describe("If-Match on writes (RFC 9110 §13.1.1, strong comparison)", () => {
  it("lets a PATCH through with the current tag, a list holding it, or *, and answers with the tag GET now returns", async () => {
    const event = await create();
    let tag = await tagOf(alice, event.id);
    const conditions = [(t: string) => t, (t: string) => `"other", ${t}`, () => "*"];
    for (const [i, condition] of conditions.entries()) {
      const header = condition(tag);
      const res = await patch(alice, event.id, { description: `edit ${i}` }, header);
      expect({ header, status: res.status }).toEqual({ header, status: 200 });
      const now = await tagOf(alice, event.id);
      expect(res.headers.get("etag")).toBe(now);
      expect(now).not.toBe(tag);
      tag = now;
    }
  });

  it("never matches a weak tag, even the current one's, nor a bare version: 412 with the current event", async () => {
    const event = await create();
    const tag = await tagOf(alice, event.id);
    for (const header of [weak(tag), '"1"', "1", "garbage", `${weak(tag)}, "other"`]) {
      const res = await patch(alice, event.id, { title: "Never" }, header);
      expectProblem(res, 412, "precondition_failed");
      expect(res.body.current).toMatchObject({ id: event.id, version: 1, title: "Tagged", my_role: "owner" });
    }
    expect((await json("GET", `/api/events/${event.id}/changelog`, { token: alice.token })).body.items).toHaveLength(1);
  });

  it("refuses a write whose tag was current before a share, though the content did not change", async () => {
    const event = await create();
    const tag = await tagOf(alice, event.id);
    await share(event.id, bob, "editor");
    const res = await patch(alice, event.id, { title: "Stale" }, tag);
    expectProblem(res, 412, "precondition_failed");
    expect(res.body.current.permissions).toHaveLength(2);
  });

  it("accepts either format's tag of the current state, whatever format the write asks for", async () => {
    const event = await create();
    const packedTag = (await get(alice, event.id, {}, "application/msgpack")).headers.get("etag")!;
    expect((await patch(alice, event.id, { title: "Via the MessagePack tag" }, packedTag)).status).toBe(200);
  });

  it("gives PUT responses no ETag, since what is stored is not the body sent (RFC 9110 §9.3.4)", async () => {
    const event = await create();
    const res = await json("PUT", `/api/events/${event.id}`, { token: alice.token, body: { title: "Put" }, headers: { "If-Match": "*" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBeNull();
  });

  it("applies to DELETE: a weak or stale tag is 412 and keeps the event, the current one in a list deletes it", async () => {
    const event = await create();
    const tag = await tagOf(alice, event.id);
    expectProblem(await json("DELETE", `/api/events/${event.id}`, { token: alice.token, headers: { "If-Match": weak(tag) } }), 412, "precondition_failed");
    expectProblem(await json("DELETE", `/api/events/${event.id}`, { token: alice.token, headers: { "If-Match": '"1"' } }), 412, "precondition_failed");
    expect((await get(alice, event.id)).status).toBe(200);
    expect((await call("DELETE", `/api/events/${event.id}`, { token: alice.token, headers: { "If-Match": `"x", ${tag}` } })).status).toBe(204);
    // * means "any current representation": there is none now, and the event is not revealed.
    expectProblem(await json("DELETE", `/api/events/${event.id}`, { token: alice.token, headers: { "If-Match": "*" } }), 404, "not_found");
  });

  it("applies to rollback: a weak tag is 412, * and the current tag succeed, each answering the new tag", async () => {
    const event = await create();
    expect((await patch(alice, event.id, { title: "Second" })).status).toBe(200);
    const tag = await tagOf(alice, event.id);
    expectProblem(await json("POST", `/api/events/${event.id}/rollback/1`, { token: alice.token, headers: { "If-Match": weak(tag) } }), 412, "precondition_failed");
    const ok = await json("POST", `/api/events/${event.id}/rollback/1`, { token: alice.token, headers: { "If-Match": tag } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("etag")).toBe(await tagOf(alice, event.id));
    const star = await json("POST", `/api/events/${event.id}/rollback/2`, { token: alice.token, headers: { "If-Match": "*" } });
    expect(star.status).toBe(200);
    expect(star.body).toMatchObject({ version: 4, title: "Second" });
  });

  it("of 10 concurrent writes with the same current tag exactly one succeeds and nine get 412", async () => {
    const event = await create();
    const tag = await tagOf(alice, event.id);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => patch(alice, event.id, { title: `Writer ${i}` }, tag)));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(412)]);
  });
});
