import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_COLLABORATORS } from "../src/sharing/schemas";
import { silentUsers } from "./support/integrity";
import { json, registerUser, type TestUser, slotMaker } from "./helpers";

const slot = slotMaker(2033);

async function createEvent(owner: TestUser, title: string) {
  const res = await json("POST", "/api/events", { token: owner.token, body: { title, ...slot() } });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

async function share(owner: TestUser, eventId: number, user: TestUser, role: string) {
  const res = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { user_id: user.id, role } });
  expect(res.status).toBe(200);
}

/** Every item of a paged collection, following next_cursor to the end. */
async function allPages<T>(user: TestUser, path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const page = await json("GET", `${path}${separator}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: user.token });
    expect(page.status).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  return items;
}

/** A logical clock: JavaScript here is single-threaded, so ticks order every send and receipt exactly. */
let clock = 0;
const tick = () => ++clock;

describe("revoking a collaborator while they update", () => {
  it("refuses every update sent after the revoke answered, and every update that succeeded is in the changelog under the editor, versions contiguous", async () => {
    const [owner, editor] = await Promise.all([registerUser("rv_owner"), registerUser("rv_editor")]);
    const eventId = await createEvent(owner, "Revoked mid-edit");
    await share(owner, eventId, editor, "editor");

    const patches: { lane: number; i: number; sentAt: number; status: number; version?: number; description: string }[] = [];
    let revokedAt = Number.POSITIVE_INFINITY;
    let revoke: Promise<void> | undefined;
    const startRevoke = () =>
      (revoke ??= json("DELETE", `/api/events/${eventId}/permissions/${editor.id}`, { token: owner.token }).then((res) => {
        revokedAt = tick();
        expect(res.status).toBe(204);
      }));
    // Two lanes of back-to-back PATCHes; the owner revokes once four have succeeded, and the lanes
    // go on until each has sent a few after the revoke's answer arrived.
    const lane = async (n: number) => {
      let sentAfterRevoke = 0;
      for (let i = 0; i < 60 && sentAfterRevoke < 4; i++) {
        const description = `lane ${n} edit ${i}`;
        const sentAt = tick();
        if (sentAt > revokedAt) sentAfterRevoke++;
        const res = await json("PATCH", `/api/events/${eventId}`, { token: editor.token, body: { description } });
        patches.push({ lane: n, i, sentAt, status: res.status, version: res.body?.version, description });
        if (patches.filter((p) => p.status === 200).length >= 4) void startRevoke();
      }
    };
    await Promise.all([lane(0), lane(1)]);
    await revoke;

    const after = patches.filter((p) => p.sentAt > revokedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(after.map((p) => p.status)).toEqual(after.map(() => 404));
    expect(patches.filter((p) => p.status !== 200 && p.status !== 404)).toEqual([]);

    const succeeded = patches.filter((p) => p.status === 200);
    expect(succeeded.length).toBeGreaterThanOrEqual(4);
    const changelog = await allPages<{ version: number; action: string; changed_by: { id: number }; changes: { description?: { to: string } } }>(owner, `/api/events/${eventId}/changelog`);
    expect(changelog.map((entry) => entry.version)).toEqual(changelog.map((_, i) => i + 1));
    const byEditor = changelog.filter((entry) => entry.changed_by.id === editor.id);
    expect(byEditor).toHaveLength(succeeded.length);
    for (const patch of succeeded) {
      const entry = changelog.find((e) => e.version === patch.version);
      expect({ version: patch.version, by: entry?.changed_by.id, action: entry?.action, to: entry?.changes.description?.to }).toEqual({
        version: patch.version,
        by: editor.id,
        action: "updated",
        to: patch.description,
      });
    }
    const current = await json("GET", `/api/events/${eventId}`, { token: owner.token });
    expect(current.body.version).toBe(changelog.length);
  });
});

describe("refreshing one refresh token twice at once", () => {
  it("lets exactly one of the two succeed, and the reuse then revokes the session: the winner's new tokens stop working too", async () => {
    const users = await Promise.all([0, 1, 2].map(() => registerUser("rf_twice")));
    for (const user of users) {
      const results = await Promise.all([0, 1].map(() => json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })));
      expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
      const winner = results.find((r) => r.status === 200)!.body;
      expect(winner.user.id).toBe(user.id);
      expect((await json("GET", "/api/auth/me", { token: winner.access_token })).status).toBe(401);
      expect((await json("POST", "/api/auth/refresh", { body: { refresh_token: winner.refresh_token } })).status).toBe(401);
      expect((await json("GET", "/api/auth/me", { token: user.token })).status).toBe(401);
    }
  });

  it("lets exactly one of five parallel refreshes succeed", async () => {
    const user = await registerUser("rf_five");
    const results = await Promise.all([0, 1, 2, 3, 4].map(() => json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
  });
});

describe("marking all read while new notifications arrive", () => {
  it("keeps unread_count equal to the unread items listed, and the unread ones are exactly those created after the read-all", async () => {
    const [owner, reader] = await Promise.all([registerUser("mr_owner"), registerUser("mr_reader")]);
    const eventId = await createEvent(owner, "Busy event");
    await share(owner, eventId, reader, "viewer");
    let edit = 0;
    const update = () => json("PATCH", `/api/events/${eventId}`, { token: owner.token, body: { description: `edit ${edit++}` } });
    for (let i = 0; i < 3; i++) expect((await update()).status).toBe(200);

    for (let round = 0; round < 3; round++) {
      const pending: Promise<{ status: number }>[] = [];
      for (let i = 0; i < 6; i++) {
        if (i === 2) pending.push(json("POST", "/api/notifications/read-all", { token: reader.token }));
        pending.push(update());
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const statuses = (await Promise.all(pending)).map((r) => r.status);
      expect(statuses.filter((s) => s !== 200)).toEqual([204]);

      const items = await allPages<{ id: number; is_read: boolean; type: string }>(reader, "/api/notifications");
      const first = await json("GET", "/api/notifications?limit=1", { token: reader.token });
      const unread = items.filter((n) => !n.is_read);
      expect(first.body.unread_count).toBe(unread.length);
      expect((await json("GET", "/api/notifications?unread=true&limit=1", { token: reader.token })).body.unread_count).toBe(unread.length);
      const unreadListed = await allPages<{ id: number }>(reader, "/api/notifications?unread=true");
      expect(unreadListed.map((n) => n.id).sort()).toEqual(unread.map((n) => n.id).sort());
      // One UPDATE marks everything up to the moment it runs: unread items are a suffix by id.
      const newestRead = Math.max(...items.filter((n) => n.is_read).map((n) => n.id));
      expect(unread.every((n) => n.id > newestRead)).toBe(true);
      expect(unread.length).toBeLessThanOrEqual(6);
      expect(items).toHaveLength(1 + 3 + 6 * (round + 1));
    }
  });
});

describe("sharing one event with many users at once", () => {
  it("ends with each user listed exactly once, with a role one of the requests set, after ten shares, a repeat share and a role change race", async () => {
    const [owner, existing, ...newcomers] = await Promise.all(Array.from({ length: 12 }, (_, i) => registerUser(i === 0 ? "sh_owner" : "sh_user")));
    const eventId = await createEvent(owner, "Popular event");
    await share(owner, eventId, existing, "viewer");

    const roleOf = (i: number) => (i % 2 === 0 ? "viewer" : "editor");
    const results = await Promise.all([
      ...newcomers.map((user, i) => json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { user_id: user.id, role: roleOf(i) } })),
      json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { username: newcomers[0].username, role: "EDITOR" } }),
      json("PUT", `/api/events/${eventId}/permissions/${existing.id}`, { token: owner.token, body: { role: "editor" } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));

    const permissions = (await json("GET", `/api/events/${eventId}/permissions`, { token: owner.token })).body as { user_id: number; role: string }[];
    const ids = permissions.map((p) => p.user_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort((a, b) => a - b)).toEqual([owner.id, existing.id, ...newcomers.map((u) => u.id)].sort((a, b) => a - b));
    expect(permissions[0]).toMatchObject({ user_id: owner.id, role: "owner" });
    const role = new Map(permissions.map((p) => [p.user_id, p.role]));
    expect(role.get(existing.id)).toBe("editor");
    expect(["viewer", "editor"]).toContain(role.get(newcomers[0].id));
    newcomers.slice(1).forEach((user, i) => expect(role.get(user.id)).toBe(roleOf(i + 1)));

    // Everyone sees the event exactly once in their list.
    for (const user of [existing, ...newcomers]) {
      const listed = await allPages<{ id: number; my_role: string }>(user, "/api/events");
      expect(listed.filter((e) => e.id === eventId).map((e) => e.my_role)).toEqual([role.get(user.id)]);
    }
  });
});

describe("two shares that together pass the collaborator limit", () => {
  it(`let exactly one through: ${MAX_COLLABORATORS} collaborators at most, the loser gets 422 and grants no one`, async () => {
    const owner = await registerUser("cap_owner");
    const eventId = await createEvent(owner, "Crowded");
    const half = Math.ceil(MAX_COLLABORATORS * 0.75);
    const ids = await silentUsers(env.DB, "cap", half * 2);
    const [first, second] = [ids.slice(0, half), ids.slice(half)];
    const results = await Promise.all(
      [first, second].map((group) => json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: group.map((id) => ({ user_id: id, role: "viewer" })) })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 422]);
    const winner = results[0].status === 200 ? first : second;
    const { results: rows } = await env.DB.prepare("SELECT user_id FROM permissions WHERE event_id = ? AND user_id <> ?").bind(eventId, owner.id).all<{ user_id: number }>();
    expect(rows.map((r) => r.user_id).sort((a, b) => a - b)).toEqual(winner);
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM notifications WHERE event_id = ? AND type IN ('event_shared', 'permission_updated')").bind(eventId).first<{ n: number }>())!;
    // One notification per recipient of the winning share: its grantees and the owner.
    expect(n).toBe(winner.length + 1);
  });
});

describe("several owners deleting one event at once", () => {
  it("lets exactly one delete succeed; the others find nothing, and each former holder gets one deletion notice", async () => {
    for (let trial = 0; trial < 5; trial++) {
      const [creator, coOwner, viewer] = await Promise.all([registerUser("dd_creator"), registerUser("dd_coowner"), registerUser("dd_viewer")]);
      const eventId = await createEvent(creator, `Deleted thrice ${trial}`);
      await share(creator, eventId, coOwner, "owner");
      await share(creator, eventId, viewer, "viewer");
      const results = await Promise.all([creator, coOwner, creator, coOwner].map((user) => json("DELETE", `/api/events/${eventId}`, { token: user.token })));
      expect(results.map((r) => r.status).sort()).toEqual([204, 404, 404, 404]);
      const { results: notices } = await env.DB.prepare("SELECT user_id, count(*) AS n FROM notifications WHERE event_id = ? AND type = 'event_deleted' GROUP BY user_id ORDER BY user_id")
        .bind(eventId)
        .all<{ user_id: number; n: number }>();
      expect(notices).toEqual([creator, coOwner, viewer].map((u) => ({ user_id: u.id, n: 1 })).sort((a, b) => a.user_id - b.user_id));
    }
  });
});

describe("concurrent writes to one event", () => {
  it("with the same If-Match: exactly one of eight succeeds, the rest answer 412 and write nothing", async () => {
    const [owner, ...editors] = await Promise.all(["im_owner", "im_editor", "im_editor", "im_editor", "im_editor"].map((p) => registerUser(p)));
    const eventId = await createEvent(owner, "Contended");
    for (const editor of editors) await share(owner, eventId, editor, "editor");
    const writers = [owner, ...editors, ...editors.slice(0, 3)];
    const etags = await Promise.all(writers.map(async (user) => (await json("GET", `/api/events/${eventId}`, { token: user.token })).headers.get("etag")!));
    const results = await Promise.all(writers.map((user, i) => json("PATCH", `/api/events/${eventId}`, { token: user.token, headers: { "If-Match": etags[i] }, body: { description: `writer ${i}` } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    const changelog = await allPages<{ version: number }>(owner, `/api/events/${eventId}/changelog`);
    expect(changelog.map((e) => e.version)).toEqual([1, 2]);
  });

  it("without If-Match: every one of twenty is applied on top of the others (200, or 409 after too many retries, which writes nothing)", async () => {
    const [owner, ...editors] = await Promise.all(["ra_owner", "ra_editor", "ra_editor", "ra_editor"].map((p) => registerUser(p)));
    const eventId = await createEvent(owner, "Re-applied");
    for (const editor of editors) await share(owner, eventId, editor, "editor");
    const writers = Array.from({ length: 20 }, (_, i) => [owner, ...editors][i % 4]);
    const results = await Promise.all(writers.map((user, i) => json("PATCH", `/api/events/${eventId}`, { token: user.token, body: { description: `write ${i}` } })));
    expect(results.filter((r) => r.status !== 200 && r.status !== 409).map((r) => r.status)).toEqual([]);
    const applied = results.flatMap((r, i) => (r.status === 200 ? [{ i, version: r.body.version as number }] : []));
    const changelog = await allPages<{ version: number; changed_by: { id: number }; changes: { description?: { to: string } } }>(owner, `/api/events/${eventId}/changelog`);
    expect(changelog.map((e) => e.version)).toEqual(Array.from({ length: applied.length + 1 }, (_, i) => i + 1));
    for (const { i, version } of applied) {
      expect({ i, version, entry: changelog[version - 1] }).toMatchObject({ i, version, entry: { changed_by: { id: writers[i].id }, changes: { description: { to: `write ${i}` } } } });
    }
    expect(applied.length).toBeGreaterThanOrEqual(15);
  });
});

describe("logging out while the same session writes", () => {
  it("refuses every write sent after the logout answered with 401, and every write that got 200 is in the changelog, no other", async () => {
    const user = await registerUser("lo_writer");
    const eventId = await createEvent(user, "Written during logout");
    const writes: { i: number; sentAt: number; status: number; version?: number }[] = [];
    let loggedOutAt = Number.POSITIVE_INFINITY;
    let logout: Promise<void> | undefined;
    const lane = async (n: number) => {
      for (let i = 0; i < 40; i++) {
        const sentAt = tick();
        if (sentAt > loggedOutAt && writes.filter((w) => w.sentAt > loggedOutAt).length >= 6) break;
        const res = await json("PATCH", `/api/events/${eventId}`, { token: user.token, body: { description: `lane ${n} write ${i}` } });
        writes.push({ i: n * 100 + i, sentAt, status: res.status, version: res.body?.version });
        if (writes.filter((w) => w.status === 200).length >= 3) {
          logout ??= json("POST", "/api/auth/logout", { token: user.token, body: { refresh_token: user.refresh } }).then((res) => {
            loggedOutAt = tick();
            expect(res.status).toBe(204);
          });
        }
      }
    };
    await Promise.all([lane(0), lane(1)]);
    await logout;
    const late = writes.filter((w) => w.sentAt > loggedOutAt);
    expect(late.length).toBeGreaterThan(0);
    expect(late.map((w) => w.status)).toEqual(late.map(() => 401));
    expect(writes.filter((w) => w.status !== 200 && w.status !== 401)).toEqual([]);
    const { results } = await env.DB.prepare("SELECT version FROM versions WHERE event_id = ? ORDER BY version").bind(eventId).all<{ version: number }>();
    const succeeded = writes.filter((w) => w.status === 200).map((w) => w.version!).sort((a, b) => a - b);
    expect(results.map((r) => r.version)).toEqual([1, ...succeeded]);
  });
});
