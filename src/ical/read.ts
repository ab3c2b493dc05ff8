import ICAL from "ical.js";
import type { Snapshot } from "../changes/history";
import type { ExceptionItem } from "../exceptions/model";
import { ApiError, validationFailed, type FieldError } from "../lib/problem";
import { formatUtc, isValidTimeZone, parseDateTimeInput, parseRecurrence } from "../recurrence";

/** Most VEVENT masters one import takes, like POST /api/events/batch. */
export const MAX_IMPORT_EVENTS = 100;
/** Deepest BEGIN nesting accepted (VCALENDAR > VEVENT > VALARM is 3). */
export const MAX_IMPORT_DEPTH = 8;
/** Most components of any kind in one file (VTIMEZONE parts, overrides and alarms included). */
export const MAX_IMPORT_COMPONENTS = 5000;

/** Most warnings one import answers; the rest are counted in one last warning. */
export const MAX_IMPORT_WARNINGS = 1000;

/** A jCal component (RFC 7265): name, properties, subcomponents. */
type JComponent = [string, JProperty[], JComponent[]];
/** A jCal property: name, parameters, value type, values. */
type JProperty = [string, Record<string, unknown>, string, ...unknown[]];

export interface ImportWarning {
  /** The VEVENT master (0-based, in file order) it concerns; absent for the calendar as a whole. */
  index?: number;
  property?: string;
  message: string;
}

/** One occurrence changed or cancelled, in the API's exception form. */
export type ImportedException = ExceptionItem;

/** A VEVENT master as event content (a snapshot without exceptions) plus its overrides. */
export interface ImportedEvent {
  event: Omit<Snapshot, "exceptions">;
  exceptions: ImportedException[];
}

const malformed = (why: string) => new ApiError(400, "malformed_body", `The body is not valid iCalendar (RFC 5545): ${why}.`);
const invalid = (message: string) => validationFailed([{ field: "body", message }], message);

/** Properties of a VEVENT that become the event, or that carry nothing to keep. */
const KEPT = new Set(["uid", "summary", "description", "location", "dtstart", "dtend", "duration", "rrule", "exdate", "recurrence-id", "status", "dtstamp", "created", "last-modified", "sequence", "transp"]);
const TITLE_MAX = 200;
const DESCRIPTION_MAX = 10_000;
const LOCATION_MAX = 500;

/**
 * Counts BEGIN lines and their nesting before ical.js sees the text, so a hostile file (10,000
 * components, a 100,000-deep stack of BEGINs) costs one pass over its lines and a 422, not a parse.
 */
function checkShape(text: string): void {
  let depth = 0;
  let components = 0;
  // Unfolded as ical.js reads it (RFC 5545 3.1): a folded BEGIN line still opens a component.
  for (const line of text.replace(/\r?\n[ \t]/g, "").split(/\r?\n/)) {
    if (/^BEGIN:/i.test(line)) {
      if (++depth > MAX_IMPORT_DEPTH) throw invalid(`Components may nest at most ${MAX_IMPORT_DEPTH} levels deep.`);
      if (++components > MAX_IMPORT_COMPONENTS) throw invalid(`A file may hold at most ${MAX_IMPORT_COMPONENTS} components.`);
    } else if (/^END:/i.test(line)) depth = Math.max(0, depth - 1);
  }
}

/** Whether an instant can be written as a date (a DURATION of 99999999 weeks cannot). */
const inRange = (ms: number) => Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;

/** RRULE parts a real VTIMEZONE uses: at most a few changes a year, which ical.js can expand. */
const ZONE_RULE_PARTS = new Set(["freq", "interval", "until", "count", "wkst", "bymonth", "byday", "bymonthday", "bysetpos"]);
/** Most STANDARD/DAYLIGHT parts, and RDATE values in all, one VTIMEZONE may define. */
const MAX_ZONE_PARTS = 200;

