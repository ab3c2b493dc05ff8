import { expect } from "vitest";
import { json, registerUser, type TestUser } from "../helpers";

/** The five kinds of actor the race and fault suites pit against each other on one event. */
export interface Crew {
  creator: TestUser;
  coOwner: TestUser;
  editor: TestUser;
  viewer: TestUser;
  stranger: TestUser;
}

/**
 * `count` crews registered through the API. Suites use them in turn, so no user's write limit
 * (120 per 10 s) is reached by repeated trials.
 */
export function registerCrews(count: number, prefix: string): Promise<Crew[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const [creator, coOwner, editor, viewer, stranger] = await Promise.all(["creator", "coowner", "editor", "viewer", "stranger"].map((role) => registerUser(`${prefix}_${role}`)));
      return { creator, coOwner, editor, viewer, stranger };
    }),
  );
}

/**
 * An event of the crew's creator at version 2, shared with the co-owner (owner), the editor and
 * the viewer, as `reader` then sees it (the ETag depends on the reader's role).
 */
export async function sharedEvent(crew: Crew, title: string, times: { start_time: string; end_time: string }, reader: TestUser = crew.coOwner) {
  const created = await json("POST", "/api/events", { token: crew.creator.token, body: { title, ...times } });
  expect(created.status).toBe(201);
  const id = created.body.id as number;
  const shared = await json("POST", `/api/events/${id}/share`, {
    token: crew.creator.token,
    body: [
      { user_id: crew.coOwner.id, role: "owner" },
      { user_id: crew.editor.id, role: "editor" },
      { user_id: crew.viewer.id, role: "viewer" },
    ],
  });
  expect(shared.status).toBe(200);
  expect((await json("PATCH", `/api/events/${id}`, { token: crew.creator.token, body: { description: "version 2" } })).status).toBe(200);
  const read = await json("GET", `/api/events/${id}`, { token: reader.token });
  expect(read.status).toBe(200);
  return { id, etag: read.headers.get("etag")!, version: read.body.version as number, start_time: read.body.start_time as string, end_time: read.body.end_time as string };
}
