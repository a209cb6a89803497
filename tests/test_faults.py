"""Faults over the wire: injected 429s, 5xx and drops; read failures abort the plan."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reconciler.errors import ProviderError
from reconciler.plan import Action
from reconciler.sandbox.base import Faults
from reconciler.sandbox.server import Sandbox
from tests.conftest import Driver

CALENDARS = "calendars:\n" + "".join(
    f"""\
  cal-{i}:
    provider: works
    name: Calendar {i}
    description: Number {i}
    members:
      - user: owner{i}@example.com
        role: manage
"""
    for i in range(12)
)


def _apply_twelve_updates(tmp_path: Path, faults: Faults) -> tuple[int, Counter[str]]:
    """Requests the emulator received for plan + apply + plan of 12 updates, and the
    faults it injected."""
    with Sandbox(seed=False) as box:
        for i in range(12):
            box.lineworks.add_calendar(f"Calendar {i}", description="stale")
        folder = tmp_path / ("faulty" if faults.rate_429 else "clean")
        folder.mkdir()
        driver = Driver(box, folder)
        driver.write(CALENDARS)
        box.lineworks.faults = faults
        report = driver.apply()
        assert report.ok, [o.detail for o in report.outcomes]
        injected = box.lineworks.faults.injected
        box.lineworks.faults = Faults()
        assert driver.plan().empty
        return len(box.lineworks.requests), injected


def test_apply_converges_through_429s_and_503s(tmp_path: Path) -> None:
    clean, _ = _apply_twelve_updates(tmp_path, Faults())
    faulty, injected = _apply_twelve_updates(tmp_path, Faults(seed=7, rate_429=0.2,
                                                              rate_503=0.15))
    assert injected["429"] and injected["503"], injected
    # Each injected 429 or 503 was retried exactly once, and nothing else was sent.
    assert faulty == clean + injected["429"] + injected["503"]


def test_failed_creates_converge_on_the_next_apply_without_duplicates(
    driver: Driver, sandbox: Sandbox
) -> None:
    driver.write(CALENDARS)
    sandbox.lineworks.faults = Faults(seed=3, rate_500=0.3, rate_drop=0.1, rate_lost=0.1)
    for _ in range(10):
        try:
            report = driver.apply()
        except ProviderError:
            continue  # a read failed: the plan was refused, nothing was sent
        if report.ok:
            break
    injected = sandbox.lineworks.faults.injected
    assert injected["500"] and injected["drop"] and injected["lost"], injected
    sandbox.lineworks.faults = Faults()
    report = driver.apply()
    assert report.ok
    assert driver.plan().empty
    names = sorted(c["calendarName"] for c in sandbox.lineworks.calendars.values())
    assert names == sorted(f"Calendar {i}" for i in range(12))  # no twins
    created = [r.body["calendarName"] for r in sandbox.lineworks.acted_writes("POST")]
    assert sorted(created) == names  # and one create carried out for each


def test_a_failed_read_aborts_the_plan_and_sends_nothing(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.lineworks.add_calendar("Calendar 0")
    driver.write(CALENDARS)
    sandbox.lineworks.faults = Faults(rate_500=1.0)
    with pytest.raises(ProviderError) as info:
        driver.apply()  # reads first, as `calrecon apply` without a saved plan does
    assert "HTTP 500" in str(info.value)
    assert "GET /users/me/calendar-personals" in str(info.value)
    assert sandbox.lineworks.writes() == []


def test_a_calendar_read_failing_never_becomes_a_create(driver: Driver, sandbox: Sandbox) -> None:
    cid = sandbox.lineworks.add_calendar("Calendar 0")
    driver.write(CALENDARS)
    # the list works, but reading the calendar itself is forbidden
    original = sandbox.lineworks.on_get_calendar

    def forbidden(request, calendar_id):  # type: ignore[no-untyped-def]
        from reconciler.sandbox.base import ApiFailure
        raise ApiFailure(403, "no access")

    sandbox.lineworks.on_get_calendar = forbidden  # type: ignore[method-assign]
    try:
        with pytest.raises(ProviderError, match=f"works.cal-0: GET /calendars/{cid} failed "
                                                "with HTTP 403: FORBIDDEN: no access"):
            driver.apply()
    finally:
        sandbox.lineworks.on_get_calendar = original  # type: ignore[method-assign]
    assert sandbox.lineworks.writes() == []


def test_one_failing_change_does_not_stop_the_others(driver: Driver, sandbox: Sandbox) -> None:
    for i in range(12):
        sandbox.lineworks.add_calendar(f"Calendar {i}", description="stale")
    driver.write(CALENDARS)
    plan = driver.plan()
    assert {c.action for c in plan.changes} == {Action.UPDATE}
    victim = plan.changes[0].live_id
    del sandbox.lineworks.calendars[victim]  # gone between plan and apply: PATCH gets 404
    report = driver.apply(plan)
    assert len(report.by_status("failed")) == 1
    assert len(report.by_status("applied")) == 11
    assert "HTTP 404" in report.by_status("failed")[0].detail
