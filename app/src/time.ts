// Wall-clock arithmetic in IANA zones with Intl only (no date library in the bundle).

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(zone: string) {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    formatters.set(zone, f);
  }
  return f;
}

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

/** The wall-clock time of an instant in a zone. */
export function wallTime(instant: number, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of partsFormatter(zone).formatToParts(new Date(instant))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute };
}

const asUtc = (w: WallTime) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);

/** The instant a wall-clock time in a zone names (the earlier one in a repeated hour). */
export function instantOf(w: WallTime, zone: string): number {
  const guess = asUtc(w);
  let instant = guess - (asUtc(wallTime(guess, zone)) - guess);
  instant = guess - (asUtc(wallTime(instant, zone)) - instant);
  return instant;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DDTHH:mm` for an <input type="datetime-local"> showing `iso` in `zone`. */
export function toInput(iso: string, zone: string): string {
  const w = wallTime(Date.parse(iso), zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/** The ISO UTC instant of an <input type="datetime-local"> value read in `zone`; null when empty or bad. */
export function fromInput(value: string, zone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return null;
  const [, year, month, day, hour, minute] = m.map(Number);
  return new Date(instantOf({ year, month, day, hour, minute }, zone)).toISOString().replace(".000Z", "Z");
}

/** Midnight (in `zone`) of the Monday of the week holding `instant`, plus `weeks` weeks. */
export function weekStart(instant: number, zone: string, weeks = 0): number {
  const w = wallTime(instant, zone);
  const weekday = (new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7;
  return dayStart(instant, zone, -weekday + weeks * 7);
}

/** Midnight (in `zone`) of the day holding `instant`, plus `days` days. */
export function dayStart(instant: number, zone: string, days = 0): number {
  const w = wallTime(instant, zone);
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return instantOf({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: 0, minute: 0 }, zone);
}

export function fmt(instant: number | string, zone: string, options: Intl.DateTimeFormatOptions): string {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...options }).format(new Date(instant));
}

export const timeOf = (iso: string, zone: string) => fmt(iso, zone, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
export const dateTimeOf = (iso: string, zone: string) => fmt(iso, zone, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

/** "Tue 1 Dec, 10:00–11:00" (the end's date too when it is another day). */
export function slotOf(start: string, end: string, zone: string): string {
  const sameDay = dayStart(Date.parse(start), zone) === dayStart(Date.parse(end) - 1, zone);
  return `${dateTimeOf(start, zone)}–${sameDay ? timeOf(end, zone) : dateTimeOf(end, zone)}`;
}

export const userZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

export function zones(): string[] {
  const list = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return list.includes("UTC") ? list : ["UTC", ...list];
}
