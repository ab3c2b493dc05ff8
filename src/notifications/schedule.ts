import type { Context } from "hono";
import type { AppEnv } from "../env";
import { deliverNotifications } from "./delivery";
import type { NotificationBody } from "./service";

/**
 * Hands committed notifications to the hubs after the response is sent (waitUntil), so the
 * change's latency never includes the fan-out.
 */
export function scheduleDelivery(c: Context<AppEnv>, deliveries: { userId: number; notification: NotificationBody }[]): void {
  if (deliveries.length) c.executionCtx.waitUntil(deliverNotifications(c.env, deliveries));
}
