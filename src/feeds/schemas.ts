import * as z from "../lib/zod";
import { Timestamp } from "../lib/openapi";

export const FeedCreate = z
  .object({
    name: z
      .string()
      .max(100, "At most 100 characters.")
      .refine((s) => s.trim().length > 0, "Must not be empty.")
      .optional(),
  })
  .openapi("FeedCreate");

export const FeedSecret = z
  .object({
    id: z.number().int(),
    name: z.string(),
    url: z.string(),
    webcal_url: z.string(),
    created_at: Timestamp,
  })
  .openapi("FeedWithUrl");

export const FeedSchema = z
  .object({ id: z.number().int(), name: z.string(), created_at: Timestamp, last_fetched_at: Timestamp.nullable() })
  .openapi("Feed");

export const FeedList = z.object({ items: z.array(FeedSchema) }).openapi("FeedList");
