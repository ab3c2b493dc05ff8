// Applies the D1 migrations to the local database for `npm run dev` and prints wrangler's migration
// table once: `wrangler d1 migrations apply` prints it again after every migration it applies (12
// tables for a fresh database). On failure everything wrangler said is printed.
import { spawnSync } from "node:child_process";

const run = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], { encoding: "utf8", env: { ...process.env, CI: "true" }, stdio: ["ignore", "pipe", "pipe"] });
const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
if (run.status !== 0) {
  process.stderr.write(output);
  console.error(`wrangler d1 migrations apply DB --local failed (${run.error?.message ?? `exit ${run.status}`})`);
  process.exit(1);
}
const lines = output.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
const end = lines.findLastIndex((line) => line.startsWith("└"));
const start = lines.slice(0, end).findLastIndex((line) => line.startsWith("┌"));
if (start >= 0 && end > start) console.log(["Local D1 migrations:", ...lines.slice(start, end + 1)].join("\n"));
else console.log(`Local D1: ${lines.find((line) => /no migrations/i.test(line))?.replace(/^\W+/, "") ?? "migrations applied"}`);
