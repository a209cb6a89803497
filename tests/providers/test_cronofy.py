"""Cronofy over the wire: managed events, external edits, blocked changes, paging, faults."""

from __future__ import annotations

import contextlib

import pytest
import yaml
from click.testing import CliRunner

from reconciler.errors import PlanError, ProviderError
from reconciler.plan import Action
from reconciler.sandbox.base import Faults
from reconciler.sandbox.server import Sandbox
from tests import wire
from tests.conftest import Driver

CAL = "cal_test_team"

MANAGED = """\
calendars:
  team:
    provider: people
    name: Team
    events:
      demo:
        summary: Demo
        description: First
        location: Room 1
        start: 2027-02-12T16:00:00
        end: 2027-02-12T17:00:00
        timezone: Europe/London
"""

EXTERNAL = """\
calendars:
  team:
    provider: people
    name: Team
    events:
      board:
        event_uid: evt_ext_board
        summary: Board meeting (moved)
        start: 2027-02-10T16:00:00
        end: 2027-02-10T17:00:00
        timezone: Europe/London
"""


@pytest.fixture
def cronofy(sandbox: Sandbox) -> Sandbox:
    sandbox.cronofy.add_profile("pro_test", "test@example.com")
    sandbox.cronofy.add_calendar("pro_test", "Team", calendar_id=CAL)
    return sandbox


@pytest.mark.parametrize(("before", "after"), [
    ("summary: Demo", "summary: Demo ✓"),
    ("description: First", "description: Second"),
    ("location: Room 1", "location: Room 9"),
    ("T16:00:00\n        end: 2027-02-12T17:00:00", "T18:00:00\n        end: 2027-02-12T19:30:00"),
    ("timezone: Europe/London", "timezone: America/Chicago"),
    ("start: 2027-02-12T16:00:00\n        end: 2027-02-12T17:00:00\n        timezone: "
     "Europe/London", "start: 2027-02-12\n        end: 2027-02-14"),
], ids=["summary", "description", "location", "times", "timezone", "to-all-day"])
def test_managed_event_field_converges(driver: Driver, cronofy: Sandbox, before: str,
                                       after: str) -> None:
    driver.write(MANAGED)
    driver.converge()
    assert before in MANAGED
    driver.write(MANAGED.replace(before, after))
    [change] = driver.plan().changes
    assert change.action is Action.UPDATE
    driver.converge()
    managed = [e for e in cronofy.cronofy.events.values() if not e["deleted"]]
    assert len(managed) == 1  # an upsert keyed by event_id: never a twin
    expected = wire.yaml_event_view(yaml.safe_load(MANAGED.replace(before, after))
                                    ["calendars"]["team"]["events"]["demo"])
    expected.pop("rule")  # Cronofy managed events carry no recurrence here
    wire.assert_stored_as(wire.cronofy_event_view(managed[0]), expected)


def test_managed_event_writes_are_one_upsert_each(driver: Driver, cronofy: Sandbox) -> None:
    driver.write(MANAGED)
    driver.converge()
    [write] = cronofy.cronofy.writes()
    assert (write.method, write.path) == ("POST", f"/v1/calendars/{CAL}/events")
    assert write.body["event_id"] == "demo" and "event_uid" not in write.body
    assert write.body["start"] == {"time": "2027-02-12T16:00:00Z", "tzid": "Europe/London"}


def test_external_event_edit_converges_and_never_sends_event_id(driver: Driver,
                                                                cronofy: Sandbox) -> None:
    cronofy.cronofy.add_external_event(CAL, "evt_ext_board", "Board meeting",
                                       "2027-02-10T14:00:00Z", "2027-02-10T15:00:00Z",
                                       description="Kept as it is")
    driver.write(EXTERNAL)
    [change] = driver.plan().changes
    assert change.action is Action.UPDATE
    driver.converge()
    [write] = cronofy.cronofy.writes()
    assert write.body["event_uid"] == "evt_ext_board" and "event_id" not in write.body
    assert write.body["description"] == "Kept as it is"  # unmanaged: sent as it was
    event = cronofy.cronofy.events["evt_ext_board"]
    assert event["summary"] == "Board meeting (moved)"
    assert len(cronofy.cronofy.events) == 1


@pytest.mark.parametrize(("setup", "reason"), [
    ({"recurring": True}, "is recurring; Cronofy cannot edit recurring events"),
    ({"update": False}, "has options.update false"),
    ({"deleted": True}, "was deleted; Cronofy cannot recreate it"),
    ({"missing": True}, "was not found; Cronofy cannot create an external event"),
    ({"readonly": True}, "the calendar is read-only (calendar_readonly is true)"),
], ids=["recurring", "update-false", "deleted", "missing", "read-only-calendar"])
def test_external_edits_cronofy_would_refuse_are_blocked(
    driver: Driver, cronofy: Sandbox, tmp_path: object, setup: dict[str, bool], reason: str
) -> None:
    if setup.get("readonly"):
        cronofy.cronofy.calendars[CAL]["calendar_readonly"] = True
    if not setup.get("missing"):
        cronofy.cronofy.add_external_event(
            CAL, "evt_ext_board", "Board meeting", "2027-02-10T14:00:00Z",
            "2027-02-10T15:00:00Z", recurring=setup.get("recurring", False),
            update=setup.get("update", True), deleted=setup.get("deleted", False))
    driver.write(EXTERNAL)
    plan = driver.plan()
    [change] = plan.changes
    assert change.action is Action.BLOCKED and reason in change.reason
    assert change.requests == ()
    report = driver.apply(plan)
    assert report.by_status("skipped") and cronofy.cronofy.writes() == []


