"""iCalendar text for ONLYOFFICE's icsevent routes, built with ``icalendar``. Pure.

PUT icsevent replaces the event from the ICS sent (providers.md §1.9.1), so :func:`build_ics`
always writes the complete VEVENT: UID, SUMMARY, DESCRIPTION, DTSTART, DTEND and RRULE.
DTSTAMP is left out on purpose: the server stamps its own, and a stamp of ours would make
every plan's request text differ from the last.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.prop import vRecur

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
        zone = ZoneInfo(value["timezone"])
        event.add("dtstart", dt.datetime.fromisoformat(value["start"]).replace(tzinfo=zone))
        event.add("dtend", dt.datetime.fromisoformat(value["end"]).replace(tzinfo=zone))
    if value.get("recurrence"):
        event.add("rrule", vRecur.from_ical(value["recurrence"]))
    cal.add_component(event)
    text: bytes = cal.to_ical()
    return text.decode("utf-8")
