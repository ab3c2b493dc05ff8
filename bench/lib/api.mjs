/** The public API as the bench uses it: JSON in, JSON out, failures thrown with the problem body. */

export const PASSWORD = "bench-password-1";

/** First instant of the bench's calendar; slot i is [BASE + 30 min · i, BASE + 30 min · (i + 1)). */
const BASE = Date.UTC(2031, 0, 1);
const SLOT_MS = 30 * 60 * 1000;

export const slotMs = (i) => ({ start: BASE + i * SLOT_MS, end: BASE + (i + 1) * SLOT_MS });

export const slotTimes = (i) => ({
  start_time: new Date(slotMs(i).start).toISOString(),
  end_time: new Date(slotMs(i).end).toISOString(),
});

export const eventAt = (i, title = `Bench event ${i}`) => ({ title, ...slotTimes(i) });

export class Api {
  constructor(baseUrl) {
    this.base = baseUrl;
  }

  /** Sends one request; returns status, headers, parsed body and the elapsed ms. Never throws on status. */
  async send(method, path, { token, body, headers = {} } = {}) {
    const init = { method, headers: { accept: "application/json", ...headers } };
    if (token) init.headers.authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const started = performance.now();
    const response = await fetch(new URL(path, this.base), init);
    const text = await response.text();
    const ms = performance.now() - started;
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null, ms };
  }

  /** Like send, but throws unless the status is the expected one. */
  async expect(status, method, path, options) {
    const result = await this.send(method, path, options);
    if (result.status !== status) {
      throw new Error(`${method} ${path}: expected ${status}, got ${result.status}: ${JSON.stringify(result.body)?.slice(0, 400)}`);
    }
    return result.body;
  }

  async register(username) {
    const session = await this.expect(201, "POST", "/api/auth/register", { body: { username, email: `${username}@bench.test`, password: PASSWORD } });
    return { id: session.user.id, username, token: session.access_token };
  }

  async login(username) {
    const session = await this.expect(200, "POST", "/api/auth/login", { body: { username, password: PASSWORD } });
    return session.access_token;
  }

  createEvent(token, event) {
    return this.expect(201, "POST", "/api/events", { token, body: event });
  }

  createBatch(token, events) {
    return this.expect(201, "POST", "/api/events/batch", { token, body: { events } });
  }

  share(token, eventId, users) {
    return this.expect(200, "POST", `/api/events/${eventId}/share`, { token, body: { users } });
  }
}

/** Runs `task(item, index)` over items with at most `limit` in flight; results keep input order. */
export async function mapLimit(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Registers users named `${prefix}${i}`, a few at a time (each registration runs scrypt). */
export const registerUsers = (api, prefix, count, concurrency = 4) =>
  mapLimit(
    Array.from({ length: count }, (_, i) => `${prefix}${i}`),
    concurrency,
    (name) => api.register(name),
  );

/**
 * Gives a user `count` events through POST /api/events/batch, 100 at a time, in slots
 * [firstSlot, firstSlot + count). Returns the created ids in slot order.
 */
export async function seedEvents(api, token, count, { firstSlot = 0, batchSize = 100, order = "ascending", onBatch } = {}) {
  const batches = [];
  for (let from = 0; from < count; from += batchSize) batches.push([from, Math.min(count, from + batchSize)]);
  if (order === "descending") batches.reverse();
  const ids = new Array(count);
  for (const [from, to] of batches) {
    const started = performance.now();
    const events = Array.from({ length: to - from }, (_, k) => eventAt(firstSlot + from + k));
    const created = await api.createBatch(token, events);
    created.forEach((event, k) => (ids[from + k] = event.id));
    onBatch?.({ from, to, ms: performance.now() - started });
  }
  return ids;
}
