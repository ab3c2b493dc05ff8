declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
}

/** Files imported as text (Vite's `?raw`): fixtures, and source that tests check documents against. */
declare module "*?raw" {
  const text: string;
  export default text;
}
