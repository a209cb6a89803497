"""What the services end up storing, checked on the emulators' side of the wire.

Every test here applies over real loopback HTTP and then reads the emulator's raw resources
with :mod:`tests.wire` (no calrecon mapping), so that a mistake made the same way when
writing and when reading back still fails. Fields that the YAML does not manage are seeded
as someone editing in the provider's own UI would leave them, and must be exactly as they
were after every kind of update.
"""

from __future__ import annotations

import textwrap

import pytest

from reconciler.sandbox.server import Sandbox
from tests.conftest import Driver
from tests.wire import (
    cronofy_event,
    lineworks_calendar,
    lineworks_item,
    lineworks_master,
    onlyoffice_calendar,
    onlyoffice_event,
    strict_text,
    vevent_lines,
)

ADMIN = "a0a0a0a0-0000-4000-8000-000000000001"
USER_1 = "b1b1b1b1-0000-4000-8000-000000000001"
GROUP_1 = "c1c1c1c1-0000-4000-8000-000000000001"


def one_calendar(provider: str, events: str = "", extra: str = "", name: str = "Team") -> str:
    body = textwrap.indent(textwrap.dedent(events), "      ")
    text = f"calendars:\n  cal:\n    provider: {provider}\n    name: {name}\n{extra}"
    return text + (f"    events:\n{body}" if events else "")


TIMED = """\
ev:
  summary: Planning
  start: 2027-03-01T10:00:00
  end: 2027-03-01T11:00:00
  timezone: Europe/Berlin
"""

# Each kind of event update, as a replacement of TIMED: (id, new YAML of the event)
EVENT_UPDATES = [
    ("summary", TIMED.replace("Planning", "Planning, v2")),
    ("times", TIMED.replace("T10:00", "T14:00").replace("T11:00", "T15:30")),
    ("timezone", TIMED.replace("Europe/Berlin", "Asia/Tokyo")),
    ("recurrence", TIMED + "  recurrence: FREQ=WEEKLY;BYDAY=MO;COUNT=4\n"),
    ("alert", TIMED + "  alert: 1h\n"),
]


# -- LINE WORKS -------------------------------------------------------------------------------

LW_UNMANAGED = {
    "description": "Agenda written in the LINE WORKS app",
    "location": "Room 4",
    "attendees": [{"email": "kim@example.com", "displayName": "Kim",
                   "partstat": "ACCEPTED", "isOptional": False, "isResource": False}],
    "visibility": "PRIVATE",
    "transparency": "TRANSPARENT",
    "categoryId": "7",
}


def _seed_lineworks_event(box: Sandbox) -> str:
    cid = box.lineworks.add_calendar("Team")
    box.lineworks.add_event(cid, {
        "eventId": "ev", "summary": "Planning",
        "start": {"dateTime": "2027-03-01T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2027-03-01T11:00:00", "timeZone": "Europe/Berlin"},
        **LW_UNMANAGED})
    return cid


@pytest.mark.parametrize(("kind", "event"), EVENT_UPDATES, ids=[k for k, _ in EVENT_UPDATES])
def test_lineworks_event_updates_keep_what_the_yaml_does_not_manage(
        driver: Driver, sandbox: Sandbox, kind: str, event: str) -> None:
    _seed_lineworks_event(sandbox)
    driver.write(one_calendar("works", event))
    plan = driver.plan()
    assert [c.address for c in plan.changes] == ["works.cal.events.ev"], plan.to_dict()
    driver.converge()
    stored = lineworks_master(sandbox, "Team", "ev")
    assert {k: stored.get(k) for k in LW_UNMANAGED} == LW_UNMANAGED


def test_lineworks_event_is_stored_with_every_managed_field(driver: Driver,
                                                            sandbox: Sandbox) -> None:
    sandbox.lineworks.add_calendar("Team")
    driver.write(one_calendar("works", TIMED.replace("Planning", "Planning, Q1; all")
                              + "  description: Bring numbers\n  location: Room 7\n"
                              "  alert: 15m\n  recurrence: FREQ=WEEKLY;BYDAY=MO;COUNT=3\n"))
    driver.converge()
    stored = lineworks_master(sandbox, "Team", "ev")
    assert stored["summary"] == "Planning, Q1; all"
    assert stored["description"] == "Bring numbers" and stored["location"] == "Room 7"
    assert stored["start"] == {"dateTime": "2027-03-01T10:00:00", "timeZone": "Europe/Berlin"}
    assert stored["end"] == {"dateTime": "2027-03-01T11:00:00", "timeZone": "Europe/Berlin"}
    assert [r.upper() for r in stored["recurrence"]] == ["RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=MO"]
    assert stored["reminders"] == [{"method": "DISPLAY", "trigger": "-PT15M"}]


