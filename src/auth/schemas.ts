import * as z from "../lib/zod";
import { Timestamp } from "../lib/openapi";

export const UserSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    email: z.string(),
    created_at: Timestamp,
  })
  .openapi("User");

export const SessionSchema = z
  .object({
    user: UserSchema,
    access_token: z.string(),
    refresh_token: z.string(),
    token_type: z.literal("bearer"),
    expires_in: z.number().int(),
  })
  .openapi("Session");

export const RegisterBody = z
  .object({
    username: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,32}$/, "3 to 32 characters of letters, digits, '_', '.' or '-'."),
    email: z.email("A valid email address.").max(254),
    password: z.string().min(8, "At least 8 characters.").max(128, "At most 128 characters."),
  })
  .openapi("RegisterRequest");

export const LoginBody = z
  .object({
    username: z.string().min(1).max(254).optional(),
    email: z.string().min(1).max(254).optional(),
    password: z.string().min(1).max(128),
    grant_type: z.string().optional(),
  })
  .refine((body) => body.username !== undefined || body.email !== undefined, { message: "Give a username or an email.", path: ["username"] })
  .openapi("LoginRequest");

export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(4096) }).openapi("RefreshRequest");

export const LogoutBody = z.object({ refresh_token: z.string().max(4096).optional() }).openapi("LogoutRequest");

export const PasswordChangeBody = z
  .object({
    current_password: z.string().min(1).max(128),
    new_password: z.string().min(8, "At least 8 characters.").max(128, "At most 128 characters."),
  })
  .openapi("PasswordChangeRequest");
