import * as z from "../lib/zod";
import { PageQuery, ProblemSchema, Timestamp, problemResponse } from "../lib/openapi";
import { bodyContentErrors } from "./content";

export const ROLES = ["owner", "editor", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** Role names are case-insensitive on input, lower-case on output. */
export const RoleInput = z.preprocess((v) => (typeof v === "string" ? v.toLowerCase() : v), z.enum(ROLES)).openapi({ type: "string", enum: [...ROLES] });

const nonBlank = (max: number) =>
  z
    .string()
    .max(max, `At most ${max} characters.`)
    .refine((s) => s.trim().length > 0, "Must not be empty.");

// Descriptions and examples of these members are in src/docs/prose.ts (SCHEMAS), out of the bundle.
const isoTime = z.string().max(64);

/** Writable fields of an event. Times are parsed by the service, which knows the event's time zone. */
const writable = {
  title: nonBlank(200),
  description: z.string().max(10_000, "At most 10,000 characters."),
  start_time: isoTime,
  end_time: isoTime,
  location: z.string().max(500, "At most 500 characters.").nullable(),
  is_recurring: z.boolean(),
  recurrence_pattern: z.string().max(500).nullable(),
  timezone: z.string().max(64),
};

/**
 * Adds the service's cross-field checks (times, their range and order, time zone, rule) to the
 * schema's own, even when a field already failed, so one 422 names every failing field. The
 * service runs them again on the content it stores; they are cheap.
 */
const crossFieldChecks = (partial: boolean) => (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
  // With `when` the check runs even when the body is not an object at all (null, an array).
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  for (const error of bodyContentErrors(value, partial)) ctx.addIssue({ code: "custom", path: [error.field], message: error.message });
};

export const EventCreate = z
  .object({
    ...writable,
    description: writable.description.default(""),
    location: writable.location.optional(),
    is_recurring: writable.is_recurring.default(false),
    recurrence_pattern: writable.recurrence_pattern.optional(),
    timezone: writable.timezone.default("UTC"),
  })
  .superRefine(crossFieldChecks(false), { when: () => true })
  .openapi("EventCreate");
export type EventCreateInput = z.infer<typeof EventCreate>;

export const EventPatch = z
  .object({
    ...writable,
    title: writable.title.optional(),
    description: writable.description.nullable().optional(),
    start_time: writable.start_time.optional(),
    end_time: writable.end_time.optional(),
    location: writable.location.optional(),
    is_recurring: writable.is_recurring.nullable().optional(),
    recurrence_pattern: writable.recurrence_pattern.optional(),
    timezone: writable.timezone.nullable().optional(),
  })
  .superRefine(crossFieldChecks(true), { when: () => true })
  .openapi("EventUpdate");
export type EventPatchInput = z.infer<typeof EventPatch>;

export const PermissionSchema = z
  .object({
    user_id: z.number().int(),
    username: z.string(),
    role: z.enum(ROLES),
    granted_by: z.number().int(),
    granted_at: Timestamp,
  })
  .openapi("Permission");

export const EventSchema = z
  .object({
    id: z.number().int(),
    title: z.string(),
    description: z.string(),
    start_time: Timestamp,
    end_time: Timestamp,
    location: z.string().nullable(),
    is_recurring: z.boolean(),
    recurrence_pattern: z.string().nullable(),
    timezone: z.string(),
    split_from: z.number().int().optional(),
    owner_id: z.number().int(),
    version: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
    my_role: z.enum(ROLES),
    dropped_exceptions: z.array(Timestamp).optional(),
  })
  .openapi("Event");

/** One changed occurrence of a series (see src/exceptions). */
export const ExceptionSchema = z
  .object({
    original_start: Timestamp,
    cancelled: z.boolean(),
    title: z.string().optional(),
    description: z.string().optional(),
    location: z.string().nullable().optional(),
    start_time: Timestamp.optional(),
    end_time: Timestamp.optional(),
  })
  .openapi("Exception");

export const EventDetailSchema = EventSchema.extend({ exceptions: z.array(ExceptionSchema), permissions: z.array(PermissionSchema) }).openapi("EventDetail");

export const EventPage = z.object({ items: z.array(EventSchema), next_cursor: z.string().nullable() }).openapi("EventPage");

export const EventListQuery = PageQuery.extend({
  start: z.string().max(64).optional().openapi({ param: { in: "query" } }),
  end: z.string().max(64).optional().openapi({ param: { in: "query" } }),
  q: z.string().max(200).optional().openapi({ param: { in: "query" } }),
  role: RoleInput.optional().openapi({ param: { in: "query" } }),
});

export const MAX_BATCH = 100;
export const BatchBody = z
  .preprocess((body) => (Array.isArray(body) ? { events: body } : body), z.object({ events: z.array(EventCreate).min(1).max(MAX_BATCH) }))
  .openapi("BatchCreate");

export const ConflictSchema = z
  .object({
    id: z.number().int().nullable(),
    title: z.string().nullable(),
    start_time: Timestamp,
    end_time: Timestamp,
    index: z.number().int().optional(),
  })
  .openapi("Conflict");

export const TimeSlot = z.object({ start_time: Timestamp, end_time: Timestamp }).openapi("TimeSlot");

/** 409 of a write that overlaps: the overlapping events, and free slots of the same length nearby. */
export const ConflictProblem = ProblemSchema.extend({ conflicts: z.array(ConflictSchema), suggestions: z.array(TimeSlot).optional() }).openapi("ConflictProblem");
/** 412 of a stale If-Match: the event as it is now. */
export const PreconditionProblem = ProblemSchema.extend({ current: EventSchema }).openapi("PreconditionProblem");

export const conflictResponse = problemResponse(ConflictProblem);
export const preconditionResponse = problemResponse(PreconditionProblem);
