import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { issueSyncToken } from "../src/sync/token";
import { expectProblem, json, registerUser, slotMaker, type TestUser } from "./helpers";
import { requestAs, sendWith } from "./support/faults";
import { copyInListOrder, emptyCopy, listedEvents, syncInto } from "./support/sync-client";

const slot = slotMaker(2047);
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

const create = async (user: TestUser, title: string) => {
  const res = await json("POST", "/api/events", { token: user.token, body: { title, ...slot() } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number };
};
const expectStatus = async (res: Promise<{ status: number; body: unknown }>, status: number) => {
  const { status: got, body } = await res;
  expect(got, JSON.stringify(body)).toBe(status);
};
const patch = (user: TestUser, id: number, body: unknown) => expectStatus(json("PATCH", `/api/events/${id}`, { token: user.token, body }), 200);
const share = (user: TestUser, id: number, to: TestUser, role: string) => expectStatus(json("POST", `/api/events/${id}/share`, { token: user.token, body: { user_id: to.id, role } }), 200);
const sync = (user: TestUser, query: string) => json("GET", `/api/sync?${query}`, { token: user.token });

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([registerUser("sy_alice"), registerUser("sy_bob"), registerUser("sy_carol")]);
});

describe("GET /api/sync without a token", () => {
  it("lists every visible event in pages, in the list's order and form, with next_sync_token only on the last page", async () => {
    const user = await registerUser("sy_full");
    const own = [await create(user, "One"), await create(user, "Two"), await create(user, "Three")];
    const theirs = await create(alice, "Shared to full");
    await share(alice, theirs.id, user, "viewer");
    const first = await sync(user, "limit=2");
    expect(first.status).toBe(200);
    expect(first.body.next_sync_token).toBeNull();
    expect(typeof first.body.next_cursor).toBe("string");
    const second = await sync(user, `limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(second.status).toBe(200);
    expect(second.body.next_cursor).toBeNull();
    expect(typeof second.body.next_sync_token).toBe("string");
    const listed = await listedEvents(user);
    expect([...first.body.items, ...second.body.items]).toEqual(listed.map((event) => ({ kind: "event", id: event.id, event })));
    expect(listed.map((e) => e.id).sort()).toEqual([...own.map((e) => e.id), theirs.id].sort());
  });

  it("gives a new user an empty page with a token", async () => {
    const user = await registerUser("sy_empty");
    const res = await sync(user, "");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], next_cursor: null, next_sync_token: expect.any(String) });
    const again = await sync(user, `sync_token=${encodeURIComponent(res.body.next_sync_token)}`);
    expect(again.body).toEqual({ items: [], next_cursor: null, next_sync_token: expect.any(String) });
  });

  it("answers 401 without a bearer token", async () => {
    const res = await json("GET", "/api/sync");
    expectProblem(res, 401, "unauthorized");
  });
});

describe("GET /api/sync with a token", () => {
  it("returns each changed event once, in the order of its latest change, as the user now sees it", async () => {
    const user = await registerUser("sy_incr");
    const a = await create(user, "A");
    const b = await create(user, "B");
    const copy = emptyCopy();
    await syncInto(user, copy);
    await patch(user, a.id, { title: "A2" });
    await patch(user, b.id, { title: "B2" });
    await patch(user, a.id, { title: "A3" });
    const c = await create(user, "C");
    const { items } = await syncInto(user, copy);
    expect(items.map((i) => [i.id, i.event?.title])).toEqual([
      [b.id, "B2"],
      [a.id, "A3"],
      [c.id, "C"],
    ]);
    expect(copyInListOrder(copy)).toEqual(await listedEvents(user));
  });

  it("reports shares, role changes, revocations and deletes to the collaborator, deleted ones as tombstones", async () => {
    const watcher = await registerUser("sy_watch");
    const kept = await create(alice, "Kept");
    const revoked = await create(alice, "Revoked");
    const deleted = await create(alice, "Deleted");
    for (const e of [kept, revoked, deleted]) await share(alice, e.id, watcher, "viewer");
    const copy = emptyCopy();
    await syncInto(watcher, copy);
    expect(copy.events.size).toBe(3);
    await expectStatus(json("PUT", `/api/events/${kept.id}/permissions/${watcher.id}`, { token: alice.token, body: { role: "editor" } }), 200);
    await expectStatus(json("DELETE", `/api/events/${revoked.id}/permissions/${watcher.id}`, { token: alice.token }), 204);
    await expectStatus(json("DELETE", `/api/events/${deleted.id}`, { token: alice.token }), 204);
    const { items } = await syncInto(watcher, copy);
    expect(items).toEqual([
      { kind: "event", id: kept.id, event: expect.objectContaining({ id: kept.id, my_role: "editor" }) },
      { kind: "event", id: revoked.id, deleted: true },
      { kind: "event", id: deleted.id, deleted: true },
    ]);
    expect(copyInListOrder(copy)).toEqual(await listedEvents(watcher));
  });

  it("still tells a removed collaborator the event is gone after it is deleted", async () => {
    const removed = await registerUser("sy_removed");
    const event = await create(alice, "Removed then deleted");
    await share(alice, event.id, removed, "viewer");
    const copy = emptyCopy();
    await syncInto(removed, copy);
    expect([...copy.events.keys()]).toEqual([event.id]);
    await expectStatus(json("DELETE", `/api/events/${event.id}/permissions/${removed.id}`, { token: alice.token }), 204);
    await expectStatus(json("DELETE", `/api/events/${event.id}`, { token: alice.token }), 204);
    const { items } = await syncInto(removed, copy);
    expect(items).toEqual([{ kind: "event", id: event.id, deleted: true }]);
    expect(copy.events.size).toBe(0);
  });

  it("pages changes with bounded reads, and a change made while paging comes in the next sync", async () => {
    const user = await registerUser("sy_paged");
    const made = [await create(user, "P1"), await create(user, "P2"), await create(user, "P3")];
    const copy = emptyCopy();
    await syncInto(user, copy);
    for (const [i, e] of made.entries()) await patch(user, e.id, { title: `P${i + 1}b` });
    const first = await sync(user, `limit=1&sync_token=${encodeURIComponent(copy.token!)}`);
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([{ kind: "event", id: made[0].id, event: expect.objectContaining({ title: "P1b" }) }]);
    expect(first.body.next_sync_token).toBeNull();
    // Changed while the sync is paged: the first event again, and a new one.
    await patch(user, made[0].id, { title: "P1c" });
    const late = await create(user, "Late");
    const seen: any[] = [...first.body.items];
    let cursor = first.body.next_cursor;
    let token: string | null = null;
    while (cursor) {
      const page = await sync(user, `limit=1&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.next_cursor;
      token = page.body.next_sync_token;
    }
    expect(seen.map((i) => i.id)).toEqual(made.map((e) => e.id));
    const next = await sync(user, `sync_token=${encodeURIComponent(token!)}`);
    expect(next.body.items.map((i: any) => [i.id, i.event.title])).toEqual([
      [made[0].id, "P1c"],
      [late.id, "Late"],
    ]);
  });

  it("answers 410 sync_token_expired to a token older than the retention (set short through SYNC_TOKEN_RETENTION_SECONDS)", async () => {
    const token = await issueSyncToken(env, bob.id, 0, Date.now() - 5_000);
    const short = await sendWith({ SYNC_TOKEN_RETENTION_SECONDS: "2" }, requestAs(bob, "GET", `/api/sync?sync_token=${encodeURIComponent(token)}`));
    expect(short.status).toBe(410);
    expect(short.body).toMatchObject({ status: 410, code: "sync_token_expired" });
    // The same token within the default retention (7 days) is fine.
    const normal = await sync(bob, `sync_token=${encodeURIComponent(token)}`);
    expect(normal.status).toBe(200);
    const old = await issueSyncToken(env, bob.id, 0, Date.now() - 8 * 86_400_000);
    expectProblem(await sync(bob, `sync_token=${encodeURIComponent(old)}`), 410, "sync_token_expired");
  });

  it("answers 410 to a tampered, foreign or garbage token, and 422 to a tampered cursor or a cursor sent with a token", async () => {
    const copy = emptyCopy();
    await syncInto(carol, copy);
    const token = copy.token!;
    const [body, mac] = token.split(".");
    const flipped = `${body}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`;
    expectProblem(await sync(carol, `sync_token=${encodeURIComponent(flipped)}`), 410, "sync_token_expired");
    expectProblem(await sync(bob, `sync_token=${encodeURIComponent(token)}`), 410, "sync_token_expired");
    expectProblem(await sync(carol, "sync_token=garbage"), 410, "sync_token_expired");
    expectProblem(await sync(carol, "cursor=garbage"), 422, "validation_failed");
    expectProblem(await sync(carol, `sync_token=${encodeURIComponent(token)}&cursor=x`), 422, "validation_failed");
    expectProblem(await sync(carol, "limit=0"), 422, "validation_failed");
  });
});
