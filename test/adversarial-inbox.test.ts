import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { listNotifications, UNREAD_COUNT_CAP } from "../src/notifications/service";
import { json, registerUser, type TestUser } from "./helpers";
import { recordingDb, rowsReadOf } from "./support/recording-db";

const SEEDED = 20_000;

/** Sum of D1's rows_read over every statement one listNotifications page runs. */
async function rowsReadOfPage(user: TestUser, query: Parameters<typeof listNotifications>[2]) {
  const { db, statements } = recordingDb();
  const page = await listNotifications(db, user.id, query);
  return { rowsRead: await rowsReadOf(statements), page };
}

let flooded: TestUser;

beforeAll(async () => {
  flooded = await registerUser("advinbox");
  // What a stranger's event shared with the user and updated 120 times every 10 s leaves within an
  // hour or so; seeded in one statement.
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO notifications (user_id, type, event_id, actor_id, message, data, is_read, created_at)
     SELECT ?, 'event_updated', NULL, ?, 'seeded ' || i, '{}', 0, ? FROM n`,
  )
    .bind(SEEDED, flooded.id, flooded.id, Date.now())
    .run();
});

describe("an inbox flooded with unread notifications", () => {
  it(`reads a bounded number of rows for a page of one, however many of its ${SEEDED} notifications are unread`, async () => {
    const { rowsRead, page } = await rowsReadOfPage(flooded, { limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(rowsRead).toBeLessThanOrEqual(2 * (UNREAD_COUNT_CAP + 1) + 10);
  });

  it(`says ${UNREAD_COUNT_CAP} unread (meaning at least that many) once there are more, and counts exactly below it`, async () => {
    expect((await json("GET", "/api/notifications?limit=1", { token: flooded.token })).body.unread_count).toBe(UNREAD_COUNT_CAP);
    const calm = await registerUser("advinboxc");
    const friend = await registerUser("advinboxf");
    const event = await json("POST", "/api/events", { token: friend.token, body: { title: "Few", start_time: "2043-01-01T09:00:00Z", end_time: "2043-01-01T10:00:00Z" } });
    expect((await json("POST", `/api/events/${event.body.id}/share`, { token: friend.token, body: { user_id: calm.id, role: "viewer" } })).status).toBe(200);
    expect((await json("PATCH", `/api/events/${event.body.id}`, { token: friend.token, body: { title: "Fewer" } })).status).toBe(200);
    expect((await json("GET", "/api/notifications?limit=1", { token: calm.token })).body.unread_count).toBe(2);
  });
});
