import { formatUtc, occurrences, spend, type SeriesSpec, type WorkBudget } from "../recurrence";
import { timesOf, type ExceptionItem } from "./model";

/**
 * True when the rule itself (exceptions aside) generates an occurrence starting at `originalStart`.
 * The spec should carry its stored end, so a COUNT rule is entered there, not counted from DTSTART.
 */
export function isGeneratedStart(spec: SeriesSpec, originalStart: number, budget?: WorkBudget): boolean {
  if (!spec.rule) return false;
  for (const o of occurrences(spec, originalStart, originalStart + 1, budget)) {
    if (o.start === originalStart) return true;
  }
  return false;
}

/**
 * Why a moved occurrence cannot be placed there, or null. SQL finds a series' candidates for
 * lists, agendas and conflict checks by its envelope: from its first start (`events.start_time`,
 * copied into permissions) to the end of its last occurrence (`series_end`). A moved occurrence
 * stays inside it, so every pre-filter still finds it: it may not start before the series' first
 * start, nor end after its last occurrence (an endless series has no such end).
 */
export function placementError(spec: Pick<SeriesSpec, "startMs">, seriesEnd: number | null, times: { start: number; end: number }): string | null {
  if (times.start < spec.startMs) return `A moved occurrence may not start before the series' first occurrence (${formatUtc(spec.startMs)}).`;
  if (seriesEnd !== null && times.end > seriesEnd) return `A moved occurrence may not end after the series' last occurrence ends (${formatUtc(seriesEnd)}).`;
  return null;
}

/**
 * After a change of the rule or the times: the exceptions whose original start is still an
 * occurrence and whose moved times still lie inside the series' envelope are kept; the others are
 * dropped (and reported by the caller).
 */
export function reconcileExceptions(spec: SeriesSpec, seriesEnd: number | null, items: readonly ExceptionItem[], budget?: WorkBudget): { kept: ExceptionItem[]; dropped: ExceptionItem[] } {
  const kept: ExceptionItem[] = [];
  const dropped: ExceptionItem[] = [];
  const duration = spec.endMs - spec.startMs;
  const plain = { ...spec, seriesEnd };
  for (const item of items) {
    spend(budget, 1);
    const original = Date.parse(item.original_start);
    const fits = isGeneratedStart(plain, original, budget) && (item.cancelled || item.start_time === undefined || placementError(spec, seriesEnd, timesOf(item, duration)) === null);
    (fits ? kept : dropped).push(item);
  }
  return { kept, dropped };
}
