import { beforeAll, describe, expect, it } from "vitest";
import { REQUIRED_ROLE, type Action } from "../src/events/policy";
import type { Role } from "../src/events/schemas";
import { expectProblem, json, registerUser, type TestUser } from "./helpers";

/** The contract's order of roles: each can do everything the ones before it can. */
const RANK: Record<Role, number> = { viewer: 1, editor: 2, owner: 3 };

type Actor = "owner" | "co-owner" | "editor" | "viewer" | "stranger" | "anonymous" | "removed collaborator";
const ACTORS: Actor[] = ["owner", "co-owner", "editor", "viewer", "stranger", "anonymous", "removed collaborator"];
/** The role each actor holds on every matrix event; null: no access at all. */
const ROLE_OF: Record<Actor, Role | null> = { owner: "owner", "co-owner": "owner", editor: "editor", viewer: "viewer", stranger: null, anonymous: null, "removed collaborator": null };

interface Cast {
  owner: TestUser;
  coOwner: TestUser;
  editor: TestUser;
  viewer: TestUser;
  stranger: TestUser;
  removed: TestUser;
  /** A viewer on every event: the one whose permission the permission routes change or remove. */
  third: TestUser;
}

interface Route {
  method: string;
  path: string;
  action: Action;
  success: 200 | 204;
  body?: (cast: Cast) => unknown;
}

/** Every event, sharing and version route that acts on one event, with the policy action it names. */
const ROUTES: Route[] = [
  { method: "POST", path: "/share", action: "share", success: 200, body: (c) => ({ users: [{ user_id: c.third.id, role: "editor" }] }) },
  { method: "GET", path: "/permissions", action: "read", success: 200 },
  { method: "PUT", path: "/permissions/{third}", action: "manage_permissions", success: 200, body: () => ({ role: "editor" }) },
  { method: "DELETE", path: "/permissions/{third}", action: "manage_permissions", success: 204 },
  { method: "GET", path: "", action: "read", success: 200 },
  { method: "PUT", path: "", action: "update", success: 200, body: () => ({ title: "Changed by PUT" }) },
  { method: "PATCH", path: "", action: "update", success: 200, body: () => ({ description: "Changed by PATCH" }) },
  { method: "DELETE", path: "", action: "delete", success: 204 },
  { method: "GET", path: "/changelog", action: "read", success: 200 },
  { method: "GET", path: "/history/1", action: "read", success: 200 },
  { method: "GET", path: "/diff/1/1", action: "read", success: 200 },
  { method: "POST", path: "/rollback/1", action: "rollback", success: 200 },
];

/** What the contract says this actor gets from this route. */
function expectedStatus(route: Route, actor: Actor): number {
  if (actor === "anonymous") return 401;
  const role = ROLE_OF[actor];
  if (role === null) return 404;
  return RANK[role] >= RANK[REQUIRED_ROLE[route.action]] ? route.success : 403;
}

/** One cell per route and actor, numbered: cell `index` gets event `index`. */
const matrix = ROUTES.map((route, r) => {
  const label = `${route.method} /api/events/{id}${route.path} (needs ${REQUIRED_ROLE[route.action]})`;
  const cells = ACTORS.map((actor, a) => [actor, expectedStatus(route, actor), r * ACTORS.length + a] as const);
  return [label, route, cells] as const;
});
const CELL_COUNT = ROUTES.length * ACTORS.length;

let cast: Cast;
/** One fresh event per cell, so deletes, removals and rollbacks never meet another cell. */
let events: { id: number; title: string }[] = [];

const tokenOf = (actor: Actor): string | undefined =>
  ({ owner: cast.owner, "co-owner": cast.coOwner, editor: cast.editor, viewer: cast.viewer, stranger: cast.stranger, anonymous: undefined, "removed collaborator": cast.removed })[actor]?.token;

/** Runs `task` over `items`, `width` at a time. */
async function inChunks<T>(items: T[], width: number, task: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(task));
}

beforeAll(async () => {
  const owner = await registerUser("owner");
  const coOwner = await registerUser("coowner");
  const editor = await registerUser("editor");
  const viewer = await registerUser("viewer");
  const stranger = await registerUser("stranger");
  const removed = await registerUser("removed");
  const third = await registerUser("third");
  cast = { owner, coOwner, editor, viewer, stranger, removed, third };

  const tag = Math.random().toString(36).slice(2, 8);
  const items = Array.from({ length: CELL_COUNT }, (_, index) => {
    const start = Date.UTC(2037, 0, 1 + index, 9);
    return { title: `Matrix ${tag} cell ${index}`, start_time: new Date(start).toISOString(), end_time: new Date(start + 3600_000).toISOString() };
  });
  const created = await json("POST", "/api/events/batch", { token: owner.token, body: { events: items } });
  if (created.status !== 201) throw new Error(`batch failed: ${created.status} ${JSON.stringify(created.body)}`);
  events = created.body;

  const grants = { users: [[coOwner, "owner"], [editor, "editor"], [viewer, "viewer"], [third, "viewer"], [removed, "editor"]].map(([user, role]) => ({ user_id: (user as TestUser).id, role })) };
  await inChunks(events, 12, async (event) => {
    const shared = await json("POST", `/api/events/${event.id}/share`, { token: owner.token, body: grants });
    if (shared.status !== 200) throw new Error(`share failed: ${shared.status} ${JSON.stringify(shared.body)}`);
    const revoked = await json("DELETE", `/api/events/${event.id}/permissions/${removed.id}`, { token: coOwner.token });
    if (revoked.status !== 204) throw new Error(`removal failed: ${revoked.status} ${JSON.stringify(revoked.body)}`);
  });
});

describe("authorization matrix: every event, sharing and version route against every kind of caller", () => {
  it("covers every action of the policy table", () => {
    expect(new Set(ROUTES.map((r) => r.action))).toEqual(new Set(Object.keys(REQUIRED_ROLE)));
  });

  describe.each(matrix)("%s", (_label, route, cells) => {
    it.each(cells)("%s gets %i", async (actor, status, index) => {
      const event = events[index];
      const path = `/api/events/${event.id}${route.path.replace("{third}", String(cast.third.id))}`;
      const res = await json(route.method, path, { token: tokenOf(actor), body: route.body?.(cast) });
      if (status === route.success) {
        expect(res.status).toBe(status);
        return;
      }
      const code = { 401: "unauthorized", 403: "forbidden", 404: "not_found" }[status as 401 | 403 | 404];
      expectProblem(res, status, code);
      if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      if (status !== 403) expect(JSON.stringify(res.body)).not.toContain(event.title);
      // A refused request changes nothing: same version, same people with the same roles.
      const after = await json("GET", `/api/events/${event.id}`, { token: cast.owner.token });
      expect(after.status).toBe(200);
      expect(after.body.version).toBe(1);
      expect(after.body.permissions.map((p: { user_id: number; role: string }) => [p.user_id, p.role])).toEqual([
        [cast.owner.id, "owner"],
        ...[[cast.coOwner.id, "owner"], [cast.editor.id, "editor"], [cast.viewer.id, "viewer"], [cast.third.id, "viewer"]].sort((a, b) => (a[0] as number) - (b[0] as number)),
      ]);
    });
  });
});
