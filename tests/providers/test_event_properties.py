"""Property-based round trips of events, per provider, over the wire to the emulators.

hypothesis generates an event (zones with DST edges, all-day and multi-day, timed across
midnight, rules with COUNT/UNTIL/BYDAY/INTERVAL, skipped occurrences, text with CR, LF,
CRLF, commas, semicolons, backslashes and characters outside the BMP), applies it, and
requires an empty plan; then a generated edit must plan exactly the fields it changed (as
the provider reads them), apply, and plan empty again. For a series whose YAML does not list
``skip``, an occurrence is first cancelled through the emulator's own API, and it must
survive the edit.

The number of examples comes from the hypothesis profile (tests/conftest.py): ``ci`` (the
default: 200 per provider, derandomized, so CI runs the same examples every time) or
``thorough`` (``pytest --hypothesis-profile thorough``).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler.events import canonical_event
from reconciler.model import Event
from reconciler.plan import Action
from reconciler.planner import _settled
from reconciler.sandbox.server import Sandbox
from tests.conftest import PROVIDERS_YAML, Driver
from tests.providers.test_series import cancel_occurrence, live_cancelled

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo",
         "Pacific/Chatham", "America/Santiago", "Atlantic/Reykjavik"]
# around the 2027 DST changes of the zones above, and ordinary days
DAYS = [dt.date(2027, 3, 14), dt.date(2027, 3, 27), dt.date(2027, 3, 28),
        dt.date(2027, 4, 4), dt.date(2027, 9, 26), dt.date(2027, 10, 31),
        dt.date(2027, 11, 7), dt.date(2027, 6, 15), dt.date(2027, 12, 31)]
PIECES = [*"ab Z9,;\\:\"'#", "\r", "\n", "\r\n", "é", "😀", "𝄞", "\t"]
TEXT = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join).filter(
    lambda t: t.strip() != "")
KEY = "ev"
# what a field the first YAML left out reads back as (nothing cancelled when it is compared)
LIVE_DEFAULTS = {"skip": [], "recurrence": "", "description": "", "location": ""}
UNPACED = "\n".join(line + ("\n    rate_limit: 100000" if line.startswith("    type:") else "")
                     for line in PROVIDERS_YAML.splitlines()) + "\n"
CALENDAR_IDS = {"people": "cal_props"}


@st.composite
def events(draw: st.DrawFn, provider: str) -> dict[str, Any]:
    """One event as YAML values, valid for ``provider``."""
    day = draw(st.sampled_from(DAYS)) + dt.timedelta(days=draw(st.integers(0, 2)))
    event: dict[str, Any] = {"summary": draw(TEXT)}
    if draw(st.booleans()):
        event["description"] = draw(st.one_of(st.just(""), TEXT))
    if provider != "office" and draw(st.booleans()):
        event["location"] = draw(TEXT)
    if draw(st.integers(0, 3)) == 0:
        event["start"] = day
        event["end"] = day + dt.timedelta(days=draw(st.integers(0, 4)))
        zone = None
    else:
        zone = draw(st.sampled_from(ZONES))
        start = dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)),
                                                 draw(st.sampled_from([0, 15, 30, 45]))))
        end = start + dt.timedelta(minutes=draw(st.sampled_from([15, 60, 90, 600, 1440, 3000])))
        assume(_exists(start, zone) and _exists(end, zone))
        event.update(start=start, end=end, timezone=zone)
    if provider != "people" and draw(st.booleans()):
        rule = draw(rules(day))
        event["recurrence"] = rule
        if draw(st.booleans()):
            event["skip"] = draw(skips(event))
    return event


def _exists(value: dt.datetime, zone: str) -> bool:
    there = value.replace(tzinfo=ZoneInfo(zone))
    return there.astimezone(dt.timezone.utc).astimezone(ZoneInfo(zone)).replace(
        tzinfo=None) == value


@st.composite
def rules(draw: st.DrawFn, day: dt.date) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(1, 3))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if draw(st.booleans()):
        parts.append(f"COUNT={draw(st.integers(2, 8))}")
    else:
        until = day + dt.timedelta(days=draw(st.integers(10, 120)))
        parts.append(f"UNTIL={until:%Y%m%d}T235959Z")
    if freq == "WEEKLY" and draw(st.booleans()):
        days = draw(st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]),
                            min_size=1, max_size=3))
        days.add(["MO", "TU", "WE", "TH", "FR", "SA", "SU"][day.weekday()])
        parts.append("BYDAY=" + ",".join(sorted(days)))
    return ";".join(parts)


@st.composite
def skips(draw: st.DrawFn, event: dict[str, Any]) -> list[dt.date]:
    starts = occurrence_days(event)
    if len(starts) < 2:
        return []
    return sorted(draw(st.sets(st.sampled_from(starts[1:]), max_size=2)))


def occurrence_days(event: dict[str, Any]) -> list[dt.date]:
    start = event["start"]
    first = start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time())
    rule = event["recurrence"].replace("Z", "")
    return [d.date() for d in rrulestr(rule, dtstart=first).xafter(first, count=6, inc=True)]


EDITS = ["summary", "description", "later", "zone", "rule", "skip", "text"]


@st.composite
def edits(draw: st.DrawFn, provider: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event with one generated change."""
    edited = dict(event)
    kind = draw(st.sampled_from(EDITS))
    if kind in ("summary", "text"):
        edited["summary"] = draw(TEXT.filter(lambda t: t != event["summary"]))
    elif kind == "description":
        edited["description"] = draw(TEXT.filter(lambda t: t != event.get("description")))
    elif kind == "later":
        shift = dt.timedelta(days=draw(st.integers(1, 9)), hours=draw(st.integers(0, 5)))
        if isinstance(event["start"], dt.datetime):
            edited["start"], edited["end"] = event["start"] + shift, event["end"] + shift
            assume(_exists(edited["start"], event["timezone"])
                   and _exists(edited["end"], event["timezone"]))
        else:
            edited["start"] = event["start"] + dt.timedelta(days=shift.days)
            edited["end"] = event["end"] + dt.timedelta(days=shift.days)
        edited.pop("skip", None)  # a moved series skips other days; leave them to the live
    elif kind == "zone" and "timezone" in event:
        edited["timezone"] = draw(st.sampled_from([z for z in ZONES if z != event["timezone"]]))
        assume(_exists(edited["start"], edited["timezone"])
               and _exists(edited["end"], edited["timezone"]))
    elif kind == "rule" and provider != "people":
        edited["recurrence"] = draw(rules(_day(event["start"])))
        edited.pop("skip", None)
    elif kind == "skip" and "recurrence" in event:
        edited["skip"] = draw(skips(event))
    else:
        edited["summary"] = event["summary"] + "!"
    return edited


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def document(provider: str, event: dict[str, Any]) -> str:
    calendar: dict[str, Any] = {"provider": provider, "name": "Properties",
                                "events": {KEY: event}}
    if provider in CALENDAR_IDS:
        calendar["id"] = CALENDAR_IDS[provider]
    return yaml.safe_dump({"calendars": {"props": calendar}}, allow_unicode=True,
                          sort_keys=False)