@pytest.mark.parametrize(("dates", "start", "after"), [
    ("  start: 2027-05-10\n  end: 2027-05-12\n", "2027-05-10", "2027-05-13"),
    ("  start: 2027-12-25\n", "2027-12-25", "2027-12-26"),
], ids=["three-days", "one-day"])
def test_lineworks_all_day_events_end_on_the_day_after(driver: Driver, sandbox: Sandbox,
                                                       dates: str, start: str,
                                                       after: str) -> None:
    # The end date is exclusive, as in iCalendar (the choice recorded in the emulator and
    # in lineworks/mapping.py, providers.md L6): the YAML's end is the last day included.
    sandbox.lineworks.add_calendar("Team")
    driver.write(one_calendar("works", "ev:\n  summary: Offsite\n" + dates))
    driver.converge()
    stored = lineworks_master(sandbox, "Team", "ev")
    assert stored["start"] == {"date": start} and stored["end"] == {"date": after}


def test_lineworks_event_update_keeps_its_exceptions_and_organizer_calendar(
        driver: Driver, sandbox: Sandbox) -> None:
    cid = _seed_lineworks_event(sandbox)
    before = lineworks_item(sandbox, "Team", "ev")
    driver.write(one_calendar("works", TIMED.replace("Planning", "Planning 2")))
    driver.converge()
    after = lineworks_item(sandbox, "Team", "ev")
    assert after["organizerCalendarId"] == before["organizerCalendarId"] == cid
    assert len(after["eventComponents"]) == len(before["eventComponents"])


@pytest.mark.parametrize(("kind", "extra"), [
    ("name", None),
    ("description", "    description: New words\n"),
    ("members", "    members:\n      - user: kim@example.com\n        role: read\n"),
], ids=["name", "description", "members"])
def test_lineworks_calendar_updates_keep_what_the_yaml_does_not_manage(
        driver: Driver, sandbox: Sandbox, kind: str, extra: str | None) -> None:
    cid = sandbox.lineworks.add_calendar(
        "Team", description="Old words", is_public=True,
        members=[{"id": "lee@example.com", "type": "USER", "role": "EVENT_READ_WRITE"}])
    before = lineworks_calendar(sandbox, "Team")
    if kind == "name":
        text = one_calendar("works", name="Team 2", extra=f"    id: {cid}\n")
    else:
        text = one_calendar("works", extra=extra or "")
    driver.write(text)
    driver.converge()
    after = sandbox.lineworks.calendars[cid]
    managed = {"name": "calendarName", "description": "description", "members": "members"}
    for key in ("calendarName", "description", "members", "isPublic"):
        if key != managed[kind]:
            assert after[key] == before[key], key
    assert sum(1 for c in sandbox.lineworks.calendars.values()) == 1


# -- ONLYOFFICE -------------------------------------------------------------------------------

OO_SHARING = [{"itemId": USER_1, "isGroup": False, "actionId": "read"},
              {"itemId": GROUP_1, "isGroup": True, "actionId": "full_access"}]
OO_ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//portal//EN\r\nBEGIN:VEVENT\r\n"
          "UID:ev\r\nSUMMARY:Planning\r\nDESCRIPTION:Notes written in the portal\\, kept\r\n"
          "DTSTART;TZID=Europe/Berlin:20270301T100000\r\n"
          "DTEND;TZID=Europe/Berlin:20270301T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def _seed_onlyoffice(box: Sandbox) -> int:
    box.onlyoffice.add_principal(USER_1, "Kim")
    box.onlyoffice.add_principal(GROUP_1, "Board", group=True)
    cid = box.onlyoffice.add_calendar("Team", description="Old words", sharing=OO_SHARING)
    box.onlyoffice.add_event(cid, "ev", OO_ICS, alert=5,
                             sharing=[{"itemId": USER_1, "isGroup": False, "actionId": "read"}])
    return cid


@pytest.mark.parametrize(("kind", "event"), EVENT_UPDATES, ids=[k for k, _ in EVENT_UPDATES])
def test_onlyoffice_event_updates_keep_what_the_yaml_does_not_manage(
        driver: Driver, sandbox: Sandbox, kind: str, event: str) -> None:
    _seed_onlyoffice(sandbox)
    before = onlyoffice_event(sandbox, "ev")
    driver.write(one_calendar("office", event))
    plan = driver.plan()
    assert [c.address for c in plan.changes] == ["office.cal.events.ev"], plan.to_dict()
    driver.converge()
    after = onlyoffice_event(sandbox, "ev")
    assert after["description"] == "Notes written in the portal, kept"
    assert after["sharing"] == before["sharing"]
    if kind != "alert":
        assert after["alert"] == before["alert"]
    assert onlyoffice_calendar(sandbox, "Team")["sharing"] == OO_SHARING


