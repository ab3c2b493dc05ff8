import { beforeAll, describe, expect, it } from "vitest";
import { expectProblem, json, registerUser, slotMaker, type TestUser } from "./helpers";
import { inOneWindow } from "./support/rate-window";

/** LOOKUP_LIMITER in wrangler.toml: 30 names per 60 s per caller. */
const LOOKUPS_PER_MINUTE = 30;
const slot = slotMaker(2063);

let others: TestUser[];

beforeAll(async () => {
  others = await Promise.all([registerUser("look_a"), registerUser("look_b")]);
});

async function ownerWithEvent() {
  const owner = await registerUser("lookup");
  const event = (await json("POST", "/api/events", { token: owner.token, body: { title: "Lookups", ...slot() } })).body;
  return { owner, event };
}

const share = (owner: TestUser, eventId: number, body: unknown) => json("POST", `/api/events/${eventId}/share`, { token: owner.token, body });

describe("user lookups by username or email are limited per caller", () => {
  it("lets normal sharing by username and email through", async () => {
    const { owner, event } = await ownerWithEvent();
    const res = await share(owner, event.id, [
      { username: others[0].username, role: "viewer" },
      { email: others[1].email, role: "editor" },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(3);
  });

  it("refuses with 429 and Retry-After once a caller has named too many users, and charges every name", async () => {
    const { owner, event } = await ownerWithEvent();
    let limited: Awaited<ReturnType<typeof json>> | undefined;
    let requests = 0;
    // The loop tolerates a window boundary; the checks after the first 429 need the same window.
    await inOneWindow(60, 15_000);
    // Ten names a request; a fixed window may straddle the run, so allow up to twice the limit.
    for (; requests < (2 * LOOKUPS_PER_MINUTE) / 10 + 1 && !limited; requests++) {
      const res = await share(owner, event.id, Array.from({ length: 10 }, () => ({ username: others[0].username, role: "viewer" })));
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect(limited).toBeDefined();
    expectProblem(limited!, 429, "rate_limited");
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(requests).toBeLessThanOrEqual((2 * LOOKUPS_PER_MINUTE) / 10 + 1);
    expect(requests).toBeGreaterThan(LOOKUPS_PER_MINUTE / 10 - 1);
    // Unknown names are charged too: probing is what the limit is for.
    expectProblem(await share(owner, event.id, { username: "no_such_user_anywhere", role: "viewer" }), 429, "rate_limited");
    // Sharing by user_id needs no lookup and stays open.
    const byId = await share(owner, event.id, { user_id: others[1].id, role: "editor" });
    expect(byId.status).toBe(200);
    // Setting a role names the user by id in the path.
    expect((await json("PUT", `/api/events/${event.id}/permissions/${others[0].id}`, { token: owner.token, body: { role: "editor" } })).status).toBe(200);
  });

  it("keeps each caller's budget separate", async () => {
    const first = await ownerWithEvent();
    await inOneWindow(60, 10_000);
    for (let i = 0; i < 7; i++) await share(first.owner, first.event.id, Array.from({ length: 10 }, () => ({ email: others[1].email, role: "viewer" })));
    expectProblem(await share(first.owner, first.event.id, { email: others[1].email, role: "viewer" }), 429, "rate_limited");
    const second = await ownerWithEvent();
    expect((await share(second.owner, second.event.id, { email: others[1].email, role: "viewer" })).status).toBe(200);
  });

  it("answers an unknown name with a 404 that does not echo it", async () => {
    const { owner, event } = await ownerWithEvent();
    for (const item of [{ username: "zz_unknown_person" }, { email: "zz-unknown@example.org" }]) {
      const res = await share(owner, event.id, { ...item, role: "viewer" });
      expectProblem(res, 404, "not_found");
      const named = Object.values(item)[0];
      expect(JSON.stringify(res.body).toLowerCase()).not.toContain(named.toLowerCase());
      expect(res.body.errors).toEqual([{ field: "users.0", message: expect.any(String), index: 0 }]);
    }
  });
});
