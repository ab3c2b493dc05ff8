import { json, type TestUser } from "../helpers";

/** A client's local copy, built only from `GET /api/sync` pages. */
export interface SyncCopy {
  events: Map<number, unknown>;
  token: string | null;
}

export const emptyCopy = (): SyncCopy => ({ events: new Map(), token: null });

/**
 * Runs one whole sync (every page) into `copy`, as a client would: from its token when it has
 * one, else a full listing into an emptied copy. Returns the pages' items, in order.
 */
export async function syncInto(user: TestUser, copy: SyncCopy, limit = 50): Promise<{ items: any[]; pages: number }> {
  const all: any[] = [];
  let path = `/api/sync?limit=${limit}${copy.token ? `&sync_token=${encodeURIComponent(copy.token)}` : ""}`;
  if (!copy.token) copy.events.clear();
  for (let pages = 1; ; pages++) {
    const res = await json("GET", path, { token: user.token });
    if (res.status !== 200) throw new Error(`sync failed: ${res.status} ${JSON.stringify(res.body)}`);
    for (const item of res.body.items) {
      all.push(item);
      if (item.deleted) copy.events.delete(item.id);
      else copy.events.set(item.id, item.event);
    }
    if (res.body.next_cursor === null) {
      if (typeof res.body.next_sync_token !== "string") throw new Error("the last page has no next_sync_token");
      copy.token = res.body.next_sync_token;
      return { items: all, pages };
    }
    if (res.body.next_sync_token !== null) throw new Error("a page with next_cursor also has next_sync_token");
    path = `/api/sync?limit=${limit}&cursor=${encodeURIComponent(res.body.next_cursor)}`;
  }
}

/** Every event `GET /api/events` lists for the user, all pages, in its order. */
export async function listedEvents(user: TestUser): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await json("GET", `/api/events?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: user.token });
    if (res.status !== 200) throw new Error(`list failed: ${res.status}`);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return items;
}

/** The copy in the list's order (start_time, then id), to compare with `listedEvents`. */
export const copyInListOrder = (copy: SyncCopy) =>
  [...copy.events.values()].sort((a: any, b: any) => Date.parse(a.start_time) - Date.parse(b.start_time) || a.id - b.id);
