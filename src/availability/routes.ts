import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as z from "../lib/zod";
import { authenticated, sessionCheckedBatch } from "../auth/middleware";
import type { AppEnv } from "../env";
import { bodyOf, createRouter, problemResponses, queryInstant } from "../lib/openapi";
import { enforceRateLimit, RATE_LIMIT_PERIODS } from "../lib/rate-limit";
import { isValidTimeZone } from "../recurrence";
import { assertAvailabilityWindow, findTime, freeBusy, MAX_SLOTS, WEEKDAYS, type UserRef } from "./service";

const tags = ["Availability"];

const UserRefSchema = z.union([z.number().int().positive(), z.string().min(1).max(254)]).openapi({ description: "A user id, a username, or an email", example: "bob" });
const Instant = z.string().max(64).openapi({ example: "2031-03-02T00:00:00Z" });
const Interval = z.object({ start_time: z.string(), end_time: z.string() });
const window = {
  start: Instant,
  end: Instant,
  users: z.array(UserRefSchema).min(1).max(1000),
};

const FreeBusyBody = z.object(window).openapi("FreeBusyRequest");
const FreeBusyAnswer = z
  .object({
    users: z.array(
      z.union([
        z.object({ index: z.number().int(), user: z.object({ id: z.number().int(), username: z.string() }), busy: z.array(Interval) }),
        z.object({ index: z.number().int(), user: z.null(), error: z.enum(["not_visible", "not_found"]) }),
      ]),
    ),
  })
  .openapi("FreeBusy");

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, "HH:MM, 00:00 to 24:00.");
const FindTimeBody = z
  .object({
    ...window,
    duration_minutes: z.number().int().min(1).max(1440),
    working_hours: z
      .object({
        start: clock.openapi({ example: "09:00" }),
        end: clock.openapi({ example: "17:00" }),
        timezone: z.string().max(64).refine(isValidTimeZone, "Not an IANA time zone name.").openapi({ example: "Europe/Berlin" }),
        days: z.array(z.enum(WEEKDAYS)).min(1).max(7).default(["MO", "TU", "WE", "TH", "FR"]),
      })
      .refine((h) => minutes(h.end) > minutes(h.start), { message: "Must be after start.", path: ["end"] })
      .optional(),
    limit: z.number().int().min(1).max(MAX_SLOTS).default(20),
  })
  .openapi("FindTimeRequest");
const FindTimeAnswer = z.object({ items: z.array(Interval), unavailable: z.array(z.object({ index: z.number().int(), error: z.enum(["not_visible", "not_found"]) })) }).openapi("FindTime");

function minutes(clockTime: string): number {
  const [h, m] = clockTime.split(":").map(Number);
  return h * 60 + m;
}

const freeBusyRoute = createRoute({
  method: "post",
  path: "/freebusy",
  operationId: "getFreeBusy",
  tags,
  ...authenticated({ sessionCheck: "first-batch", readOnly: true }),
  request: { body: { ...bodyOf(FreeBusyBody, "Window and users"), required: true } },
  responses: { 200: bodyOf(FreeBusyAnswer, "In request order"), ...problemResponses(400, 401, 413, 415, 422, 429) },
});

const findTimeRoute = createRoute({
  method: "post",
  path: "/find-time",
  operationId: "findTime",
  tags,
  ...authenticated({ sessionCheck: "first-batch", readOnly: true }),
  request: { body: { ...bodyOf(FindTimeBody, "Users, duration, window"), required: true } },
  responses: { 200: bodyOf(FindTimeAnswer, "Free slots"), ...problemResponses(400, 401, 413, 415, 422, 429) },
});

/** Each username or email tells the caller whether that account exists: one lookup unit each. */
async function limitLookups(c: Context<AppEnv>, refs: UserRef[]) {
  const key = `user:${c.var.claims.userId}`;
  // A name repeated tells nothing new: one unit per distinct name (matched case-insensitively, as resolved).
  const names = new Set(refs.flatMap((ref) => (typeof ref === "string" ? [ref.toLowerCase()] : [])));
  for (let i = 0; i < names.size; i++) await enforceRateLimit(c.env, c.env.LOOKUP_LIMITER, key, RATE_LIMIT_PERIODS.lookup);
}

/** The window's instants, checked with the user count before any name is looked up: a refused request spends no lookup budget. */
function instants(body: { start: string; end: string; users: UserRef[] }) {
  const window = { start: queryInstant(body.start, "start")!, end: queryInstant(body.end, "end")! };
  assertAvailabilityWindow(window.start, window.end, body.users.length);
  return window;
}

export const availabilityRoutes = createRouter()
  .openapi(freeBusyRoute, async (c) => {
    const body = c.req.valid("json");
    const { start, end } = instants(body);
    await limitLookups(c, body.users);
    const users = await freeBusy(c.var.db, c.var.claims.userId, { start, end, users: body.users }, sessionCheckedBatch(c));
    return c.json({ users }, 200);
  })
  .openapi(findTimeRoute, async (c) => {
    const body = c.req.valid("json");
    const { start, end } = instants(body);
    await limitLookups(c, body.users);
    const hours = body.working_hours;
    const workingHours = hours && { start: minutes(hours.start), end: minutes(hours.end), timezone: hours.timezone, days: hours.days.map((d) => WEEKDAYS.indexOf(d)) };
    const result = await findTime(c.var.db, c.var.claims.userId, { start, end, users: body.users, durationMinutes: body.duration_minutes, workingHours, limit: body.limit }, sessionCheckedBatch(c));
    return c.json(result, 200);
  });
