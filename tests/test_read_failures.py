"""A read that fails, after every retry, aborts the plan and apply sends nothing.

Each failure is scripted on one exact request (a listing's second page, one calendar's read),
answered by the emulator over loopback HTTP. What must never happen: the failure read as
"not there", turning into a create (a twin calendar) or into "No changes" (a delete that
silently does not happen).
"""

from __future__ import annotations

import pytest

from reconciler.errors import CredentialsError, ProviderError
from reconciler.loader import load
from reconciler.planner import make_plan
from reconciler.providers.registry import build_providers
from reconciler.sandbox.server import Sandbox
from tests.conftest import FAST_RETRIES, Driver

PAGE_TWO = "cursor="  # LINE WORKS pages after the first carry the cursor


def _many_lineworks_calendars(box: Sandbox, count: int = 60) -> dict[str, str]:
    return {f"Calendar {i}": box.lineworks.add_calendar(f"Calendar {i}", description="old")
            for i in range(count)}


def _fails_and_writes_nothing(driver: Driver, box: Sandbox, emulator_name: str,
                              expected: str) -> None:
    emulator = box.emulators[emulator_name]
    with pytest.raises(ProviderError) as info:
        driver.plan()
    assert expected in str(info.value)
    with pytest.raises(ProviderError):
        driver.apply()  # apply without a saved plan reads first: the same failure, no write
    assert emulator.writes() == []


@pytest.mark.parametrize("status", ["500", "503", "drop"])
def test_a_failed_second_page_of_calendars_is_an_error_not_a_shorter_list(
        driver: Driver, sandbox: Sandbox, status: str) -> None:
    _many_lineworks_calendars(sandbox)  # 60 calendars: two pages of 50
    driver.write("calendars:\n  late:\n    provider: works\n    name: Calendar 55\n"
                 "    description: new\n")
    rule = sandbox.lineworks.script("GET", PAGE_TWO, status, times=None)
    expected = "calendar-personals" if status == "drop" else f"HTTP {status}"
    _fails_and_writes_nothing(driver, sandbox, "lineworks", expected)
    assert rule.hits == 2 * FAST_RETRIES.attempts  # every attempt of both runs was refused
    names = [c["calendarName"] for c in sandbox.lineworks.calendars.values()]
    assert names.count("Calendar 55") == 1


def test_the_second_page_read_after_a_retry_is_used(driver: Driver, sandbox: Sandbox) -> None:
    _many_lineworks_calendars(sandbox)
    driver.write("calendars:\n  late:\n    provider: works\n    name: Calendar 55\n"
                 "    description: new\n")
    sandbox.lineworks.script("GET", PAGE_TWO, "503", times=2)
    plan = driver.plan()
    assert [(c.address, c.action.value) for c in plan.changes] == [("works.late", "update")]


@pytest.mark.parametrize("status", ["500", "502", "503"])
@pytest.mark.parametrize("state", ["present", "absent"])
def test_a_5xx_reading_a_calendar_is_never_taken_for_404(driver: Driver, sandbox: Sandbox,
                                                         status: str, state: str) -> None:
    cid = sandbox.lineworks.add_calendar("Board", description="old")
    extra = "    state: absent\n" if state == "absent" else "    description: new\n"
    driver.write(f"calendars:\n  board:\n    provider: works\n    id: {cid}\n"
                 f"    name: Board\n{extra}")
    sandbox.lineworks.script("GET", f"/calendars/{cid}", status, times=None)
    _fails_and_writes_nothing(driver, sandbox, "lineworks",
                              f"works.board: GET /calendars/{cid} failed with HTTP {status}")
    assert cid in sandbox.lineworks.calendars


def test_a_failed_event_window_aborts_the_plan(driver: Driver, sandbox: Sandbox) -> None:
    cid = sandbox.lineworks.add_calendar("Team")
    sandbox.lineworks.add_event(cid, {"eventId": "ev", "summary": "Old",
                                      "start": {"date": "2027-03-05"},
                                      "end": {"date": "2027-03-06"}})
    driver.write("calendars:\n  team:\n    provider: works\n    name: Team\n    prune: true\n"
                 "    events:\n      other:\n        summary: New\n        start: 2027-03-09\n")
    sandbox.lineworks.script("GET", "/events?", "500", times=None)
    _fails_and_writes_nothing(driver, sandbox, "lineworks", "HTTP 500")
    assert "ev" in sandbox.lineworks.events[cid]  # prune never saw it, so never deleted it


def test_a_failed_onlyoffice_listing_aborts_the_plan(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.onlyoffice.add_calendar("Board")
    driver.write("calendars:\n  board:\n    provider: office\n    name: Board\n"
                 "    description: new\n")
    sandbox.onlyoffice.script("GET", "/calendar/calendars/", "503", times=None)
    _fails_and_writes_nothing(driver, sandbox, "onlyoffice", "HTTP 503")
    assert [c["title"] for c in sandbox.onlyoffice.calendars.values()] == ["Board"]


def test_a_failed_cronofy_events_page_aborts_the_plan(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.cronofy.add_profile("pro_test", "p")
    cal = sandbox.cronofy.add_calendar("pro_test", "Team")
    for i in range(30):  # more than one page of 25
        sandbox.cronofy.add_external_event(cal, f"evt_{i}", f"E{i}", "2027-03-05T10:00:00Z",
                                           "2027-03-05T11:00:00Z")
    driver.write("calendars:\n  team:\n    provider: people\n    name: Team\n    prune: true\n"
                 "    events:\n      mine:\n        summary: Mine\n"
                 "        start: 2027-03-09T10:00:00\n        end: 2027-03-09T11:00:00\n"
                 "        timezone: UTC\n")
    sandbox.cronofy.script("GET", "/v1/events/pages/", "500", times=None)
    _fails_and_writes_nothing(driver, sandbox, "cronofy", "HTTP 500")


def test_every_refused_token_is_reported_at_once_naming_its_variable(
        driver: Driver, sandbox: Sandbox) -> None:
    """Three providers, three wrong credentials: one run names all three, each with the
    environment variable that held it, and reads nothing past the listings."""
    driver.write("calendars:\n" + "".join(
        f"  {p}-cal:\n    provider: {p}\n    name: C\n" for p in ("works", "office", "people")))
    desired = load([driver.folder]).desired
    urls = {t: e.base_url for t, e in sandbox.endpoints().items()}
    at_sandbox = {name: config.model_copy(update={"base_url": urls[config.type]})
                  for name, config in desired.providers.items()}
    desired = desired.model_copy(update={"providers": at_sandbox})
    wrong = {"LINEWORKS_TOKEN": "wrong-lw-token", "CRONOFY_TOKEN": "wrong-cronofy-token",
             "ONLYOFFICE_USERNAME": "admin@sandbox.example",
             "ONLYOFFICE_PASSWORD": "wrong-password"}
    providers = build_providers(desired, environ=wrong, policy=FAST_RETRIES)
    try:
        with pytest.raises(CredentialsError) as info:
            make_plan(desired, providers)
    finally:
        for provider in providers.values():
            provider.close()
    message = str(info.value)
    assert "works: GET" in message and "HTTP 401" in message
    assert "check the access token in $LINEWORKS_TOKEN" in message
    assert "people: GET" in message and "check the token in $CRONOFY_TOKEN" in message
    assert "login as 'admin@sandbox.example' failed" in message
    assert "$ONLYOFFICE_USERNAME and $ONLYOFFICE_PASSWORD" in message
    assert not any(secret in message for secret in wrong.values() if "wrong" in secret)
