import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { hashPassword, PASSWORD_HASH_PARAMS, verifyPassword, WORKERD_SCRYPT_CAP } from "../src/auth/password";
import { issueSession, SPENT_TOKENS_REMEMBERED } from "../src/auth/service";
import { createDb } from "../src/db/client";
import { users } from "../src/db/schema";
import { eq } from "drizzle-orm";
import { expectProblem, freshIp, json, registerUser } from "./helpers";
import { inOneWindow } from "./support/rate-window";

const base = () => {
  const name = `u${Math.random().toString(36).slice(2, 10)}`;
  return { username: name, email: `${name}@example.com`, password: "long enough pw" };
};

describe("register", () => {
  it("creates the account and answers 201 with a session and no password", async () => {
    const input = base();
    const res = await json("POST", "/api/auth/register", { body: input });
    expect(res.status).toBe(201);
    expect(res.body.user).toEqual({ id: expect.any(Number), username: input.username, email: input.email, created_at: expect.stringMatching(/Z$/) });
    expect(res.body.token_type).toBe("bearer");
    expect(res.body.expires_in).toBe(900);
    expect(res.body.refresh_token).toMatch(/^rt_/);
    expect(JSON.stringify(res.body)).not.toMatch(/password|scrypt/);
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("rejects a duplicate username or email case-insensitively with 409", async () => {
    const input = base();
    expect((await json("POST", "/api/auth/register", { body: input })).status).toBe(201);
    const sameName = await json("POST", "/api/auth/register", { body: { ...input, username: input.username.toUpperCase(), email: "x" + input.email } });
    expectProblem(sameName, 409, "conflict");
    expect(sameName.body.errors).toEqual([{ field: "username", message: expect.any(String) }]);
    const sameEmail = await json("POST", "/api/auth/register", { body: { ...input, username: input.username + "x", email: input.email.toUpperCase() } });
    expectProblem(sameEmail, 409, "conflict");
    expect(sameEmail.body.errors[0].field).toBe("email");
  });

  it.each([
    ["username", { username: "ab" }],
    ["username", { username: "a".repeat(33) }],
    ["username", { username: "has space" }],
    ["username", { username: 42 }],
    ["email", { email: "not-an-email" }],
    ["password", { password: "short" }],
    ["password", { password: "p".repeat(129) }],
  ])("names %s when it is invalid (422)", async (field, patch) => {
    const res = await json("POST", "/api/auth/register", { body: { ...base(), ...patch } });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
  });

  it("names every missing field at once", async () => {
    const res = await json("POST", "/api/auth/register", { body: {} });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["email", "password", "username"]);
  });

  it("ignores unknown and server-owned fields", async () => {
    const input = base();
    const res = await json("POST", "/api/auth/register", { body: { ...input, id: 999999, created_at: "1999-01-01T00:00:00Z", admin: true } });
    expect(res.status).toBe(201);
    expect(res.body.user.id).not.toBe(999999);
    expect(res.body.user.created_at).not.toBe("1999-01-01T00:00:00Z");
  });

  it("answers malformed JSON with 400, a wrong media type with 415 and a huge body with 413", async () => {
    expectProblem(await json("POST", "/api/auth/register", { body: "{not json", headers: { "Content-Type": "application/json" } }), 400, "malformed_body");
    expectProblem(await json("POST", "/api/auth/register", { body: "username=a", headers: { "Content-Type": "text/plain" } }), 415, "unsupported_media_type");
    const huge = JSON.stringify({ ...base(), bio: "x".repeat(1_100_000) });
    expectProblem(await json("POST", "/api/auth/register", { body: huge, headers: { "Content-Type": "application/json" } }), 413, "payload_too_large");
  });
});

describe("login", () => {
  it("accepts the username, the email, {email, password} and the OAuth2 password form", async () => {
    const user = await registerUser("login");
    for (const body of [
      { username: user.username, password: user.password },
      { username: user.email.toUpperCase(), password: user.password },
      { email: user.email, password: user.password },
    ]) {
      const res = await json("POST", "/api/auth/login", { body });
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(user.id);
    }
    const form = new URLSearchParams({ grant_type: "password", username: user.username, password: user.password }).toString();
    const res = await json("POST", "/api/auth/login", { body: form, headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    expect(res.body.access_token).toBeTruthy();
  });

  it("gives the same 401 for a wrong password and an unknown user", async () => {
    const user = await registerUser("wrongpw");
    const wrong = await json("POST", "/api/auth/login", { body: { username: user.username, password: "not the password" } });
    const unknown = await json("POST", "/api/auth/login", { body: { username: "nobody_" + user.username, password: "not the password" } });
    expectProblem(wrong, 401, "unauthorized");
    expectProblem(unknown, 401, "unauthorized");
    expect(wrong.body.detail).toBe(unknown.body.detail);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("takes about the same time for an unknown user as for a wrong password", async () => {
    const user = await registerUser("timing");
    const time = async (username: string) => {
      const started = performance.now();
      await json("POST", "/api/auth/login", { body: { username, password: "not the password" } });
      return performance.now() - started;
    };
    await time("warmup_" + user.username);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time(user.username));
      unknown.push(await time(`ghost${i}_${user.username}`.slice(0, 32)));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
    // Both paths run one scrypt; without the decoy hash the unknown path would be ~100x faster.
    expect(median(unknown) / median(known)).toBeGreaterThan(0.5);
  });

  it("rejects a body without credentials with 422", async () => {
    expectProblem(await json("POST", "/api/auth/login", { body: { password: "x" } }), 422, "validation_failed");
    expectProblem(await json("POST", "/api/auth/login", {}), 422, "validation_failed");
  });
});

describe("tokens", () => {
  const sign = (claims: Record<string, unknown>, secret: string, exp: string | number = "10m") =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuer(env.JWT_ISSUER).setAudience(env.JWT_AUDIENCE).setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(secret));

  it("GET /api/auth/me returns the user for a valid token and 401 without one", async () => {
    const user = await registerUser("me");
    const me = await json("GET", "/api/auth/me", { token: user.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: user.id, username: user.username, email: user.email, created_at: expect.any(String) });
    const none = await json("GET", "/api/auth/me");
    expectProblem(none, 401, "unauthorized");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expectProblem(await json("GET", "/api/auth/me", { headers: { Authorization: "Basic abc" } }), 401, "unauthorized");
  });

  it("rejects a token signed with another key, alg none, an expired token, and a wrong audience", async () => {
    const user = await registerUser("forged");
    const [, payload] = user.token.split(".");
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
    const otherKey = await sign({ sid: claims.sid, typ: "access", sub: claims.sub }, "another-secret-that-is-long-enough-0123456789");
    const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replaceAll("=", "");
    const algNone = `${header}.${payload}.`;
    const expired = await new SignJWT({ sid: claims.sid, typ: "access" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(claims.sub)
      .setIssuer(env.JWT_ISSUER)
      .setAudience(env.JWT_AUDIENCE)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(env.JWT_SECRET!));
    const wrongAudience = await new SignJWT({ sid: claims.sid, typ: "access" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(claims.sub)
      .setIssuer(env.JWT_ISSUER)
      .setAudience("someone-else")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(env.JWT_SECRET!));
    for (const token of [otherKey, algNone, expired, wrongAudience, "garbage", user.refresh]) {
      expectProblem(await json("GET", "/api/auth/me", { token }), 401, "unauthorized");
    }
    expect((await json("GET", "/api/auth/me", { token: user.token })).status).toBe(200);
  });
});

describe("refresh and logout", () => {
  it("rotates the refresh token: the new pair works, the old refresh token is spent", async () => {
    const user = await registerUser("rotate");
    const first = await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(user.refresh);
    expect((await json("GET", "/api/auth/me", { token: first.body.access_token })).status).toBe(200);
    const second = await json("POST", "/api/auth/refresh", { body: { refresh_token: first.body.refresh_token } });
    expect(second.status).toBe(200);
  });

  it("treats reuse of a spent refresh token as theft and revokes the whole session", async () => {
    const user = await registerUser("theft");
    const rotated = await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } });
    expect(rotated.status).toBe(200);
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } }), 401, "unauthorized");
    // The thief's reuse also kills the legitimate holder's newer tokens.
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: rotated.body.refresh_token } }), 401, "unauthorized");
    expectProblem(await json("GET", "/api/auth/me", { token: rotated.body.access_token }), 401, "unauthorized");
    expectProblem(await json("GET", "/api/auth/me", { token: user.token }), 401, "unauthorized");
  });

  it("never accepts an access token as a refresh token", async () => {
    const user = await registerUser("swap");
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: user.token } }), 401, "unauthorized");
    expectProblem(await json("POST", "/api/auth/refresh", { body: {} }), 422, "validation_failed");
  });

  it("of two parallel refreshes with one token exactly one succeeds, and the session is then revoked", async () => {
    const user = await registerUser("parallel");
    const results = await Promise.all([0, 1].map(() => json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = results.find((r) => r.status === 200)!;
    expectProblem(await json("GET", "/api/auth/me", { token: winner.body.access_token }), 401, "unauthorized");
  });

  it("logout revokes the access token at once and the refresh token too, and only that session", async () => {
    const user = await registerUser("logout");
    const other = await json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } });
    const res = await json("POST", "/api/auth/logout", { token: user.token });
    expect(res.status).toBe(204);
    expectProblem(await json("GET", "/api/auth/me", { token: user.token }), 401, "unauthorized");
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } }), 401, "unauthorized");
    expect((await json("GET", "/api/auth/me", { token: other.body.access_token })).status).toBe(200);
    expectProblem(await json("POST", "/api/auth/logout", { token: user.token }), 401, "unauthorized");
  });

  it("logout with a refresh token of another own session revokes that one too", async () => {
    const user = await registerUser("logout2");
    const other = await json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } });
    expect((await json("POST", "/api/auth/logout", { token: user.token, body: { refresh_token: other.body.refresh_token } })).status).toBe(204);
    expectProblem(await json("GET", "/api/auth/me", { token: other.body.access_token }), 401, "unauthorized");
  });
});