class World:
    """One started sandbox for all examples of a test; each example starts with no events."""

    def __init__(self, box: Sandbox, folder: Path) -> None:
        self.box = box
        self.driver = Driver(box, folder)
        box.cronofy.add_profile("pro_test", "test@example.com")
        box.cronofy.add_calendar("pro_test", "Properties", calendar_id="cal_props")

    def reset(self) -> None:
        self.box.onlyoffice.events.clear()
        for events_of in self.box.lineworks.events.values():
            events_of.clear()
        self.box.cronofy.events.clear()

    def write(self, provider: str, event: dict[str, Any]) -> None:
        (self.driver.folder / "calendars.yaml").write_text(
            UNPACED + document(provider, event))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # Thousands of requests in a few minutes: the emulators' and the clients' rate budgets
    # are lifted (test_rate_budgets.py is where budgets are tested).
    with Sandbox(seed=False, rate_limit=1_000_000, record_requests=False) as box, \
            tempfile.TemporaryDirectory() as folder:
        yield World(box, Path(folder))


def projected(world: World, provider: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event as the provider reads it back (its own projection of the canonical)."""
    drivers = world.driver.providers()
    try:
        value = canonical_event(Event.model_validate(event))
        return drivers[provider].event_value(value, None)
    finally:
        for driver in drivers.values():
            driver.close()


def round_trip(world: World, provider: str, event: dict[str, Any],
               edited: dict[str, Any]) -> None:
    world.reset()
    world.write(provider, event)
    world.driver.converge()
    cancelled = 0
    series = provider != "people" and event.get("recurrence") and "skip" not in event
    if series and "skip" not in edited and edited.get("recurrence") == event["recurrence"] \
            and edited["start"] == event["start"] and edited.get("timezone") == \
            event.get("timezone"):
        days = occurrence_days(event)
        if len(days) >= 2:
            cancel_occurrence_at(world.box, provider, event, days[1])
            cancelled = len(live_cancelled(world.box, provider))
    world.write(provider, edited)
    plan = world.driver.plan()
    before = {**LIVE_DEFAULTS, **_settled(projected(world, provider, event))}
    after = _settled(projected(world, provider, edited))
    expected = {k for k in after if after[k] != before.get(k)}
    changed = {f.path.split(".", 1)[0] for c in plan.changes for f in c.fields}
    if expected:
        assert [c.action for c in plan.changes] == [Action.UPDATE], plan.to_dict()
    assert changed == expected, (changed, expected)
    report = world.driver.apply(plan)
    assert report.ok, [o.detail for o in report.outcomes if o.status != "applied"]
    again = world.driver.plan()
    assert again.empty, again.to_dict()
    if cancelled:
        assert len(live_cancelled(world.box, provider)) == cancelled


def cancel_occurrence_at(box: Sandbox, provider: str, event: dict[str, Any],
                         day: dt.date) -> None:
    """Cancel the occurrence on ``day`` through the emulator's API (the helper of
    test_series cancels a 09:00 Berlin occurrence; here the event's own time is used)."""
    if isinstance(event["start"], dt.datetime):
        wall = dt.datetime.combine(day, event["start"].time())
    else:
        wall = dt.datetime.combine(day, dt.time())
    cancel_occurrence(box, provider, day.isoformat(), wall=wall,
                      zone=event.get("timezone"), all_day=not isinstance(event["start"],
                                                                         dt.datetime))


def _example(provider: str) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    return events(provider).flatmap(lambda e: st.tuples(st.just(e), edits(provider, e)))


SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.filter_too_much])


@SETTINGS
@given(example=_example("works"))
def test_lineworks_events_round_trip(world: World, example: tuple[dict[str, Any],
                                                                  dict[str, Any]]) -> None:
    round_trip(world, "works", *example)


@SETTINGS
@given(example=_example("office"))
def test_onlyoffice_events_round_trip(world: World, example: tuple[dict[str, Any],
                                                                   dict[str, Any]]) -> None:
    round_trip(world, "office", *example)


@SETTINGS
@given(example=_example("people"))
def test_cronofy_events_round_trip(world: World, example: tuple[dict[str, Any],
                                                                dict[str, Any]]) -> None:
    round_trip(world, "people", *example)
