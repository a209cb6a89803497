"""Faults over the wire: injected 429s, 5xx and drops; read failures abort the plan."""

from __future__ import annotations

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


def test_apply_converges_through_429s_and_503s(driver: Driver, sandbox: Sandbox) -> None:
    for i in range(12):
        sandbox.lineworks.add_calendar(f"Calendar {i}", description="stale")
    driver.write(CALENDARS)
    sandbox.lineworks.faults = Faults(seed=7, rate_429=0.2, rate_503=0.15)
    report = driver.apply()
    assert report.ok, [o.detail for o in report.outcomes]
    sandbox.lineworks.faults = Faults()
    assert driver.plan().empty
    injected = [r for r in sandbox.lineworks.requests]
    assert len(injected) > 12 + 12 + 1  # retries happened


def test_failed_creates_converge_on_the_next_apply_without_duplicates(
    driver: Driver, sandbox: Sandbox
) -> None:
    driver.write(CALENDARS)
    sandbox.lineworks.faults = Faults(seed=3, rate_500=0.3, rate_drop=0.1)
    for _ in range(10):
        try:
            report = driver.apply()
        except ProviderError:
            continue  # a read failed: the plan was refused, nothing was sent
        if report.ok:
            break
    sandbox.lineworks.faults = Faults()
    report = driver.apply()
    assert report.ok
    assert driver.plan().empty
    names = sorted(c["calendarName"] for c in sandbox.lineworks.calendars.values())
    assert names == sorted(f"Calendar {i}" for i in range(12))  # no twins


def test_a_failed_read_aborts_the_plan_and_sends_nothing(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.lineworks.add_calendar("Calendar 0")
    driver.write(CALENDARS)
    sandbox.lineworks.faults = Faults(rate_500=1.0)
    with pytest.raises(ProviderError) as info:
        driver.plan()
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
            driver.plan()
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
