import createFetchClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";
import { connectNotifications, type NotificationStream, type NotificationStreamOptions } from "./socket";

export type { components, paths } from "./schema";
export * from "./socket";

/** Every schema of the OpenAPI document, by name: `Schemas["Event"]`, `Schemas["Problem"]`, ... */
export type Schemas = components["schemas"];
export type Event = Schemas["Event"];
export type EventDetail = Schemas["EventDetail"];
export type Notification = Schemas["Notification"];
export type Problem = Schemas["Problem"];
export type Session = Schemas["Session"];

/**
 * The JSON body the document gives one status of one operation:
 * `ResponseBody<"/api/events", "post", 409>["conflicts"]`. An error body of openapi-fetch is the
 * union over every error status; narrow it with this once `response.status` says which.
 */
export type ResponseBody<Path extends keyof paths, Method extends keyof paths[Path], Status extends number> = paths[Path][Method] extends {
  responses: infer Responses;
}
  ? Status extends keyof Responses
    ? Responses[Status] extends { content: infer Content }
      ? Content[keyof Content & JsonMedia]
      : never
    : never
  : never;

/** The tokens of one session, as the client keeps them. */
export interface SessionTokens {
  access_token: string;
  refresh_token: string;
  /** When the access token expires, epoch milliseconds. */
  expires_at: number;
}

/** Where the client keeps its session: memory by default; a browser app may back it by storage. */
export interface TokenStore {
  get(): SessionTokens | null;
  set(tokens: SessionTokens | null): void;
}

export interface Credentials {
  /** A username or an email. */
  username: string;
  password: string;
}

export type FetchLike = (input: Request) => Promise<Response>;

export interface ClientOptions {
  /** Where the API lives, e.g. `https://events.example.com` (no `/api`: paths carry it). */
  baseUrl: string;
  /** The fetch to use; defaults to the global one. Tests pass the Worker's own handler. */
  fetch?: FetchLike;
  /** Keeps the session; defaults to memory. */
  tokens?: TokenStore;
  /**
   * Asked for credentials when a 401 cannot be cured by a refresh (no session, or the refresh
   * token was refused); return null to give up. Without it a refused refresh ends the session.
   */
  credentials?: () => Credentials | null | Promise<Credentials | null>;
  /** Called whenever the session changes: login, register, refresh, logout, or a session lost (null). */
  onSession?: (tokens: SessionTokens | null) => void;
  /** A D1 bookmark to start from (one the app saved), so the first reads see at least that state. */
  bookmark?: string;
}

export interface AuthHelpers {
  /** Creates an account and keeps its session. */
  register(body: Schemas["RegisterRequest"]): Promise<Session>;
  /** Logs in and keeps the session. */
  login(body: Credentials): Promise<Session>;
  /** Rotates the refresh token now (concurrent callers share one rotation). Null when refused. */
  refresh(): Promise<SessionTokens | null>;
  /** Revokes the session (its sockets close with 4001) and forgets it. */
  logout(): Promise<void>;
  /**
   * An access token valid for at least `minValidityMs` more, refreshed first when needed (or when
   * `fresh`); null without a usable session. The socket client renews itself through this.
   */
  accessToken(options?: { minValidityMs?: number; fresh?: boolean }): Promise<string | null>;
  /** The session's tokens, or null. */
  tokens(): SessionTokens | null;
}

/**
 * The media types the client reads: JSON and problem+json. The document also lists MessagePack
 * and, for the history pages, HTML; without this filter every `data` would be a union with them.
 */
export type JsonMedia = `${string}/${string}json`;

export interface ApiClient extends Client<paths, JsonMedia> {
  auth: AuthHelpers;
  /** The newest `X-D1-Bookmark` seen; every request sends it, so reads see this client's writes. */
  bookmark(): string | null;
  /** A socket for `/ws/notifications` that renews its token and pages replays through this client. */
  notifications(options: Omit<NotificationStreamOptions, "baseUrl" | "accessToken" | "pageSince">): NotificationStream;
}

/**
 * A refused request as an exception, for code that prefers throwing: `throw new ApiError(response.status, error)`.
 * The auth helpers throw it. `problem` is the problem body (the document types it per status).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(status: number, body: unknown) {
    const problem = body && typeof body === "object" && "detail" in body ? (body as Problem) : undefined;
    super(typeof problem?.detail === "string" ? problem.detail : `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

export const BOOKMARK_HEADER = "X-D1-Bookmark";
/** Refresh an access token this long before it expires rather than wait for the 401. */
const EXPIRY_MARGIN_MS = 30_000;
/** Routes whose 401 means wrong credentials, not an expired session: never retried. */
const SESSIONLESS = /\/api\/auth\/(register|login|refresh)$/;

/** Keeps the session in memory. */
export function memoryTokenStore(initial: SessionTokens | null = null): TokenStore {
  let tokens = initial;
  return { get: () => tokens, set: (next) => void (tokens = next) };
}

/**
 * Keeps the session in a Web Storage (`localStorage`, `sessionStorage`) under `key`, so a reload
 * or another tab resumes it. A value that is not a session reads as none.
 */
export function storageTokenStore(storage: Pick<Storage, "getItem" | "setItem" | "removeItem">, key = "collab-events-api.session"): TokenStore {
  return {
    get() {
      try {
        const value = JSON.parse(storage.getItem(key) ?? "null") as SessionTokens | null;
        return value && typeof value.access_token === "string" && typeof value.refresh_token === "string" && typeof value.expires_at === "number" ? value : null;
      } catch {
        return null;
      }
    },
    set(tokens) {
      if (tokens) storage.setItem(key, JSON.stringify(tokens));
      else storage.removeItem(key);
    },
  };
}

