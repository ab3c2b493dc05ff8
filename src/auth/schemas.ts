import * as z from "../lib/zod";

export const UserSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    email: z.string(),
    created_at: z.string().openapi({ example: "2031-03-01T08:00:00Z" }),
  })
  .openapi("User");

export const SessionSchema = z
  .object({
    user: UserSchema,
    access_token: z.string(),
    refresh_token: z.string().openapi({ description: "Opaque and single-use; rotate it with /api/auth/refresh." }),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().openapi({ description: "Access-token lifetime in seconds." }),
  })
  .openapi("Session");

export const RegisterBody = z
  .object({
    username: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,32}$/, "3 to 32 characters of letters, digits, '_', '.' or '-'.")
      .openapi({ example: "ada" }),
    email: z.email("A valid email address.").max(254).openapi({ example: "ada@example.com" }),
    password: z.string().min(8, "At least 8 characters.").max(128, "At most 128 characters.").openapi({ example: "correct horse battery" }),
  })
  .openapi("RegisterRequest");

export const LoginBody = z
  .object({
    username: z.string().min(1).max(254).optional().openapi({ description: "Username or email.", example: "ada" }),
    email: z.string().min(1).max(254).optional(),
    password: z.string().min(1).max(128).openapi({ example: "correct horse battery" }),
    grant_type: z.string().optional().openapi({ description: "OAuth2 password form only; ignored." }),
  })
  .refine((body) => body.username !== undefined || body.email !== undefined, { message: "Give a username or an email.", path: ["username"] })
  .openapi("LoginRequest");

export const RefreshBody = z.object({ refresh_token: z.string().min(1).max(4096) }).openapi("RefreshRequest");

export const LogoutBody = z.object({ refresh_token: z.string().max(4096).optional() }).openapi("LogoutRequest");

export const PasswordChangeBody = z
  .object({
    current_password: z.string().min(1).max(128).openapi({ example: "correct horse battery" }),
    new_password: z.string().min(8, "At least 8 characters.").max(128, "At most 128 characters.").openapi({ example: "a new long passphrase" }),
  })
  .openapi("PasswordChangeRequest");
