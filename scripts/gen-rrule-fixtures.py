#!/usr/bin/python3
"""Writes test/fixtures/rrule-cases.json: recurrence cases expanded by python-dateutil.

Run with the system Python (Debian: apt-get install python3-dateutil):

    /usr/bin/python3 scripts/gen-rrule-fixtures.py

dateutil expands the rule in local wall-clock time from a zone-aware DTSTART; each occurrence is
then turned into UTC by zoneinfo with fold=0, which is exactly RFC 5545's rule for local times
(a time in a DST gap takes the offset before the gap; an ambiguous time is the first instant).
`rfc_to_utc` re-derives that independently and the script stops if the two disagree.

Two deliberate differences from dateutil are applied to its input, not to its output:
- UNTIL without Z is a wall time in the case's zone (dateutil cannot mix a floating UNTIL with an
  aware DTSTART), so it is converted to UTC first.
- UNTIL as a bare date means "through that day"; dateutil would read it as that day's midnight
  and drop the day's own occurrences, so it becomes the next local midnight minus one second.
"""

import datetime as dt
import json
import pathlib
import re
import sys
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

UTC = dt.timezone.utc
MAX_PER_CASE = 500
OUT = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "rrule-cases.json"


def case(name, pattern, tz, dtstart, window, duration=60):
    return {
        "name": name,
        "pattern": pattern,
        "timeZone": tz,
        "dtstart": dtstart,
        "durationMinutes": duration,
        "windowStart": window[0] + "T00:00:00Z",
        "windowEnd": window[1] + "T00:00:00Z",
    }


BER, NY, SYD = "Europe/Berlin", "America/New_York", "Australia/Sydney"
KOL, KTM = "Asia/Kolkata", "Asia/Kathmandu"

