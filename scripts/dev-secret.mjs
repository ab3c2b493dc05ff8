// Creates .dev.vars with a random JWT_SECRET for `npm run dev`, once. The file is git-ignored, so
// no secret is ever committed, and a production Worker without the secret refuses to sign.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const file = new URL("../.dev.vars", import.meta.url);
const current = existsSync(file) ? readFileSync(file, "utf8") : "";
if (!/^JWT_SECRET=/m.test(current)) {
  const line = `JWT_SECRET=${randomBytes(48).toString("base64url")}\n`;
  writeFileSync(file, current + (current && !current.endsWith("\n") ? "\n" : "") + line);
  console.log("created a development JWT_SECRET in .dev.vars");
}
