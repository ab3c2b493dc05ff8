import { mapLimit, registerUsers } from "../lib/api.mjs";
import { runInterleaved } from "../lib/load.mjs";
import { conflictCheckQueries, costOf } from "../lib/queries.mjs";

/**
 * S10: the conflict check of a create on calendars with endless series.
 *
 * Each S10 owner has `events` events, a tenth of them endless series (no COUNT, no UNTIL), laid
 * out on a weekly grid (UTC) so that nothing overlaps and every batch of the seeding passes its
 * conflict check:
 *
 * - 00:00-18:00 holds the series, 10 minutes each. Series 0, 20, 40, ... are daily (FREQ=DAILY)
 *   and take the time-of-day slots 00:00, 00:10, ... up to 04:00; the others are weekly
 *   (FREQ=WEEKLY;BYDAY=MO..SU), each at its own (weekday, 10-minute slot) from 04:10 on. The grid
 *   holds 25 daily and 581 weekly series, 500 series in all at the largest size.
 * - 18:00-24:00 holds the one-offs, 30 minutes each, 12 a day, in chronological order from the
 *   first day: one-off i is on day floor(i / 12).
 *
 * Series are seeded first (they all start in the first week), then the one-offs oldest-first,
 * 100 per batch. A create at the end of the calendar is the next one-off slot; a create that
 * conflicts takes the slot of the latest one-off.
 */
const GRID_BASE = Date.UTC(2031, 0, 6); // a Monday
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const SERIES_MINUTES = 10;
const DAILY_EVERY = 20;
const DAILY_SLOTS = 25;
const SERIES_SLOTS_PER_DAY = (18 * 60) / SERIES_MINUTES; // 108: 00:00-18:00
const WEEKLY_CAPACITY = 7 * (SERIES_SLOTS_PER_DAY - DAILY_SLOTS);
const ONE_OFF_MINUTES = 30;
const ONE_OFFS_PER_DAY = 12; // 18:00-24:00
const SERIES_BATCH = 1;
const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

const iso = (ms) => new Date(ms).toISOString();

/** Series j of an S10 owner (0-based), as a POST /api/events body. */
export function seriesEvent(j) {
  const daily = j % DAILY_EVERY === 0;
  let start;
  let pattern;
  if (daily) {
    const slot = j / DAILY_EVERY;
    if (slot >= DAILY_SLOTS) throw new Error(`S10 grid holds ${DAILY_SLOTS} daily series`);
    start = GRID_BASE + slot * SERIES_MINUTES * MINUTE;
    pattern = "FREQ=DAILY";
  } else {
    const w = j - Math.floor(j / DAILY_EVERY) - 1;
    if (w >= WEEKLY_CAPACITY) throw new Error(`S10 grid holds ${WEEKLY_CAPACITY} weekly series`);
    const weekday = w % 7;
    const slot = DAILY_SLOTS + Math.floor(w / 7);
    start = GRID_BASE + weekday * DAY + slot * SERIES_MINUTES * MINUTE;
    pattern = `FREQ=WEEKLY;BYDAY=${WEEKDAYS[weekday]}`;
  }
  return {
    title: `Series ${j}`,
    start_time: iso(start),
    end_time: iso(start + SERIES_MINUTES * MINUTE),
    is_recurring: true,
    recurrence_pattern: pattern,
    timezone: "UTC",
  };
}

/** One-off i of an S10 owner (0-based, chronological), as a POST /api/events body. */
export function oneOffEvent(i, title = `One-off ${i}`) {
  const start = GRID_BASE + Math.floor(i / ONE_OFFS_PER_DAY) * DAY + 18 * 60 * MINUTE + (i % ONE_OFFS_PER_DAY) * ONE_OFF_MINUTES * MINUTE;
  return { title, start_time: iso(start), end_time: iso(start + ONE_OFF_MINUTES * MINUTE) };
}

export const seriesCountOf = (events) => Math.round(events / 10);

/**
 * Registers one owner per size and seeds it through POST /api/events/batch: series first, then
 * one-offs oldest-first. Returns the owners with their layout and per-batch seeding times.
 */
export async function seedRecurringOwners(api, sizes, log = () => {}) {
  const owners = await registerUsers(api, "s10_", sizes.length);
  for (const [i, owner] of owners.entries()) {
    const started = performance.now();
    owner.events = sizes[i];
    owner.series = seriesCountOf(sizes[i]);
    owner.oneOffs = sizes[i] - owner.series;
    owner.batchMs = { series: [], oneOffs: [] };
    // Each series is checked against every other for two years; batches of SERIES_BATCH keep each
    // write inside the conflict budget (CONFLICT_BUDGET in src/recurrence/work.ts).
    for (let from = 0; from < owner.series; from += SERIES_BATCH) {
      const t = performance.now();
      const to = Math.min(owner.series, from + SERIES_BATCH);
      await api.createBatch(owner.token, Array.from({ length: to - from }, (_, k) => seriesEvent(from + k)));
      owner.batchMs.series.push(performance.now() - t);
    }
    for (let from = 0; from < owner.oneOffs; from += 100) {
      const t = performance.now();
      const to = Math.min(owner.oneOffs, from + 100);
      await api.createBatch(owner.token, Array.from({ length: to - from }, (_, k) => oneOffEvent(from + k)));
      owner.batchMs.oneOffs.push(performance.now() - t);
    }
    owner.seedSeconds = (performance.now() - started) / 1000;
    log(owner);
  }
  return owners;
}

