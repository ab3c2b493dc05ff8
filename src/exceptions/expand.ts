import { endOf, firstOverlapOf, occurrences, type Occurrence, type SeriesSpec, type WorkBudget } from "../recurrence";
import type { ExceptionIndex, ShownOccurrence } from "./model";

/**
 * A series with its exceptions applied: what every reader of occurrences expands (occurrences,
 * agenda, the list's window filter, conflict checks, feeds, free/busy).
 */
export interface Series extends SeriesSpec {
  exceptions?: ExceptionIndex | null;
}

/** One occurrence of a series: where it is now, the start the rule generated it at, and whether it was changed. */
export interface SeriesOccurrence extends Occurrence {
  originalStart: number;
  isException: boolean;
}

const plainItem = (o: Occurrence): SeriesOccurrence => ({ start: o.start, end: o.end, originalStart: o.start, isException: false });
const shownItem = (o: ShownOccurrence): SeriesOccurrence => ({ start: o.start, end: o.end, originalStart: o.originalStart, isException: true });

/**
 * The occurrences of a series with its exceptions applied that end after `from` and start before
 * `to`, lazily, by start (then original start): cancelled ones skipped, changed ones at their new
 * times. The rule's own occurrences come from the plain expander entered at `from`, so the work
 * still follows the window; the changed ones are merged in from the series' sorted list. A value
 * passed to `next()` is an instant before which the caller needs nothing (as in `occurrences`).
 *
 * @example for (const o of seriesOccurrences(seriesSpecOf(row), start, end)) console.log(o.start, o.originalStart, o.isException);
 */
export function* seriesOccurrences(series: Series, from = -Infinity, to = Infinity, budget?: WorkBudget): Generator<SeriesOccurrence, void, number | undefined> {
  const plain = occurrences(series, from, to, budget);
  const x = series.rule ? series.exceptions : null;
  if (!x) {
    for (let r = plain.next(); !r.done; ) {
      const seek = yield plainItem(r.value);
      r = plain.next(seek);
    }
    return;
  }
  const shown = x.shown.filter((o) => o.start < to && endOf(o) > from);
  let seek: number | undefined;
  let i = 0;
  let r = plain.next();
  const skipChanged = () => {
    while (!r.done && (x.changed.has(r.value.start) || (seek !== undefined && endOf(r.value) <= seek))) r = plain.next(seek);
  };
  skipChanged();
  for (;;) {
    while (i < shown.length && seek !== undefined && endOf(shown[i]) <= seek) i++;
    const moved = shown[i];
    if (r.done && !moved) return;
    const takeMoved = moved !== undefined && (r.done || moved.start < r.value.start || (moved.start === r.value.start && moved.originalStart < r.value.start));
    const item = takeMoved ? shownItem(moved) : plainItem(r.value as Occurrence);
    const next = yield item;
    if (next !== undefined) seek = Math.max(seek ?? -Infinity, next);
    if (takeMoved) i++;
    else r = plain.next(seek);
    skipChanged();
  }
}

/**
 * The occurrences of `seriesOccurrences` whose [start, end) meets [windowStart, windowEnd), at most `max`.
 *
 * @example seriesOccurrencesBetween(seriesSpecOf(row), Date.parse("2031-03-01T00:00:00Z"), Date.parse("2031-04-01T00:00:00Z"))
 */
export function seriesOccurrencesBetween(series: Series, windowStart: number, windowEnd: number, max = 10_000, budget?: WorkBudget): SeriesOccurrence[] {
  const found: SeriesOccurrence[] = [];
  if (max <= 0) return found;
  for (const occurrence of seriesOccurrences(series, windowStart, windowEnd, budget)) {
    if (found.push(occurrence) >= max) break;
  }
  return found;
}

/**
 * The earliest overlapping pair of occurrences of two series, exceptions applied, among those
 * starting before `horizonEnd` (half-open: back to back is no overlap); null when none. A moved
 * occurrence never lies before its series' first start (see checkExceptionPlacement), so each
 * series is still entered where the other begins.
 *
 * @example firstSeriesOverlap(weekly, oneOff, Date.parse("2033-01-01T00:00:00Z"))
 */
export function firstSeriesOverlap(a: Series, b: Series, horizonEnd: number, budget?: WorkBudget): { a: SeriesOccurrence; b: SeriesOccurrence } | null {
  return firstOverlapOf(seriesOccurrences(a, b.startMs, horizonEnd, budget), seriesOccurrences(b, a.startMs, horizonEnd, budget));
}
