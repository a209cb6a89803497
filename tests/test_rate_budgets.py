"""Rate budgets over the wire: plan, apply and plan again inside one minute, against a LINE
WORKS emulator that counts each API's requests per 60-second window (providers.md L5), end
with no 429 and no failure, by pacing, not by luck. A budget partly spent by another
application of the tenant is caught up with from the server's own headers. A provider that
never answers fails the plan within its timeouts, naming it.

These tests wait for real rate windows: each takes a little over a minute.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from reconciler.http import STATS
from reconciler.sandbox.server import TOKENS, Sandbox
from tests.conftest import Driver


def calendars(count: int, description: str, rate_limit: int | None = None) -> str:
    limit = f"    rate_limit: {rate_limit}\n" if rate_limit else ""
    head = ("providers:\n  works:\n    type: lineworks\n" + limit + "calendars:\n")
    return head + "".join(f"  cal-{i}:\n    provider: works\n    name: Calendar {i}\n"
                          f"    description: {description}\n" for i in range(count))


def plan_apply_plan(driver: Driver, count: int, rate_limit: int | None) -> float:
    """Seconds for plan, apply (which reads again) and plan of ``count`` updates."""
    driver.write(calendars(count, "new", rate_limit), with_providers=False)
    STATS.reset()
    started = time.monotonic()
    assert len(driver.plan().changes) == count
    report = driver.apply()
    assert report.ok and len(report.outcomes) == count, [o.detail for o in report.outcomes]
    assert driver.plan().empty
    elapsed = time.monotonic() - started
    assert STATS.statuses.get(429, 0) == 0, STATS.statuses
    return elapsed


@pytest.mark.timeout(300)
def test_a_free_plan_budget_of_60_is_paced_not_overdrawn(tmp_path: Path) -> None:
    with Sandbox(seed=False, rate_limit=60) as box:
        for i in range(25):
            box.lineworks.add_calendar(f"Calendar {i}", description="old")
        driver = Driver(box, tmp_path)
        # 3 x 25 reads of GET /calendars/{id}: more than one window's 60
        elapsed = plan_apply_plan(driver, 25, rate_limit=60)
        assert elapsed >= 55, elapsed  # it did wait for the next window


@pytest.mark.timeout(300)
def test_a_budget_spent_by_another_application_is_caught_up_with(tmp_path: Path) -> None:
    with Sandbox(seed=False) as box:  # the documented 240 per minute and API
        ids = [box.lineworks.add_calendar(f"Calendar {i}", description="old")
               for i in range(10)]
        base = box.endpoints()["lineworks"].base_url
        with httpx.Client(headers={"Authorization": f"Bearer {TOKENS['lineworks']}"}) as other:
            for n in range(235):  # another app of the tenant, on the same API
                assert other.get(f"{base}/calendars/{ids[n % 10]}").status_code == 200
        driver = Driver(box, tmp_path)
        driver.write(calendars(10, "new"), with_providers=False)
        STATS.reset()
        plan = driver.plan()  # 5 left in the window: the headers say when it resets
        report = driver.apply(plan)
        assert report.ok, [o.detail for o in report.outcomes]
        assert driver.plan().empty
        # Requests already in flight when the server's count reached 0 may meet a 429;
        # those are waited out, and nothing fails.
        assert STATS.statuses.get(429, 0) <= 8, STATS.statuses


def test_a_provider_that_never_answers_fails_within_its_timeouts(
        tmp_path: Path, listener: tuple[str, list[socket.socket]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    silent_server = f"http://{listener[0]}/v1.0"
    monkeypatch.setenv("LINEWORKS_TOKEN", "t-0123456789")
    from click.testing import CliRunner

    from reconciler.cli import cli

    (tmp_path / "c.yaml").write_text(
        f"providers:\n  works:\n    type: lineworks\n    base_url: {silent_server}\n"
        "    timeout: 0.5\ncalendars:\n  cal:\n    provider: works\n    name: C\n")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["plan", str(tmp_path)])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "works: GET /users/me/calendar-personals failed: ReadTimeout" in result.stderr
    assert "no answer within 0.5 s" in result.stderr
    assert elapsed < 5, elapsed  # two tries of 0.5 s and a backoff, not minutes


def test_a_long_read_shows_progress_and_a_short_one_does_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from reconciler import cli_progress
    from reconciler.cli import cli
    from reconciler.sandbox.base import Faults

    monkeypatch.setattr(cli_progress, "QUIET_S", 0.3)
    monkeypatch.setattr(cli_progress, "EVERY_S", 0.2)
    with Sandbox(seed=False) as box:
        for i in range(4):
            box.lineworks.add_calendar(f"Calendar {i}", description="new")
        base = box.endpoints()["lineworks"].base_url
        monkeypatch.setenv("LINEWORKS_TOKEN", TOKENS["lineworks"])
        (tmp_path / "c.yaml").write_text(calendars(4, "new").replace(
            "type: lineworks\n", f"type: lineworks\n    base_url: {base}\n"))
        quick = CliRunner().invoke(cli, ["plan", str(tmp_path)])
        assert quick.exit_code == 0 and "Reading live state" not in quick.stderr
        box.lineworks.faults = Faults(latency=0.4)  # 1 listing + 4 reads, 2 rounds: ~0.8 s
        slow = CliRunner().invoke(cli, ["plan", str(tmp_path), "--parallelism", "4"])
        assert slow.exit_code == 0, slow.output
        assert "Reading live state: " in slow.stderr and "(lineworks " in slow.stderr
