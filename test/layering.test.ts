import { describe, expect, it } from "vitest";

// The source as text (Vite's ?raw), so the rule is read from the imports themselves.
const sources = import.meta.glob("../src/**/*.{ts,mjs}", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

/** Every module specifier a file imports or re-exports (static and type-only alike). */
const specifiers = (text: string) => [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1]);

describe("layering", () => {
  it("lib/ imports nothing of src/ outside lib/ but env.ts: it is the plumbing every resource module builds on", () => {
    const lib = Object.entries(sources).filter(([path]) => path.startsWith("../src/lib/"));
    expect(lib.length).toBeGreaterThan(10);
    const outside = lib.flatMap(([path, text]) => specifiers(text).filter((s) => s.startsWith("../") && s !== "../env" && !s.startsWith("../../node_modules/")).map((s) => `${path}: ${s}`));
    expect(outside).toEqual([]);
  });

  it("the check sees a violation: a lib/ file importing a resource module is reported", () => {
    expect(specifiers('import { x } from "../auth/service";\nexport { y } from "../recurrence";').filter((s) => s !== "../env")).toEqual(["../auth/service", "../recurrence"]);
  });
});
