import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, isoUtc, json, registerUser, slotMaker, type TestUser } from "./helpers";
import { countingDatabase, roundTripLog } from "./support/counting-db";
import { requestAs, sendWith, squeezed } from "./support/faults";
import { digestDelta, stateDigest, type Digest } from "./support/state";
import type { WireRequest, WireResponse } from "./support/wire";

const slot = slotMaker(2037);
const SECRET_TITLE = "Quarterly numbers, do not leak";

/**
 * The DB binding with `around` run just before or just after the request's first D1 call, in
 * whatever session the request opens: a revocation landing while the request is in flight.
 */
function revokingDatabase(when: "before" | "after", around: () => Promise<unknown>): D1Database {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    await around();
  };
  const wrapSession = (session: D1DatabaseSession) =>
    new Proxy(session, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property !== "batch") return typeof value === "function" ? value.bind(target) : value;
        return async (statements: D1PreparedStatement[]) => {
          if (when === "before") await once();
          const results = await target.batch(statements);
          if (when === "after") await once();
          return results;
        };
      },
    });
  return new Proxy(env.DB, {
    get(target, property) {
      if (property === "withSession") return (constraint: string) => wrapSession(target.withSession(constraint));
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

let owner: TestUser;
let eventId: number;
let etag: string;

beforeAll(async () => {
  owner = await registerUser("sc_owner");
  const created = await json("POST", "/api/events", { token: owner.token, body: { title: "Draft", ...slot() } });
  eventId = created.body.id;
  // A second version, so the version reads (history 2, diff 1..2) hold the secret title too.
  const patched = await json("PATCH", `/api/events/${eventId}`, { token: owner.token, headers: { "If-Match": created.headers.get("etag")! }, body: { title: SECRET_TITLE } });
  expect(patched.status).toBe(200);
  etag = patched.headers.get("etag")!;
});

/** A second session of the owner, so revoking it leaves the fixture's own token working. */
async function secondSession(): Promise<string> {
  const res = await json("POST", "/api/auth/login", { body: { username: owner.username, password: owner.password } });
  expect(res.status).toBe(200);
  return res.body.access_token;
}

const logout = (token: string) => call("POST", "/api/auth/logout", { token, body: {} });

describe("GET /api/events/{id} checks the session in its one batch", () => {
  it("costs one D1 round trip for a live session and answers the event", async () => {
    const log = roundTripLog();
    const res = await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path: `/api/events/${eventId}`, headers: { Authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(200);
    expect((res.body as { title: string }).title).toBe(SECRET_TITLE);
    expect(log.roundTrips).toBe(1);
  });

  it("answers a revoked session's token 401 with no event data, also for HEAD, ?at= and a matching If-None-Match", async () => {
    const token = await secondSession();
    expect((await logout(token)).status).toBe(204);
    const requests = [
      json("GET", `/api/events/${eventId}`, { token }),
      json("GET", `/api/events/${eventId}?at=2037-06-01T00:00:00Z`, { token }),
      json("GET", `/api/events/${eventId}`, { token, headers: { "If-None-Match": etag } }),
    ];
    for (const res of await Promise.all(requests)) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("unauthorized");
      expect(JSON.stringify(res.body)).not.toContain(SECRET_TITLE);
      expect(res.headers.get("etag")).toBeNull();
    }
    const head = await call("HEAD", `/api/events/${eventId}`, { token });
    expect(head.status).toBe(401);
    expect(head.headers.get("etag")).toBeNull();
  });

  it("answers 401 with no data when the session is revoked while the request is in flight, after its token was verified", async () => {
    const token = await secondSession();
    let revoked = 0;
    const DB = revokingDatabase("before", async () => (revoked = (await logout(token)).status));
    const res = await sendWith({ DB }, { method: "GET", path: `/api/events/${eventId}`, headers: { Authorization: `Bearer ${token}` } });
    expect(revoked).toBe(204);
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(SECRET_TITLE);
    expect(res.headers.get("etag")).toBeNull();
  });

  it("a revocation that lands after the batch leaves that answer standing (the data was read while the session lived) and refuses the next request", async () => {
    const token = await secondSession();
    const DB = revokingDatabase("after", () => logout(token));
    const res = await sendWith({ DB }, { method: "GET", path: `/api/events/${eventId}`, headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect((await json("GET", `/api/events/${eventId}`, { token })).status).toBe(401);
  });

  it("answers a session revoked by a password change 401, and the session that changed it 200", async () => {
    const user = await registerUser("sc_password");
    const other = await json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } });
    const mine = await json("POST", "/api/events", { token: user.token, body: { title: "Mine", ...slot() } });
    const changed = await call("POST", "/api/auth/password", { token: user.token, body: { current_password: user.password, new_password: "a brand new passphrase" } });
    expect(changed.status).toBe(204);
    expect((await json("GET", `/api/events/${mine.body.id}`, { token: other.body.access_token })).status).toBe(401);
    expect((await json("GET", `/api/events/${mine.body.id}`, { token: user.token })).status).toBe(200);
  });

  it("answers a bad or missing token 401 without asking D1 anything", async () => {
    for (const headers of [{} as Record<string, string>, { Authorization: "Bearer not-a-jwt" }, { Authorization: `Bearer ${owner.token.slice(0, -2)}xx` }]) {
      const log = roundTripLog();
      const res = await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path: `/api/events/${eventId}`, headers });
      expect(res.status).toBe(401);
      expect(log.calls).toBe(0);
    }
  });

  it("answers another user's event 404 after the same single batch, not 401", async () => {
    const stranger = await registerUser("sc_stranger");
    const log = roundTripLog();
    const res = await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path: `/api/events/${eventId}`, headers: { Authorization: `Bearer ${stranger.token}` } });
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(SECRET_TITLE);
    expect(log.roundTrips).toBe(1);
  });
});

