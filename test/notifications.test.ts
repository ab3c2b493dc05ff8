import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, type TestUser, slotMaker } from "./helpers";

const slot = slotMaker(2034);

async function createEvent(owner: TestUser, title = "Planning"): Promise<any> {
  const res = await json("POST", "/api/events", { token: owner.token, body: { title, ...slot() } });
  expect(res.status).toBe(201);
  return res.body;
}

async function share(owner: TestUser, eventId: number, users: { user: TestUser; role: string }[]) {
  const res = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { users: users.map(({ user, role }) => ({ user_id: user.id, role })) } });
  expect(res.status).toBe(200);
}

async function patch(user: TestUser, eventId: number, body: Record<string, unknown>) {
  const res = await json("PATCH", `/api/events/${eventId}`, { token: user.token, body });
  expect(res.status).toBe(200);
  return res.body;
}

const inbox = (user: TestUser, query = "") => json("GET", `/api/notifications${query}`, { token: user.token });

/** The newest notification of each user, in the order given. */
const newestOf = async (...users: TestUser[]) => Promise.all(users.map(async (user) => (await inbox(user, "?limit=1")).body.items[0]));

/**
 * alice owns an event shared with carol (viewer) and bob (editor) in one request. Fan-out is
 * linear: each of the three gets one event_shared naming both grants.
 */
async function team() {
  const [alice, bob, carol] = [await registerUser("ntalice"), await registerUser("ntbob"), await registerUser("ntcarol")];
  const event = await createEvent(alice);
  await share(alice, event.id, [
    { user: carol, role: "viewer" },
    { user: bob, role: "editor" },
  ]);
  return { alice, bob, carol, event };
}

const isoUtc = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