/**
 * Whether ical.js may expand a VTIMEZONE: it walks every part's rule from its DTSTART to the year
 * asked for, so a `FREQ=SECONDLY` part from 1970 (or BYHOUR lists, or a rule from year 1) is
 * billions of steps. A definition outside what time zones use is left unknown, which the events
 * using its TZID report as a 422. Parts without a rule (Outlook's 1601 STANDARD) cost nothing.
 */
function tameZone(component: JComponent): boolean {
  const parts = component[2];
  if (parts.length > MAX_ZONE_PARTS) return false;
  let rdates = 0;
  for (const part of parts) {
    if (part[0] !== "standard" && part[0] !== "daylight") return false;
    const start = first(part, "dtstart")?.[3];
    if (typeof start !== "string" || !/^\d{4}-/.test(start)) return false;
    for (const rule of props(part, "rrule")) {
      const value = rule[3] as Record<string, unknown> | undefined;
      if (!value || typeof value !== "object" || plain(value.freq).toUpperCase() !== "YEARLY") return false;
      // Outlook starts its rules in 1601; a rule from year 1 is 2,000 years of steps to walk.
      if (Number(start.slice(0, 4)) < 1600) return false;
      const lists = Object.entries(value).filter(([key]) => key.startsWith("by"));
      if (!Object.keys(value).every((key) => ZONE_RULE_PARTS.has(key)) || lists.some(([, list]) => Array.isArray(list) && list.length > 7)) return false;
      if (value.interval !== undefined && !(Number(value.interval) >= 1)) return false;
    }
    for (const rdate of props(part, "rdate")) rdates += rdate.length - 3;
    if (rdates > MAX_ZONE_PARTS) return false;
  }
  return true;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z?)$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A DTSTART-like value: an instant (UTC or resolved), or a wall time with the zone to read it in. */
interface TimeValue {
  /** `YYYY-MM-DDTHH:MM:SS` */
  wall: string;
  utc: boolean;
  isDate: boolean;
  tzid: string | null;
}

function timeValue(prop: JProperty, value: unknown): TimeValue | null {
  if (typeof value !== "string") return null;
  const tzid = typeof prop[1].tzid === "string" ? prop[1].tzid : null;
  const date = DATE.exec(value);
  if (date) return { wall: `${value}T00:00:00`, utc: false, isDate: true, tzid };
  const match = DATE_TIME.exec(value);
  if (!match) return null;
  return { wall: value.slice(0, 19), utc: match[7] === "Z", isDate: false, tzid: match[7] === "Z" ? null : tzid };
}

/** The IANA zone a TZID names: itself, or the zone at its end (`/mozilla.org/20050126_1/Europe/Berlin`). */
function ianaZone(tzid: string): string | null {
  const parts = tzid.split("/");
  for (let i = 0; i < parts.length; i++) {
    const candidate = parts.slice(i).join("/");
    if (candidate && isValidTimeZone(candidate)) return candidate;
  }
  return null;
}

/**
 * An RRULE back to its text from ical.js's jCal form (RFC 7265), parts in the order the file gave
 * them (ical.js's own Recur.toString reorders them and drops defaults), UNTIL in basic format.
 */
const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];

function recurText(value: unknown): string | null {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const parts = Object.entries(value as Record<string, unknown>).map(([key, part]) => {
    const items = (Array.isArray(part) ? part : [part]).map((item) =>
      // ical.js gives WKST as its weekday number (1 = SU).
      key === "until" ? String(item).replace(/[-:]/g, "") : key === "wkst" && typeof item === "number" ? (WEEKDAYS[item - 1] ?? String(item)) : String(item),
    );
    return `${key.toUpperCase()}=${items.join(",")}`;
  });
  return parts.length ? parts.join(";") : null;
}

