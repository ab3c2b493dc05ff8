import { createClient, type ApiClient, type Schemas, type SessionTokens } from "../../sdk/index";

export type User = Schemas["User"];
const TOKENS = "collab-events.tokens";
const USER = "collab-events.user";

function read<T>(key: string): T | null {
  try {
    return JSON.parse(localStorage.getItem(key) ?? "null") as T | null;
  } catch {
    return null;
  }
}

const listeners = new Set<(user: User | null) => void>();
/** Called with the user on sign-in, and with null when the session ends (logout, or a refused refresh). */
export const onSessionChange = (listener: (user: User | null) => void) => {
  listeners.add(listener);
  return () => void listeners.delete(listener);
};

/** The tokens live in localStorage, so a reload stays signed in; the SDK refreshes them silently. */
export const api: ApiClient = createClient({
  baseUrl: location.origin,
  tokens: {
    get: () => read<SessionTokens>(TOKENS),
    set(tokens) {
      if (tokens) localStorage.setItem(TOKENS, JSON.stringify(tokens));
      else {
        localStorage.removeItem(TOKENS);
        localStorage.removeItem(USER);
      }
    },
  },
  onSession(tokens) {
    if (!tokens) for (const l of listeners) l(null);
  },
});

export const savedUser = (): User | null => (read<SessionTokens>(TOKENS) ? read<User>(USER) : null);

/** Remembers whose session this is after a sign-in or sign-up. */
export function remember(user: User): User {
  localStorage.setItem(USER, JSON.stringify(user));
  for (const l of listeners) l(user);
  return user;
}

/** A refused request in words: the problem's `detail`, with each field error. */
export function problemText(error: unknown, status?: number): string {
  if (error && typeof error === "object") {
    const p = error as { detail?: unknown; errors?: { field: string; message: string }[]; problem?: unknown; message?: unknown };
    if (p.problem) return problemText(p.problem);
    if (typeof p.detail === "string") {
      const fields = (p.errors ?? []).map((e) => `${e.field}: ${e.message}`);
      return fields.length ? `${p.detail} (${fields.join("; ")})` : p.detail;
    }
    if (typeof p.message === "string") return /fetch/i.test(p.message) ? "The server cannot be reached. Check your connection and try again." : p.message;
  }
  return status ? `The server answered ${status}.` : "Something went wrong.";
}
