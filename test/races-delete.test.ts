import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { json, slotMaker } from "./helpers";
import { MAX_COLLABORATORS } from "../src/sharing/schemas";
import { registerCrews, sharedEvent, type Crew } from "./support/crews";
import { eventStates, integrityReport, silentUsers } from "./support/integrity";

/**
 * Writes racing a delete of the same event, fired in one tick so workerd interleaves them. Every
 * trial asserts the exact set of statuses each request may answer, that no request answers 5xx,
 * and (white-box, on env.DB) that no version, permission or notification of the deleted event is
 * left behind and every live event's history is exactly 1..version.
 */

const TRIALS = 20;
const slot = slotMaker(2041);

/** Several crews, used in turn, so no user's write limit (120 per 10 s) is reached by the trials. */
let crews: Crew[];
let turn = 0;
const nextCrew = () => crews[turn++ % crews.length];

beforeAll(async () => {
  // Eight crews: a creator writes about six times a trial, and six tests of 20 trials run back to back.
  crews = await registerCrews(8, "rd");
});

const sharedEventOf = (crew: Crew, title: string) => sharedEvent(crew, title, slot());

type Outcome = { op: string; status: number; body: unknown };

/** Fires every request in the same tick and names each answer. */
async function atOnce(requests: Record<string, () => Promise<{ status: number; body: unknown }>>): Promise<Record<string, Outcome>> {
  const names = Object.keys(requests);
  const answers = await Promise.all(names.map((name) => requests[name]()));
  return Object.fromEntries(names.map((name, i) => [name, { op: name, status: answers[i].status, body: answers[i].body }]));
}

/** Every outcome whose status is outside the allowed set (5xx never is), with its body. */
function unexpected(outcomes: Record<string, Outcome>, allowed: Record<string, number[]>) {
  return Object.values(outcomes)
    .filter((o) => !allowed[o.op].includes(o.status))
    .map((o) => ({ op: o.op, status: o.status, code: (o.body as { code?: string } | null)?.code }));
}

/**
 * Starts `fn` after `ms` milliseconds (0: at once). Trials stagger one side of a two-request race
 * by 0..4 ms, alternately, so both orders of the race are actually tried, not only the one the
 * scheduler happens to prefer.
 */
const after = <T,>(ms: number, fn: () => Promise<T>) => (ms ? new Promise<void>((resolve) => setTimeout(resolve, ms)).then(fn) : fn());
const stagger = (trial: number) => ({ first: trial % 2 ? trial % 5 : 0, second: trial % 2 ? 0 : trial % 5 });

/** How often each combination of statuses came up, printed so a run shows which orders it tried. */
function logOutcomes(name: string, pairs: string[]) {
  const counts: Record<string, number> = {};
  for (const pair of pairs) counts[pair] = (counts[pair] ?? 0) + 1;
  console.log(`races-delete ${name}: ${JSON.stringify(counts)}`);
}

/** Each request's status, in the order fired. */
const statusesOf = (outcomes: Record<string, Outcome>) => Object.fromEntries(Object.values(outcomes).map((o) => [o.op, o.status]));

/** The integrity report in brief: how many orphans of each kind, and the broken histories. */
function briefly(integrity: Awaited<ReturnType<typeof integrityReport>>) {
  const orphans: Record<string, number> = {};
  for (const row of integrity.orphans) orphans[`${row.kind}:${row.detail}`] = (orphans[`${row.kind}:${row.detail}`] ?? 0) + 1;
  return { orphans, history: integrity.history };
}

async function expectGone(crew: Crew, eventId: number) {
  for (const user of [crew.creator, crew.coOwner, crew.editor, crew.viewer, crew.stranger]) {
    expect({ user: user.username, status: (await json("GET", `/api/events/${eventId}`, { token: user.token })).status }).toEqual({ user: user.username, status: 404 });
  }
}

