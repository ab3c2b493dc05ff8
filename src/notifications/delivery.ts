import type { NotificationBody } from "./service";

const hubOf = (env: Env, userId: number) => env.NOTIFICATION_HUB.getByName(String(userId));

/**
 * Pushes committed notifications to their recipients' hubs: one RPC per recipient carrying all of
 * theirs (a 200-user share makes many notifications but at most 201 subrequests), in parallel.
 * Delivery is at-least-once and best-effort: a failed push is logged and the notification stays
 * in D1 for the list and the socket replay, so the change itself never fails because of it.
 *
 * @example
 * c.executionCtx.waitUntil(deliverNotifications(c.env, deliveries));
 */
export async function deliverNotifications(env: Env, deliveries: { userId: number; notification: NotificationBody }[]): Promise<number> {
  const byUser = new Map<number, NotificationBody[]>();
  for (const { userId, notification } of deliveries) byUser.set(userId, [...(byUser.get(userId) ?? []), notification]);
  const results = await Promise.allSettled([...byUser].map(([userId, list]) => hubOf(env, userId).deliverMany(list.sort((a, b) => a.id - b.id))));
  let sockets = 0;
  for (const result of results) {
    if (result.status === "fulfilled") sockets += result.value;
    else console.error("notification delivery failed", result.reason);
  }
  return sockets;
}

/** Closes the sockets of revoked sessions (code 4001). */
export async function closeSessionSockets(env: Env, userId: number, sessionIds: string[]): Promise<number> {
  try {
    return await hubOf(env, userId).closeSessions(sessionIds);
  } catch (error) {
    console.error("closing session sockets failed", error);
    return 0;
  }
}