describe("forged and spent refresh tokens", () => {
  const sessionIdOf = (refreshToken: string) => /^rt_([0-9a-f]{32})\./.exec(refreshToken)![1];

  it("answers a forged token (the live session's id, a wrong secret) with a plain 401 and leaves the session working", async () => {
    const user = await registerUser("forgedrt");
    const forged = `rt_${sessionIdOf(user.refresh)}.${"ab".repeat(32)}`;
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: forged } }), 401, "unauthorized");
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: forged } }), 401, "unauthorized");
    expect((await json("GET", "/api/auth/me", { token: user.token })).status).toBe(200);
    const rotated = await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } });
    expect(rotated.status).toBe(200);
    expect((await json("GET", "/api/auth/me", { token: rotated.body.access_token })).status).toBe(200);
  });

  it("revokes the session when a token spent several rotations ago comes back", async () => {
    const user = await registerUser("oldspent");
    let current = user.refresh;
    for (let i = 0; i < 3; i++) current = (await json("POST", "/api/auth/refresh", { body: { refresh_token: current } })).body.refresh_token;
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } }), 401, "unauthorized");
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: current } }), 401, "unauthorized");
  });

  it(`remembers the last ${SPENT_TOKENS_REMEMBERED} spent tokens: an older one is a plain 401`, async () => {
    const user = await registerUser("forgotten");
    let current = user.refresh;
    for (let i = 0; i <= SPENT_TOKENS_REMEMBERED; i++) {
      const res = await json("POST", "/api/auth/refresh", { body: { refresh_token: current } });
      expect(res.status).toBe(200);
      current = res.body.refresh_token;
    }
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } }), 401, "unauthorized");
    expect((await json("POST", "/api/auth/refresh", { body: { refresh_token: current } })).status).toBe(200);
  });

  it("keeps at most the remembered number of spent hashes on the session row", async () => {
    const user = await registerUser("bounded");
    let current = user.refresh;
    for (let i = 0; i < SPENT_TOKENS_REMEMBERED + 5; i++) current = (await json("POST", "/api/auth/refresh", { body: { refresh_token: current } })).body.refresh_token;
    const row = await env.DB.prepare("SELECT spent_hashes FROM sessions WHERE id = ?").bind(sessionIdOf(current)).first<{ spent_hashes: string }>();
    expect(row!.spent_hashes.split(",")).toHaveLength(SPENT_TOKENS_REMEMBERED);
  });

  it("of ten parallel refreshes with one token exactly one wins, and the losers' reuse revokes the session", async () => {
    const user = await registerUser("tenrace");
    const results = await Promise.all(Array.from({ length: 10 }, () => json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(9);
    const winner = results.find((r) => r.status === 200)!;
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: winner.body.refresh_token } }), 401, "unauthorized");
  });
});