const props = (component: JComponent, name: string) => component[1].filter((p) => p[0] === name);
const first = (component: JComponent, name: string) => props(component, name)[0];
/** The VEVENT properties read by their first occurrence, which RFC 5545 allows once. */
const SINGLE = ["dtstart", "dtend", "duration", "summary", "description", "location", "rrule"];
/** A value as text; a typed one (`SUMMARY;VALUE=RECUR:...` is an object, maybe without a prototype) as its JSON. */
const plain = (value: unknown) => (typeof value === "object" && value !== null ? JSON.stringify(value) : String(value));
const textOf = (component: JComponent, name: string) => {
  const value = first(component, name)?.[3];
  return typeof value === "string" ? value : Array.isArray(value) ? value.map(plain).join(",") : value === undefined ? undefined : plain(value);
};

/**
 * Reads an iCalendar file (parsed by ical.js) into events for the batch-create path: each VEVENT
 * master (no RECURRENCE-ID) is one event keeping its RRULE and TZID, its EXDATEs become cancelled
 * occurrences and the VEVENTs with its UID and a RECURRENCE-ID its changed ones. What cannot be
 * kept (alarms, attendees, other properties, rules outside our grammar) is listed in `warnings`.
 * Malformed text is a 400; a well-formed file we cannot take (no events, too many, bad dates, a
 * series in an unknown zone) is a 422 naming the item by `index`.
 *
 * @example
 * const { items, warnings } = readCalendar("BEGIN:VCALENDAR\r\n...END:VCALENDAR");
 */
export function readCalendar(text: string): { items: ImportedEvent[]; warnings: ImportWarning[] } {
  checkShape(text);
  let parsed: unknown;
  try {
    parsed = ICAL.parse(text);
  } catch (error) {
    throw malformed(error instanceof Error ? error.message.split("\n")[0].slice(0, 200) : "unreadable");
  }
  const roots = (Array.isArray(parsed) && typeof parsed[0] === "string" ? [parsed] : Array.isArray(parsed) ? parsed : []) as JComponent[];
  const calendars = roots.filter((root) => Array.isArray(root) && root[0] === "vcalendar");
  if (!calendars.length) throw invalid("The body holds no VCALENDAR.");
  const warnings: ImportWarning[] = [];
  const errors: FieldError[] = [];
  const items: ImportedEvent[] = [];
  for (const calendar of calendars) readOne(calendar, items, warnings, errors);
  if (errors.length) throw validationFailed(errors, "Some events of the file cannot be imported; nothing was created.");
  if (!items.length) throw invalid("The calendar holds no VEVENT.");
  // One warning per property kept not would let 1 MiB of `X-n:1` lines answer 6 MB of JSON.
  if (warnings.length > MAX_IMPORT_WARNINGS) warnings.splice(MAX_IMPORT_WARNINGS, Infinity, { message: `${warnings.length - MAX_IMPORT_WARNINGS} more warnings were left out.` });
  return { items, warnings };
}

