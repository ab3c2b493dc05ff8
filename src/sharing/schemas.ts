import * as z from "../lib/zod";
import { RoleInput } from "../events/schemas";

export const MAX_COLLABORATORS = 200;

export const ShareItem = z
  .object({
    user_id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    username: z.string().min(1).max(254).optional(),
    email: z.string().min(1).max(254).optional(),
    role: RoleInput,
  })
  .refine((item) => item.user_id !== undefined || item.username !== undefined || item.email !== undefined, {
    message: "Name the user by user_id, username or email.",
    path: ["user_id"],
  })
  .openapi("ShareItem");
export type ShareItemInput = z.infer<typeof ShareItem>;

/** Accepts `{users: [...]}`, a bare array, or one item, and always yields `{users: [...]}`. */
export const ShareBody = z
  .preprocess(
    (body) => (Array.isArray(body) ? { users: body } : body && typeof body === "object" && !("users" in body) ? { users: [body] } : body),
    z.object({ users: z.array(ShareItem).min(1).max(MAX_COLLABORATORS) }),
  )
  .openapi("ShareRequest");

export const RoleBody = z.object({ role: RoleInput }).openapi("RoleUpdate");
