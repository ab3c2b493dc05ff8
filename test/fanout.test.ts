import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_COLLABORATORS } from "../src/sharing/schemas";
import { GRANT_PREVIEW } from "../src/sharing/service";
import { json, registerUser, slotMaker, type TestUser } from "./helpers";

const slot = slotMaker(2042);
const COUNT = 200;
let owner: TestUser;
let crowd: { id: number; username: string }[];

/** Notification rows about one event, counted in D1 itself, whatever the API shows. */
async function rowsOf(eventId: number, type: string) {
  const { results } = await env.DB.prepare("SELECT user_id, is_read, message, data FROM notifications WHERE event_id = ? AND type = ? ORDER BY user_id").bind(eventId, type).all<{ user_id: number; is_read: number; message: string; data: string }>();
  return results;
}

const createEvent = async (title: string) => {
  const res = await json("POST", "/api/events", { token: owner.token, body: { title, ...slot() } });
  expect(res.status).toBe(201);
  return res.body.id as number;
};

beforeAll(async () => {
  owner = await registerUser("fo_owner");
  // Seeded in SQL: these users never log in, so they skip scrypt and the register rate limit.
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  await env.DB.prepare(
    `INSERT INTO users (username, email, password_hash, created_at)
     WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
     SELECT 'fo' || n || '_' || ?2, 'fo' || n || '_' || ?2 || '@example.com', '!', ?3 FROM seq`,
  )
    .bind(COUNT, tag, Date.now())
    .run();
  crowd = (await env.DB.prepare("SELECT id, username FROM users WHERE username LIKE 'fo%' || ? ORDER BY id").bind(`_${tag}`).all<{ id: number; username: string }>()).results;
  expect(crowd).toHaveLength(COUNT);
});