describe("POST /api/auth/password", () => {
  const change = (user: { token: string }, body: unknown) => json("POST", "/api/auth/password", { token: user.token, body });
  const login = (username: string, password: string) => json("POST", "/api/auth/login", { body: { username, password } });

  it("changes the password with 204, revokes every other session and keeps the caller's", async () => {
    const user = await registerUser("pwchange");
    const other = await login(user.username, user.password);
    expect((await change(user, { current_password: user.password, new_password: "a brand new passphrase" })).status).toBe(204);
    expect((await json("GET", "/api/auth/me", { token: user.token })).status).toBe(200);
    expect((await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })).status).toBe(200);
    expectProblem(await json("GET", "/api/auth/me", { token: other.body.access_token }), 401, "unauthorized");
    expectProblem(await json("POST", "/api/auth/refresh", { body: { refresh_token: other.body.refresh_token } }), 401, "unauthorized");
    expectProblem(await login(user.username, user.password), 401, "unauthorized");
    expect((await login(user.username, "a brand new passphrase")).status).toBe(200);
  });

  it("answers a wrong current password with 403 and changes nothing", async () => {
    const user = await registerUser("pwwrong");
    const other = await login(user.username, user.password);
    const res = await change(user, { current_password: "not the password", new_password: "a brand new passphrase" });
    expectProblem(res, 403, "forbidden");
    expect(res.body.errors).toEqual([{ field: "current_password", message: expect.any(String) }]);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect((await json("GET", "/api/auth/me", { token: other.body.access_token })).status).toBe(200);
    expect((await login(user.username, user.password)).status).toBe(200);
  });

  it("validates the body with 422 naming each field, and needs a bearer token", async () => {
    const user = await registerUser("pwinvalid");
    const res = await change(user, { new_password: "short" });
    expectProblem(res, 422, "validation_failed");
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["current_password", "new_password"]);
    expectProblem(await change(user, { current_password: user.password, new_password: "p".repeat(129) }), 422, "validation_failed");
    expectProblem(await json("POST", "/api/auth/password", { body: { current_password: user.password, new_password: "a brand new passphrase" } }), 401, "unauthorized");
    expect((await login(user.username, user.password)).status).toBe(200);
  });

  it("starts no session for a login that verified the old password while the change committed", async () => {
    const user = await registerUser("pwrace");
    // The login's view after its scrypt check, just before its insert: the row it verified.
    const stale = (await createDb(env.DB).select().from(users).where(eq(users.id, user.id)))[0];
    expect((await change(user, { current_password: user.password, new_password: "a brand new passphrase" })).status).toBe(204);
    await expect(issueSession(createDb(env.DB), env, stale)).rejects.toMatchObject({ status: 401 });
    const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?").bind(user.id).first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it("counts wrong current passwords against the account's login limit", async () => {
    const user = await registerUser("pwguess");
    await inOneWindow(60, 15_000);
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) status = (await change(user, { current_password: `guess ${i} wrong`, new_password: "a brand new passphrase" })).status;
    expect(status).toBe(429);
    expect((await login(user.username, user.password)).status).toBe(429);
  });
});

