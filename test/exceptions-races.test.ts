import { decode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { call, json, registerUser, type TestUser } from "./helpers";
import { requestAs, squeezed } from "./support/faults";

/** Twelve Mondays, 09:00-10:00 UTC, from 2043-01-05. */
const WEEKLY = { title: "Standup", start_time: "2043-01-05T09:00:00Z", end_time: "2043-01-05T10:00:00Z", is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=12" };
const monday = (week: number) => new Date(Date.UTC(2043, 0, 5 + 7 * week, 9)).toISOString().replace(".000Z", "Z");

async function series(user: TestUser) {
  const made = await json("POST", "/api/events", { token: user.token, body: WEEKLY });
  expect(made.status).toBe(201);
  return { id: made.body.id as number, etag: made.headers.get("etag")! };
}

describe("concurrent exception writes", () => {
  it("ten concurrent cancellations without If-Match all land, each as its own version", async () => {
    const user = await registerUser("r_many");
    const { id } = await series(user);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => json("DELETE", `/api/events/${id}/occurrences/${monday(i + 1)}`, { token: user.token })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(204));
    const exceptions = (await json("GET", `/api/events/${id}/exceptions`, { token: user.token })).body.items;
    expect(exceptions.map((x: { original_start: string }) => x.original_start)).toEqual(Array.from({ length: 10 }, (_, i) => monday(i + 1)));
    const log = (await json("GET", `/api/events/${id}/changelog`, { token: user.token })).body.items;
    expect(log.map((e: { version: number }) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("of ten concurrent changes with the same If-Match exactly one wins and nine get 412", async () => {
    const user = await registerUser("r_match");
    const { id, etag } = await series(user);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => json("PATCH", `/api/events/${id}/occurrences/${monday(i + 1)}`, { token: user.token, headers: { "If-Match": etag }, body: { title: `Change ${i}` } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(412)]);
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: user.token })).body.items).toHaveLength(1);
  });

  it("a split that loses a race to a cancellation plans again and carries the new exception into the following series", async () => {
    const user = await registerUser("r_split");
    const { id } = await series(user);
    const res = await squeezed(requestAs(user, "PATCH", `/api/events/${id}/occurrences/${monday(4)}?scope=following`, { title: "Later" }), () =>
      json("DELETE", `/api/events/${id}/occurrences/${monday(6)}`, { token: user.token }),
    );
    expect(res.status).toBe(200);
    const following = (res.body as { following: { id: number; version: number } }).following;
    expect((await json("GET", `/api/events/${following.id}/exceptions`, { token: user.token })).body.items).toEqual([{ original_start: monday(6), cancelled: true }]);
    expect((await json("GET", `/api/events/${id}/exceptions`, { token: user.token })).body.items).toEqual([]);
    expect((await json("GET", `/api/events/${id}`, { token: user.token })).body.version).toBe(3);
  });

  it("a cancellation that loses a race to a split of the series at an earlier occurrence is a 404: the occurrence now belongs to the following series", async () => {
    const user = await registerUser("r_cancel");
    const { id } = await series(user);
    const res = await squeezed(requestAs(user, "DELETE", `/api/events/${id}/occurrences/${monday(6)}`), () =>
      json("PATCH", `/api/events/${id}/occurrences/${monday(4)}?scope=following`, { token: user.token, body: { title: "Later" } }),
    );
    expect(res.status).toBe(404);
  });
});

describe("formats", () => {
  it("answers a PATCH of an occurrence in MessagePack when asked, deep-equal to the JSON answer", async () => {
    const user = await registerUser("r_msgpack");
    const { id } = await series(user);
    const packed = await call("PATCH", `/api/events/${id}/occurrences/${monday(1)}`, { token: user.token, body: { title: "Packed" }, msgpack: "application/msgpack", accept: "application/msgpack" });
    expect(packed.status).toBe(200);
    expect(packed.headers.get("content-type")).toContain("application/msgpack");
    const body = decode(new Uint8Array(await packed.arrayBuffer()));
    const plain = await json("PATCH", `/api/events/${id}/occurrences/${monday(1)}`, { token: user.token, body: { title: "Packed" } });
    expect(body).toEqual(plain.body);
  });
});
