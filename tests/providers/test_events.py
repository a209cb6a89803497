"""Events over the wire on LINE WORKS and ONLYOFFICE: every field converges, minimal calls,
and no duplicates on re-runs or after faults."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import textwrap
from typing import Any

import pytest
import yaml

from reconciler.errors import ProviderError
from reconciler.plan import Action
from reconciler.sandbox.base import Faults
from reconciler.sandbox.server import Sandbox
from tests import wire
from tests.conftest import Driver

LONG_UNICODE = ("Überprüfung der Zahlen — 日本語の説明 — emoji 🎉 — " * 6)[:200]


def calendar(provider: str, events: str, extra: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(events), "      ")
    return f"""\
calendars:
  cal:
    provider: {provider}
    name: Events calendar
{extra}    events:
{body}"""


BASE_EVENT = """\
ev:
  summary: Planning
  description: First description
  start: 2027-03-01T10:00:00
  end: 2027-03-01T11:00:00
  timezone: Europe/Berlin
  alert: 15m
"""

# (id, providers, replacement of BASE_EVENT)
EDITS = [
    ("summary", ["works", "office"], BASE_EVENT.replace("Planning", "Planning ✓")),
    ("description-long-unicode", ["works", "office"],
     BASE_EVENT.replace("First description", f'"{LONG_UNICODE}"')),
    ("location", ["works"], BASE_EVENT + "  location: Room 7\n"),
    ("times", ["works", "office"], BASE_EVENT.replace("T10:00", "T14:30").replace("T11:00",
                                                                                   "T16:00")),
    ("timezone-same-wall-time", ["works", "office"],
     BASE_EVENT.replace("Europe/Berlin", "America/New_York")),
    ("alert", ["works", "office"], BASE_EVENT.replace("15m", "1d")),
    ("alert-none", ["works", "office"], BASE_EVENT.replace("15m", "none")),
    ("recurrence-byday-until-across-dst", ["works", "office"],
     BASE_EVENT.replace("2027-03-01", "2027-03-22")
     + "  recurrence: FREQ=WEEKLY;BYDAY=WE,MO;UNTIL=20270630T000000Z\n"),
    ("all-day-multi-day", ["works", "office"],
     "ev:\n  summary: Offsite\n  start: 2027-05-10\n  end: 2027-05-12\n"),
    ("all-day-single-day-recurring", ["works", "office"],
     "ev:\n  summary: Holiday\n  start: 2027-12-25\n  recurrence: FREQ=YEARLY;COUNT=3\n"),
    ("sharing", ["office"], BASE_EVENT + "  sharing:\n"
     "    - user: 5d2c7e10-1111-4000-8000-000000000001\n      role: read\n"
     "    - group: 9c1e2f4a-0000-4000-8000-00000000000b\n      role: manage\n"),
]
CASES = [pytest.param(provider, edit, id=f"{provider}-{name}")
         for name, providers, edit in EDITS for provider in providers]


ROLE_ACTIONS = {"read": "read", "manage": "full_access"}


def expected_stored(provider: str, edit: str) -> dict[str, Any]:
    """What the service must hold for ``edit``, from the YAML alone (tests/wire.py)."""
    event = yaml.safe_load(edit)["ev"]
    view = wire.yaml_event_view(event)
    if provider == "office" and "sharing" in event:
        view["sharing"] = {(next(v for k, v in s.items() if k != "role"), "group" in s,
                            ROLE_ACTIONS[s["role"]]) for s in event["sharing"]}
    return view


def stored(sandbox: Sandbox, provider: str) -> dict[str, Any]:
    if provider == "works":
        return wire.lineworks_event_view(wire.lineworks_master(sandbox, "Events calendar", "ev"))
    return wire.onlyoffice_event_view(wire.onlyoffice_event(sandbox, "ev"))


@pytest.mark.parametrize(("provider", "edit"), CASES)
def test_event_field_converges(driver: Driver, sandbox: Sandbox, provider: str,
                               edit: str) -> None:
    driver.write(calendar(provider, BASE_EVENT))
    driver.converge()
    wire.assert_stored_as(stored(sandbox, provider), expected_stored(provider, BASE_EVENT))
    driver.write(calendar(provider, edit))
    plan = driver.plan()
    event_changes = [c for c in plan.changes if c.kind == "event"]
    assert [c.action for c in event_changes] == [Action.UPDATE], plan.to_dict()
    driver.converge()
    # Checked where the service keeps it, not through calrecon's own reading of it.
    wire.assert_stored_as(stored(sandbox, provider), expected_stored(provider, edit))


@pytest.mark.parametrize("provider", ["works", "office"])
def test_events_created_with_their_calendar_converge(driver: Driver, sandbox: Sandbox,
                                                     provider: str) -> None:
    events = BASE_EVENT + "  recurrence: FREQ=DAILY;COUNT=3\n" + (
        "ev2:\n  summary: Day off\n  start: 2027-04-01\n  end: 2027-04-02\n")
    driver.write(calendar(provider, events))
    plan = driver.plan()
    creates = [c for c in plan.changes if c.kind == "event"]
    assert all(c.depends_on == f"{provider}.cal" for c in creates) and len(creates) == 2
    driver.converge()


@pytest.mark.parametrize("provider", ["works", "office"])
def test_reapply_never_duplicates_events(driver: Driver, sandbox: Sandbox, provider: str) -> None:
    driver.write(calendar(provider, ""))
    driver.converge()
    driver.write(calendar(provider, BASE_EVENT))
    plan = driver.plan()
    driver.apply(plan)
    driver.apply(plan)  # the same plan twice: upsert by uid, or 409 for a taken eventId
    assert driver.plan().empty
    assert event_count(sandbox, provider) == 1


@pytest.mark.parametrize("provider", ["works", "office"])
def test_failure_mid_apply_converges_without_duplicates(driver: Driver, sandbox: Sandbox,
                                                        provider: str) -> None:
    events = "".join(BASE_EVENT.replace("ev:", f"ev{i}:").replace("Planning", f"Planning {i}")
                     for i in range(15))
    driver.write(calendar(provider, events))
    driver.converge()  # the calendar exists; now every event changes, under faults
    driver.write(calendar(provider, events.replace("First description", "Second")))
    emulator = sandbox.lineworks if provider == "works" else sandbox.onlyoffice
    emulator.faults = Faults(seed=11, rate_500=0.2, rate_503=0.1, rate_drop=0.05)
    with contextlib.suppress(ProviderError):  # a read may fail: then nothing was sent
        driver.apply()
    emulator.faults = Faults()
    driver.converge()
    assert event_count(sandbox, provider) == 15


def test_lineworks_event_writes_never_notify(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(calendar("works", BASE_EVENT + "ev2:\n  summary: X\n  start: 2027-03-01\n",
                          "    prune: true\n"))
    driver.converge()
    driver.write(calendar("works", BASE_EVENT.replace("Planning", "Renamed"), "    prune: true\n"))
    driver.converge()
    writes = [w for w in sandbox.lineworks.writes() if "/events" in w.path]
    assert [w.method for w in writes] == ["POST", "POST", "PUT", "DELETE"]
    for write in writes:
        if write.method == "DELETE":
            assert write.query == {"sendNotification": ["false"]}
        else:
            assert write.body["sendNotification"] is False


def _event_lists(sandbox: Sandbox) -> list[tuple[dt.datetime, dt.datetime]]:
    lists = [r for r in sandbox.lineworks.requests if r.path.endswith("/events")]
    spans = [(dt.datetime.fromisoformat(r.query["fromDateTime"][0]),
              dt.datetime.fromisoformat(r.query["untilDateTime"][0])) for r in lists]
    assert all(until - start <= dt.timedelta(days=30) for start, until in spans)  # L4
    return sorted(spans)


def test_lineworks_events_are_listed_only_in_the_slices_that_hold_them(
        driver: Driver, sandbox: Sandbox) -> None:
    events = BASE_EVENT + "late:\n  summary: Late\n  start: 2027-06-30\n"
    driver.write(calendar("works", events))
    driver.converge()
    sandbox.lineworks.reset_log()
    assert driver.plan().empty
    spans = _event_lists(sandbox)  # March and June, not the three months between
    assert len(spans) == 2
    assert spans[0][0].date() <= dt.date(2027, 3, 1) < spans[0][1].date()
    assert spans[1][0].date() <= dt.date(2027, 6, 30) < spans[1][1].date()


def test_events_decades_apart_take_a_few_reads_and_a_note(driver: Driver,
                                                          sandbox: Sandbox) -> None:
    events = BASE_EVENT + "old:\n  summary: Founding\n  start: 1990-05-01\n"
    driver.write(calendar("works", events))
    driver.converge()
    sandbox.lineworks.reset_log()
    plan = driver.plan()
    assert plan.empty and len(_event_lists(sandbox)) == 2  # not 450 slices of 30 days
    assert any("works.cal: its events span 1990-04-30 .. 2027-03-02 (36 years); only the "
               "parts that hold them are read" in n for n in plan.notes), plan.notes


def test_a_pruned_calendar_is_read_over_its_whole_window(driver: Driver,
                                                         sandbox: Sandbox) -> None:
    events = BASE_EVENT + "late:\n  summary: Late\n  start: 2027-06-30\n"
    driver.write(calendar("works", events, "    prune: true\n"))
    driver.converge()
    cid = next(iter(sandbox.lineworks.calendars))
    sandbox.lineworks.add_event(cid, {"eventId": "between", "summary": "Made in the app",
                                      "start": {"date": "2027-04-20"},
                                      "end": {"date": "2027-04-21"}})
    sandbox.lineworks.reset_log()
    plan = driver.plan()
    assert [(c.address, c.action) for c in plan.changes] == [
        ("works.cal.events.between", Action.DELETE)]
    spans = _event_lists(sandbox)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))  # nothing skipped


@pytest.mark.parametrize("provider", ["works", "office"])
def test_only_changed_events_get_a_call(driver: Driver, sandbox: Sandbox, provider: str) -> None:
    events = "".join(BASE_EVENT.replace("ev:", f"ev{i}:") for i in range(5))
    driver.write(calendar(provider, events))
    driver.converge()
    emulator = sandbox.lineworks if provider == "works" else sandbox.onlyoffice
    emulator.reset_log()
    driver.write(calendar(provider, events.replace("ev3:\n  summary: Planning",
                                                   "ev3:\n  summary: Changed")))
    driver.converge()
    assert len(emulator.writes()) == 1


def test_unlisted_events_are_left_alone_and_counted(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(calendar("works", BASE_EVENT + "other:\n  summary: Other\n  start: 2027-03-01\n"))
    driver.converge()
    driver.write(calendar("works", BASE_EVENT))
    plan = driver.plan()
    assert plan.empty
    assert "works.cal: 1 unmanaged event(s) left alone (set prune: true to delete them)" in \
        plan.notes
    driver.write(calendar("works", BASE_EVENT, "    prune: true\n"))
    [change] = driver.plan().changes
    assert change.action is Action.DELETE and change.address == "works.cal.events.other"
    driver.converge()


def event_count(sandbox: Sandbox, provider: str) -> int:
    if provider == "works":
        return sum(len(v) for v in sandbox.lineworks.events.values())
    return len(sandbox.onlyoffice.events)
