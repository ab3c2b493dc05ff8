import ical, { escape, formatDate, ICalCalendarMethod, type ICalTemporalZonedDateTimeStub } from "ical-generator";
import { tzlib_get_ical_block, tzlib_get_timezones } from "timezones-ical-library";
import type { EventRow } from "../events/policy";
import { seriesSpecOf, type toEventBody } from "../events/content";
import { occurrencesBetween, parseRecurrence, utcToWallTime } from "../recurrence";
import { parseExceptions, timesOf, type ExceptionItem } from "../exceptions/model";

type EventBody = ReturnType<typeof toEventBody>;

/** How often subscribers are asked to refresh (REFRESH-INTERVAL and X-PUBLISHED-TTL), in seconds. */
export const FEED_REFRESH_SECONDS = 3600;

export const PRODID = "//collab-events-api//iCalendar export//EN";

/** What a VEVENT is built from: the event row and, once exceptions exist, its changed occurrences. */
export type CalendarEvent = Pick<EventRow, "id" | "title" | "description" | "location" | "startTime" | "endTime" | "isRecurring" | "recurrencePattern" | "timezone" | "version" | "createdAt" | "updatedAt"> & {
  seriesEnd?: number | null;
  /** The stored JSON of events.exceptions, or the items. */
  exceptions?: string | readonly ExceptionItem[];
};

/** An event as the API renders it (`GET /api/events`), back to what a VEVENT is built from. */
export function fromEventBody(body: EventBody & { exceptions?: readonly ExceptionItem[] }): CalendarEvent {
  return {
    id: body.id,
    title: body.title,
    description: body.description,
    location: body.location,
    startTime: Date.parse(body.start_time),
    endTime: Date.parse(body.end_time),
    isRecurring: body.is_recurring,
    recurrencePattern: body.recurrence_pattern,
    timezone: body.timezone,
    version: body.version,
    createdAt: Date.parse(body.created_at),
    updatedAt: Date.parse(body.updated_at),
    exceptions: body.exceptions,
  };
}

export interface CalendarOptions {
  /** X-WR-CALNAME. */
  name: string;
  /** The host that makes UIDs unique (`event-<id>@<host>`): the API's own host name. */
  host: string;
  /** Adds REFRESH-INTERVAL and X-PUBLISHED-TTL (subscription feeds). */
  refreshSeconds?: number;
}

const isUtc = (zone: string) => zone === "UTC" || zone === "Etc/UTC" || zone === "Etc/Zulu" || zone === "Zulu" || zone === "Etc/UCT" || zone === "UCT" || zone === "Universal" || zone === "Etc/Universal" || zone === "Etc/GMT" || zone === "GMT";

let knownZones: Set<string> | undefined;
/** Zones timezones-ical-library has a VTIMEZONE for (it logs to the console when asked for others). */
const hasVtimezone = (zone: string) => (knownZones ??= new Set(tzlib_get_timezones() as string[])).has(zone);

/**
 * The VTIMEZONE of a zone, as timezones-ical-library writes it: yearly-RRULE STANDARD/DAYLIGHT
 * pairs (checked for all its zones: none uses RDATE). A link such as Asia/Calcutta comes back
 * under its canonical name; the TZID is put back to the name the events use, so every TZID
 * parameter has its VTIMEZONE.
 */
export function vtimezoneOf(zone: string): string | null {
  if (!hasVtimezone(zone)) return null;
  const block = tzlib_get_ical_block(zone);
  const text = Array.isArray(block) ? block[0] : block;
  if (!text) return null;
  return text.replace(/^TZID:.*$/m, `TZID:${zone}`).replace(/^X-LIC-LOCATION:.*$/m, `X-LIC-LOCATION:${zone}`);
}

/** The zone an event's times are written in: its own, unless it is UTC or has no VTIMEZONE (then UTC, as Z). */
const zoneOf = (event: Pick<CalendarEvent, "timezone">) => (isUtc(event.timezone) || !hasVtimezone(event.timezone) ? null : event.timezone);

/**
 * An instant as ical-generator's Temporal.ZonedDateTime shape, so it writes the wall time in the
 * event's zone with a TZID (a plain Date would be written in the runtime's zone, which is UTC on
 * Workers, under the event's TZID: an offset error). Only the members ical-generator reads.
 */
function zonedTime(ms: number, zone: string): ICalTemporalZonedDateTimeStub {
  const wall = utcToWallTime(ms, zone);
  const fields = { year: wall.year, month: wall.month, day: wall.day, hour: wall.hour, minute: wall.minute, second: wall.second };
  const text = () => new Date(ms).toISOString();
  const zoned: ICalTemporalZonedDateTimeStub = {
    ...fields,
    timeZoneId: zone,
    toInstant: () => ({ epochMilliseconds: ms, toJSON: text, toString: text, toZonedDateTimeISO: () => zoned }),
    toPlainDateTime: () => ({ ...fields, toJSON: text, toString: text, toPlainDate: () => ({ year: fields.year, month: fields.month, day: fields.day, toJSON: text, toString: text }), toZonedDateTime: () => zoned }),
    withTimeZone: () => zoned,
    toJSON: text,
    toString: text,
  };
  return zoned;
}

