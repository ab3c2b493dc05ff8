import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_COLLABORATORS } from "../src/sharing/schemas";
import { call, expectProblem, json, registerUser, type TestUser } from "./helpers";
import { requestAs, squeezed } from "./support/faults";

let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let erin: TestUser;

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
let day = 0;
/** A fresh, non-overlapping slot per event, far in the future. */
const slot = () => {
  const start = Date.UTC(2036, 0, 1 + day++, 9);
  return { start_time: new Date(start).toISOString(), end_time: new Date(start + 3600_000).toISOString() };
};

const createEvent = async (owner: TestUser, title = "Shared plan") => {
  const res = await json("POST", "/api/events", { token: owner.token, body: { title, ...slot() } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; title: string; start_time: string; end_time: string };
};
const share = (actor: TestUser, eventId: number, body: unknown) => json("POST", `/api/events/${eventId}/share`, { token: actor.token, body });
const permissionsOf = (actor: TestUser, eventId: number) => json("GET", `/api/events/${eventId}/permissions`, { token: actor.token });
const setRole = (actor: TestUser, eventId: number, userId: number, body: unknown) => json("PUT", `/api/events/${eventId}/permissions/${userId}`, { token: actor.token, body });
const revoke = (actor: TestUser, eventId: number, userId: number) => json("DELETE", `/api/events/${eventId}/permissions/${userId}`, { token: actor.token });
const getEvent = (actor: TestUser, eventId: number) => json("GET", `/api/events/${eventId}`, { token: actor.token });

/** One item of a permission list, as the contract spells it. */
const entry = (user: TestUser, role: string, grantedBy: TestUser) => ({ user_id: user.id, username: user.username, role, granted_by: grantedBy.id, granted_at: expect.stringMatching(ISO_UTC) });

/** An event of alice's shared with the given users, through the API. */
async function sharedEvent(grants: [TestUser, string][], title?: string) {
  const event = await createEvent(alice, title);
  if (grants.length) {
    const res = await share(alice, event.id, { users: grants.map(([user, role]) => ({ user_id: user.id, role })) });
    if (res.status !== 200) throw new Error(`share failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return event;
}

beforeAll(async () => {
  // One after another, so ids ascend in name order: items granted together are listed by id.
  alice = await registerUser("alice");
  bob = await registerUser("bob");
  carol = await registerUser("carol");
  dave = await registerUser("dave");
  erin = await registerUser("erin");
});

describe("POST /api/events/{id}/share", () => {
  it("shares with {users: [...]} and answers 200 with the full permission list, the creator first", async () => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, { users: [{ user_id: bob.id, role: "editor" }, { user_id: carol.id, role: "viewer" }] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([entry(alice, "owner", alice), entry(bob, "editor", alice), entry(carol, "viewer", alice)]);
  });

  it("accepts a bare array of share items", async () => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, [{ user_id: bob.id, role: "viewer" }, { user_id: carol.id, role: "editor" }]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([entry(alice, "owner", alice), entry(bob, "viewer", alice), entry(carol, "editor", alice)]);
  });

  it("accepts one share item on its own", async () => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, { user_id: bob.id, role: "viewer" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([entry(alice, "owner", alice), entry(bob, "viewer", alice)]);
  });

  it("names users by user_id, username or email, case-insensitively", async () => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, {
      users: [
        { user_id: bob.id, role: "viewer" },
        { username: carol.username.toUpperCase(), role: "viewer" },
        { email: dave.email.toUpperCase(), role: "viewer" },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.map((p: { user_id: number }) => p.user_id)).toEqual([alice.id, bob.id, carol.id, dave.id]);
  });

  it("gives the shared user access with the granted role", async () => {
    const event = await sharedEvent([[bob, "editor"]], "Visible to bob");
    const res = await getEvent(bob, event.id);
    expect(res.status).toBe(200);
    expect(res.body.my_role).toBe("editor");
    expect(res.body.title).toBe("Visible to bob");
  });

  it("changes the role when the user is shared with again (upsert), without a second entry", async () => {
    const event = await sharedEvent([[bob, "viewer"]]);
    const res = await share(alice, event.id, { users: [{ user_id: bob.id, role: "editor" }] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([entry(alice, "owner", alice), entry(bob, "editor", alice)]);
    expect((await getEvent(bob, event.id)).body.my_role).toBe("editor");
  });

  it("reads role names case-insensitively and returns them lower-case", async () => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, [{ user_id: bob.id, role: "EDITOR" }, { user_id: carol.id, role: "Viewer" }]);
    expect(res.status).toBe(200);
    expect(res.body.map((p: { role: string }) => p.role)).toEqual(["owner", "editor", "viewer"]);
  });

  it("lists every unknown user of a share by index, and none of the identifiers", async () => {
    const event = await createEvent(alice, "Probe");
    const res = await share(alice, event.id, [
      { username: "ghost_one_x", role: "viewer" },
      { user_id: bob.id, role: "viewer" },
      { email: "ghost-two@example.com", role: "viewer" },
      { user_id: 987_654_320, role: "viewer" },
    ]);
    expectProblem(res, 404, "not_found");
    expect(res.body.detail).toBe("No such user; nothing was shared.");
    expect(res.body.errors).toEqual([0, 2, 3].map((index) => ({ field: `users.${index}`, message: "No such user.", index })));
    for (const echoed of ["ghost_one_x", "ghost-two", "987654320"]) expect(JSON.stringify(res.body)).not.toContain(echoed);
    expectProblem(await getEvent(bob, event.id), 404, "not_found");
  });

  it.each([
    ["user_id", { user_id: 987_654_321 }],
    ["username", { username: "no_such_user_anywhere" }],
    ["email", { email: "nobody-at-all@example.com" }],
  ])("answers 404 for an unknown user named by %s and grants nothing, even to the valid users of the same request", async (_how, unknown) => {
    const event = await createEvent(alice, "Nothing granted");
    const res = await share(alice, event.id, { users: [{ user_id: bob.id, role: "editor" }, { ...unknown, role: "viewer" }, { user_id: carol.id, role: "viewer" }] });
    expectProblem(res, 404, "not_found");
    expect(res.body.errors).toEqual([{ field: "users.1", message: "No such user.", index: 1 }]);
    // The identifier is never echoed: a 404 must not confirm or repeat what was looked up.
    expect(JSON.stringify(res.body)).not.toContain(String(Object.values(unknown)[0]));
    expect((await permissionsOf(alice, event.id)).body).toEqual([entry(alice, "owner", alice)]);
    expectProblem(await getEvent(bob, event.id), 404, "not_found");
    expectProblem(await getEvent(carol, event.id), 404, "not_found");
  });

  it.each([
    ["user_id", (u: TestUser) => ({ user_id: u.id })],
    ["email", (u: TestUser) => ({ email: u.email.toUpperCase() })],
  ])("refuses sharing with yourself (by %s) with 422 and grants nothing", async (_how, self) => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, [{ user_id: bob.id, role: "viewer" }, { ...self(alice), role: "viewer" }]);
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([expect.objectContaining({ field: "users.1", index: 1 })]);
    expect((await permissionsOf(alice, event.id)).body).toEqual([entry(alice, "owner", alice)]);
  });

  it("refuses a co-owner's share that names the creator with 422, leaving the creator's entry as it was", async () => {
    const event = await sharedEvent([[bob, "owner"]]);
    const res = await share(bob, event.id, { users: [{ user_id: alice.id, role: "viewer" }] });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([expect.objectContaining({ field: "users.0" })]);
    expect((await permissionsOf(alice, event.id)).body[0]).toEqual(entry(alice, "owner", alice));
  });

  it("refuses an invalid role with 422 naming the field", async () => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, { users: [{ user_id: bob.id, role: "admin" }] });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["users.0.role"]);
  });

  it("refuses an item that names no user with 422", async () => {
    const event = await createEvent(alice);
    const res = await share(alice, event.id, [{ role: "viewer" }]);
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["users.0.user_id"]);
  });

  it("lets an owner grant owner; the co-owner can then share", async () => {
    const event = await sharedEvent([[bob, "owner"]]);
    const res = await share(bob, event.id, { users: [{ user_id: carol.id, role: "editor" }] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([entry(alice, "owner", alice), entry(bob, "owner", alice), entry(carol, "editor", bob)]);
  });

  it("lets a co-owner delete the event", async () => {
    const event = await sharedEvent([[bob, "owner"]]);
    expect((await call("DELETE", `/api/events/${event.id}`, { token: bob.token })).status).toBe(204);
    expectProblem(await getEvent(alice, event.id), 404, "not_found");
  });

  it.each(["editor", "viewer"])("refuses a share by a collaborator with role %s with 403 and grants nothing", async (role) => {
    const event = await sharedEvent([[bob, role]]);
    const res = await share(bob, event.id, { users: [{ user_id: carol.id, role: "viewer" }] });
    expectProblem(res, 403, "forbidden");
    expect((await permissionsOf(alice, event.id)).body).toEqual([entry(alice, "owner", alice), entry(bob, role, alice)]);
  });

  it("answers a stranger's share with 404, without revealing the title", async () => {
    const event = await createEvent(alice, "Secret share target");
    const res = await share(erin, event.id, { users: [{ user_id: carol.id, role: "viewer" }] });
    expectProblem(res, 404, "not_found");
    expect(JSON.stringify(res.body)).not.toContain("Secret share target");
  });
});

describe("GET /api/events/{id}/permissions", () => {
  it.each(["owner", "editor", "viewer"])("lets a collaborator with role %s read the list, the creator first", async (role) => {
    const event = await sharedEvent([[bob, role], [carol, "viewer"]]);
    const res = await permissionsOf(bob, event.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([entry(alice, "owner", alice), entry(bob, role, alice), entry(carol, "viewer", alice)]);
  });

  it("keeps the creator first even when a co-owner lists it", async () => {
    const event = await sharedEvent([[bob, "owner"]]);
    await share(bob, event.id, { users: [{ user_id: carol.id, role: "viewer" }] });
    expect((await permissionsOf(carol, event.id)).body.map((p: { user_id: number }) => p.user_id)).toEqual([alice.id, bob.id, carol.id]);
  });

  it("answers a stranger with 404, without revealing the title", async () => {
    const event = await createEvent(alice, "Secret guest list");
    const res = await permissionsOf(erin, event.id);
    expectProblem(res, 404, "not_found");
    expect(JSON.stringify(res.body)).not.toContain("Secret guest list");
  });
});

describe("PUT /api/events/{id}/permissions/{userId}", () => {
  it("lets an owner set a role and answers 200 with that permission", async () => {
    const event = await sharedEvent([[bob, "viewer"]]);
    const res = await setRole(alice, event.id, bob.id, { role: "EDITOR" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(entry(bob, "editor", alice));
    expect((await getEvent(bob, event.id)).body.my_role).toBe("editor");
  });

  it("lets a co-owner set another collaborator's role", async () => {
    const event = await sharedEvent([[bob, "owner"], [carol, "editor"]]);
    const res = await setRole(bob, event.id, carol.id, { role: "viewer" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(entry(carol, "viewer", bob));
  });

  it.each([
    ["the creator", () => alice],
    ["a co-owner", () => bob],
  ])("refuses changing the creator's role by %s with 422", async (_who, actor) => {
    const event = await sharedEvent([[bob, "owner"]]);
    const res = await setRole(actor(), event.id, alice.id, { role: "viewer" });
    expectProblem(res, 422, "validation_failed");
    expect((await permissionsOf(alice, event.id)).body[0]).toEqual(entry(alice, "owner", alice));
  });

  it("refuses an editor with 403", async () => {
    const event = await sharedEvent([[bob, "editor"], [carol, "viewer"]]);
    expectProblem(await setRole(bob, event.id, carol.id, { role: "editor" }), 403, "forbidden");
    expect((await getEvent(carol, event.id)).body.my_role).toBe("viewer");
  });

  it("answers a stranger with 404", async () => {
    const event = await sharedEvent([[carol, "viewer"]], "Secret role change");
    const res = await setRole(erin, event.id, carol.id, { role: "editor" });
    expectProblem(res, 404, "not_found");
    expect(JSON.stringify(res.body)).not.toContain("Secret role change");
  });

  it("answers 404 for an unknown user", async () => {
    const event = await createEvent(alice);
    expectProblem(await setRole(alice, event.id, 987_654_321, { role: "viewer" }), 404, "not_found");
    expect((await permissionsOf(alice, event.id)).body).toEqual([entry(alice, "owner", alice)]);
  });

  it("refuses an invalid role with 422 naming role", async () => {
    const event = await sharedEvent([[bob, "viewer"]]);
    const res = await setRole(alice, event.id, bob.id, { role: "superuser" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(["role"]);
  });
});

describe("DELETE /api/events/{id}/permissions/{userId}", () => {
  it("lets an owner remove a collaborator (204); the removed user then gets 404 on the event", async () => {
    const event = await sharedEvent([[bob, "editor"]], "Removed from this");
    const res = await call("DELETE", `/api/events/${event.id}/permissions/${bob.id}`, { token: alice.token });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const after = await getEvent(bob, event.id);
    expectProblem(after, 404, "not_found");
    expect(JSON.stringify(after.body)).not.toContain("Removed from this");
    expect((await permissionsOf(alice, event.id)).body).toEqual([entry(alice, "owner", alice)]);
  });

  it("lets a collaborator leave by removing themself (204)", async () => {
    const event = await sharedEvent([[bob, "viewer"], [carol, "editor"]]);
    expect((await revoke(bob, event.id, bob.id)).status).toBe(204);
    expectProblem(await getEvent(bob, event.id), 404, "not_found");
    expect((await permissionsOf(alice, event.id)).body).toEqual([entry(alice, "owner", alice), entry(carol, "editor", alice)]);
  });

  it.each([
    ["the creator themself", () => alice],
    ["a co-owner", () => bob],
  ])("refuses removing the creator by %s with 422", async (_who, actor) => {
    const event = await sharedEvent([[bob, "owner"]]);
    expectProblem(await revoke(actor(), event.id, alice.id), 422, "validation_failed");
    expect((await getEvent(alice, event.id)).body.my_role).toBe("owner");
  });

  it("refuses an editor removing someone else with 403", async () => {
    const event = await sharedEvent([[bob, "editor"], [carol, "viewer"]]);
    expectProblem(await revoke(bob, event.id, carol.id), 403, "forbidden");
    expect((await getEvent(carol, event.id)).status).toBe(200);
  });

  it("answers a stranger with 404", async () => {
    const event = await sharedEvent([[carol, "viewer"]]);
    expectProblem(await revoke(erin, event.id, carol.id), 404, "not_found");
    expect((await getEvent(carol, event.id)).status).toBe(200);
  });

  it("answers 404 when the user holds no permission on the event", async () => {
    const event = await createEvent(alice);
    expectProblem(await revoke(alice, event.id, bob.id), 404, "not_found");
  });
});

describe("shared events in GET /api/events", () => {
  let guest: TestUser;
  let asEditor: number;
  let asViewer: number;
  let own: number;
  beforeAll(async () => {
    guest = await registerUser("guest");
    asEditor = (await sharedEvent([[guest, "editor"]], "Guest edits")).id;
    asViewer = (await sharedEvent([[guest, "viewer"]], "Guest views")).id;
    own = (await createEvent(guest, "Guest's own")).id;
  });

  it("lists own and shared events, each with my_role", async () => {
    const res = await json("GET", "/api/events", { token: guest.token });
    expect(res.status).toBe(200);
    expect(res.body.items.map((e: { id: number; my_role: string }) => [e.id, e.my_role])).toEqual([
      [asEditor, "editor"],
      [asViewer, "viewer"],
      [own, "owner"],
    ]);
  });

  it("filters by role with ?role=editor", async () => {
    const res = await json("GET", "/api/events?role=editor", { token: guest.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [expect.objectContaining({ id: asEditor, title: "Guest edits", owner_id: alice.id, my_role: "editor" })], next_cursor: null });
  });
});

describe("the collaborator cap", () => {
  let extra: { id: number; username: string; email: string }[];
  let crowded: { id: number };
  beforeAll(async () => {
    // These users never log in, so they skip the API's scrypt hashing and register rate limit.
    const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const count = MAX_COLLABORATORS + 1;
    await env.DB.prepare(
      `INSERT INTO users (username, email, password_hash, created_at)
       WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
       SELECT 'cap' || n || '_' || ?2, 'cap' || n || '_' || ?2 || '@example.com', '!', ?3 FROM seq`,
    )
      .bind(count, tag, Date.now())
      .run();
    const { results } = await env.DB.prepare("SELECT id, username, email FROM users WHERE username LIKE 'cap%' || ? ORDER BY id").bind(`_${tag}`).all<{ id: number; username: string; email: string }>();
    extra = results;
    if (extra.length !== count) throw new Error(`seeded ${extra.length} users, wanted ${count}`);
    // Granting 199 people through the API would notify each grant to everyone with access at that
    // point (about 20,000 notifications), so all but the last are written as the share would write them.
    crowded = await nearlyFullEvent("Crowded");
  });

  /** An event of alice's with MAX_COLLABORATORS - 1 viewers: room for one more. */
  async function nearlyFullEvent(title: string) {
    const event = await createEvent(alice, title);
    await env.DB.prepare(
      `INSERT INTO permissions (event_id, user_id, role, granted_by, granted_at, start_time, series_end)
       SELECT e.id, u.value, 'viewer', e.owner_id, ?2, e.start_time, e.series_end FROM events e, json_each(?3) u WHERE e.id = ?1`,
    )
      .bind(event.id, Date.now(), JSON.stringify(extra.slice(0, MAX_COLLABORATORS - 1).map((u) => u.id)))
      .run();
    return event;
  }

  it(`resolves ${MAX_COLLABORATORS} users named in one request; one unknown among them is a 404 that grants nothing`, async () => {
    const event = await createEvent(alice, "Big invite");
    // A few by username and email (each costs a unit of the caller's lookup limit), the rest by id.
    const named = extra.slice(0, MAX_COLLABORATORS - 1).map((u, i) => (i >= 10 || i % 2 === 0 ? { user_id: u.id } : i % 4 === 1 ? { username: u.username.toUpperCase() } : { email: u.email }));
    const res = await share(alice, event.id, [...named, { user_id: 987_654_321 }].map((item) => ({ ...item, role: "viewer" })));
    expectProblem(res, 404, "not_found");
    expect(res.body.errors).toEqual([expect.objectContaining({ field: `users.${MAX_COLLABORATORS - 1}`, index: MAX_COLLABORATORS - 1 })]);
    expect((await permissionsOf(alice, event.id)).body).toEqual([entry(alice, "owner", alice)]);
  });

  it(`takes collaborator ${MAX_COLLABORATORS}, the last one allowed`, async () => {
    const res = await share(alice, crowded.id, { user_id: extra[MAX_COLLABORATORS - 1].id, role: "viewer" });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(MAX_COLLABORATORS + 1);
  });

  it(`refuses collaborator ${MAX_COLLABORATORS + 1} with 422 saying why, and grants nothing`, async () => {
    const res = await share(alice, crowded.id, { user_id: extra[MAX_COLLABORATORS].id, role: "viewer" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors).toEqual([{ field: "users", message: `An event can have at most ${MAX_COLLABORATORS} collaborators.` }]);
    const list = await permissionsOf(alice, crowded.id);
    expect(list.body).toHaveLength(MAX_COLLABORATORS + 1);
    expect(list.body.map((p: { user_id: number }) => p.user_id)).not.toContain(extra[MAX_COLLABORATORS].id);
  });

  it("of two concurrent shares competing for the last place, exactly one succeeds", async () => {
    const event = await nearlyFullEvent("Last seat");
    const results = await Promise.all([MAX_COLLABORATORS - 1, MAX_COLLABORATORS].map((i) => share(alice, event.id, { user_id: extra[i].id, role: "viewer" })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 422]);
    expect((await permissionsOf(alice, event.id)).body).toHaveLength(MAX_COLLABORATORS + 1);
  });

  it("still changes the role of an existing collaborator at the cap", async () => {
    const res = await share(alice, crowded.id, { user_id: extra[0].id, role: "EDITOR" });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(MAX_COLLABORATORS + 1);
    expect(res.body.find((p: { user_id: number }) => p.user_id === extra[0].id).role).toBe("editor");
  });
});

describe("an editor's move is conflict-checked against the owner's calendar", () => {
  it("ignores the editor's own event at the target time", async () => {
    const event = await sharedEvent([[bob, "editor"]]);
    const bobs = await createEvent(bob, "Bob's own");
    const res = await json("PATCH", `/api/events/${event.id}`, { token: bob.token, body: { start_time: bobs.start_time, end_time: bobs.end_time } });
    expect(res.status).toBe(200);
    expect(res.body.start_time).toBe(bobs.start_time);
  });

  /** An event of alice's shared with bob as editor, and another of hers bob cannot see. */
  async function editorMovingOnto() {
    const event = await sharedEvent([[bob, "editor"]]);
    const other = await json("POST", "/api/events", { token: alice.token, body: { title: "Alice's private other", description: "private notes", location: "private room", ...slot() } });
    const res = await json("PATCH", `/api/events/${event.id}`, { token: bob.token, body: { start_time: other.body.start_time, end_time: other.body.end_time } });
    return { res, other: other.body };
  }

  it("answers 409 when the owner has another event at the target time", async () => {
    const { res, other } = await editorMovingOnto();
    expectProblem(res, 409, "conflict");
    expect(res.body.conflicts).toEqual([expect.objectContaining({ start_time: other.start_time, end_time: other.end_time })]);
  });

  it("does not reveal the owner's other event, which the editor cannot see, in the 409", async () => {
    const { res } = await editorMovingOnto();
    expect(res.status).toBe(409);
    for (const secret of ["Alice's private other", "private notes", "private room"]) expect(JSON.stringify(res.body)).not.toContain(secret);
  });
});

describe("permission writes when their premise moves between their read and their batch", () => {
  // A fresh owner of its own: the per-user write limit must not throttle the squeezed request.
  let owner: TestUser;
  beforeAll(async () => {
    owner = await registerUser("race_owner");
  });
  const eventOf = async (grants: [TestUser, string][]) => {
    const res = await json("POST", "/api/events", { token: owner.token, body: { title: "Raced", ...slot() } });
    expect(res.status).toBe(201);
    if (grants.length) expect((await share(owner, res.body.id, grants.map(([user, role]) => ({ user_id: user.id, role })))).status).toBe(200);
    return res.body as { id: number };
  };
  const expectStatus = async (pending: Promise<{ status: number }>, status: number) => expect((await pending).status).toBe(status);
  const notices = async (eventId: number, type: string) =>
    (await env.DB.prepare("SELECT user_id, data FROM notifications WHERE event_id = ? AND type = ? ORDER BY id").bind(eventId, type).all<{ user_id: number; data: string }>()).results;

  it("re-plans a share when the same user's role changed first, so its notice names the role that was really replaced", async () => {
    const event = await eventOf([[bob, "viewer"]]);
    const res = await squeezed(requestAs(owner, "POST", `/api/events/${event.id}/share`, { user_id: bob.id, role: "owner" }), () => expectStatus(setRole(owner, event.id, bob.id, { role: "editor" }), 200));
    expect(res.status).toBe(200);
    const last = (await notices(event.id, "permission_updated")).at(-1)!;
    expect(JSON.parse(last.data)).toMatchObject({ user_id: bob.id, role: "owner", previous_role: "editor" });
    expect((await permissionsOf(owner, event.id)).body).toContainEqual(entry(bob, "owner", owner));
  });

  it("answers 404 to a share whose event was deleted first, leaving no permission or notice of the share", async () => {
    const event = await eventOf([]);
    const res = await squeezed(requestAs(owner, "POST", `/api/events/${event.id}/share`, { user_id: bob.id, role: "viewer" }), () => expectStatus(call("DELETE", `/api/events/${event.id}`, { token: owner.token }), 204));
    expect(res.status).toBe(404);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM permissions WHERE event_id = ?").bind(event.id).first("n")).toBe(0);
    expect(await notices(event.id, "event_shared")).toEqual([]);
  });

  it("answers 404 to a revocation when the collaborator left first, and only the leave is notified", async () => {
    const event = await eventOf([[bob, "editor"], [carol, "viewer"]]);
    const res = await squeezed(requestAs(owner, "DELETE", `/api/events/${event.id}/permissions/${carol.id}`), () => expectStatus(revoke(carol, event.id, carol.id), 204));
    expect(res.status).toBe(404);
    expect((res.body as { code: string }).code).toBe("not_found");
    expect((await notices(event.id, "permission_revoked")).map((n) => n.user_id).sort((a, b) => a - b)).toEqual([owner.id, bob.id, carol.id].sort((a, b) => a - b));
  });

  it("answers 403 to a co-owner's revocation when they were demoted first, and the collaborator keeps access", async () => {
    const event = await eventOf([[bob, "owner"], [carol, "viewer"]]);
    const res = await squeezed(requestAs(bob, "DELETE", `/api/events/${event.id}/permissions/${carol.id}`), () => expectStatus(setRole(owner, event.id, bob.id, { role: "viewer" }), 200));
    expect(res.status).toBe(403);
    expect((await getEvent(carol, event.id)).status).toBe(200);
  });

  it("answers 404 to leaving an event deleted first", async () => {
    const event = await eventOf([[bob, "viewer"]]);
    const res = await squeezed(requestAs(bob, "DELETE", `/api/events/${event.id}/permissions/${bob.id}`), () => expectStatus(call("DELETE", `/api/events/${event.id}`, { token: owner.token }), 204));
    expect(res.status).toBe(404);
    expect(await notices(event.id, "permission_revoked")).toEqual([]);
  });
});
