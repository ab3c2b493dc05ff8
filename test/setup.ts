import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Setup files run before each test file; applyD1Migrations skips what is already applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// The rate limiters are shared by every test file of a run, but each file's database numbers
// users from 1, so per-user write limits of different files would collide. Start this file's
// ids at a random offset (AUTOINCREMENT keeps counting after the placeholder is gone).
const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM users").first<{ n: number }>())!;
if (n === 0) {
  const offset = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  await env.DB.batch([
    env.DB.prepare("INSERT INTO users (id, username, email, password_hash, created_at) VALUES (?, '~placeholder', '~placeholder', '-', 0)").bind(offset),
    env.DB.prepare("DELETE FROM users WHERE id = ?").bind(offset),
  ]);
}
