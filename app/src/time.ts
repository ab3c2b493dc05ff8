// Wall-clock arithmetic in IANA zones: the server's own (src/lib/time-zone.ts, Intl only, no date
// library), so the app and the API agree on every local time, DST gaps and overlaps included.
import { parseDateTimeInput, utcToWallTime, wallTimeToUtc } from "../../src/lib/time-zone";

/** The instant a wall-clock date and time names in `zone` (the server's rules: src/lib/time-zone.ts). */
const instantOf = (year: number, month: number, day: number, hour: number, minute: number, zone: string) => wallTimeToUtc({ year, month, day, hour, minute, second: 0, millisecond: 0 }, zone);

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DDTHH:mm` for an <input type="datetime-local"> showing `iso` in `zone`. */
export function toInput(iso: string, zone: string): string {
  const w = utcToWallTime(Date.parse(iso), zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/** The ISO UTC instant of an <input type="datetime-local"> value read in `zone`; null when empty or bad. */
export function fromInput(value: string, zone: string): string | null {
  const instant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? parseDateTimeInput(value, zone) : null;
  return instant === null ? null : new Date(instant).toISOString().replace(".000Z", "Z");
}

/** Midnight (in `zone`) of the Monday of the week holding `instant`, plus `weeks` weeks. */
export function weekStart(instant: number, zone: string, weeks = 0): number {
  const w = utcToWallTime(instant, zone);
  const weekday = (new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay() + 6) % 7;
  return dayStart(instant, zone, -weekday + weeks * 7);
}

/** Midnight (in `zone`) of the day holding `instant`, plus `days` days. */
export function dayStart(instant: number, zone: string, days = 0): number {
  const w = utcToWallTime(instant, zone);
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return instantOf(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, 0, zone);
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