describe("GET /api/notifications", () => {
  it("lists the user's notifications newest first with items, next_cursor and unread_count", async () => {
    const { alice, bob, event } = await team();
    await patch(alice, event.id, { title: "First" });
    await patch(alice, event.id, { title: "Second" });
    const res = await inbox(bob);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: expect.any(Array), next_cursor: null, unread_count: 3 });
    expect(res.body.items.map((n: any) => n.type)).toEqual(["event_updated", "event_updated", "event_shared"]);
    const ids = res.body.items.map((n: any) => n.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(res.body.items[0]).toEqual({
      id: expect.any(Number),
      type: "event_updated",
      event_id: event.id,
      actor: { id: alice.id, username: alice.username },
      message: `${alice.username} updated "Second"`,
      data: { version: 3, changes: { title: { from: "First", to: "Second" } } },
      is_read: false,
      created_at: isoUtc,
    });
  });

  it("stores the actor's own copy already read and leaves it out of unread_count", async () => {
    const alice = await registerUser("ntalice");
    const event = await createEvent(alice, "Mine");
    const res = await inbox(alice);
    expect(res.body.items).toEqual([expect.objectContaining({ type: "event_created", event_id: event.id, actor: { id: alice.id, username: alice.username }, data: { title: "Mine" }, is_read: true })]);
    expect(res.body.unread_count).toBe(0);
  });

  it("lists only unread notifications with unread=true", async () => {
    const { alice, bob, event } = await team();
    await patch(bob, event.id, { title: "By bob" });
    await patch(alice, event.id, { title: "By alice" });
    const res = await inbox(bob, "?unread=true");
    expect(res.status).toBe(200);
    expect(res.body.items.map((n: any) => [n.type, n.actor.id])).toEqual([
      ["event_updated", alice.id],
      ["event_shared", alice.id],
    ]);
    expect(res.body.items.every((n: any) => n.is_read === false)).toBe(true);
    expect(res.body.unread_count).toBe(2);
  });

  it("lists the ids greater than since, oldest first", async () => {
    const { alice, bob, event } = await team();
    const shared = (await inbox(bob)).body.items[0];
    for (const title of ["One", "Two", "Three"]) await patch(alice, event.id, { title });
    const res = await inbox(bob, `?since=${shared.id}`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((n: any) => n.data.changes.title.to)).toEqual(["One", "Two", "Three"]);
    expect(res.body.items.every((n: any) => n.id > shared.id)).toBe(true);
    expect(res.body.next_cursor).toBeNull();
  });

  it("pages newest first with limit and cursor, without gaps or repeats", async () => {
    const { alice, bob, event } = await team();
    for (let i = 1; i <= 4; i++) await patch(alice, event.id, { description: `v${i}` });
    const all = (await inbox(bob)).body.items.map((n: any) => n.id);
    expect(all).toHaveLength(5);
    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const res = await inbox(bob, `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      pages.push(res.body.items.map((n: any) => n.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(all);
  });

  it("pages oldest first with since, limit and cursor", async () => {
    const { alice, bob, event } = await team();
    const shared = (await inbox(bob)).body.items[0];
    for (let i = 1; i <= 3; i++) await patch(alice, event.id, { description: `v${i}` });
    const first = await inbox(bob, `?since=${shared.id}&limit=2`);
    expect(first.body.items.map((n: any) => n.data.changes.description.to)).toEqual(["v1", "v2"]);
    const second = await inbox(bob, `?since=${shared.id}&limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    expect(second.body.items.map((n: any) => n.data.changes.description.to)).toEqual(["v3"]);
    expect(second.body.next_cursor).toBeNull();
  });

  it.each(["0", "101", "-1", "ten"])("rejects limit=%s with 422 naming limit", async (limit) => {
    const alice = await registerUser("ntalice");
    const res = await inbox(alice, `?limit=${limit}`);
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: any) => e.field)).toEqual(["limit"]);
  });

  it("rejects a tampered cursor with 422", async () => {
    const { alice, bob, event } = await team();
    await patch(alice, event.id, { title: "More" });
    const cursor: string = (await inbox(bob, "?limit=1")).body.next_cursor;
    const [body, mac] = cursor.split(".");
    const forged = JSON.parse(atob(body.replaceAll("-", "+").replaceAll("_", "/")));
    forged.p = [forged.p[0] + 1000];
    const tampered = `${btoa(JSON.stringify(forged)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}.${mac}`;
    const res = await inbox(bob, `?limit=1&cursor=${encodeURIComponent(tampered)}`);
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "cursor", message: "Invalid or foreign cursor." }]);
  });

  it("rejects another user's cursor with 422", async () => {
    const { alice, bob, carol, event } = await team();
    await patch(alice, event.id, { title: "More" });
    const cursor: string = (await inbox(bob, "?limit=1")).body.next_cursor;
    expectProblem(await inbox(carol, `?limit=1&cursor=${encodeURIComponent(cursor)}`), 422, "validation_failed");
  });

  it("rejects a cursor from the unread view in the full view with 422", async () => {
    const { alice, bob, event } = await team();
    await patch(alice, event.id, { title: "More" });
    const cursor: string = (await inbox(bob, "?limit=1&unread=true")).body.next_cursor;
    expectProblem(await inbox(bob, `?limit=1&cursor=${encodeURIComponent(cursor)}`), 422, "validation_failed");
  });

  it("requires a bearer token (401)", async () => {
    const res = await json("GET", "/api/notifications");
    expectProblem(res, 401, "unauthorized");
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });
});

describe("POST /api/notifications/{id}/read", () => {
  it("marks one notification read with 204 and lowers unread_count", async () => {
    const { alice, bob, event } = await team();
    await patch(alice, event.id, { title: "Read me" });
    const [newest, older] = (await inbox(bob)).body.items;
    const res = await json("POST", `/api/notifications/${newest.id}/read`, { token: bob.token });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    const after = await inbox(bob);
    expect(after.body.items.map((n: any) => [n.id, n.is_read])).toEqual([
      [newest.id, true],
      [older.id, false],
    ]);
    expect(after.body.unread_count).toBe(1);
  });

  it("is idempotent: reading a read notification again is 204", async () => {
    const { bob } = await team();
    const [shared] = (await inbox(bob)).body.items;
    expect((await json("POST", `/api/notifications/${shared.id}/read`, { token: bob.token })).status).toBe(204);
    expect((await json("POST", `/api/notifications/${shared.id}/read`, { token: bob.token })).status).toBe(204);
    expect((await inbox(bob)).body.unread_count).toBe(0);
  });

  it("answers 404 for another user's notification and leaves it unread", async () => {
    const { bob, carol } = await team();
    const [bobs] = (await inbox(bob)).body.items;
    expectProblem(await json("POST", `/api/notifications/${bobs.id}/read`, { token: carol.token }), 404, "not_found");
    expect((await inbox(bob)).body.items[0]).toMatchObject({ id: bobs.id, is_read: false });
  });

  it.each(["abc", "1.5", "0", "-3", "99999999999999999999"])("answers 404 for the id %s", async (id) => {
    const alice = await registerUser("ntalice");
    expectProblem(await json("POST", `/api/notifications/${id}/read`, { token: alice.token }), 404, "not_found");
  });
});

