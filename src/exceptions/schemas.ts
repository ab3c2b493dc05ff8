import * as z from "../lib/zod";
import { EventSchema, type EventPatchInput } from "../events/schemas";
import { MAX_EXCEPTIONS, MAX_EXCEPTIONS_BYTES } from "./model";

const iso = (example: string, description?: string) => z.string().openapi({ example, ...(description ? { description } : {}) });

export const ExceptionSchema = z
  .object({
    original_start: iso("2031-03-10T08:00:00Z", "The start the rule gave the occurrence: its identity, kept when it moves (iCalendar's RECURRENCE-ID)"),
    cancelled: z.boolean(),
    title: z.string().optional().openapi({ description: "Overrides the series' title for this occurrence" }),
    description: z.string().optional(),
    location: z.string().nullable().optional(),
    start_time: iso("2031-03-12T08:00:00Z", "Present only when the occurrence was moved").optional(),
    end_time: iso("2031-03-12T09:00:00Z").optional(),
  })
  .openapi("Exception");

export const ExceptionList = z
  .object({ items: z.array(ExceptionSchema).openapi({ description: `By original start; at most ${MAX_EXCEPTIONS} per series, ${MAX_EXCEPTIONS_BYTES} bytes of JSON in all` }) })
  .openapi("ExceptionList");

/** The fields one occurrence can override (the body of a PATCH without `scope=following`). */
export const OCCURRENCE_FIELDS = ["title", "description", "location", "start_time", "end_time"] as const;
export type OccurrencePatchInput = Pick<EventPatchInput, (typeof OCCURRENCE_FIELDS)[number]>;

export const OccurrenceSchema = z
  .object({
    event_id: z.number().int(),
    original_start: iso("2031-03-10T08:00:00Z"),
    start_time: iso("2031-03-12T08:00:00Z"),
    end_time: iso("2031-03-12T09:00:00Z"),
    title: z.string(),
    description: z.string(),
    location: z.string().nullable(),
    cancelled: z.boolean(),
    is_exception: z.boolean(),
  })
  .openapi("Occurrence");

export const SplitResult = z
  .object({
    series: EventSchema.openapi({ description: "The original series, now ending before original_start (its rule has an UNTIL)" }),
    following: EventSchema.openapi({ description: "The new series from original_start on, with the changes and `split_from`" }),
    dropped_exceptions: z.array(z.string()).optional().openapi({ description: "Original starts of exceptions the changes dropped from the following series" }),
  })
  .openapi("SplitResult");

export const ScopeQuery = z.object({
  scope: z
    .enum(["this", "following"])
    .default("this")
    .openapi({ param: { in: "query" }, description: "`this` (default): only this occurrence. `following`: this and every later occurrence, by splitting the series." }),
});