/** A new user's session that can read the secret event (logins are rate limited per account). */
async function reader(): Promise<string> {
  const user = await registerUser("sc_reader");
  const shared = await json("POST", `/api/events/${eventId}/share`, { token: owner.token, body: { user_id: user.id, role: "viewer" } });
  expect(shared.status).toBe(200);
  return user.token;
}

/** A revoked session's token gets 401 and no data, and so does one revoked while its request is in flight. */
async function expectRefused(path: string) {
  const token = await reader();
  expect((await json("GET", path, { token })).status).toBe(200);
  expect((await logout(token)).status).toBe(204);
  const res = await json("GET", path, { token });
  expect(res.status).toBe(401);
  expect(res.body.code).toBe("unauthorized");
  expect(JSON.stringify(res.body)).not.toContain(SECRET_TITLE);

  const live = await reader();
  let revoked = 0;
  const DB = revokingDatabase("before", async () => (revoked = (await logout(live)).status));
  const inFlight = await sendWith({ DB }, { method: "GET", path, headers: { Authorization: `Bearer ${live}` } });
  expect(revoked).toBe(204);
  expect(inFlight.status).toBe(401);
  expect(inFlight.text).not.toContain(SECRET_TITLE);
}

/** The round trips of one GET with the owner's live token, and its body. */
async function liveRoundTrips(path: string) {
  const log = roundTripLog();
  const res = await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path, headers: { Authorization: `Bearer ${owner.token}` } });
  expect(res.status).toBe(200);
  return { roundTrips: log.roundTrips, text: res.text };
}

describe("GET /api/events checks the session in the list's first batch", () => {
  const paths = ["/api/events", "/api/events?q=quarterly", "/api/events?start=2037-01-01T00:00:00Z&end=2038-01-01T00:00:00Z", "/api/events?q=numbers&start=2037-01-01T00:00:00Z"];

  it("costs one D1 round trip for a live session, plain, searched and windowed, and lists the event", async () => {
    for (const path of paths) {
      const { roundTrips, text } = await liveRoundTrips(path);
      expect(text).toContain(SECRET_TITLE);
      expect(roundTrips).toBe(1);
    }
  });

  it("answers a revoked session's token 401 with no events, plain, searched and windowed, also when revoked in flight", async () => {
    for (const path of paths) await expectRefused(path);
  });
});

describe("GET /api/notifications checks the session in the list's batch", () => {
  it("costs one D1 round trip for a live session and answers the share's notice with the title", async () => {
    const token = await reader();
    const log = roundTripLog();
    const res = await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path: "/api/notifications", headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.text).toContain(SECRET_TITLE);
    expect(log.roundTrips).toBe(1);
  });

  it("answers a revoked session's token 401 with no notifications, also when revoked in flight", async () => {
    for (const path of ["/api/notifications", "/api/notifications?unread=true", "/api/notifications?since=0"]) await expectRefused(path);
  });

  it("still checks the session before a write: a revoked token marks nothing read", async () => {
    const token = await reader();
    expect((await logout(token)).status).toBe(204);
    expect((await call("POST", "/api/notifications/read-all", { token, body: {} })).status).toBe(401);
    expect((await call("POST", "/api/notifications/1/read", { token, body: {} })).status).toBe(401);
  });
});

describe("GET /api/events/{id}/permissions checks the session in its one batch", () => {
  it("costs one D1 round trip for a live session and lists the owner", async () => {
    const { roundTrips, text } = await liveRoundTrips(`/api/events/${eventId}/permissions`);
    expect(text).toContain(owner.username);
    expect(roundTrips).toBe(1);
  });

  it("answers a revoked session's token 401 with no permissions, also when revoked in flight", async () => {
    await expectRefused(`/api/events/${eventId}/permissions`);
    const token = await reader();
    expect((await logout(token)).status).toBe(204);
    expect(JSON.stringify((await json("GET", `/api/events/${eventId}/permissions`, { token })).body)).not.toContain(owner.username);
  });

  it("answers another user's event 404 after the same single batch, not 401", async () => {
    const stranger = await registerUser("sc_stranger");
    const log = roundTripLog();
    const res = await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path: `/api/events/${eventId}/permissions`, headers: { Authorization: `Bearer ${stranger.token}` } });
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(owner.username);
    expect(log.roundTrips).toBe(1);
  });
});

