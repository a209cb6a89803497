"""iCalendar text for ONLYOFFICE's icsevent routes, built with ``icalendar``. Pure.

PUT icsevent replaces the event from the ICS sent (providers.md §1.9.1), so :func:`build_ics`
always writes the complete VEVENT: UID, SUMMARY, DESCRIPTION, DTSTART, DTEND and RRULE.
EXDATE carries the cancelled occurrences (``skip``), in the event's zone. DTSTAMP is left out
on purpose: the server stamps its own, and a stamp of ours would make
every plan's request text differ from the last.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.prop import vRecur

from reconciler.events import utc_text
from reconciler.recurrence import normalize_rrule
from reconciler.timezones import iana_zone

PRODID = "-//calrecon//calendar-reconciler//EN"


def build_ics(uid: str, value: dict[str, Any]) -> str:
    """A VCALENDAR with one VEVENT for a canonical event (see reconciler.events)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    event = Event()
    event.add("uid", uid)
    event.add("summary", value["summary"])
    event.add("description", value.get("description", ""))
    if value["all_day"]:
        first = dt.date.fromisoformat(value["start"])
        last = dt.date.fromisoformat(value["end"])
        event.add("dtstart", first)
        event.add("dtend", last + dt.timedelta(days=1))  # DTEND is exclusive in iCalendar
    else:
        # Wall time with an explicit TZID: icalendar would write a zone that is UTC+0 all
        # year (Atlantic/Reykjavik) as UTC, which the server moves to the calendar's zone
        # for a series (providers.md §1.9.7).
        tzid = {"TZID": value["timezone"]}
        event.add("dtstart", dt.datetime.fromisoformat(value["start"]), parameters=tzid)
        event.add("dtend", dt.datetime.fromisoformat(value["end"]), parameters=tzid)
    if value.get("recurrence"):
        event.add("rrule", vRecur.from_ical(value["recurrence"]))
        skips = value.get("skip") or []
        if skips and value["all_day"]:
            event.add("exdate", [dt.date.fromisoformat(s) for s in skips])
        elif skips:
            event.add("exdate", [dt.datetime.fromisoformat(s) for s in skips],
                      parameters={"TZID": value["timezone"]})
    cal.add_component(event)
    text: bytes = cal.to_ical()
    return text.decode("utf-8")


def read_series(ics: str, calendar_zone: str) -> dict[str, Any] | None:
    """Start, end, zone and rule of the first VEVENT of a stored ICS, as canonical live
    values (timed: UTC instants and the DTSTART's zone, a floating one taken in
    ``calendar_zone``; all-day: dates, the end the last day included). None without a
    VEVENT; ValueError when the ICS cannot be read."""
    events = Calendar.from_ical(ics).walk("VEVENT")
    if not events:
        return None
    event = events[0]
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND") if event.get("DTEND") else start
    rule = event.get("RRULE")
    value: dict[str, Any] = {"recurrence": normalize_rrule(rule.to_ical().decode())
                             if rule is not None else ""}
    if not isinstance(start, dt.datetime):
        last = end - dt.timedelta(days=1) if end > start else start
        value.update(all_day=True, start=start.isoformat(), end=last.isoformat())
        return value
    if start.tzinfo is None:
        zone = ZoneInfo(calendar_zone)
        start, end = start.replace(tzinfo=zone), end.replace(tzinfo=zone)
    name = getattr(start.tzinfo, "key", None) or str(event["DTSTART"].params.get("TZID", ""))
    value.update(all_day=False, start=utc_text(start), end=utc_text(end),
                 timezone=iana_zone(name) if name else calendar_zone)
    return value
