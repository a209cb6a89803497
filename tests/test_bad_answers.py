"""Malformed provider answers: a clear error naming provider, address and status; no writes.

And secrets: with -vv and every output format, no token reaches stdout, stderr, log records
or plan files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import ProviderError
from reconciler.sandbox.server import TOKENS, Sandbox
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
    # past http.PIECEWISE_FROM, so decoded in pieces (reconciler.jsonpieces): same errors
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
        driver.plan()
    message = str(info.value)
    for part in expected:
        assert part in message, message
    assert all(not e.writes() for e in sandbox.emulators.values())


def test_no_token_in_any_output_log_or_plan_file(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    examples = Path(__file__).resolve().parent.parent / "examples"
    state, saved = str(tmp_path / "state.json"), tmp_path / "plan.json"
    runner = CliRunner()
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    for fmt in ("text", "markdown", "json", "github"):
        result = runner.invoke(cli, ["plan", str(examples), "--sandbox", "--sandbox-state", state,
                                     "-vv", "--format", fmt, "--out", str(saved)])
        seen += [result.stdout, result.stderr, saved.read_text()]
    result = runner.invoke(cli, ["apply", str(examples), "--sandbox", "--sandbox-state", state,
                                 "-vv", "--auto-approve"])
    assert result.exit_code == 0
    seen += [result.stdout, result.stderr]
    seen += [r.getMessage() for r in caplog.records]
    assert any("GET http://127.0.0.1" in s for s in seen)  # -vv did log the requests
    for token in TOKENS.values():
        assert all(token not in s for s in seen), token