CASES = [
    # The plain words.
    case("daily: the word, across both Berlin DST changes", "daily", BER, "2024-01-15T09:00:00", ("2024-01-01", "2025-05-01")),
    case("weekly: the word in mixed case, New York evenings", "Weekly", NY, "2024-01-03T18:30:00", ("2024-01-01", "2027-01-01"), 90),
    case("monthly: the word from the 31st skips shorter months", "MONTHLY", SYD, "2024-01-31T10:00:00", ("2024-01-01", "2028-01-01")),
    case("yearly: the word from Feb 29 only hits leap years", "yearly", KOL, "2024-02-29T12:00:00", ("2024-01-01", "2037-01-01")),
    # DAILY. (No DTSTART lies in a gap: a SeriesSpec holds DTSTART as an instant, so a nominal
    # 02:30 that became 03:30 cannot be told apart from a real 03:30.)
    case("daily every third day", "FREQ=DAILY;INTERVAL=3", NY, "2024-02-10T08:00:00", ("2024-01-01", "2026-01-01"), 30),
    case("daily COUNT across the Berlin spring change at 23:30", "FREQ=DAILY;COUNT=20", BER, "2025-03-20T23:30:00", ("2025-01-01", "2027-01-01")),
    case("daily UNTIL in UTC is inclusive", "FREQ=DAILY;UNTIL=20250410T070000Z", BER, "2025-03-25T09:00:00", ("2025-01-01", "2027-01-01")),
    case("weekdays only", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", BER, "2024-01-01T08:15:00", ("2024-01-01", "2025-11-01"), 45),
    case("daily limited to March and October", "FREQ=DAILY;BYMONTH=3,10", BER, "2024-03-01T07:00:00", ("2024-01-01", "2027-01-01")),
    case("daily limited to the 1st, 15th and last day", "FREQ=DAILY;BYMONTHDAY=1,15,-1", NY, "2024-01-01T12:00:00", ("2024-01-01", "2027-01-01")),
    case("02:30 New York daily in March falls in the spring-forward gap", "FREQ=DAILY;BYMONTH=3", NY, "2025-03-01T02:30:00", ("2025-01-01", "2028-01-01")),
    case("01:30 New York daily in November is ambiguous once a year", "FREQ=DAILY;BYMONTH=11", NY, "2025-11-01T01:30:00", ("2025-01-01", "2028-01-01")),
    case("02:15 Lord Howe in early October hits its half-hour gap", "FREQ=DAILY;BYMONTH=10;BYMONTHDAY=1,2,3,4,5,6,7", "Australia/Lord_Howe", "2024-10-01T02:15:00", ("2024-01-01", "2030-01-01")),
    case("daily in UTC", "FREQ=DAILY;INTERVAL=7;COUNT=60", "UTC", "2024-12-30T00:00:00", ("2024-01-01", "2027-01-01")),
    case("daily at Kathmandu's +05:45", "FREQ=DAILY;INTERVAL=5", KTM, "2024-01-01T06:45:00", ("2024-01-01", "2026-06-01")),
    # WEEKLY.
    case("weekly Monday and Wednesday, ten times", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", BER, "2025-03-17T09:00:00", ("2025-01-01", "2027-01-01")),
    case("every other week Tuesday and Thursday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH", BER, "2024-01-02T14:00:00", ("2024-01-01", "2028-01-01")),
    case("RFC 5545 WKST=MO example", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO", NY, "1997-08-05T09:00:00", ("1997-01-01", "1999-01-01")),
    case("RFC 5545 WKST=SU example", "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU", NY, "1997-08-05T09:00:00", ("1997-01-01", "1999-01-01")),
    case("every other week Sunday and Monday with weeks from Sunday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU", NY, "2024-01-07T10:00:00", ("2024-01-01", "2027-01-01")),
    case("every third weekend with weeks from Thursday", "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU;WKST=TH", KOL, "2024-01-06T19:00:00", ("2024-01-01", "2028-01-01")),
    case("weekly until a bare date includes that day", "FREQ=WEEKLY;UNTIL=20261231", SYD, "2026-01-01T17:00:00", ("2025-01-01", "2028-01-01")),
    case("weekly until a floating date-time that is an occurrence", "FREQ=WEEKLY;UNTIL=20260315T090000", BER, "2025-09-07T09:00:00", ("2025-01-01", "2028-01-01")),
    case("Fridays of January and July in Sydney", "FREQ=WEEKLY;BYMONTH=1,7;BYDAY=FR", SYD, "2024-01-05T08:00:00", ("2024-01-01", "2028-01-01")),
    case("RRULE: prefix and lowercase names", "RRULE:freq=weekly;byday=sa;interval=2", SYD, "2024-03-02T09:30:00", ("2024-01-01", "2028-01-01")),
    case("weekly Friday at Kathmandu's +05:45", "FREQ=WEEKLY;BYDAY=FR", KTM, "2024-01-05T16:00:00", ("2024-01-01", "2027-01-01")),
    case("a three-day occurrence straddling the window start", "FREQ=WEEKLY;BYDAY=SA", BER, "2024-01-06T12:00:00", ("2024-03-31", "2026-03-31"), 4320),
    # MONTHLY.
    case("last Friday of the month", "FREQ=MONTHLY;BYDAY=-1FR", BER, "2024-01-26T16:00:00", ("2024-01-01", "2030-01-01")),
    case("second Tuesday of the month", "FREQ=MONTHLY;BYDAY=2TU", NY, "2024-01-09T19:00:00", ("2024-01-01", "2030-01-01")),
    case("the 31st, skipping shorter months", "FREQ=MONTHLY;BYMONTHDAY=31", KOL, "2024-01-31T09:30:00", ("2024-01-01", "2030-01-01")),
    case("the last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1", SYD, "2024-01-31T18:00:00", ("2024-01-01", "2030-01-01")),
    case("every other month on the 1st and 15th", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=1,15", NY, "2024-01-01T10:00:00", ("2024-01-01", "2030-01-01")),
    case("Friday the 13th", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", NY, "2024-09-13T00:00:00", ("2024-01-01", "2040-01-01")),
    case("first and last Monday, 24 times", "FREQ=MONTHLY;BYDAY=1MO,-1MO;COUNT=24", BER, "2024-01-01T09:00:00", ("2024-01-01", "2027-01-01")),
    case("RFC 5545 every 18 months, 10th to 15th", "FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15", NY, "1997-09-10T09:00:00", ("1997-01-01", "2000-01-01")),
    case("third-to-last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-3", BER, "2024-01-29T07:00:00", ("2024-01-01", "2030-01-01")),
    case("fifth Friday only in months that have one", "FREQ=MONTHLY;BYDAY=5FR", SYD, "2024-03-29T12:00:00", ("2024-01-01", "2030-01-01")),
    case("29th and 30th of February and August", "FREQ=MONTHLY;BYMONTH=2,8;BYMONTHDAY=29,30", KOL, "2024-02-29T08:00:00", ("2024-01-01", "2034-01-01")),
    case("third Wednesday until the end of 2030", "FREQ=MONTHLY;BYDAY=3WE;UNTIL=20301231T235959Z", KTM, "2024-01-17T11:00:00", ("2024-01-01", "2032-01-01")),
    case("a DTSTART that does not match the rule is not an occurrence", "FREQ=MONTHLY;BYDAY=-1FR", NY, "2024-01-01T09:00:00", ("2024-01-01", "2028-01-01")),
    # YEARLY.
    case("Feb 29 yearly only in leap years", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", NY, "2024-02-29T20:00:00", ("2024-01-01", "2070-01-01")),
    case("US Thanksgiving", "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", NY, "2024-11-28T15:00:00", ("2024-01-01", "2060-01-01")),
    case("US Labor Day", "FREQ=YEARLY;BYMONTH=9;BYDAY=1MO", NY, "2024-09-02T09:00:00", ("2024-01-01", "2060-01-01")),
    case("RFC 5545 20th Monday of the year", "FREQ=YEARLY;BYDAY=20MO", NY, "1997-05-19T09:00:00", ("1997-01-01", "2030-01-01")),
    case("last Sunday of the year", "FREQ=YEARLY;BYDAY=-1SU", BER, "2024-12-29T11:00:00", ("2024-01-01", "2060-01-01")),
    case("every Thursday in March", "FREQ=YEARLY;BYMONTH=3;BYDAY=TH", BER, "2024-03-07T09:00:00", ("2024-01-01", "2040-01-01")),
    case("RFC 5545 US election day every four years", "FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8", NY, "1996-11-05T09:00:00", ("1996-01-01", "2100-01-01")),
    case("yearly in January to March on DTSTART's day", "FREQ=YEARLY;BYMONTH=1,2,3", SYD, "2024-01-20T06:00:00", ("2024-01-01", "2040-01-01")),
    case("yearly BYMONTHDAY=-1 expands to every month", "FREQ=YEARLY;BYMONTHDAY=-1;COUNT=30", KOL, "2024-01-31T23:00:00", ("2024-01-01", "2030-01-01")),
    case("every day of January, every other year", "FREQ=YEARLY;INTERVAL=2;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA", BER, "2024-01-01T08:00:00", ("2024-01-01", "2034-01-01")),
    case("02:30 Sydney on the first Sunday of October is in the gap", "FREQ=YEARLY;BYMONTH=9,10;BYDAY=1SU", SYD, "2024-09-01T02:30:00", ("2024-01-01", "2060-01-01")),
    case("02:30 Sydney on the first Sunday of April is ambiguous", "FREQ=YEARLY;BYMONTH=4;BYDAY=1SU", SYD, "2024-04-07T02:30:00", ("2024-01-01", "2060-01-01")),
    case("02:30 Berlin on the last Sunday of March and October", "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU", BER, "2024-10-27T02:30:00", ("2024-01-01", "2060-01-01")),
    case("yearly across Santiago's southern DST", "FREQ=YEARLY;BYMONTH=1,4,7,9,10;BYMONTHDAY=5", "America/Santiago", "2024-01-05T00:30:00", ("2024-01-01", "2050-01-01")),
]


def parse_local(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")


def iso_z(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc_to_utc(naive, zone):
    """RFC 5545 3.3.5 without relying on fold: gap times use the offset before the gap, ambiguous ones the first instant."""
    candidates = set()
    for probe in (naive - dt.timedelta(days=1), naive + dt.timedelta(days=1)):
        offset = probe.replace(tzinfo=zone).utcoffset()
        utc = (naive - offset).replace(tzinfo=UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == naive:
            candidates.add(utc)
    if candidates:
        return min(candidates)
    before = (naive - dt.timedelta(days=1)).replace(tzinfo=zone).utcoffset()
    return (naive - before).replace(tzinfo=UTC)


def dateutil_pattern(pattern, zone):
    """The pattern as dateutil should see it: the words as FREQ, UNTIL in UTC (see module doc)."""
    body = re.sub(r"^RRULE:", "", pattern, flags=re.I)
    if body.upper() in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        return "FREQ=" + body.upper()
    parts = []
    for part in body.split(";"):
        name, value = part.split("=", 1)
        if name.upper() == "UNTIL" and not value.upper().endswith("Z"):
            if len(value) == 8:
                local = dt.datetime.strptime(value, "%Y%m%d") + dt.timedelta(days=1)
                until = rfc_to_utc(local, zone) - dt.timedelta(seconds=1)
            else:
                until = rfc_to_utc(dt.datetime.strptime(value, "%Y%m%dT%H%M%S"), zone)
            value = until.strftime("%Y%m%dT%H%M%SZ")
        parts.append(f"{name}={value}")
    return ";".join(parts)


def expand(spec):
    zone = ZoneInfo(spec["timeZone"])
    start = parse_local(spec["dtstart"])
    if rfc_to_utc(start, zone).astimezone(zone).replace(tzinfo=None) != start:
        sys.exit(f"{spec['name']}: DTSTART lies in a DST gap")
    rule = rrulestr(dateutil_pattern(spec["pattern"], zone), dtstart=start.replace(tzinfo=zone))
    window_start = dt.datetime.fromisoformat(spec["windowStart"].replace("Z", "+00:00"))
    window_end = dt.datetime.fromisoformat(spec["windowEnd"].replace("Z", "+00:00"))
    duration = dt.timedelta(minutes=spec["durationMinutes"])
    expected = []
    for occurrence in rule:
        utc = occurrence.astimezone(UTC)
        independent = rfc_to_utc(occurrence.replace(tzinfo=None), zone)
        if utc != independent:
            sys.exit(f"{spec['name']}: zoneinfo gives {utc} for {occurrence}, RFC 5545 gives {independent}")
        if utc >= window_end:
            break
        if utc + duration > window_start:
            expected.append(iso_z(utc))
        if len(expected) > MAX_PER_CASE:
            sys.exit(f"{spec['name']}: more than {MAX_PER_CASE} occurrences; narrow the window")
    if not expected:
        sys.exit(f"{spec['name']}: no occurrences in the window")
    return expected


def main():
    names = [spec["name"] for spec in CASES]
    if len(set(names)) != len(names):
        sys.exit("case names must be unique")
    out = [{**spec, "expected": expand(spec)} for spec in CASES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(out)} cases, {sum(len(c['expected']) for c in out)} occurrences to {OUT}")


if __name__ == "__main__":
    main()
