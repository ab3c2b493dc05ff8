import ICAL from "ical.js";

/** A calendar text parsed by ical.js (Mozilla's parser, the one Thunderbird uses): the root VCALENDAR. */
export function parseCalendar(text: string): ICAL.Component {
  return new ICAL.Component(ICAL.parse(text));
}

export interface ExpandedOccurrence {
  uid: string;
  start: number;
  end: number;
}

/**
 * Every occurrence of every VEVENT in [start, end) as ical.js expands it: RRULE and EXDATE on the
 * masters, each RECURRENCE-ID VEVENT replacing the occurrence it names, times resolved through the
 * calendar's own VTIMEZONEs. Instants in epoch ms, sorted by start then UID.
 */
export function expandCalendar(text: string, start: number, end: number): ExpandedOccurrence[] {
  const root = parseCalendar(text);
  const vevents = root.getAllSubcomponents("vevent");
  const masters = new Map<string, ICAL.Event>();
  const overrides: ICAL.Component[] = [];
  for (const vevent of vevents) {
    if (vevent.hasProperty("recurrence-id")) overrides.push(vevent);
    else masters.set(String(vevent.getFirstPropertyValue("uid")), new ICAL.Event(vevent));
  }
  for (const override of overrides) masters.get(String(override.getFirstPropertyValue("uid")))?.relateException(override);
  const out: ExpandedOccurrence[] = [];
  const ms = (time: ICAL.Time) => time.toUnixTime() * 1000;
  for (const [uid, event] of masters) {
    if (!event.isRecurring()) {
      const s = ms(event.startDate);
      const e = ms(event.endDate);
      if (s < end && e > start) out.push({ uid, start: s, end: e });
      continue;
    }
    const iterator = event.iterator();
    for (let next = iterator.next(); next; next = iterator.next()) {
      const details = event.getOccurrenceDetails(next);
      const s = ms(details.startDate);
      const e = ms(details.endDate);
      if (s < end && e > start) out.push({ uid, start: s, end: e });
      // Moved occurrences may leave their slot's order, so read a week past the window's end.
      if (ms(next) >= end + 7 * 86_400_000) break;
    }
  }
  return out.sort((a, b) => a.start - b.start || a.uid.localeCompare(b.uid));
}
