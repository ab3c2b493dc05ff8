#!/usr/bin/python3
"""Reads a feed we published with Debian's python3-icalendar, an RFC 5545 parser independent of the
npm ones, and expands its rules with python-dateutil: the occurrences must be GET /api/agenda's.

Usage: check.py feed.ics expected.json. Prints PASS/FAIL per check and `ical-python: N passed, M failed`.
"""
import json
import re
import sys
from datetime import datetime, timedelta, timezone

import icalendar
from dateutil.rrule import rrulestr

feed_path, expected_path = sys.argv[1], sys.argv[2]
raw = open(feed_path, "rb").read()
expected = json.load(open(expected_path))
results = []


def check(name, fn):
    try:
        fn()
        results.append(True)
        print(f"ical-python: PASS {name}")
    except Exception as error:  # a failed check names itself and goes on
        results.append(False)
        print(f"ical-python: FAIL {name}: {type(error).__name__}: {str(error)[:500]}")


def iso(ms_or_dt):
    return ms_or_dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


calendar = None


def parses():
    global calendar
    calendar = icalendar.Calendar.from_ical(raw)
    assert calendar.name == "VCALENDAR", calendar.name


def calendar_properties():
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//")
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Python check"
    assert "REFRESH-INTERVAL" in calendar and "X-PUBLISHED-TTL" in calendar


def lines_folded():
    for number, line in enumerate(raw.split(b"\r\n"), 1):
        assert len(line) <= 75, f"line {number} has {len(line)} octets"
        line.decode("utf-8")  # a fold inside a character leaves bytes that do not decode
    assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF"


def vevents_complete():
    vevents = calendar.walk("VEVENT")
    masters = [v for v in vevents if "RECURRENCE-ID" not in v]
    assert len(masters) == len(expected["events"]), f"{len(masters)} master VEVENTs for {len(expected['events'])} events"
    assert len(vevents) == len(masters) + 1, "the moved occurrence is not its own VEVENT"
    uids = set()
    for vevent in vevents:
        for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "LAST-MODIFIED", "SUMMARY"):
            assert name in vevent, f"{vevent.get('UID')} lacks {name}"
        uids.add(str(vevent["UID"]))
    assert uids == {f"event-{e['id']}@127.0.0.1" for e in expected["events"]}, uids


def text_unescaped():
    by_uid = {str(v["UID"]): v for v in calendar.walk("VEVENT") if "RECURRENCE-ID" not in v}
    for event in expected["events"]:
        vevent = by_uid[f"event-{event['id']}@127.0.0.1"]
        assert str(vevent["SUMMARY"]) == event["title"], (str(vevent["SUMMARY"]), event["title"])
        assert str(vevent.get("DESCRIPTION", "")) == event["description"]
        assert str(vevent.get("LOCATION", "")) == (event["location"] or "")


def timezones_declared():
    declared = {str(tz["TZID"]): tz for tz in calendar.walk("VTIMEZONE")}
    used = set(re.findall(rb";TZID=([^:;]+)", raw.replace(b"\r\n ", b"")))
    assert {u.decode() for u in used} == set(declared), (used, set(declared))
    for tzid, tz in declared.items():
        parts = [c for c in tz.subcomponents if c.name in ("STANDARD", "DAYLIGHT")]
        assert parts, f"{tzid} has no STANDARD/DAYLIGHT"
        for part in parts:
            assert "RDATE" not in part, f"{tzid} uses RDATE"
            if len(parts) > 1:
                assert str(part["RRULE"].to_ical(), "ascii").startswith("FREQ=YEARLY"), f"{tzid} {part.name} is not a yearly rule"


def localize(tz, naive):
    return tz.localize(naive, is_dst=True) if hasattr(tz, "localize") else naive.replace(tzinfo=tz)


def occurrences():
    start = datetime.strptime(expected["window"]["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    end = datetime.strptime(expected["window"]["end"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    masters, overrides = {}, {}
    for vevent in calendar.walk("VEVENT"):
        if "RECURRENCE-ID" in vevent:
            overrides.setdefault(str(vevent["UID"]), {})[iso(vevent.decoded("RECURRENCE-ID"))] = vevent
        else:
            masters[str(vevent["UID"])] = vevent
    found = []
    for uid, vevent in masters.items():
        event_id = int(re.match(r"event-(\d+)@", uid).group(1))
        dtstart, dtend = vevent.decoded("DTSTART"), vevent.decoded("DTEND")
        length = dtend - dtstart
        starts = [dtstart]
        if "RRULE" in vevent:
            tz = dtstart.tzinfo
            naive = dtstart.replace(tzinfo=None)
            rule = vevent["RRULE"].to_ical().decode()
            # Expanded on wall times (a pytz zone keeps one fixed offset otherwise); UNTIL, in UTC, goes to the same wall clock.
            until = re.search(r"UNTIL=(\d{8}T\d{6})Z", rule)
            if until:
                local = datetime.strptime(until.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc).astimezone(tz)
                rule = rule.replace(until.group(0), "UNTIL=" + local.replace(tzinfo=None).strftime("%Y%m%dT%H%M%S"))
            excluded = set()
            for exdate in vevent.get("EXDATE", []) if isinstance(vevent.get("EXDATE"), list) else [vevent.get("EXDATE")] if "EXDATE" in vevent else []:
                excluded.update(iso(d.dt) for d in exdate.dts)
            margin = timedelta(days=2)
            walls = rrulestr(rule, dtstart=naive).between((start - margin).astimezone(tz).replace(tzinfo=None), (end + margin).astimezone(tz).replace(tzinfo=None), inc=True)
            starts = [localize(tz, w) for w in walls]
            starts = [s for s in starts if iso(s) not in excluded]
        for occurrence in starts:
            override = overrides.get(uid, {}).get(iso(occurrence))
            s, e = (override.decoded("DTSTART"), override.decoded("DTEND")) if override is not None else (occurrence, occurrence + length)
            if s < end and e > start:
                found.append({"event_id": event_id, "start_time": iso(s), "end_time": iso(e)})
    key = lambda o: (o["start_time"], o["event_id"])
    found.sort(key=key)
    agenda = sorted(expected["agenda"], key=key)
    assert len(agenda) > 0
    missing = [o for o in agenda if o not in found][:3]
    extra = [o for o in found if o not in agenda][:3]
    assert found == agenda, f"{len(found)} expanded, {len(agenda)} in the agenda; missing {missing}, extra {extra}"


check("the feed parses", parses)
if calendar is not None:
    check("VERSION, PRODID, CALSCALE, METHOD, X-WR-CALNAME, REFRESH-INTERVAL and X-PUBLISHED-TTL", calendar_properties)
    check("lines are folded at 75 octets without splitting a UTF-8 character", lines_folded)
    check("one VEVENT per event, each with UID, DTSTAMP, DTSTART, DTEND, SEQUENCE, LAST-MODIFIED, SUMMARY", vevents_complete)
    check("SUMMARY, DESCRIPTION and LOCATION unescape to what was stored", text_unescaped)
    check("every TZID has one VTIMEZONE of yearly-RRULE STANDARD/DAYLIGHT parts, no RDATE", timezones_declared)
    check("expanded with python-dateutil, the occurrences are GET /api/agenda's", occurrences)
passed = sum(results)
print(f"ical-python: {passed} passed, {len(results) - passed} failed")
sys.exit(0 if results and all(results) else 1)
