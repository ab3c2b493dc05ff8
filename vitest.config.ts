import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(new URL("./migrations", import.meta.url).pathname);
  return {
    plugins: [
      cloudflareTest({
        // .ci/checks/35-bundle-suite.sh points this at a copy whose main is the built dist/index.js.
        wrangler: { configPath: process.env.WRANGLER_CONFIG ?? "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            // A fixed test-only key; real deployments use `wrangler secret put JWT_SECRET`.
            JWT_SECRET: "test-secret-that-is-long-enough-for-hs256-0123456789",
          },
        },
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      setupFiles: ["./test/setup.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      // expect.poll gives up after 1 s by default; a socket waiting on several session checks can
      // take longer than that on a loaded 2-core CI machine without anything being wrong.
      expect: { poll: { timeout: 10_000 } },
    },
  };
});