describe("content writes racing a delete of the same event", () => {
  it(`PATCH, DELETE, PATCH, rollback and an If-Match PUT fired at once (${TRIALS} trials) never answer 5xx and leave no orphan row`, async () => {
    const allowed = {
      patchByEditor: [200, 404, 409],
      delete: [204],
      patchByCoOwner: [200, 404, 409],
      rollback: [200, 404, 409],
      ifMatchPut: [200, 404, 412],
    };
    const failures: unknown[] = [];
    const pairs: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const crew = nextCrew();
      const event = await sharedEventOf(crew, `Race ${trial}`);
      const outcomes = await atOnce({
        patchByEditor: () => json("PATCH", `/api/events/${event.id}`, { token: crew.editor.token, body: { description: `editor ${trial}` } }),
        delete: () => json("DELETE", `/api/events/${event.id}`, { token: crew.creator.token }),
        patchByCoOwner: () => json("PATCH", `/api/events/${event.id}`, { token: crew.coOwner.token, body: { title: `co-owner ${trial}` } }),
        rollback: () => json("POST", `/api/events/${event.id}/rollback/1`, { token: crew.editor.token }),
        ifMatchPut: () => json("PUT", `/api/events/${event.id}`, { token: crew.coOwner.token, headers: { "If-Match": event.etag }, body: { location: `room ${trial}` } }),
      });
      const bad = unexpected(outcomes, allowed);
      const integrity = await integrityReport(env.DB, [event.id]);
      if (bad.length || integrity.orphans.length || integrity.history.length) failures.push({ trial, statuses: statusesOf(outcomes), bad, ...briefly(integrity) });
      await expectGone(crew, event.id);
    }
    if (pairs.length) logOutcomes(expect.getState().currentTestName ?? "", pairs);
    expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] });
  });

  it("an If-Match DELETE racing a PATCH either deletes (and the PATCH finds nothing) or is refused with 412 and the PATCH's version stays", async () => {
    const failures: unknown[] = [];
    const pairs: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const crew = nextCrew();
      const event = await sharedEventOf(crew, `Conditional race ${trial}`);
      const { first, second } = stagger(trial);
      const outcomes = await atOnce({
        delete: () => after(first, () => json("DELETE", `/api/events/${event.id}`, { token: crew.coOwner.token, headers: { "If-Match": event.etag } })),
        patch: () => after(second, () => json("PATCH", `/api/events/${event.id}`, { token: crew.editor.token, body: { description: `edit ${trial}` } })),
      });
      const pair = [outcomes.delete.status, outcomes.patch.status].join(",");
      pairs.push(`delete ${outcomes.delete.status}, patch ${outcomes.patch.status}`);
      const [state] = (await eventStates(env.DB, [event.id])).values();
      const integrity = await integrityReport(env.DB, [event.id]);
      // 204 + 200 is allowed only when the PATCH ran first and then the delete of that older
      // version... which If-Match forbids: the PATCH moved the version, so the delete must be 412.
      const consistent =
        (pair === "204,404" && !state.exists) || (pair === "412,200" && state.exists && state.version === event.version + 1);
      if (!consistent || integrity.orphans.length || integrity.history.length) failures.push({ trial, pair, exists: state.exists, version: state.version, statuses: statusesOf(outcomes), ...briefly(integrity) });
    }
    if (pairs.length) logOutcomes(expect.getState().currentTestName ?? "", pairs);
    expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] });
  });
});

describe("permission writes racing a delete of the same event", () => {
  it(`share, set role, revoke and leave fired with a DELETE (${TRIALS} trials) never answer 5xx and leave no permission, version or notification behind`, async () => {
    const allowed = {
      delete: [204],
      share: [200, 404],
      setRole: [200, 404],
      revoke: [204, 404],
      leave: [204, 404],
    };
    const failures: unknown[] = [];
    const pairs: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const crew = nextCrew();
      const event = await sharedEventOf(crew, `Sharing race ${trial}`);
      const outcomes = await atOnce({
        share: () => json("POST", `/api/events/${event.id}/share`, { token: crew.coOwner.token, body: { user_id: crew.stranger.id, role: "viewer" } }),
        setRole: () => json("PUT", `/api/events/${event.id}/permissions/${crew.viewer.id}`, { token: crew.coOwner.token, body: { role: "editor" } }),
        delete: () => json("DELETE", `/api/events/${event.id}`, { token: crew.creator.token }),
        revoke: () => json("DELETE", `/api/events/${event.id}/permissions/${crew.editor.id}`, { token: crew.coOwner.token }),
        leave: () => json("DELETE", `/api/events/${event.id}/permissions/${crew.viewer.id}`, { token: crew.viewer.token }),
      });
      const bad = unexpected(outcomes, allowed);
      const integrity = await integrityReport(env.DB, [event.id]);
      if (bad.length || integrity.orphans.length || integrity.history.length) failures.push({ trial, statuses: statusesOf(outcomes), bad, ...briefly(integrity) });
      await expectGone(crew, event.id);
    }
    if (pairs.length) logOutcomes(expect.getState().currentTestName ?? "", pairs);
    expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] });
  });
});