def test_blocked_change_makes_plan_exit_1(tmp_path: object) -> None:
    from pathlib import Path

    from reconciler.cli import cli
    state = Path(str(tmp_path)) / "state.json"
    folder = Path(str(tmp_path)) / "yaml"
    folder.mkdir()
    (folder / "c.yaml").write_text("""\
providers:
  people: {type: cronofy, profile_id: pro_sandbox_work}
calendars:
  team:
    provider: people
    name: Team
    events:
      one-on-one:
        event_uid: evt_external_weekly_1on1
        summary: Renamed 1:1
        start: 2027-02-08T09:00:00
        end: 2027-02-08T09:30:00
        timezone: UTC
""")
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", str(folder), "--sandbox", "--sandbox-state", str(state)])
    assert result.exit_code == 1
    assert "! people.team.events.one-on-one (blocked event evt_external_weekly_1on1)" in \
        result.stdout
    assert "reason: external event evt_external_weekly_1on1 is recurring" in result.stdout
    assert "1 blocked." in result.stdout
    result = runner.invoke(cli, ["apply", str(folder), "--sandbox", "--sandbox-state",
                                 str(state), "--auto-approve"])
    assert result.exit_code == 1 and "blocked changes; nothing was applied" in result.stderr


def test_a_calendar_with_more_events_than_a_page_is_read_whole(driver: Driver,
                                                               cronofy: Sandbox) -> None:
    cronofy.cronofy.page_size = 7
    events = "".join(f"""\
      e{i}:
        summary: Event {i}
        start: 2027-02-{1 + i % 27:02d}
""" for i in range(40))
    driver.write("calendars:\n  team:\n    provider: people\n    name: Team\n    events:\n"
                 + events)
    driver.converge()
    cronofy.cronofy.reset_log()
    assert driver.plan().empty
    pages = [r for r in cronofy.cronofy.requests if r.path.startswith("/v1/events")]
    assert len(pages) == 6  # 40 events, 7 a page
    first = pages[0]
    assert first.query["tzid"] == ["Etc/UTC"] and first.query["include_managed"] == ["true"]


def test_interrupted_apply_converges_without_duplicates(driver: Driver, cronofy: Sandbox) -> None:
    events = "".join(f"""\
      e{i}:
        summary: Event {i}
        start: 2027-02-{1 + i:02d}
""" for i in range(20))
    driver.write("calendars:\n  team:\n    provider: people\n    name: Team\n    events:\n"
                 + events)
    cronofy.cronofy.faults = Faults(seed=5, rate_429=0.15, rate_500=0.1, rate_drop=0.05)
    with contextlib.suppress(ProviderError):
        driver.apply()
    cronofy.cronofy.faults = Faults()
    driver.converge()
    live = [e for e in cronofy.cronofy.events.values() if not e["deleted"]]
    assert sorted(e["event_id"] for e in live) == sorted(f"e{i}" for i in range(20))


def test_rename_is_blocked_and_create_needs_a_profile(driver: Driver, cronofy: Sandbox) -> None:
    driver.write(f"calendars:\n  team:\n    provider: people\n    id: {CAL}\n    name: Renamed\n")
    [change] = driver.plan().changes
    assert change.action is Action.BLOCKED and "cannot rename calendars" in change.reason
    (driver.folder / "calendars.yaml").write_text(
        "providers:\n  people: {type: cronofy}\n"
        "calendars:\n  new:\n    provider: people\n    name: Brand new\n")
    with pytest.raises(PlanError, match="needs 'profile_id'"):
        driver.plan()


def test_calendar_is_created_in_the_profile(driver: Driver, cronofy: Sandbox) -> None:
    driver.write("calendars:\n  new:\n    provider: people\n    name: Launches\n    events:\n"
                 "      launch:\n        summary: Launch\n        start: 2027-03-15\n")
    driver.converge()
    [created] = [c for c in cronofy.cronofy.calendars.values() if c["calendar_name"] == "Launches"]
    assert created["profile_id"] == "pro_test"
    [event] = cronofy.cronofy.events.values()
    assert event["calendar_id"] == created["calendar_id"]


def test_422_and_423_name_the_resource_and_the_field(driver: Driver, cronofy: Sandbox) -> None:
    driver.write(MANAGED)
    plan = driver.plan()
    cronofy.cronofy.calendars[CAL]["calendar_readonly"] = True  # changed after the plan
    [failed] = driver.apply(plan).by_status("failed")
    assert failed.detail == (
        f"people.team.events.demo: POST /v1/calendars/{CAL}/events failed with HTTP 422: "
        "calendar_id: the calendar is read-only or deleted (errors.calendar_readonly)")
    cronofy.cronofy.calendars[CAL]["calendar_readonly"] = False
    cronofy.cronofy.profiles["pro_test"]["locked"] = True
    [failed] = driver.apply(plan).by_status("failed")
    assert "HTTP 423: the profile needs re-authorisation" in failed.detail