describe("fan-out of one request is linear", () => {
  it("the cap allows the 200-user share this suite makes", () => {
    expect(MAX_COLLABORATORS).toBeGreaterThanOrEqual(COUNT);
  });

  it("a share with 200 users writes 201 notification rows: the actor's names all 200 grants, each other names the first ten, the count and its own grant", async () => {
    const eventId = await createEvent("Town hall");
    const before = (await env.DB.prepare("SELECT count(*) AS n FROM notifications").first<{ n: number }>())!.n;
    const res = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { users: crowd.map((u) => ({ user_id: u.id, role: "viewer" })) } });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(COUNT + 1);
    const after = (await env.DB.prepare("SELECT count(*) AS n FROM notifications").first<{ n: number }>())!.n;
    expect(after - before).toBe(COUNT + 1);

    const rows = await rowsOf(eventId, "event_shared");
    expect(rows.map((r) => r.user_id)).toEqual([owner.id, ...crowd.map((u) => u.id)].sort((a, b) => a - b));
    expect(rows.filter((r) => r.is_read).map((r) => r.user_id)).toEqual([owner.id]);
    const expected = crowd.map((u) => ({ user_id: u.id, username: u.username, role: "viewer", previous_role: null }));
    for (const row of rows) {
      const own = expected.find((g) => g.user_id === row.user_id) ?? null;
      expect(JSON.parse(row.data)).toEqual(
        row.user_id === owner.id ? { grants: expected, grant_count: COUNT } : { grants: expected.slice(0, GRANT_PREVIEW), grant_count: COUNT, own_grant: own },
      );
    }
    // Bytes grow linearly too: 201 copies of a ten-grant preview plus one full list.
    const bytes = (await env.DB.prepare("SELECT sum(length(data)) AS n FROM notifications WHERE event_id = ?").bind(eventId).first<{ n: number }>())!.n;
    expect(bytes).toBeLessThan(JSON.stringify(expected).length * 2 + COUNT * 1500);
    expect(rows[0].message).toBe(`${owner.username} shared "Town hall" with ${crowd[0].username}, ${crowd[1].username}, ${crowd[2].username} and ${COUNT - 3} others`);
  });

  it("a recipient sees the multi-user share once in their inbox, with the total and its own grant in data", async () => {
    const eventId = await createEvent("Inbox check");
    const someone = await registerUser("fo_someone");
    const res = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: [...crowd.slice(0, 20).map((u) => ({ user_id: u.id, role: "editor" })), { user_id: someone.id, role: "viewer" }] });
    expect(res.status).toBe(200);
    const inbox = await json("GET", "/api/notifications", { token: someone.token });
    expect(inbox.body.items.map((n: { type: string; event_id: number }) => [n.type, n.event_id])).toEqual([["event_shared", eventId]]);
    expect(inbox.body.items[0].data.grants).toHaveLength(GRANT_PREVIEW);
    expect(inbox.body.items[0].data.grant_count).toBe(21);
    expect(inbox.body.items[0].data.own_grant).toEqual({ user_id: someone.id, username: someone.username, role: "viewer", previous_role: null });
  });

  it("changing the roles of 200 collaborators writes one permission_updated per person with access, naming old and new roles", async () => {
    const eventId = await createEvent("Promotions");
    expect((await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: crowd.map((u) => ({ user_id: u.id, role: "viewer" })) })).status).toBe(200);
    const res = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: crowd.map((u) => ({ user_id: u.id, role: "editor" })) });
    expect(res.status).toBe(200);
    const rows = await rowsOf(eventId, "permission_updated");
    expect(rows).toHaveLength(COUNT + 1);
    expect(new Set(rows.map((r) => r.user_id)).size).toBe(COUNT + 1);
    const data = JSON.parse(rows[0].data) as { grants: { role: string; previous_role: string }[] };
    expect(data.grants).toHaveLength(COUNT);
    expect(data.grants.every((g) => g.role === "editor" && g.previous_role === "viewer")).toBe(true);
    expect(rows[0].message).toMatch(/changed the roles of .* and 197 others on "Promotions"$/);
  });

  it("names only the grants that change anything, and notifies nobody when none does", async () => {
    const eventId = await createEvent("Partial");
    const [a, b, c] = crowd;
    expect((await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: [{ user_id: a.id, role: "viewer" }, { user_id: b.id, role: "viewer" }] })).status).toBe(200);
    const again = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: [{ user_id: a.id, role: "viewer" }, { user_id: b.id, role: "editor" }, { user_id: c.id, role: "viewer" }] });
    expect(again.status).toBe(200);
    const rows = await rowsOf(eventId, "event_shared");
    // The first share reached owner, a and b; the second reached those and c, once each.
    expect(rows).toHaveLength(3 + 4);
    const second = rows.filter((r) => JSON.parse(r.data).grants.some((g: { user_id: number }) => g.user_id === c.id));
    expect(second.map((r) => r.user_id)).toEqual([owner.id, a.id, b.id, c.id].sort((x, y) => x - y));
    expect(JSON.parse(second[0].data).grants).toEqual([
      { user_id: b.id, username: b.username, role: "editor", previous_role: "viewer" },
      { user_id: c.id, username: c.username, role: "viewer", previous_role: null },
    ]);
    const total = async () => (await env.DB.prepare("SELECT count(*) AS n FROM notifications WHERE event_id = ?").bind(eventId).first<{ n: number }>())!.n;
    const before = await total();
    expect((await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: [{ user_id: a.id, role: "viewer" }] })).status).toBe(200);
    expect(await total()).toBe(before);
  });

  it("keeps a single grant's notice flat as well, so one-user shares read as before", async () => {
    const eventId = await createEvent("Solo");
    const [a] = crowd;
    expect((await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { user_id: a.id, role: "viewer" } })).status).toBe(200);
    const rows = await rowsOf(eventId, "event_shared");
    expect(rows).toHaveLength(2);
    const grant = { user_id: a.id, username: a.username, role: "viewer", previous_role: null };
    expect(JSON.parse(rows[0].data)).toEqual({ grants: [grant], ...grant });
    expect(rows[0].message).toBe(`${owner.username} shared "Solo" with ${a.username} as viewer`);
  });
});