describe("a co-owner deleting while the creator takes their role away", () => {
  it(`either the delete wins (204, the demotion finds nothing) or it is refused and the event is intact with its full history (${TRIALS} trials)`, async () => {
    const failures: unknown[] = [];
    const pairs: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const crew = nextCrew();
      const event = await sharedEventOf(crew, `Demotion race ${trial}`);
      const { first, second } = stagger(trial);
      const outcomes = await atOnce({
        demote: () => after(first, () => json("PUT", `/api/events/${event.id}/permissions/${crew.coOwner.id}`, { token: crew.creator.token, body: { role: "viewer" } })),
        delete: () => after(second, () => json("DELETE", `/api/events/${event.id}`, { token: crew.coOwner.token })),
      });
      const pair = `${outcomes.delete.status},${outcomes.demote.status}`;
      pairs.push(`delete ${outcomes.delete.status}, demote ${outcomes.demote.status}`);
      const [state] = (await eventStates(env.DB, [event.id])).values();
      const integrity = await integrityReport(env.DB, [event.id]);
      const deleted = pair === "204,404" && !state.exists;
      const refused =
        (pair === "403,200" || pair === "404,200") && state.exists && state.version === event.version && state.roles.get(crew.coOwner.id) === "viewer";
      if (!(deleted || refused) || integrity.orphans.length || integrity.history.length) {
        failures.push({ trial, pair, exists: state.exists, coOwnerRole: state.roles.get(crew.coOwner.id), statuses: statusesOf(outcomes), ...briefly(integrity) });
      }
      if (refused) {
        const changelog = await json("GET", `/api/events/${event.id}/changelog`, { token: crew.coOwner.token });
        expect(changelog.body.items.map((e: { version: number }) => e.version)).toEqual([1, 2]);
      }
    }
    if (pairs.length) logOutcomes(expect.getState().currentTestName ?? "", pairs);
    expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] });
  });

  it(`either the delete wins or the revocation does, never both (${TRIALS} trials)`, async () => {
    const failures: unknown[] = [];
    const pairs: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const crew = nextCrew();
      const event = await sharedEventOf(crew, `Removal race ${trial}`);
      const { first, second } = stagger(trial);
      const outcomes = await atOnce({
        revoke: () => after(first, () => json("DELETE", `/api/events/${event.id}/permissions/${crew.coOwner.id}`, { token: crew.creator.token })),
        delete: () => after(second, () => json("DELETE", `/api/events/${event.id}`, { token: crew.coOwner.token })),
      });
      const pair = `${outcomes.delete.status},${outcomes.revoke.status}`;
      pairs.push(`delete ${outcomes.delete.status}, revoke ${outcomes.revoke.status}`);
      const [state] = (await eventStates(env.DB, [event.id])).values();
      const integrity = await integrityReport(env.DB, [event.id]);
      const deleted = pair === "204,404" && !state.exists;
      const removed = pair === "404,204" && state.exists && !state.roles.has(crew.coOwner.id) && state.version === event.version;
      if (!(deleted || removed) || integrity.orphans.length || integrity.history.length) failures.push({ trial, pair, exists: state.exists, statuses: statusesOf(outcomes), ...briefly(integrity) });
    }
    if (pairs.length) logOutcomes(expect.getState().currentTestName ?? "", pairs);
    expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] });
  });

  it(`a co-owner's share racing their demotion grants nothing unless it came first (${TRIALS} trials)`, async () => {
    const failures: unknown[] = [];
    const pairs: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const crew = nextCrew();
      const event = await sharedEventOf(crew, `Share-demotion race ${trial}`);
      const { first, second } = stagger(trial);
      const outcomes = await atOnce({
        demote: () => after(first, () => json("PUT", `/api/events/${event.id}/permissions/${crew.coOwner.id}`, { token: crew.creator.token, body: { role: "editor" } })),
        share: () => after(second, () => json("POST", `/api/events/${event.id}/share`, { token: crew.coOwner.token, body: { user_id: crew.stranger.id, role: "owner" } })),
      });
      pairs.push(`share ${outcomes.share.status}, demote ${outcomes.demote.status}`);
      const [state] = (await eventStates(env.DB, [event.id])).values();
      const granted = state.roles.get(crew.stranger.id);
      // Serial orders: share then demote (200, 200, stranger is owner) or demote then share (403, 200, nothing granted).
      const ok =
        outcomes.demote.status === 200 &&
        state.roles.get(crew.coOwner.id) === "editor" &&
        ((outcomes.share.status === 200 && granted === "owner") || (outcomes.share.status === 403 && granted === undefined));
      if (!ok) failures.push({ trial, statuses: statusesOf(outcomes), granted });
    }
    if (pairs.length) logOutcomes(expect.getState().currentTestName ?? "", pairs);
    expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] });
  });
});

describe("a share with the most collaborators allowed racing a delete", () => {
  it("either lands before the delete (and goes with it) or finds nothing: no permission or notification of the event is left (5 trials)", async () => {
    const failures: unknown[] = [];
    const pairs: string[] = [];
    for (let trial = 0; trial < 5; trial++) {
      const crew = nextCrew();
      const event = await sharedEventOf(crew, `Big share race ${trial}`);
      const grantees = await silentUsers(env.DB, `bs${trial}`, MAX_COLLABORATORS - 3);
      const { first, second } = stagger(trial);
      const outcomes = await atOnce({
        share: () => after(first, () => json("POST", `/api/events/${event.id}/share`, { token: crew.coOwner.token, body: grantees.map((id) => ({ user_id: id, role: "viewer" })) })),
        delete: () => after(second, () => json("DELETE", `/api/events/${event.id}`, { token: crew.creator.token })),
      });
      pairs.push(`share ${outcomes.share.status}, delete ${outcomes.delete.status}`);
      const bad = unexpected(outcomes, { share: [200, 404], delete: [204] });
      const integrity = await integrityReport(env.DB, [event.id]);
      if (bad.length || integrity.orphans.length || integrity.history.length) failures.push({ trial, statuses: statusesOf(outcomes), bad, ...briefly(integrity) });
    }
    logOutcomes(expect.getState().currentTestName ?? "", pairs);
    expect({ failed: failures.length, first: failures.slice(0, 2) }).toEqual({ failed: 0, first: [] });
  });
});
