"""Answers lost *after* the service acted: a create is sent once, never retried into a twin.

The emulator carries the request out, then the answer is lost on its way back: the
connection drops mid-body, a proxy answers 502 instead, or the answer arrives after the
client's read timeout. A client that retried the create would make a second calendar; the
right outcome is one failed change in the report, one POST on the wire, and a next plan that
finds what was created and converges.
"""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.sandbox.server import Sandbox
from tests.conftest import FAST_RETRIES, Driver

LOST = ["drop", "502", "slow"]
SHORT = dataclasses.replace(FAST_RETRIES, timeout=0.3)  # slow answers arrive after 1.3 s


def _lose_the_answer(driver: Driver, box: Sandbox, emulator: str, path: str,
                     fault: str) -> None:
    driver.policy = SHORT
    box.emulators[emulator].script("POST", path, fault, after=True, times=1, seconds=1.0)


def _posts(box: Sandbox, emulator: str, path: str) -> int:
    return sum(1 for r in box.emulators[emulator].writes()
               if r.method == "POST" and r.path.endswith(path))


def _apply_fails_once_then_converges(driver: Driver) -> None:
    report = driver.apply()
    failed = report.by_status("failed")
    assert len(failed) == 1 and not report.ok, [o.detail for o in report.outcomes]
    driver.converge()


# provider key in the YAML, emulator, the create's path, the stored calendar's name field
CREATES = [("works", "lineworks", "/calendars", "calendarName"),
           ("office", "onlyoffice", "/api/2.0/calendar", "title"),
           ("people", "cronofy", "/v1/calendars", "calendar_name")]


@pytest.mark.parametrize("fault", LOST)
@pytest.mark.parametrize(("provider", "emulator", "path", "name_field"), CREATES,
                         ids=[c[1] for c in CREATES])
def test_a_calendar_create_is_sent_once(driver: Driver, sandbox: Sandbox, fault: str,
                                        provider: str, emulator: str, path: str,
                                        name_field: str) -> None:
    sandbox.cronofy.add_profile("pro_test", "p")
    driver.write(f"calendars:\n  new:\n    provider: {provider}\n    name: Fresh\n")
    _lose_the_answer(driver, sandbox, emulator, path, fault)
    _apply_fails_once_then_converges(driver)
    stored = sandbox.emulators[emulator].snapshot()["calendars"].values()
    assert [c[name_field] for c in stored].count("Fresh") == 1
    assert _posts(sandbox, emulator, path) == 1


@pytest.mark.parametrize("fault", LOST)
def test_a_lost_event_upsert_is_safe_to_retry_and_converges(driver: Driver, sandbox: Sandbox,
                                                            fault: str) -> None:
    # Event writes are keyed by calrecon's own uid, so a retry is an upsert, not a twin.
    sandbox.lineworks.add_calendar("Team")
    driver.write("calendars:\n  team:\n    provider: works\n    name: Team\n    events:\n"
                 "      ev:\n        summary: S\n        start: 2027-03-05\n")
    _lose_the_answer(driver, sandbox, "lineworks", "/events", fault)
    report = driver.apply()
    assert len(report.outcomes) == 1
    driver.converge()
    cid = next(iter(sandbox.lineworks.calendars))
    assert list(sandbox.lineworks.events[cid]) == ["ev"]