@pytest.mark.parametrize(("kind", "extra"), [
    ("description", "    description: New words\n"),
    ("name", None),
    ("members", f"    members:\n      - user: {USER_1}\n        role: read\n"
                f"      - group: {GROUP_1}\n        role: read\n"),
], ids=["description", "name", "members"])
def test_onlyoffice_calendar_updates_keep_sharing_and_the_rest(
        driver: Driver, sandbox: Sandbox, kind: str, extra: str | None) -> None:
    cid = _seed_onlyoffice(sandbox)
    before = onlyoffice_calendar(sandbox, "Team")
    if kind == "name":
        driver.write(one_calendar("office", name="Team 2", extra=f"    id: '{cid}'\n"))
    else:
        driver.write(one_calendar("office", extra=extra or ""))
    driver.converge()
    after = sandbox.onlyoffice.calendars[cid]
    expected_sharing = OO_SHARING if kind != "members" else [
        {"itemId": USER_1, "isGroup": False, "actionId": "read"},
        {"itemId": GROUP_1, "isGroup": True, "actionId": "read"}]
    assert sorted(after["sharing"], key=str) == sorted(expected_sharing, key=str)
    for key in ("description", "title", "textColor", "backgroundColor", "timeZone",
                "alertType"):
        if (kind, key) not in (("description", "description"), ("name", "title")):
            assert after[key] == before[key], key
    event = onlyoffice_event(sandbox, "ev")
    assert event["description"] == "Notes written in the portal, kept"


HOSTILE_TEXT = 'Budget, plan; review \\ "q" — 日本'


def test_onlyoffice_ics_escapes_text_values(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.onlyoffice.add_calendar("Team")
    event = TIMED.replace("Planning", f"'{HOSTILE_TEXT}'") + (
        "  description: |\n    Line one, with a comma;\n    line two\n")
    driver.write(one_calendar("office", event))
    driver.converge()
    stored = onlyoffice_event(sandbox, "ev")
    lines = vevent_lines(stored["ics"])
    assert strict_text(lines["SUMMARY"][0][1]) == HOSTILE_TEXT
    assert strict_text(lines["DESCRIPTION"][0][1]) == "Line one, with a comma;\nline two\n"
    assert stored["title"] == HOSTILE_TEXT  # the emulator's strict reading agrees


def test_onlyoffice_event_is_stored_in_its_zone(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.onlyoffice.add_calendar("Team", zone="UTC")
    driver.write(one_calendar("office", TIMED + "  recurrence: FREQ=DAILY;COUNT=2\n"))
    driver.converge()
    stored = onlyoffice_event(sandbox, "ev")
    assert (stored["start"], stored["end"], stored["tzid"]) == (
        "2027-03-01T10:00:00", "2027-03-01T11:00:00", "Europe/Berlin")
    assert stored["rrule"].upper().replace("COUNT=2;FREQ=DAILY", "FREQ=DAILY;COUNT=2") == \
        "FREQ=DAILY;COUNT=2"


# -- Cronofy ----------------------------------------------------------------------------------


CRONOFY_UPDATES = [(k, e) for k, e in EVENT_UPDATES if k in ("summary", "times", "timezone")]


@pytest.mark.parametrize(("kind", "event"), CRONOFY_UPDATES,
                         ids=[k for k, _ in CRONOFY_UPDATES])
def test_cronofy_managed_event_updates_keep_description_and_location(
        driver: Driver, sandbox: Sandbox, kind: str, event: str) -> None:
    sandbox.cronofy.add_profile("pro_test", "p")
    sandbox.cronofy.add_calendar("pro_test", "Team")
    driver.write(one_calendar("people", TIMED + "  description: Agenda\n"
                                                "  location: Room 2\n"))
    driver.converge()
    driver.write(one_calendar("people", event))  # description and location now unmanaged
    driver.converge()
    stored = cronofy_event(sandbox, event_id="ev")
    assert stored["description"] == "Agenda"
    assert stored["location"] == {"description": "Room 2"}
    if kind == "summary":
        assert stored["summary"] == "Planning, v2"
        assert stored["start"] == {"time": "2027-03-01T09:00:00Z", "tzid": "Europe/Berlin"}


def test_cronofy_external_event_edit_keeps_what_the_yaml_does_not_manage(
        driver: Driver, sandbox: Sandbox) -> None:
    sandbox.cronofy.add_profile("pro_test", "p")
    cal = sandbox.cronofy.add_calendar("pro_test", "Team")
    sandbox.cronofy.add_external_event(cal, "evt_ext", "Standup", "2027-03-01T09:00:00Z",
                                       "2027-03-01T09:15:00Z", description="From Google",
                                       location="Hall")
    driver.write(one_calendar("people", """\
        standup:
          event_uid: evt_ext
          summary: Standup, short
          start: 2027-03-01T10:00:00
          end: 2027-03-01T10:15:00
          timezone: Europe/Berlin
        """))
    driver.converge()
    stored = cronofy_event(sandbox, event_uid="evt_ext")
    assert "event_id" not in stored  # still external: edited, not recreated as managed
    assert stored["summary"] == "Standup, short"
    assert (stored["description"], stored["location"]) == ("From Google",
                                                           {"description": "Hall"})
