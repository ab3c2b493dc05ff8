import * as z from "../lib/zod";
import { Timestamp } from "../lib/openapi";

export const FeedCreate = z
  .object({
    name: z
      .string()
      .max(100, "At most 100 characters.")
      .refine((s) => s.trim().length > 0, "Must not be empty.")
      .optional()
      .openapi({ description: "X-WR-CALNAME, the name calendar apps show; default `Events of <username>`", example: "Work" }),
  })
  .openapi("FeedCreate");

export const FeedSecret = z
  .object({
    id: z.number().int(),
    name: z.string(),
    url: z.string().openapi({ description: "The subscription URL; it holds the feed's secret token and is shown only by create and rotate", example: "https://api.example.com/feeds/3q2-7wVxL8m0Tn5cJb1KfZ4sYd9gHe6aRu2iXo0pQvw.ics" }),
    webcal_url: z.string().openapi({ description: "The same URL with the webcal: scheme, which opens a calendar app", example: "webcal://api.example.com/feeds/3q2-7wVxL8m0Tn5cJb1KfZ4sYd9gHe6aRu2iXo0pQvw.ics" }),
    created_at: Timestamp,
  })
  .openapi("FeedWithUrl");

export const FeedSchema = z
  .object({ id: z.number().int(), name: z.string(), created_at: Timestamp, last_fetched_at: Timestamp.nullable() })
  .openapi("Feed");

export const FeedList = z.object({ items: z.array(FeedSchema) }).openapi("FeedList");
