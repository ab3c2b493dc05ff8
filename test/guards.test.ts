import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { eventExists, holdsRole, isPremiseFailure, mayStill, permissionsAre, permissionsFingerprint, premiseGuard, rolesAre } from "../src/changes/guards";
import { createDb } from "../src/db/client";
import { notifications, permissions, users } from "../src/db/schema";
import { json, registerUser, slotMaker, type TestUser } from "./helpers";

const db = createDb(env.DB);
const slot = slotMaker(2043);
let owner: TestUser;
let others: TestUser[];
let eventId: number;

/** A write that must be rolled back with the guard: a notification row nobody would otherwise write. */
const marker = (userId: number, message: string) => db.insert(notifications).values({ userId, type: "event_updated", eventId: null, actorId: userId, message, data: "{}", isRead: true, createdAt: 0 });
const markers = async (message: string) => (await db.select().from(notifications).where(eq(notifications.message, message))).length;

/** Runs marker, guard, marker in one batch; true when it committed, false when the guard aborted it. */
async function holds(conditions: Parameters<typeof premiseGuard>[2], message: string): Promise<boolean> {
  try {
    await db.batch([marker(owner.id, message), premiseGuard(db, owner.id, conditions), marker(owner.id, message)]);
    expect(await markers(message)).toBe(2);
    return true;
  } catch (error) {
    expect(isPremiseFailure(error)).toBe(true);
    expect(await markers(message)).toBe(0);
    return false;
  }
}

beforeAll(async () => {
  owner = await registerUser("gd_owner");
  others = [await registerUser("gd_a"), await registerUser("gd_b"), await registerUser("gd_c")];
  const res = await json("POST", "/api/events", { token: owner.token, body: { title: "Guarded", ...slot() } });
  eventId = res.body.id;
  // Granted in reverse id order, so grant order and id order differ.
  for (const [i, user] of [...others].reverse().entries()) {
    expect((await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { user_id: user.id, role: i === 0 ? "editor" : "viewer" } })).status).toBe(200);
  }
});

describe("the premise guard", () => {
  it("lets the batch commit when its premise holds, and leaves the actor's row as it was", async () => {
    const [before] = await db.select().from(users).where(eq(users.id, owner.id));
    expect(await holds([eventExists(eventId, 1), holdsRole(eventId, owner.id, ["owner"])], "holds")).toBe(true);
    const [after] = await db.select().from(users).where(eq(users.id, owner.id));
    expect(after).toEqual(before);
  });

  it("aborts the whole batch, writes before it included, for an event that does not exist: the guard's row is the actor's, not the event's", async () => {
    expect(await holds([eventExists(987_654_321)], "missing event")).toBe(false);
  });

  it("aborts on a moved version, a role the user lacks, and an action the policy does not allow them", async () => {
    expect(await holds([eventExists(eventId, 2)], "other version")).toBe(false);
    expect(await holds([holdsRole(eventId, others[0].id, ["owner"])], "viewer is no owner")).toBe(false);
    expect(await holds([mayStill(eventId, others[2].id, "update")], "editor may update")).toBe(true);
    expect(await holds([mayStill(eventId, others[2].id, "delete")], "editor may not delete")).toBe(false);
  });

  it("pins each named user's role, null meaning no access", async () => {
    const stranger = 987_654_322;
    expect(await holds([rolesAre(eventId, [{ userId: others[0].id, role: "viewer" }, { userId: stranger, role: null }])], "roles as read")).toBe(true);
    expect(await holds([rolesAre(eventId, [{ userId: others[0].id, role: "editor" }])], "role moved")).toBe(false);
    expect(await holds([rolesAre(eventId, [{ userId: stranger, role: "viewer" }])], "access vanished")).toBe(false);
  });

  it("computes the same permission fingerprint in SQL as in code from the rows read, and aborts once any entry changes", async () => {
    const rows = await db.select().from(permissions).where(eq(permissions.eventId, eventId));
    expect(rows).toHaveLength(4);
    expect(await holds([permissionsAre(eventId, permissionsFingerprint(rows))], "fingerprint")).toBe(true);
    const changed = rows.map((r, i) => (i === 1 ? { ...r, role: r.role === "viewer" ? ("editor" as const) : ("viewer" as const) } : r));
    expect(await holds([permissionsAre(eventId, permissionsFingerprint(changed))], "fingerprint moved")).toBe(false);
    expect(await holds([permissionsAre(eventId, permissionsFingerprint(rows.slice(1)))], "fingerprint shorter")).toBe(false);
  });
});
