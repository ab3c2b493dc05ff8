declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}

/** Fixture files imported as text (Vite's `?raw`). */
declare module "*?raw" {
  const text: string;
  export default text;
}