const timeIn = (ms: number, zone: string | null) => (zone ? zonedTime(ms, zone) : new Date(ms));

/** `YYYYMMDDTHHMMSSZ`. */
export const utcStamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");

const WORDS = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"];

/**
 * The RRULE value of a series, as stored but in RFC 5545's strict form: a word (`weekly`) becomes
 * its FREQ, names and values are upper-cased, and UNTIL becomes the UTC instant our expander
 * reads from it (RFC 5545 3.3.10: with a zoned DTSTART, UNTIL must be UTC; a bare date means
 * "through that day" here, which other readers would cut at midnight).
 */
export function rruleOf(event: Pick<CalendarEvent, "recurrencePattern" | "timezone">): string | null {
  if (!event.recurrencePattern) return null;
  const pattern = event.recurrencePattern.trim().replace(/^RRULE:/i, "");
  const word = WORDS.find((w) => w === pattern.toUpperCase());
  if (word) return `FREQ=${word}`;
  const parsed = parseRecurrence(pattern, event.timezone);
  if (!parsed.ok) return null;
  return pattern
    .split(";")
    .map((part) => {
      const eq = part.indexOf("=");
      const name = part.slice(0, eq).trim().toUpperCase();
      if (name === "UNTIL" && parsed.rule.until !== undefined) return `UNTIL=${utcStamp(Math.floor(parsed.rule.until / 1000) * 1000)}`;
      return `${name}=${part.slice(eq + 1).trim().toUpperCase()}`;
    })
    .join(";");
}

/** The UID of an event's VEVENTs; stable for as long as the host is. */
export const uidOf = (id: number, host: string) => `event-${id}@${host}`;

/**
 * One VCALENDAR (RFC 5545) of the given events, written by ical-generator (escaping, 75-octet
 * folding that never splits a UTF-8 character) with one VTIMEZONE per zone used. Each event is a
 * VEVENT with a stable UID, SEQUENCE = version - 1 and LAST-MODIFIED = its last change, so
 * subscribers replace what they hold; DTSTAMP is the last change too, which keeps the text (and a
 * feed's ETag) the same until something changes. A series carries its RRULE on the master.
 *
 * @example
 * const text = renderCalendar([row], { name: "Team", host: "api.example.com" });
 */
export function renderCalendar(events: readonly CalendarEvent[], options: CalendarOptions): string {
  const calendar = ical({
    prodId: PRODID,
    // ical-generator writes NAME and X-WR-CALNAME as given: escaped here, so a title with a comma,
    // a semicolon or a line break stays one TEXT value.
    name: escape(options.name, false),
    method: ICalCalendarMethod.PUBLISH,
    scale: "GREGORIAN",
    timezone: { name: null, generator: vtimezoneOf },
    ...(options.refreshSeconds ? { ttl: options.refreshSeconds } : {}),
  });
  for (const event of events) {
    const zone = zoneOf(event);
    const rule = event.isRecurring ? rruleOf(event) : null;
    const exceptions = !rule ? [] : typeof event.exceptions === "string" ? parseExceptions(event.exceptions) : (event.exceptions ?? []);
    const common = {
      id: uidOf(event.id, options.host),
      sequence: event.version - 1,
      stamp: new Date(event.updatedAt),
      created: new Date(event.createdAt),
      lastModified: new Date(event.updatedAt),
      timezone: zone,
    };
    let repeating: string | null = null;
    if (rule) {
      const lines = [`RRULE:${rule}`];
      // RFC 5545 makes DTSTART the first occurrence even when the rule does not match it (ical.js
      // counts it); our expander, like dateutil, does not. An EXDATE keeps every reader in step.
      const generated = occurrencesBetween(seriesSpecOf({ ...event, exceptions: [] }), event.startTime, event.startTime + 1, 1).some((o) => o.start === event.startTime);
      const excluded = [...(generated ? [] : [event.startTime]), ...exceptions.filter((x) => x.cancelled).map((x) => Date.parse(x.original_start))];
      if (excluded.length) lines.push(`EXDATE${zone ? `;TZID=${zone}` : ""}:${excluded.map((ms) => formatDate(null, timeIn(ms, zone), false, Boolean(zone))).join(",")}`);
      repeating = lines.join("\n");
    }
    calendar.createEvent({
      ...common,
      start: timeIn(event.startTime, zone),
      end: timeIn(event.endTime, zone),
      summary: event.title,
      description: event.description || null,
      location: event.location || null,
      repeating,
    });
    // Each changed occurrence is its own VEVENT with the master's UID and a RECURRENCE-ID.
    for (const item of exceptions) {
      if (item.cancelled) continue;
      const { start, end } = timesOf(item, event.endTime - event.startTime);
      const location = item.location !== undefined ? item.location : event.location;
      const description = item.description ?? event.description;
      calendar.createEvent({
        ...common,
        recurrenceId: timeIn(Date.parse(item.original_start), zone),
        start: timeIn(start, zone),
        end: timeIn(end, zone),
        summary: item.title ?? event.title,
        description: description || null,
        location: location || null,
      });
    }
  }
  return calendar.toString();
}
