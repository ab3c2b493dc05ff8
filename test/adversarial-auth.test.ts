import { describe, expect, it } from "vitest";
import { json, registerUser, type TestUser } from "./helpers";

async function loginAgain(user: TestUser): Promise<TestUser> {
  const res = await json("POST", "/api/auth/login", { body: { username: user.username, password: user.password } });
  expect(res.status).toBe(200);
  return { ...user, token: res.body.access_token, refresh: res.body.refresh_token };
}

describe("two password changes racing", () => {
  it("lets exactly one of two concurrent changes from two sessions win; the loser's password is not stored and the winner's session stays", async () => {
    for (let trial = 0; trial < 3; trial++) {
      const first = await registerUser("advpw");
      const second = await loginAgain(first);
      const [a, b] = await Promise.all(
        [first, second].map((session, i) =>
          json("POST", "/api/auth/password", { token: session.token, body: { current_password: first.password, new_password: `new passphrase number ${i}` } }),
        ),
      );
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([204, 403]);
      const winner = a.status === 204 ? 0 : 1;
      const winnerSession = [first, second][winner];
      expect((await json("GET", "/api/auth/me", { token: winnerSession.token })).status).toBe(200);
      const login = (password: string) => json("POST", "/api/auth/login", { body: { username: first.username, password } });
      expect((await login(`new passphrase number ${winner}`)).status).toBe(200);
      expect((await login(`new passphrase number ${1 - winner}`)).status).toBe(401);
    }
  });
});