const jsonHeaders = (token) => ({ accept: "application/json", "content-type": "application/json", authorization: `Bearer ${token}` });

/**
 * S10 measurement. For each owner (and a control: a calendar of one-offs only), two specs in
 * interleaved rounds, one connection each (one user creating one event at a time; several
 * writers on one owner would measure the calendar guard, see S2'), a fixed number of requests
 * per round:
 *
 * - `append`: POST /api/events at the next free slot after the latest event (201). The events a
 *   round creates are deleted after it, so every round sees the same calendar.
 * - `conflict`: POST /api/events at the slot of the latest event (409).
 *
 * Then the conflict check's two SELECTs for both creates, through the D1 binding, for rows read.
 */
export async function recurringConflicts({ target, api, db, settings }, { owners, control }) {
  const perRound = settings.s10Requests;
  const calendars = [
    ...owners.map((o) => ({ label: `${o.events.toLocaleString("en-US")} events, ${o.series} series`, owner: o, events: o.events, series: o.series, oneOffs: o.oneOffs, next: (n) => oneOffEvent(o.oneOffs + n, `Appended ${n}`), latest: oneOffEvent(o.oneOffs - 1, "Clash") })),
    ...(control ? [{ label: `${control.events.toLocaleString("en-US")} events, no series (control)`, control: true, owner: control, events: control.events, series: 0, oneOffs: control.events, next: (n) => control.eventAt(control.events + n, `Appended ${n}`), latest: control.eventAt(control.events - 1, "Clash") }] : []),
  ];
  const deleteCreated = async (calendar) => {
    const ids = calendar.created.splice(0);
    await mapLimit(ids, 4, (id) => api.expect(204, "DELETE", `/api/events/${id}`, { token: calendar.owner.token }));
    calendar.deleted += ids.length;
  };
  const specs = [];
  for (const calendar of calendars) {
    calendar.created = [];
    calendar.deleted = 0;
    specs.push({
      method: "POST",
      path: "/api/events",
      expectStatus: 201,
      connections: 1,
      amount: perRound,
      clientRequests: () => {
        let n = 0;
        return [
          {
            method: "POST",
            path: "/api/events",
            headers: jsonHeaders(calendar.owner.token),
            setupRequest: (request) => ({ ...request, body: JSON.stringify(calendar.next(n++)) }),
            onResponse: (status, body) => {
              if (status === 201) calendar.created.push(JSON.parse(body).id);
            },
          },
        ];
      },
      afterRun: () => deleteCreated(calendar),
    });
    specs.push({
      method: "POST",
      path: "/api/events",
      headers: { authorization: `Bearer ${calendar.owner.token}` },
      body: calendar.latest,
      expectStatus: 409,
      connections: 1,
      amount: perRound,
    });
  }
  const loads = await runInterleaved(target, specs, settings.rounds);

  const rows = [];
  for (const [i, calendar] of calendars.entries()) {
    const probes = { append: calendar.next(0), conflict: calendar.latest };
    const read = {};
    for (const [kind, event] of Object.entries(probes)) {
      const { finite, endless } = conflictCheckQueries(calendar.owner.id, Date.parse(event.start_time), Date.parse(event.end_time));
      const f = await costOf(db, finite);
      const e = await costOf(db, endless);
      read[kind] = { finiteRows: f.rows, finiteRowsRead: f.rowsRead, endlessRows: e.rows, endlessRowsRead: e.rowsRead, rowsRead: f.rowsRead + e.rowsRead, plan: [...f.plan, ...e.plan] };
    }
    const stored = await db.prepare("select count(*) as n, sum(series_end is null) as endless from events where owner_id = ?").bind(calendar.owner.id).first();
    rows.push({
      label: calendar.label,
      control: Boolean(calendar.control),
      events: calendar.events,
      series: calendar.series,
      oneOffs: calendar.oneOffs,
      storedAfter: { events: stored.n, endless: stored.endless ?? 0 },
      createdAndDeleted: calendar.deleted,
      append: loads[2 * i],
      conflict: loads[2 * i + 1],
      rowsRead: read,
    });
  }
  return { requestsPerRound: perRound, rounds: settings.rounds.rounds, calendars: rows };
}