// The limiter counts in fixed windows, so a run that straddles a window boundary may need up to
// twice the limit before the first 429; the loops allow for that.
describe("rate limits", () => {
  it("limits login per client IP with 429 and Retry-After", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof json>> | undefined;
    for (let i = 0; i < 45 && !limited; i++) {
      // Distinct unknown accounts, so only the per-IP limiter can trip.
      const res = await json("POST", "/api/auth/login", { ip, body: { username: `nobody${i}_${ip}`, password: "whatever1" } });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    expectProblem(limited!, 429, "rate_limited");
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
  });

  it("limits login per account across IPs", async () => {
    const user = await registerUser("acct");
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) {
      status = (await json("POST", "/api/auth/login", { body: { username: user.username, password: "bad password" } })).status;
    }
    expect(status).toBe(429);
  });

  it("counts the username and the email of one account in one per-account bucket", async () => {
    const user = await registerUser("onebucket");
    const attempt = async (identifier: string) => (await json("POST", "/api/auth/login", { body: { username: identifier, password: "bad password" } })).status;
    // Ten failures by username fill the bucket (limit 10), so the email is refused at once. A
    // window boundary inside the ten can empty the bucket; then the second round shows it.
    let emailStatus = 0;
    for (let round = 0; round < 2 && emailStatus !== 429; round++) {
      for (let i = 0; i < 10; i++) await attempt(user.username);
      emailStatus = await attempt(user.email.toUpperCase());
    }
    expect(emailStatus).toBe(429);
  });

  it("limits an unknown identifier like a known account, so the limiter does not reveal which exist", async () => {
    const ghost = `ghost_${Math.random().toString(36).slice(2, 12)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 25 && statuses.at(-1) !== 429; i++) statuses.push((await json("POST", "/api/auth/login", { body: { username: ghost, password: "bad password" } })).status);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
  });

  it("leaves another account's logins untouched when one account is limited", async () => {
    const limited = await registerUser("limited");
    const fine = await registerUser("fine");
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) status = (await json("POST", "/api/auth/login", { body: { username: limited.username, password: "bad password" } })).status;
    expect(status).toBe(429);
    expect((await json("POST", "/api/auth/login", { body: { username: fine.username, password: fine.password } })).status).toBe(200);
  });

  it("limits refresh per client IP with 429 and Retry-After, and leaves other IPs untouched", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof json>> | undefined;
    for (let i = 0; i < 65 && !limited; i++) {
      const res = await json("POST", "/api/auth/refresh", { ip, body: { refresh_token: `rt_${"0".repeat(32)}.${"0".repeat(64)}` } });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited).toBeDefined();
    expectProblem(limited!, 429, "rate_limited");
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(statuses.length).toBeGreaterThan(30);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
    const user = await registerUser("refreshok");
    expect((await json("POST", "/api/auth/refresh", { body: { refresh_token: user.refresh } })).status).toBe(200);
  });

  it("limits registration per client IP", async () => {
    const ip = freshIp();
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) {
      // Invalid bodies still count: the limiter runs before validation is irrelevant to an attacker.
      status = (await json("POST", "/api/auth/register", { ip, body: { ...base() } })).status;
    }
    expect(status).toBe(429);
  });
});

describe("password hashing", () => {
  it("uses OWASP scrypt parameters that production workerd accepts", () => {
    const { N, r, p } = PASSWORD_HASH_PARAMS;
    expect(N * r * p).toBeLessThanOrEqual(WORKERD_SCRYPT_CAP);
    // OWASP's equal-strength scrypt settings: N=2^14 with r=8 needs p >= 5 (or a larger N).
    expect(N).toBeGreaterThanOrEqual(2 ** 14);
    expect(r).toBeGreaterThanOrEqual(8);
    expect(N * r * p).toBeGreaterThanOrEqual(2 ** 14 * 8 * 5);
  });

  it("round-trips a hash and rejects another password", async () => {
    const hash = await hashPassword("pässwörd with ünïcode");
    expect(hash).toMatch(/^scrypt\$16384\$8\$5\$/);
    expect(await verifyPassword("pässwörd with ünïcode", hash)).toBe(true);
    expect(await verifyPassword("password", hash)).toBe(false);
    expect(await hashPassword("same")).not.toBe(await hashPassword("same"));
  });
});
