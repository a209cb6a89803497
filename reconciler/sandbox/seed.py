"""The live state a fresh sandbox starts with: a small organisation that differs from
``examples/``, so the first plan has something to show on every provider (creates, updates,
deletes, and things left alone)."""

from __future__ import annotations

from reconciler.sandbox.cronofy import CronofyEmulator
from reconciler.sandbox.lineworks import LineWorksEmulator
from reconciler.sandbox.onlyoffice import OnlyOfficeEmulator

# Directory of the ONLYOFFICE portal; examples/onlyoffice.yaml uses the same ids.
CEO = "c0c0c0c0-0000-4000-8000-000000000002"
CFO = "c0c0c0c0-0000-4000-8000-000000000003"
DANA = "d0d0d0d0-0000-4000-8000-000000000004"
BOARD_GROUP = "b0b0b0b0-0000-4000-8000-00000000000b"
ENGINEERING_GROUP = "e0e0e0e0-0000-4000-8000-00000000000e"


def seed_lineworks(emulator: LineWorksEmulator) -> None:
    default = emulator.add_calendar("My calendar", kind="INDIVIDUAL")
    emulator.default_calendar_id = default
    platform = emulator.add_calendar(
        "Platform team",
        description="Platform group calendar.",
        members=[
            {"id": "alice@example.com", "type": "USER", "role": "CALENDAR_EVENT_READ_WRITE"},
            {"id": "bob@example.com", "type": "USER", "role": "EVENT_READ"},
            {"id": "dave@example.com", "type": "USER", "role": "EVENT_READ_WRITE"},
            {"id": "platform-eng", "type": "GROUP", "role": "EVENT_READ_WRITE"},
        ],
    )
    # Same times as the YAML but a Windows zone id and an older title: the plan shows only
    # the title changing, because zones are compared after mapping to IANA names. One
    # occurrence was cancelled in the calendar: the YAML does not list skip, so it is kept.
    emulator.add_event(platform, {
        "eventId": "release-train", "summary": "Release train",
        "start": {"dateTime": "2027-01-05T10:00:00", "timeZone": "Tokyo Standard Time"},
        "end": {"dateTime": "2027-01-05T11:00:00", "timeZone": "Tokyo Standard Time"},
        "recurrence": ["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
                       "EXDATE;TZID=Tokyo Standard Time:20270202T100000"],
        "location": "Room 4F", "reminders": [{"method": "DISPLAY", "trigger": "-PT30M"}],
    })
    emulator.add_event(platform, {
        "eventId": "team-lunch", "summary": "Team lunch",
        "start": {"dateTime": "2027-01-08T12:00:00", "timeZone": "Asia/Tokyo"},
        "end": {"dateTime": "2027-01-08T13:00:00", "timeZone": "Asia/Tokyo"},
    })
    emulator.add_calendar(
        "Company holidays",
        description="Public holidays and office closures for every site.",
        is_public=True,
        members=[
            {"id": "hr-lead@example.com", "type": "USER", "role": "CALENDAR_EVENT_READ_WRITE"},
            {"id": "org-all", "type": "ORGUNIT", "role": "EVENT_READ"},
        ],
    )
    emulator.add_calendar(
        "Legacy standups",
        description="Replaced by the platform team calendar.",
        members=[{"id": "alice@example.com", "type": "USER", "role": "CALENDAR_EVENT_READ_WRITE"}],
    )
    emulator.add_calendar("Alice's reading list", description="Not managed by calrecon.")


def seed_onlyoffice(emulator: OnlyOfficeEmulator) -> None:
    for ident, name in ((CEO, "Carla Chief"), (CFO, "Finn Figures"), (DANA, "Dana Owner")):
        emulator.add_principal(ident, name)
    emulator.add_principal(BOARD_GROUP, "Board members", group=True)
    emulator.add_principal(ENGINEERING_GROUP, "Engineering", group=True)
    emulator.add_calendar("My calendar")
    board = emulator.add_calendar(
        "Board", description="Board meetings.",
        sharing=[{"itemId": BOARD_GROUP, "isGroup": True, "actionId": "read"},
                 {"itemId": DANA, "isGroup": False, "actionId": "read"}],
    )
    emulator.add_event(board, "q1-review", _ics(
        "q1-review", "Q1 review",
        "DTSTART;TZID=Europe/Berlin:20270301T100000\r\nDTEND;TZID=Europe/Berlin:20270301T120000",
        description="Figures and forecast."), alert=4,
        sharing=[{"itemId": CFO, "isGroup": False, "actionId": "read"}])
    emulator.add_event(board, "christmas-party", _ics(
        "christmas-party", "Christmas party",
        "DTSTART;VALUE=DATE:20261218\r\nDTEND;VALUE=DATE:20261219"))
    # Shared with the sandbox account read-only: calrecon must refuse to plan updates to it.
    emulator.add_calendar("Engineering all-hands", owner=DANA,
                          sharing=[{"itemId": "a0a0a0a0-0000-4000-8000-000000000001",
                                    "isGroup": False, "actionId": "read"}])


def seed_cronofy(emulator: CronofyEmulator) -> None:
    emulator.add_profile("pro_sandbox_work", "work@example.com", provider="google")
    emulator.add_profile("pro_sandbox_home", "home@example.com", provider="apple")
    team = emulator.add_calendar("pro_sandbox_work", "Team", primary=True,
                                 calendar_id="cal_sandbox_team")
    emulator.add_calendar("pro_sandbox_work", "Company holidays (read-only)", readonly=True,
                          calendar_id="cal_sandbox_holidays")
    emulator.add_calendar("pro_sandbox_home", "Home", calendar_id="cal_sandbox_home")
    # Created in Google Calendar by a person: calrecon may edit it by its event_uid.
    emulator.add_external_event(team, "evt_external_board_meeting", "Board meeting",
                                "2027-02-10T14:00:00Z", "2027-02-10T15:00:00Z",
                                location="Room 1")
    emulator.add_external_event(team, "evt_external_weekly_1on1", "Weekly 1:1",
                                "2027-02-08T09:00:00Z", "2027-02-08T09:30:00Z", recurring=True)
    with emulator.lock:  # a managed event from an earlier apply, since renamed in the YAML
        uid = "evt_managed_seed_product_demo"
        emulator.events[uid] = emulator._event(team, uid, "product-demo", {
            "summary": "Demo", "description": "", "start": {"time": "2027-02-12T16:00:00Z",
                                                             "tzid": "Europe/London"},
            "end": {"time": "2027-02-12T17:00:00Z", "tzid": "Europe/London"}})


def _ics(uid: str, summary: str, times: str, description: str = "") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sandbox seed//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nSUMMARY:{summary}\r\nDESCRIPTION:{description}\r\n{times}\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