describe("the version reads check the session in their one batch", () => {
  const paths = () => [`/api/events/${eventId}/changelog`, `/api/events/${eventId}/history/2`, `/api/events/${eventId}/diff/1/2`];

  it("each costs one D1 round trip for a live session and answers the title", async () => {
    for (const path of paths()) {
      const { roundTrips, text } = await liveRoundTrips(path);
      expect(text).toContain(SECRET_TITLE);
      expect(roundTrips).toBe(1);
    }
  });

  it("answers a revoked session's token 401 with no version data on changelog, history and diff, also when revoked in flight", async () => {
    for (const path of paths()) await expectRefused(path);
  });

  it("answers a revoked session's token 401 with no data for the HTML views too", async () => {
    const token = await reader();
    expect((await logout(token)).status).toBe(204);
    for (const path of paths()) {
      const res = await call("GET", path, { token, headers: { Accept: "text/html" } });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(SECRET_TITLE);
    }
  });

  it("answers another user's event 404 after the same single batch, not 401", async () => {
    const stranger = await registerUser("sc_stranger");
    for (const path of paths()) {
      const log = roundTripLog();
      const res = await sendWith({ DB: countingDatabase(env.DB, log) }, { method: "GET", path, headers: { Authorization: `Bearer ${stranger.token}` } });
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(SECRET_TITLE);
      expect(log.roundTrips).toBe(1);
    }
  });
});

describe("GET /api/events/{id}/occurrences checks the session in its one batch", () => {
  const path = () => `/api/events/${eventId}/occurrences?start=2037-01-01T00:00:00Z&end=2037-12-31T00:00:00Z`;

  it("costs one D1 round trip for a live session and answers the occurrence", async () => {
    const { roundTrips, text } = await liveRoundTrips(path());
    expect((JSON.parse(text) as { items: unknown[] }).items).toHaveLength(1);
    expect(roundTrips).toBe(1);
  });

  it("answers a revoked session's token 401 with no occurrences, also when revoked in flight", async () => {
    await expectRefused(path());
    const token = await reader();
    expect((await logout(token)).status).toBe(204);
    const res = await json("GET", path(), { token });
    expect(res.status).toBe(401);
    expect(res.body.items).toBeUndefined();
  });
});

describe("GET /api/agenda checks the session in the page's first batch", () => {
  const path = "/api/agenda?start=2037-01-01T00:00:00Z&end=2037-12-31T00:00:00Z";

  it("costs one D1 round trip for a live session and answers the event's occurrence", async () => {
    const { roundTrips, text } = await liveRoundTrips(path);
    expect(text).toContain(SECRET_TITLE);
    expect(roundTrips).toBe(1);
  });

  it("answers a revoked session's token 401 with no agenda, for a full and a one-item page, also when revoked in flight", async () => {
    await expectRefused(path);
    await expectRefused(`${path}&limit=1`);
  });
});