/** `{ "If-Match": etag }`, for the `headers` of PUT, PATCH, DELETE and rollback. */
export const ifMatch = (etag: string | null | undefined): Record<string, string> => (etag ? { "If-Match": etag } : {});

/** The `ETag` of a response (GET, PUT and PATCH of an event send one). */
export const etagOf = (response: Response): string | null => response.headers.get("ETag");

/** D1 bookmarks grow with every query, so the newer of two is the greater string. */
const newer = (a: string | null, b: string | null) => (a === null ? b : b === null || a >= b ? a : b);

const tokensOf = (session: Session): SessionTokens => ({
  access_token: session.access_token,
  refresh_token: session.refresh_token,
  expires_at: Date.now() + session.expires_in * 1000,
});

/**
 * A typed client of the API: `GET`, `POST`, `PUT`, `PATCH`, `DELETE` take the paths of the OpenAPI
 * document and return `{ data, error, response }` typed per status. It sends the bearer token and
 * the newest D1 bookmark, and answers a 401 by refreshing the session (or logging in again with
 * `credentials`) and retrying the request once.
 *
 * @example
 * const api = createClient({ baseUrl: "http://localhost:8787" });
 * await api.auth.login({ username: "ada", password: "correct horse battery" });
 * const { data, error } = await api.POST("/api/events", { body: { title: "Review", start_time: "2031-03-01T10:00:00Z", end_time: "2031-03-01T11:00:00Z" } });
 */
export function createClient(options: ClientOptions): ApiClient {
  const baseFetch: FetchLike = options.fetch ?? ((request) => fetch(request));
  const store = options.tokens ?? memoryTokenStore();
  let bookmark: string | null = options.bookmark ?? null;

  const remember = (tokens: SessionTokens | null) => {
    store.set(tokens);
    options.onSession?.(tokens);
  };

  /** Every request goes out with the newest bookmark, and brings back a newer one. */
  const bookmarked: FetchLike = async (request) => {
    if (bookmark && !request.headers.has(BOOKMARK_HEADER)) request.headers.set(BOOKMARK_HEADER, bookmark);
    const response = await baseFetch(request);
    bookmark = newer(bookmark, response.headers.get(BOOKMARK_HEADER));
    return response;
  };
  const plain = createFetchClient<paths, JsonMedia>({ baseUrl: options.baseUrl, fetch: bookmarked });

  const begin = (session: Session) => {
    const tokens = tokensOf(session);
    remember(tokens);
    return tokens;
  };

  const login = async (body: Credentials) => {
    const { data, error, response } = await plain.POST("/api/auth/login", { body });
    if (!data) throw new ApiError(response.status, error);
    begin(data);
    return data;
  };

  let refreshing: Promise<SessionTokens | null> | null = null;
  /** One rotation at a time: presenting a spent refresh token again would revoke the session. */
  const refresh = () =>
    (refreshing ??= (async () => {
      try {
        const current = store.get();
        if (current) {
          const { data } = await plain.POST("/api/auth/refresh", { body: { refresh_token: current.refresh_token } });
          if (data) return begin(data);
        }
        const credentials = await options.credentials?.();
        if (credentials) {
          const { data } = await plain.POST("/api/auth/login", { body: credentials });
          if (data) return begin(data);
        }
        if (current) remember(null);
        return null;
      } finally {
        refreshing = null;
      }
    })());

  const accessToken: AuthHelpers["accessToken"] = async ({ minValidityMs = EXPIRY_MARGIN_MS, fresh = false } = {}) => {
    const current = store.get();
    if (current && !fresh && current.expires_at - Date.now() > minValidityMs) return current.access_token;
    return (await refresh())?.access_token ?? null;
  };

  const authorized: FetchLike = async (request) => {
    // A base URL may carry a path prefix, hence the suffix match.
    if (SESSIONLESS.test(new URL(request.url).pathname) || request.headers.has("Authorization")) return bookmarked(request);
    const retry = request.clone();
    const token = await accessToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    const response = await bookmarked(request);
    if (response.status !== 401) return response;
    // Another request may have rotated the session meanwhile; only refresh if it is still ours.
    const now = store.get();
    const next = now && now.access_token !== token ? now.access_token : (await refresh())?.access_token;
    if (!next) return response;
    retry.headers.set("Authorization", `Bearer ${next}`);
    return bookmarked(retry);
  };

  const client = createFetchClient<paths, JsonMedia>({ baseUrl: options.baseUrl, fetch: authorized });

  const auth: AuthHelpers = {
    async register(body) {
      const { data, error, response } = await plain.POST("/api/auth/register", { body });
      if (!data) throw new ApiError(response.status, error);
      begin(data);
      return data;
    },
    login,
    refresh,
    async logout() {
      const current = store.get();
      if (!current) return;
      await client.POST("/api/auth/logout", { body: { refresh_token: current.refresh_token } });
      remember(null);
    },
    accessToken,
    tokens: () => store.get(),
  };

  return Object.assign(client, {
    auth,
    bookmark: () => bookmark,
    notifications: (stream: Omit<NotificationStreamOptions, "baseUrl" | "accessToken" | "pageSince">) =>
      connectNotifications({
        ...stream,
        baseUrl: options.baseUrl,
        accessToken: (request) => accessToken({ fresh: request.fresh, minValidityMs: request.minValidityMs }),
        async pageSince(since) {
          const { data, error, response } = await client.GET("/api/notifications", { params: { query: { since, limit: 100 } } });
          if (!data) throw new ApiError(response.status, error);
          return data.items;
        },
      }),
  });
}
