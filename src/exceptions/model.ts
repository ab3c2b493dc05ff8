/**
 * Single-occurrence exceptions of a series, as stored in `events.exceptions` and shown by the API:
 * one item per changed occurrence, named by its original start, sorted by it. An item is either
 * cancelled, or carries the fields it overrides; `start_time`/`end_time` are present only when the
 * occurrence was moved. The stored JSON is the API form, so snapshots, diffs and rollbacks carry it
 * unchanged.
 */
export interface ExceptionItem {
  original_start: string;
  cancelled: boolean;
  title?: string;
  description?: string;
  location?: string | null;
  start_time?: string;
  end_time?: string;
}

/**
 * Exceptions one series holds at most. Each series keeps them in its own row, and a version row
 * carries them twice (snapshot and changes), within D1's 100 KB per statement.
 */
export const MAX_EXCEPTIONS = 100;
/** Bytes of JSON a series' exceptions take at most (UTF-8): one overridden 10,000-character description fits. */
export const MAX_EXCEPTIONS_BYTES = 16_384;

const NONE: ExceptionItem[] = [];

/** The stored column back to items; `'[]'` (nearly every row) costs no parse. */
export function parseExceptions(stored: string | null | undefined): ExceptionItem[] {
  if (!stored || stored === "[]") return NONE;
  const parsed: unknown = JSON.parse(stored);
  return Array.isArray(parsed) ? (parsed as ExceptionItem[]) : NONE;
}

/** Items with their members in one order, sorted by original start: equal lists serialize equally. */
export function canonicalExceptions(items: readonly ExceptionItem[]): ExceptionItem[] {
  return [...items]
    .sort((a, b) => Date.parse(a.original_start) - Date.parse(b.original_start))
    .map((item) => {
      const out: ExceptionItem = { original_start: item.original_start, cancelled: item.cancelled };
      if (item.cancelled) return out;
      if (item.title !== undefined) out.title = item.title;
      if (item.description !== undefined) out.description = item.description;
      if (item.location !== undefined) out.location = item.location;
      if (item.start_time !== undefined && item.end_time !== undefined) {
        out.start_time = item.start_time;
        out.end_time = item.end_time;
      }
      return out;
    });
}

export const serializeExceptions = (items: readonly ExceptionItem[]) => JSON.stringify(canonicalExceptions(items));

export const sameExceptions = (a: readonly ExceptionItem[] | undefined, b: readonly ExceptionItem[] | undefined) => serializeExceptions(a ?? NONE) === serializeExceptions(b ?? NONE);

/** Why a list of exceptions cannot be stored, or null when it fits the bounds. */
export function exceptionBoundsError(items: readonly ExceptionItem[]): string | null {
  if (items.length > MAX_EXCEPTIONS) return `A series holds at most ${MAX_EXCEPTIONS} exceptions; roll back or split the series to make room.`;
  if (new TextEncoder().encode(serializeExceptions(items)).length > MAX_EXCEPTIONS_BYTES) return `A series' exceptions take at most ${MAX_EXCEPTIONS_BYTES} bytes of JSON; shorten the overridden descriptions.`;
  return null;
}

/** An occurrence as the expansion sees it: half-open instants and the start it was generated at. */
export interface ShownOccurrence {
  start: number;
  end: number;
  originalStart: number;
}

/** What expansion needs from a series' exceptions: which generated starts to replace, and what to show instead. */
export interface ExceptionIndex {
  /** Original start (epoch ms) of every exception, cancelled or not. */
  changed: Map<number, ExceptionItem>;
  /** The changed occurrences still shown, at their (possibly new) times, by start then original start. */
  shown: ShownOccurrence[];
}

/** Where an exception's occurrence lies: its moved times, or the original slot of the series' duration. */
export function timesOf(item: ExceptionItem, durationMs: number): { start: number; end: number } {
  if (item.start_time !== undefined && item.end_time !== undefined) return { start: Date.parse(item.start_time), end: Date.parse(item.end_time) };
  const start = Date.parse(item.original_start);
  return { start, end: start + durationMs };
}

/** The index expansion uses, or null when there are no exceptions. */
export function indexExceptions(items: readonly ExceptionItem[], durationMs: number): ExceptionIndex | null {
  if (!items.length) return null;
  const changed = new Map<number, ExceptionItem>();
  const shown: ShownOccurrence[] = [];
  for (const item of items) {
    const originalStart = Date.parse(item.original_start);
    changed.set(originalStart, item);
    if (!item.cancelled) shown.push({ ...timesOf(item, durationMs), originalStart });
  }
  shown.sort((a, b) => a.start - b.start || a.originalStart - b.originalStart);
  return { changed, shown };
}
