"""Normalization: values that mean the same compare equal, whatever their spelling."""

from __future__ import annotations

import pytest

from reconciler.providers.lineworks import mapping as lw
from reconciler.providers.onlyoffice import mapping as oo
from reconciler.recurrence import normalize_rrule
from reconciler.timezones import iana_zone


@pytest.mark.parametrize(("a", "b"), [
    ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "freq=weekly;byday=we,mo;interval=1"),
    ("FREQ=WEEKLY;UNTIL=20270630T000000Z;BYDAY=MO", "BYDAY=MO;FREQ=WEEKLY;UNTIL=20270630T000000Z"),
    ("FREQ=MONTHLY;BYMONTHDAY=15,1", "FREQ=MONTHLY;BYMONTHDAY=1,15;WKST=MO"),
])
def test_equivalent_rrules_have_one_canonical_text(a: str, b: str) -> None:
    assert normalize_rrule(a) == normalize_rrule(b)


def test_windows_zone_ids_map_to_iana() -> None:
    assert iana_zone("Tokyo Standard Time") == "Asia/Tokyo"
    assert iana_zone("W. Europe Standard Time") == "Europe/Berlin"
    assert iana_zone("Europe/Paris") == "Europe/Paris"


def test_lineworks_event_in_a_windows_zone_equals_the_iana_yaml() -> None:
    _, value, _ = lw.event_to_canonical({"eventComponents": [{
        "eventId": "e", "summary": "S",
        "start": {"dateTime": "2027-01-05T10:00:00", "timeZone": "Tokyo Standard Time"},
        "end": {"dateTime": "2027-01-05T02:00:00+00:00", "timeZone": "Tokyo Standard Time"},
        "reminders": [{"method": "DISPLAY", "trigger": "-PT60M"}],
    }]}, "works.c")
    assert value["timezone"] == "Asia/Tokyo"
    assert (value["start"], value["end"]) == ("2027-01-05T10:00:00", "2027-01-05T11:00:00")
    assert value["alert"] == "1h"  # -PT60M and -PT1H are the same reminder


def test_onlyoffice_occurrences_collapse_to_the_series_and_times_to_instants() -> None:
    def item(start: str, end: str) -> dict[str, object]:
        return {"objectId": "7", "uniqueId": "weekly@portal", "title": "W", "start": start,
                "end": end, "allDay": False, "repeatRule": "FREQ=WEEKLY;BYDAY=WE,MO",
                "alert": {"type": 2}, "permissions": {"data": {"items": []}}}
    found = oo.events_to_canonical([
        item("2027-03-24T09:00:00.0000000+01:00", "2027-03-24T09:30:00.0000000+01:00"),
        item("2027-03-22T09:00:00.0000000+01:00", "2027-03-22T09:30:00.0000000+01:00"),
        item("2027-03-29T09:00:00.0000000+02:00", "2027-03-29T09:30:00.0000000+02:00"),
    ], "office.c")
    object_id, value, _ = found["weekly"]
    assert object_id == "7"
    assert (value["start"], value["end"]) == ("2027-03-22T08:00:00Z", "2027-03-22T08:30:00Z")
    assert value["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,WE" and value["alert"] == "15m"


def test_onlyoffice_projection_of_a_desired_event_matches_what_it_reads_back() -> None:
    desired = {"summary": "S", "all_day": False, "start": "2027-07-01T10:00:00",
               "end": "2027-07-01T11:00:00", "timezone": "Europe/Berlin", "recurrence": ""}
    assert oo.project_event(desired) == {"summary": "S", "all_day": False,
                                         "start": "2027-07-01T08:00:00Z",
                                         "end": "2027-07-01T09:00:00Z", "recurrence": ""}


def test_ics_is_folded_and_parsed_back_intact() -> None:
    from icalendar import Calendar

    from reconciler.providers.onlyoffice.ics import build_ics
    text = "Ünïcødé, ; \\ commas; and a long line " * 8
    ics = build_ics("u1", {"summary": "S", "all_day": True, "start": "2027-01-01",
                           "end": "2027-01-03", "recurrence": "", "description": text})
    assert max(len(line.encode()) for line in ics.split("\r\n")) <= 75
    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["DESCRIPTION"]) == text
    assert str(event.decoded("DTEND")) == "2027-01-04"  # exclusive in iCalendar
