import * as z from "../lib/zod";
import { EventSchema, ExceptionSchema, type EventPatchInput } from "../events/schemas";
import { Timestamp } from "../lib/openapi";


export const ExceptionList = z
  .object({ items: z.array(ExceptionSchema) })
  .openapi("ExceptionList");

/** The fields one occurrence can override (the body of a PATCH without `scope=following`). */
export const OCCURRENCE_FIELDS = ["title", "description", "location", "start_time", "end_time"] as const;
export type OccurrencePatchInput = Pick<EventPatchInput, (typeof OCCURRENCE_FIELDS)[number]>;

export const OccurrenceSchema = z
  .object({
    event_id: z.number().int(),
    original_start: Timestamp,
    start_time: Timestamp,
    end_time: Timestamp,
    title: z.string(),
    description: z.string(),
    location: z.string().nullable(),
    cancelled: z.boolean(),
    is_exception: z.boolean(),
  })
  .openapi("Occurrence");

export const SplitResult = z
  .object({
    series: EventSchema,
    following: EventSchema,
    dropped_exceptions: z.array(z.string()).optional(),
  })
  .openapi("SplitResult");

export const ScopeQuery = z.object({
  scope: z
    .enum(["this", "following"])
    .default("this")
    .openapi({ param: { in: "query" } }),
});
