"""Malformed provider answers: a clear error naming provider, address and status; no writes.

(Secrets in answers are tests/test_secrets.py's.)
"""

from __future__ import annotations

import pytest

from reconciler.errors import ProviderError
from reconciler.sandbox.server import Sandbox
from tests.conftest import Driver

WORKS = "calendars:\n  team:\n    provider: works\n    name: Team\n    description: d\n"
OFFICE = "calendars:\n  board:\n    provider: office\n    name: Board\n    description: d\n"
PEOPLE = ("calendars:\n  team:\n    provider: people\n    name: Team\n    events:\n"
          "      e:\n        summary: S\n        start: 2027-01-01\n")
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"

CASES = [
    # (id, yaml, emulator, path fragment, body, status, mimetype, expected fragments)
    ("lw-truncated-json", WORKS, "lineworks", "/calendar-personals", b'{"calendarPersonals": [',
     200, "application/json", ["works: GET /users/me/calendar-personals", "HTTP 200",
                               "not JSON"]),
    ("lw-wrong-type", WORKS, "lineworks", "/calendar-personals",
     b'{"calendarPersonals": "everything"}', 200, "application/json",
     ["works: GET /users/me/calendar-personals", "HTTP 200", "'calendarPersonals'"]),
    ("lw-missing-field", WORKS, "lineworks", "/calendars/", b'{"calendarId": "x"}', 200,
     "application/json", ["works.team", "HTTP 200", "calendarName"]),
    ("lw-html-error-page", WORKS, "lineworks", "/calendar-personals", HTML, 502, "text/html",
     ["works: GET /users/me/calendar-personals failed with HTTP 502", "502 Bad Gateway"]),
    ("lw-html-200", WORKS, "lineworks", "/calendar-personals", HTML, 200, "text/html",
     ["works: GET /users/me/calendar-personals", "HTTP 200", "not JSON"]),
    ("oo-envelope-status-1", OFFICE, "onlyoffice", "/calendar/calendars/",
     b'{"status": 1, "statusCode": 200, "error": {"message": "Database is down"}}', 200,
     "application/json", ["office: GET", "HTTP 200", "envelope status 1", "Database is down"]),
    ("oo-not-an-envelope", OFFICE, "onlyoffice", "/calendar/calendars/", b'[1, 2, 3]', 200,
     "application/json", ["office: GET", "HTTP 200", "not an ONLYOFFICE envelope"]),
    ("oo-truncated", OFFICE, "onlyoffice", "/calendar/calendars/", b'{"status": 0, "resp', 200,
     "application/json", ["office: GET", "HTTP 200", "not JSON"]),
    # large answers: the same errors
    ("oo-large-truncated", OFFICE, "onlyoffice", "/calendar/calendars/",
     b'{"status": 0, "response": [' + b'{"objectId": "7", "title": "x"}, ' * 20_000, 200,
     "application/json", ["office: GET", "HTTP 200", "not JSON"]),
    ("oo-large-nan", OFFICE, "onlyoffice", "/calendar/calendars/",
     b'{"status": 0, "response": [' + b'{"objectId": "7", "title": "x"}, ' * 20_000
     + b'{"objectId": NaN}]}', 200, "application/json", ["office: GET", "HTTP 200", "not JSON"]),
    ("oo-wrong-shape", OFFICE, "onlyoffice", "/calendar/calendars/",
     b'{"status": 0, "statusCode": 200, "response": {"calendars": []}}', 200,
     "application/json", ["office: GET", "HTTP 200", "not a list"]),
    ("cr-missing-events", PEOPLE, "cronofy", "/v1/events", b'{"pages": {}}', 200,
     "application/json", ["people.team: GET /v1/events", "HTTP 200", "'events'"]),
    ("cr-malformed-event", PEOPLE, "cronofy", "/v1/events",
     b'{"pages": {"current": 1, "total": 1}, "events": [{"calendar_id": "cal_t", '
     b'"event_id": "e", "event_uid": "u", "start": 5, "end": null}]}', 200,
     "application/json", ["people.team", "HTTP 200", "times are malformed"]),
    ("cr-html", PEOPLE, "cronofy", "/v1/calendars", HTML, 200, "text/html",
     ["people: GET /v1/calendars", "HTTP 200", "not JSON"]),
]


@pytest.mark.parametrize(("yaml", "emulator", "fragment", "body", "status", "mimetype",
                          "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_answer_is_a_clear_error_and_sends_nothing(
    driver: Driver, sandbox: Sandbox, yaml: str, emulator: str, fragment: str, body: bytes,
    status: int, mimetype: str, expected: list[str]
) -> None:
    sandbox.cronofy.add_profile("pro_test", "p")
    sandbox.cronofy.add_calendar("pro_test", "Team", calendar_id="cal_t")
    sandbox.lineworks.add_calendar("Team")
    sandbox.onlyoffice.add_calendar("Board")
    driver.write(yaml)
    sandbox.emulators[emulator].corrupt(fragment, body, status, mimetype)
    with pytest.raises(ProviderError) as info:
        driver.apply()  # reads first, as `calrecon apply` without a saved plan does
    message = str(info.value)
    for part in expected:
        assert part in message, message
    assert all(not e.writes() for e in sandbox.emulators.values())
