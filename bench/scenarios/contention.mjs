import { eventAt } from "../lib/api.mjs";
import { summarize } from "../lib/stats.mjs";

const etagVersion = (etag) => Number(/^(?:W\/)?"(\d+)"$/.exec(etag ?? "")?.[1] ?? NaN);

/**
 * One writer: GET for the ETag, PATCH with If-Match and a description nobody else writes, and on
 * 412 GET again and retry, until the deadline. Every acknowledged (200) value is kept so the run
 * can prove afterwards that none was lost.
 */
async function writer(api, token, eventId, name, deadline, tally) {
  let etag = null;
  let seq = 0;
  while (performance.now() < deadline) {
    if (!etag) {
      const read = await api.send("GET", `/api/events/${eventId}`, { token });
      tally.gets++;
      etag = read.headers.get("etag");
      continue;
    }
    const value = `${name}-${seq++}`;
    const write = await api.send("PATCH", `/api/events/${eventId}`, { token, body: { description: value }, headers: { "if-match": etag } });
    tally.patches++;
    if (write.status === 200) {
      tally.acknowledged.push({ value, version: write.body.version });
      tally.successLatencies.push(write.ms);
      etag = write.headers.get("etag");
    } else if (write.status === 412) {
      tally.preconditionFailed++;
      etag = null;
    } else {
      tally.other[write.status] = (tally.other[write.status] ?? 0) + 1;
      etag = null;
    }
  }
}

/**
 * S5: k writers on one event with If-Match, each retrying on 412. Reports goodput and the 412
 * rate, then checks for lost updates: the final version is 1 + successful writes, the event has
 * exactly that many versions, every acknowledged value is one of them, and no two
 * acknowledgements claim the same version.
 */
export async function contention({ api, db, settings }, { owner, writerCounts, firstSlot }) {
  const levels = [];
  for (const [i, k] of writerCounts.entries()) {
    const event = await api.createEvent(owner.token, eventAt(firstSlot + i, `Contended by ${k}`));
    const tally = { gets: 0, patches: 0, preconditionFailed: 0, other: {}, acknowledged: [], successLatencies: [] };
    const started = performance.now();
    const deadline = started + settings.duration * 1000;
    await Promise.all(Array.from({ length: k }, (_, w) => writer(api, owner.token, event.id, `k${k}w${w}`, deadline, tally)));
    const seconds = (performance.now() - started) / 1000;

    const final = await api.send("GET", `/api/events/${event.id}`, { token: owner.token });
    const finalVersion = final.body.version;
    const stored = (await db.prepare("select version, json_extract(snapshot, '$.description') as description from versions where event_id = ?").bind(event.id).all()).results;
    const storedValues = new Set(stored.map((v) => v.description));
    const successes = tally.acknowledged.length;
    const missing = tally.acknowledged.filter((a) => !storedValues.has(a.value)).map((a) => a.value);
    const duplicateVersions = successes - new Set(tally.acknowledged.map((a) => a.version)).size;
    const lostUpdates = Math.max(0, 1 + successes - finalVersion) + missing.length;
    levels.push({
      writers: k,
      seconds,
      successes,
      goodput: successes / seconds,
      patches: tally.patches,
      gets: tally.gets,
      // Everything the writers sent per second (PATCHes and re-GETs): the capacity they share.
      requestsPerSecond: (tally.patches + tally.gets) / seconds,
      preconditionFailed: tally.preconditionFailed,
      rate412: tally.patches ? tally.preconditionFailed / tally.patches : 0,
      otherStatuses: tally.other,
      successLatency: summarize(tally.successLatencies),
      finalVersion,
      etagVersion: etagVersion(final.headers.get("etag")),
      expectedVersion: 1 + successes,
      storedVersions: stored.length,
      missingAcknowledged: missing.slice(0, 5),
      duplicateVersions,
      lostUpdates,
      ok: finalVersion === 1 + successes && stored.length === finalVersion && missing.length === 0 && duplicateVersions === 0 && Object.keys(tally.other).length === 0,
    });
  }
  return levels;
}