function readOne(calendar: JComponent, items: ImportedEvent[], warnings: ImportWarning[], errors: FieldError[]) {
  const calendarZone = textOf(calendar, "x-wr-timezone");
  const defaultZone = calendarZone && ianaZone(calendarZone) ? ianaZone(calendarZone)! : "UTC";
  const zones = new Map<string, ICAL.Timezone>();
  for (const component of calendar[2]) {
    if (component[0] !== "vtimezone") continue;
    const id = textOf(component, "tzid");
    if (id && !ianaZone(id) && tameZone(component)) {
      try {
        zones.set(id, new ICAL.Timezone(new ICAL.Component(component)));
      } catch {
        // An unreadable definition leaves the TZID unknown, which the events using it report.
      }
    }
  }
  const others = calendar[2].filter((c) => c[0] !== "vevent" && c[0] !== "vtimezone").map((c) => c[0].toUpperCase());
  for (const name of new Set(others)) warnings.push({ property: name, message: `${name} components are not events; they were not imported.` });

  const vevents = calendar[2].filter((c) => c[0] === "vevent");
  const masters = vevents.filter((v) => !first(v, "recurrence-id"));
  if (items.length + masters.length > MAX_IMPORT_EVENTS) throw invalid(`A file may hold at most ${MAX_IMPORT_EVENTS} events (VEVENTs without RECURRENCE-ID); this one has more.`);
  const byUid = new Map<string, number>();

  /** Resolves a time: its instant in ms, and the IANA zone the event keeps (null for a non-IANA TZID). */
  const resolve = (time: TimeValue, fallbackZone: string): { ms: number; zone: string | null } | null => {
    if (time.utc) return { ms: parseDateTimeInput(`${time.wall}Z`, "UTC") ?? NaN, zone: "UTC" };
    if (time.tzid === null) {
      const ms = parseDateTimeInput(time.wall, fallbackZone);
      return ms === null ? null : { ms, zone: fallbackZone };
    }
    const zone = ianaZone(time.tzid);
    if (zone) {
      const ms = parseDateTimeInput(time.wall, zone);
      return ms === null ? null : { ms, zone };
    }
    const definition = zones.get(time.tzid);
    if (!definition) return null;
    const [y, mo, d, h, mi, s] = time.wall.split(/[-T:]/).map(Number);
    if (parseDateTimeInput(time.wall, "UTC") === null) return null;
    try {
      const ms = ICAL.Time.fromData({ year: y, month: mo, day: d, hour: h, minute: mi, second: s, isDate: false }, definition).toUnixTime() * 1000;
      return inRange(ms) ? { ms, zone: null } : null;
    } catch {
      // ical.js reads a VTIMEZONE's parts only when a time uses it; an unreadable one throws here.
      return null;
    }
  };

  masters.forEach((vevent) => {
    const index = items.length;
    const fail = (field: string, message: string) => errors.push({ field: `events.${index}.${field}`, message, index });
    const warn = (property: string | undefined, message: string) => warnings.push({ index, ...(property ? { property } : {}), message });
    const startProp = first(vevent, "dtstart");
    const start = startProp ? timeValue(startProp, startProp[3]) : null;
    items.push({ event: { title: "", description: "", location: null, start_time: "", end_time: "", is_recurring: false, recurrence_pattern: null, timezone: "UTC" }, exceptions: [] });
    if (!startProp) return fail("start_time", "The VEVENT has no DTSTART.");
    if (!start) return fail("start_time", `DTSTART "${plain(startProp[3]).slice(0, 40)}" is not a date or date-time.`);
    if (start.tzid === null && !start.utc && !start.isDate && defaultZone === "UTC") warn("DTSTART", "A floating time (no TZID, no Z) was read as UTC.");
    // RFC 5545 3.6.1: each of these occurs at most once in a VEVENT (RRULE SHOULD NOT repeat). A
    // file breaking that is read, as other calendars read it, by its first one, and the rest named.
    for (const name of SINGLE) {
      const count = props(vevent, name).length;
      if (count > 1) warn(name.toUpperCase(), `The VEVENT has ${count} ${name.toUpperCase()} properties; RFC 5545 allows one, so the first was used.`);
    }
    const from = resolve(start, defaultZone);
    if (!from || !Number.isFinite(from.ms)) return fail("start_time", start.tzid && !ianaZone(start.tzid) && !zones.has(start.tzid) ? `TZID "${start.tzid.slice(0, 64)}" is neither an IANA time zone nor defined by a VTIMEZONE.` : `DTSTART "${plain(startProp[3]).slice(0, 40)}" is not a valid date-time.`);

    let endMs: number | null = null;
    const endProp = first(vevent, "dtend");
    const durationProp = first(vevent, "duration");
    if (endProp) {
      const end = timeValue(endProp, endProp[3]);
      const to = end ? resolve(end, from.zone ?? defaultZone) : null;
      if (!to || !Number.isFinite(to.ms)) return fail("end_time", `DTEND "${plain(endProp[3]).slice(0, 40)}" is not a valid date or date-time.`);
      endMs = to.ms;
    } else if (durationProp) {
      try {
        endMs = from.ms + ICAL.Duration.fromString(plain(durationProp[3])).toSeconds() * 1000;
      } catch {
        return fail("end_time", `DURATION "${plain(durationProp[3]).slice(0, 40)}" is not a duration.`);
      }
    } else {
      // RFC 5545 3.6.1: a date lasts the day, a date-time is an instant; the API needs end > start.
      endMs = from.ms + (start.isDate ? 86_400_000 : 60_000);
      if (!start.isDate) warn("DTEND", "The VEVENT has no DTEND or DURATION; it was given one minute.");
    }
    if (!inRange(endMs)) return fail("end_time", "The VEVENT's end is out of range.");
    if (start.isDate) warn("DTSTART", `An all-day event was imported as midnight to midnight in ${from.zone ?? defaultZone}.`);

    const isSeries = props(vevent, "rrule").length > 0;
    let zone = from.zone;
    if (zone === null) {
      if (isSeries) return fail("timezone", `TZID "${start.tzid!.slice(0, 64)}" is not an IANA time zone; a series needs one to repeat in.`);
      warn("DTSTART", `TZID "${start.tzid!.slice(0, 64)}" is not an IANA time zone; the times were kept as instants in UTC.`);
      zone = "UTC";
    }

    const title = (textOf(vevent, "summary") ?? "").trim();
    const description = textOf(vevent, "description") ?? "";
    const location = textOf(vevent, "location") ?? null;
    if (!title) warn("SUMMARY", "The VEVENT has no SUMMARY; it was titled \"(no title)\".");
    if (title.length > TITLE_MAX) warn("SUMMARY", `SUMMARY was cut to ${TITLE_MAX} characters.`);
    if (description.length > DESCRIPTION_MAX) warn("DESCRIPTION", `DESCRIPTION was cut to ${DESCRIPTION_MAX} characters.`);
    if (location && location.length > LOCATION_MAX) warn("LOCATION", `LOCATION was cut to ${LOCATION_MAX} characters.`);

    let pattern: string | null = null;
    const rules = props(vevent, "rrule");
    if (rules.length > 1) warn("RRULE", "Only the first RRULE was kept.");
    if (rules.length) {
      const rule = recurText(rules[0][3]);
      const checked = rule ? parseRecurrence(rule, zone) : null;
      if (rule && checked?.ok) pattern = rule;
      else warn("RRULE", `The rule ${rule ? `"${rule.slice(0, 100)}" ` : ""}is outside the supported grammar${checked && !checked.ok ? ` (${checked.message})` : ""}; only the first occurrence was imported.`);
    }

    items[index] = {
      event: {
        title: (title || "(no title)").slice(0, TITLE_MAX),
        description: description.slice(0, DESCRIPTION_MAX),
        location: location === null ? null : location.slice(0, LOCATION_MAX),
        start_time: formatUtc(from.ms),
        end_time: formatUtc(endMs),
        is_recurring: pattern !== null,
        recurrence_pattern: pattern,
        timezone: zone,
      },
      exceptions: [],
    };

    for (const prop of vevent[1]) {
      const name = prop[0];
      if (KEPT.has(name)) continue;
      if (name === "attendee" || name === "organizer") warn(name.toUpperCase(), `${name === "attendee" ? "Attendees are" : "The organizer is"} not kept.`);
      else warn(name.toUpperCase(), `${name.toUpperCase()} is not kept.`);
    }
    for (const sub of vevent[2]) warn(sub[0].toUpperCase(), sub[0] === "valarm" ? "Alarms (VALARM) are not kept." : `${sub[0].toUpperCase()} components are not kept.`);
    if (textOf(vevent, "status")?.toUpperCase() === "CANCELLED") warn("STATUS", "The event is marked CANCELLED; it was imported as it stands.");

    const uid = textOf(vevent, "uid");
    if (uid) byUid.set(uid, index);
    if (pattern === null) {
      if (props(vevent, "exdate").length) warn("EXDATE", "EXDATE only applies to a series; it was dropped.");
      return;
    }
    // Occurrences named by a date only (VALUE=DATE) are at the series' own time of day.
    const timeOfDay = start.wall.slice(10);
    for (const prop of props(vevent, "exdate")) {
      for (const value of prop.slice(3)) {
        const time = timeValue(prop, value);
        const at = time ? resolve(time.isDate ? { ...time, wall: time.wall.slice(0, 10) + timeOfDay, isDate: false, tzid: time.tzid ?? start.tzid, utc: start.utc } : time, zone) : null;
        if (!at || !Number.isFinite(at.ms)) fail("exceptions", `EXDATE "${plain(value).slice(0, 40)}" is not a valid date or date-time.`);
        else items[index].exceptions.push({ original_start: formatUtc(at.ms), cancelled: true });
      }
    }
  });

  for (const override of vevents.filter((v) => first(v, "recurrence-id"))) {
    const uid = textOf(override, "uid");
    const index = uid === undefined ? undefined : byUid.get(uid);
    if (index === undefined || !items[index].event.is_recurring) {
      warnings.push({ property: "RECURRENCE-ID", message: `A changed occurrence${uid ? ` of UID "${uid.slice(0, 100)}"` : ""} has no series in the file; it was not imported.` });
      continue;
    }
    const fail = (message: string) => errors.push({ field: `events.${index}.exceptions`, message, index });
    const master = items[index].event;
    const idProp = first(override, "recurrence-id");
    const idTime = timeValue(idProp, idProp[3]);
    const original = idTime ? resolve(idTime, master.timezone) : null;
    if (!original || !Number.isFinite(original.ms)) {
      fail(`RECURRENCE-ID "${plain(idProp[3]).slice(0, 40)}" is not a valid date-time.`);
      continue;
    }
    const exception: ImportedException = { original_start: formatUtc(original.ms), cancelled: textOf(override, "status")?.toUpperCase() === "CANCELLED" };
    if (!exception.cancelled) {
      const startProp = first(override, "dtstart");
      const start = startProp ? timeValue(startProp, startProp[3]) : null;
      const from = start ? resolve(start, master.timezone) : null;
      const endProp = first(override, "dtend");
      const end = endProp ? timeValue(endProp, endProp[3]) : null;
      const to = end ? resolve(end, master.timezone) : null;
      if ((startProp && (!from || !Number.isFinite(from.ms))) || (endProp && (!to || !Number.isFinite(to.ms)))) {
        fail(`The changed occurrence at ${exception.original_start} has an invalid DTSTART or DTEND.`);
        continue;
      }
      const length = Date.parse(master.end_time) - Date.parse(master.start_time);
      const startMs = from?.ms ?? original.ms;
      let endMs = to?.ms;
      if (endMs === undefined) {
        const duration = first(override, "duration");
        try {
          endMs = duration ? startMs + ICAL.Duration.fromString(plain(duration[3])).toSeconds() * 1000 : startMs + length;
        } catch {
          endMs = startMs + length;
        }
      }
      if (!inRange(endMs)) {
        fail(`The changed occurrence at ${exception.original_start} ends out of range.`);
        continue;
      }
      // The batch path checks the events' times, not their exceptions': an occurrence ending before it starts would be stored.
      if (endMs <= startMs) {
        fail(`The changed occurrence at ${exception.original_start} must end after it starts.`);
        continue;
      }
      if (startMs !== original.ms || endMs !== original.ms + length) {
        exception.start_time = formatUtc(startMs);
        exception.end_time = formatUtc(endMs);
      }
      const title = textOf(override, "summary")?.trim();
      if (title !== undefined && title !== master.title) exception.title = (title || "(no title)").slice(0, TITLE_MAX);
      const description = textOf(override, "description");
      if (description !== undefined && description !== master.description) exception.description = description.slice(0, DESCRIPTION_MAX);
      const location = textOf(override, "location");
      if (location !== undefined && location !== master.location) exception.location = location.slice(0, LOCATION_MAX);
    }
    // Google writes an override without an EXDATE; others add both. The override says more.
    const list = items[index].exceptions;
    const same = list.findIndex((e) => e.original_start === exception.original_start);
    if (same >= 0) list[same] = exception;
    else list.push(exception);
  }
}