describe("POST /api/notifications/read-all", () => {
  it("marks every notification read with 204 and unread_count 0", async () => {
    const { alice, bob, event } = await team();
    await patch(alice, event.id, { title: "One" });
    await patch(alice, event.id, { title: "Two" });
    expect((await inbox(bob)).body.unread_count).toBe(3);
    const res = await json("POST", "/api/notifications/read-all", { token: bob.token });
    expect(res.status).toBe(204);
    const after = await inbox(bob);
    expect(after.body.unread_count).toBe(0);
    expect(after.body.items.every((n: any) => n.is_read)).toBe(true);
    expect((await inbox(bob, "?unread=true")).body.items).toEqual([]);
  });

  it("leaves other users' notifications unread", async () => {
    const { bob, carol } = await team();
    expect((await json("POST", "/api/notifications/read-all", { token: bob.token })).status).toBe(204);
    expect((await inbox(carol)).body.unread_count).toBe(1);
  });
});

describe("who is notified, and what data says", () => {
  it("notifies the owner, the editor and the viewer of an editor's update, the actor's copy read", async () => {
    const { alice, bob, carol, event } = await team();
    await patch(bob, event.id, { location: "Room 9" });
    const [forAlice, forBob, forCarol] = await newestOf(alice, bob, carol);
    for (const notification of [forAlice, forBob, forCarol]) {
      expect(notification).toMatchObject({ type: "event_updated", event_id: event.id, actor: { id: bob.id, username: bob.username }, data: { changes: { location: { from: null, to: "Room 9" } } } });
    }
    expect([forAlice.is_read, forBob.is_read, forCarol.is_read]).toEqual([false, true, false]);
  });

  it("lists only the changed fields with from and to in an update's data", async () => {
    const { alice, bob, event } = await team();
    const moved = slot();
    await patch(alice, event.id, { title: "Planning", description: "Agenda", ...moved });
    const [notification] = await newestOf(bob);
    expect(notification.data).toEqual({
      version: 2,
      changes: {
        description: { from: "", to: "Agenda" },
        start_time: { from: event.start_time, to: moved.start_time },
        end_time: { from: event.end_time, to: moved.end_time },
      },
    });
  });

  it("notifies no one of an update that changes nothing", async () => {
    const { alice, bob, event } = await team();
    const before = (await inbox(bob)).body.items.length;
    await patch(alice, event.id, { title: "Planning" });
    expect((await inbox(bob)).body.items).toHaveLength(before);
  });

  it("notifies the new user and everyone with access of a share, naming the role", async () => {
    const { alice, bob, carol, event } = await team();
    const dave = await registerUser("ntdave");
    await share(alice, event.id, [{ user: dave, role: "viewer" }]);
    const newest = await newestOf(alice, bob, carol, dave);
    for (const notification of newest) {
      expect(notification).toMatchObject({ type: "event_shared", event_id: event.id, data: { user_id: dave.id, username: dave.username, role: "viewer", previous_role: null } });
    }
    expect(newest.map((n) => n.is_read)).toEqual([true, false, false, false]);
  });

  it("notifies a multi-user share once to everyone with access after it, naming every grant", async () => {
    const { alice, bob, carol } = await team();
    const grants = [
      { user_id: carol.id, username: carol.username, role: "viewer", previous_role: null },
      { user_id: bob.id, username: bob.username, role: "editor", previous_role: null },
    ];
    for (const user of [bob, carol]) expect((await inbox(user)).body.items.map((n: any) => [n.type, n.data, n.is_read])).toEqual([["event_shared", { grants }, false]]);
    expect((await inbox(alice)).body.items.map((n: any) => [n.type, n.data.grants ?? null, n.is_read])).toEqual([
      ["event_shared", grants, true],
      ["event_created", null, true],
    ]);
  });

  it("names the new and the previous role in a role change's data", async () => {
    const { alice, bob, carol, event } = await team();
    expect((await json("PUT", `/api/events/${event.id}/permissions/${carol.id}`, { token: alice.token, body: { role: "editor" } })).status).toBe(200);
    for (const notification of await newestOf(alice, bob, carol)) {
      expect(notification).toMatchObject({ type: "permission_updated", data: { user_id: carol.id, username: carol.username, role: "editor", previous_role: "viewer" } });
    }
  });

  it("notifies the revoked user of a revocation, as well as those who keep access", async () => {
    const { alice, bob, carol, event } = await team();
    expect((await json("DELETE", `/api/events/${event.id}/permissions/${carol.id}`, { token: alice.token })).status).toBe(204);
    const newest = await newestOf(alice, bob, carol);
    for (const notification of newest) {
      expect(notification).toMatchObject({ type: "permission_revoked", event_id: event.id, data: { user_id: carol.id, username: carol.username, previous_role: "viewer" } });
    }
    expect(newest.map((n) => n.is_read)).toEqual([true, false, false]);
    await patch(alice, event.id, { title: "Without carol" });
    expect((await newestOf(carol))[0].type).toBe("permission_revoked");
  });

  it("notifies a user who leaves, and the others, with a permission_revoked by that user", async () => {
    const { alice, bob, carol, event } = await team();
    expect((await json("DELETE", `/api/events/${event.id}/permissions/${carol.id}`, { token: carol.token })).status).toBe(204);
    const newest = await newestOf(alice, bob, carol);
    for (const notification of newest) {
      expect(notification).toMatchObject({ type: "permission_revoked", actor: { id: carol.id }, message: `${carol.username} left "Planning"` });
    }
    expect(newest.map((n) => n.is_read)).toEqual([false, false, true]);
  });

  it("notifies everyone who had access of a delete and keeps the notifications after the event is gone", async () => {
    const { alice, bob, carol, event } = await team();
    expect((await json("DELETE", `/api/events/${event.id}`, { token: alice.token })).status).toBe(204);
    const newest = await newestOf(alice, bob, carol);
    for (const notification of newest) {
      expect(notification).toMatchObject({ type: "event_deleted", event_id: event.id, actor: { id: alice.id }, data: { title: "Planning" } });
    }
    expect(newest.map((n) => n.is_read)).toEqual([true, false, false]);
  });

  it("notifies everyone of a rollback with the version restored", async () => {
    const { alice, bob, carol, event } = await team();
    await patch(alice, event.id, { title: "Wrong" });
    expect((await json("POST", `/api/events/${event.id}/rollback/1`, { token: bob.token })).status).toBe(200);
    for (const notification of await newestOf(alice, bob, carol)) {
      expect(notification).toMatchObject({ type: "event_rolled_back", actor: { id: bob.id }, data: { version: 3, restored_from: 1, changes: { title: { from: "Wrong", to: "Planning" } } } });
    }
  });

  it("never shows a user notifications of events they never had access to", async () => {
    const { alice, event } = await team();
    const mallory = await registerUser("ntmallory");
    await patch(alice, event.id, { title: "Secret" });
    expect((await inbox(mallory)).body).toEqual({ items: [], next_cursor: null, unread_count: 0 });
  });
});

