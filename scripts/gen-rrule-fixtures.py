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
    # BYSETPOS. (Weekly cases start on WKST: dateutil begins the first week at DTSTART, so a
    # position counted in it differs from RFC 5545's whole week, which we follow.)
    case("the last weekday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", BER, "2024-01-31T17:00:00", ("2024-01-01", "2027-01-01")),
    case("the last weekday of the month in New York mornings", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", NY, "2024-01-31T09:00:00", ("2024-01-01", "2027-01-01")),
    case("the last weekday of the month, 10 times, in UTC", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=10", "UTC", "2025-05-30T12:00:00", ("2025-01-01", "2027-01-01")),
    case("the first weekday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", "UTC", "2024-01-01T08:00:00", ("2024-01-01", "2027-01-01")),
    case("the second-to-last weekday of the month", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2", NY, "2024-01-30T10:00:00", ("2024-01-01", "2027-01-01")),
    case("RFC 5545 third Tuesday, Wednesday or Thursday, three times", "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", NY, "1997-09-04T09:00:00", ("1997-01-01", "1999-01-01")),
    case("the first and last weekend day of every other month", "FREQ=MONTHLY;INTERVAL=2;BYDAY=SA,SU;BYSETPOS=1,-1", BER, "2024-01-06T10:00:00", ("2024-01-01", "2028-01-01")),
    case("the middle one of the 1st, 15th and last day", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1;BYSETPOS=2", "UTC", "2024-01-15T12:00:00", ("2024-01-01", "2027-01-01")),
    case("the second and last Friday until a floating date-time", "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=2,-1;UNTIL=20261127T090000", BER, "2024-01-12T09:00:00", ("2024-01-01", "2028-01-01")),
    case("the last weekday of the year", "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", NY, "2024-12-31T16:00:00", ("2024-01-01", "2060-01-01")),
    case("the later of the last Sundays of March and October", "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU;BYSETPOS=-1", BER, "2024-10-27T10:00:00", ("2024-01-01", "2060-01-01")),
    case("the last of Monday, Wednesday and Friday each week", "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=-1", BER, "2024-01-01T09:00:00", ("2024-01-01", "2025-06-01")),
    case("the first of Sunday, Monday and Saturday with weeks from Sunday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,MO,SA;BYSETPOS=1,3;WKST=SU", NY, "2024-01-07T11:00:00", ("2024-01-01", "2026-01-01")),
    case("daily BYSETPOS=1 keeps the day's one candidate", "FREQ=DAILY;BYDAY=MO,FR;BYSETPOS=1;COUNT=30", NY, "2025-02-03T08:00:00", ("2025-01-01", "2027-01-01")),
    # BYWEEKNO (week 1 is the first with four days in the year, counted from WKST).
    case("RFC 5545 Monday of week 20", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", NY, "1997-05-12T09:00:00", ("1997-01-01", "2030-01-01")),
    case("Monday of week 1, often in December", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO", "UTC", "2024-01-01T09:00:00", ("2024-01-01", "2050-01-01")),
    case("Thursday of week 53 only in years that have one", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH", BER, "2026-12-31T09:00:00", ("2024-01-01", "2060-01-01")),
    case("the weekend of week 53 that lies in January", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=FR,SA,SU", BER, "2026-01-02T18:00:00", ("2024-01-01", "2039-01-01")),
    case("Sunday of week 1 with weeks from Monday", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=SU;WKST=MO", NY, "2024-01-07T10:00:00", ("2024-01-01", "2050-01-01")),
    case("Sunday of week 1 with weeks from Sunday", "FREQ=YEARLY;BYWEEKNO=1;BYDAY=SU;WKST=SU", NY, "2023-12-31T10:00:00", ("2023-01-01", "2050-01-01")),
    case("Monday of the last week", "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=MO", BER, "2024-12-23T09:00:00", ("2024-01-01", "2060-01-01")),
    case("every day of week 10, across the New York spring change", "FREQ=YEARLY;BYWEEKNO=10", NY, "2024-03-04T07:00:00", ("2024-01-01", "2040-01-01")),
    case("Mondays and Fridays of weeks 1 and 2 that lie in January", "FREQ=YEARLY;BYWEEKNO=1,2;BYMONTH=1;BYDAY=MO,FR", "UTC", "2024-01-01T09:00:00", ("2024-01-01", "2050-01-01")),
    case("Sundays of weeks 13, 43 and 44 at 02:30 Berlin hit both changes", "FREQ=YEARLY;BYWEEKNO=13,43,44;BYDAY=SU", BER, "2024-01-07T02:30:00", ("2024-01-01", "2060-01-01")),
    # BYYEARDAY.
    case("RFC 5545 days 1, 100 and 200 every third year", "FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200", NY, "1997-01-01T09:00:00", ("1997-01-01", "2030-01-01")),
    case("the last day of the year", "FREQ=YEARLY;BYYEARDAY=-1", BER, "2024-12-31T20:00:00", ("2024-01-01", "2060-01-01")),
    case("day 366 only in leap years", "FREQ=YEARLY;BYYEARDAY=366", "UTC", "2024-12-31T12:00:00", ("2024-01-01", "2070-01-01")),
    case("day -366 is January 1st of leap years", "FREQ=YEARLY;BYYEARDAY=-366", NY, "2024-01-01T12:00:00", ("2024-01-01", "2070-01-01")),
    case("day 60 is Feb 29 in leap years and March 1st otherwise", "FREQ=YEARLY;BYYEARDAY=60", BER, "2024-02-29T09:00:00", ("2024-01-01", "2040-01-01")),
    case("the first Monday of the year from the first seven days", "FREQ=YEARLY;BYYEARDAY=1,2,3,4,5,6,7;BYDAY=MO", NY, "2024-01-01T09:00:00", ("2024-01-01", "2050-01-01")),
    case("the last Friday of the year's last ten days", "FREQ=YEARLY;BYYEARDAY=-1,-2,-3,-4,-5,-6,-7,-8,-9,-10;BYMONTH=12;BYDAY=FR;BYSETPOS=-1", "UTC", "2024-12-27T15:00:00", ("2024-01-01", "2050-01-01")),
    case("days 85 to 95 at 02:30 Berlin cross the spring gap", "FREQ=YEARLY;BYYEARDAY=85,86,87,88,89,90,91,92,93,94,95", BER, "2024-03-25T02:30:00", ("2024-01-01", "2036-01-01")),
    case("days -62 to -58 at 01:30 New York include the November repeat", "FREQ=YEARLY;BYYEARDAY=-62,-61,-60,-59,-58", NY, "2024-10-31T01:30:00", ("2024-01-01", "2036-01-01")),
    case("year days that are also in week 1", "FREQ=YEARLY;BYWEEKNO=1;BYYEARDAY=1,2,3,-1,-2,-3", "UTC", "2024-01-01T09:00:00", ("2024-01-01", "2050-01-01")),
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


def week_one_start(year, wkst):
    """First day of week 1 with weeks from `wkst` (0 = MO): the week holding January 4th (ISO 8601 for MO)."""
    jan4 = dt.date(year, 1, 4)
    return jan4 - dt.timedelta(days=(jan4.weekday() - wkst) % 7)


def check_week_numbers(spec, occurrences):
    """dateutil 2.9 puts January days in last year's week 53 when that year has 52 weeks (its
    `lnumweeks` for the year before is wrong, e.g. 2039-01-01 in week 53 of 2038); stop rather than
    commit such output. Each occurrence must lie in a week BYWEEKNO names."""
    parts = dict(part.split("=", 1) for part in spec["pattern"].upper().split(";") if "=" in part)
    if "BYWEEKNO" not in parts:
        return
    wkst = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].index(parts.get("WKST", "MO"))
    wanted = [int(n) for n in parts["BYWEEKNO"].split(",")]
    for occurrence in occurrences:
        day = occurrence.date()
        year = day.year + 1 if day >= week_one_start(day.year + 1, wkst) else day.year if day >= week_one_start(day.year, wkst) else day.year - 1
        start = week_one_start(year, wkst)
        weeks = (week_one_start(year + 1, wkst) - start).days // 7
        week = (day - start).days // 7 + 1
        if week not in wanted and week - weeks - 1 not in wanted:
            sys.exit(f"{spec['name']}: dateutil gives {day}, which is in week {week} of {year}; narrow the window")


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
    check_week_numbers(spec, [dt.datetime.fromisoformat(e.replace("Z", "+00:00")).astimezone(zone) for e in expected])
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