describe("a write with a revoked session writes nothing", () => {
  const wslot = slotMaker(2038);
  const series = { is_recurring: true, recurrence_pattern: "FREQ=WEEKLY;COUNT=10" };

  /** A user with a second session: fixtures are made with the first, the write under test with the second. */
  async function twoSessions(prefix: string) {
    const user = await registerUser(prefix);
    const login = await json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } });
    expect(login.status).toBe(200);
    return { user, second: login.body.access_token as string };
  }

  async function eventOf(user: TestUser, extra: Record<string, unknown> = {}) {
    const res = await json("POST", "/api/events", { token: user.token, body: { title: SECRET_TITLE, ...wslot(), ...extra } });
    expect(res.status).toBe(201);
    return { id: res.body.id as number, etag: res.headers.get("etag")!, start_time: res.body.start_time as string };
  }

  /** Each write family, as one valid request by the second session; the fixtures it needs come first. */
  const cases: Record<string, (user: TestUser, token: string) => Promise<WireRequest>> = {
    "a one-off create (one batch: the session guard is its first statement)": async (_user, token) => requestAs({ token }, "POST", "/api/events", { title: "Mine", ...wslot() }),
    "a one-off create over an event of the caller (the answer would be a 409 naming it)": async (user, token) => {
      const taken = await eventOf(user);
      const res = await json("GET", `/api/events/${taken.id}`, { token: user.token });
      return requestAs({ token }, "POST", "/api/events", { title: "Clash", start_time: res.body.start_time, end_time: res.body.end_time });
    },
    "a one-off create beside a series of the caller (checked in code after the SQL check steps aside)": async (user, token) => {
      const taken = await eventOf(user, series);
      const start = Date.parse(taken.start_time) + 2 * 3600_000;
      return requestAs({ token }, "POST", "/api/events", { title: "Beside", start_time: isoUtc(start), end_time: isoUtc(start + 3600_000) });
    },
    "a recurring create (the conflict read carries the session check)": async (_user, token) => requestAs({ token }, "POST", "/api/events", { title: "Series", ...wslot(), ...series }),
    "a batch create": async (_user, token) => requestAs({ token }, "POST", "/api/events/batch", { events: [{ title: "One", ...wslot() }, { title: "Two", ...wslot() }] }),
    "an update (PATCH)": async (user, token) => requestAs({ token }, "PATCH", `/api/events/${(await eventOf(user)).id}`, { title: "Renamed" }),
    "an update that moves the event (PUT)": async (user, token) => requestAs({ token }, "PUT", `/api/events/${(await eventOf(user)).id}`, wslot()),
    "a delete": async (user, token) => requestAs({ token }, "DELETE", `/api/events/${(await eventOf(user)).id}`),
    "a rollback": async (user, token) => {
      const event = await eventOf(user);
      expect((await json("PATCH", `/api/events/${event.id}`, { token: user.token, body: { title: "Second" } })).status).toBe(200);
      return requestAs({ token }, "POST", `/api/events/${event.id}/rollback/1`);
    },
    "a share": async (user, token) => {
      const guest = await registerUser("sw_guest");
      return requestAs({ token }, "POST", `/api/events/${(await eventOf(user)).id}/share`, { user_id: guest.id, role: "viewer" });
    },
    "a role change": async (user, token) => {
      const guest = await registerUser("sw_guest");
      const event = await eventOf(user);
      expect((await json("POST", `/api/events/${event.id}/share`, { token: user.token, body: { user_id: guest.id, role: "viewer" } })).status).toBe(200);
      return requestAs({ token }, "PUT", `/api/events/${event.id}/permissions/${guest.id}`, { role: "editor" });
    },
    "a revocation": async (user, token) => {
      const guest = await registerUser("sw_guest");
      const event = await eventOf(user);
      expect((await json("POST", `/api/events/${event.id}/share`, { token: user.token, body: { user_id: guest.id, role: "viewer" } })).status).toBe(200);
      return requestAs({ token }, "DELETE", `/api/events/${event.id}/permissions/${guest.id}`);
    },
    "leaving an event": async (user, token) => {
      const host = await registerUser("sw_host");
      const event = await eventOf(host);
      expect((await json("POST", `/api/events/${event.id}/share`, { token: host.token, body: { user_id: user.id, role: "editor" } })).status).toBe(200);
      return requestAs({ token }, "DELETE", `/api/events/${event.id}/permissions/${user.id}`);
    },
    "a password change": async (user, token) => requestAs({ token }, "POST", "/api/auth/password", { current_password: user.password, new_password: "a different passphrase" }),
  };

  function expectRefusedWrite(res: WireResponse, before: Digest, after: Digest) {
    expect({ status: res.status, code: (res.body as { code?: string } | null)?.code }).toEqual({ status: 401, code: "unauthorized" });
    expect(res.text).not.toContain(SECRET_TITLE);
    expect(digestDelta(before, after)).toEqual({});
  }

  for (const [name, prepare] of Object.entries(cases)) {
    it(`${name}: a token whose session was revoked before the request gets 401`, async () => {
      const { user, second } = await twoSessions("sw_before");
      const request = await prepare(user, second);
      expect((await logout(second)).status).toBe(204);
      const before = await stateDigest(env.DB);
      const res = await sendWith({}, request);
      expectRefusedWrite(res, before, await stateDigest(env.DB));
    });

    it(`${name}: a session revoked after the request's read and before its write gets 401`, async () => {
      const { user, second } = await twoSessions("sw_between");
      const request = await prepare(user, second);
      let before: Digest = {};
      const res = await squeezed(request, async () => {
        expect((await logout(second)).status).toBe(204);
        before = await stateDigest(env.DB);
      });
      expectRefusedWrite(res, before, await stateDigest(env.DB));
    });
  }

  it("the same requests from a live session succeed, so the refusals above are the session's", async () => {
    const expected = [201, 409, 201, 201, 201, 200, 200, 204, 200, 200, 200, 204, 204, 204];
    const statuses: number[] = [];
    for (const prepare of Object.values(cases)) {
      const { user, second } = await twoSessions("sw_live");
      statuses.push((await sendWith({}, await prepare(user, second))).status);
    }
    expect(statuses).toEqual(expected);
  });
});