describe("delivery latency", () => {
  /** Median wall time of `runs` PATCHes of the event. */
  async function medianPatchMs(user: TestUser, eventId: number, runs = 7) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await patch(user, eventId, { description: `run ${i} ${Math.random()}` });
      times.push(performance.now() - started);
    }
    return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
  }

  it("answers a PATCH before fanning out to 10 connected collaborators (measured, not asserted)", async () => {
    const alice = await registerUser("ntalice");
    const alone = await createEvent(alice, "Alone");
    const crowded = await createEvent(alice, "Crowded");
    const collaborators = await Promise.all(Array.from({ length: 10 }, (_, i) => registerUser(`ntcollab${i}`)));
    await share(alice, crowded.id, collaborators.map((user) => ({ user, role: "viewer" })));
    // Every collaborator has a live socket, so delivery does real work on each hub.
    const sockets = await Promise.all(
      collaborators.map(async (user) => {
        const response = await exports.default.fetch(new Request(`http://localhost/ws/notifications?token=${user.token}`, { headers: { Upgrade: "websocket" } }));
        expect(response.status).toBe(101);
        response.webSocket!.accept();
        return response.webSocket!;
      }),
    );
    await medianPatchMs(alice, alone.id, 2);
    const withNone = await medianPatchMs(alice, alone.id);
    const withTen = await medianPatchMs(alice, crowded.id);
    console.log(`PATCH median: ${withNone.toFixed(1)} ms with 0 collaborators, ${withTen.toFixed(1)} ms with 10 connected collaborators`);
    for (const socket of sockets) socket.close(1000, "done");
  });
});
