"""How make_plan reads: which listings get the event window, that every target is planned
once however the reads interleave, and the GC setting around it. Over the wire, on the
examples and the sandbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from reconciler.events import canonical_event
from reconciler.loader import load
from reconciler.planner import make_plan
from reconciler.providers.registry import build_providers
from reconciler.sandbox.server import Sandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_only_a_listing_that_reads_events_waits_for_the_window() -> None:
    desired = load([EXAMPLES]).desired
    seen: dict[str, Any] = {}
    with Sandbox() as box:
        providers = build_providers(desired, sandbox=box.endpoints())
        for name, provider in providers.items():
            def spy(window: Any, _name: str = name, _list: Any = provider.list_calendars
                    ) -> Any:
                seen[_name] = window
                return _list(window)
            provider.list_calendars = spy  # type: ignore[method-assign]
        make_plan(desired, providers, parallelism=4)
        for provider in providers.values():
            provider.close()
    types = {name: desired.providers[name].type for name in seen}
    office_events = [canonical_event(e) for cal in desired.calendars.values()
                     if types.get(cal.provider) == "onlyoffice"
                     for e in (cal.events or {}).values()]
    for name, window in seen.items():
        if types[name] == "onlyoffice":
            first, last = window
            assert isinstance(first, dt.date) and first < last
            assert all(first.isoformat() <= e["start"][:10] <= last.isoformat()
                       for e in office_events)
        else:
            assert window is None, name


def test_a_calendars_events_are_read_right_after_it() -> None:
    """Depth first: queued behind every other calendar's read, a calendar's events read
    would go out only once all calendars were read, leaving the pool idle meanwhile."""
    desired = load([EXAMPLES]).desired
    order: list[tuple[str, str]] = []
    with Sandbox() as box:
        providers = build_providers(desired, sandbox=box.endpoints())
        for provider in providers.values():
            def read_calendar(calendar_id: str, address: str, _read: Any =
                              provider.read_calendar) -> Any:
                order.append(("calendar", address))
                return _read(calendar_id, address)

            def read_events(calendar: Any, address: str, *args: Any, _read: Any =
                            provider.read_events, **kwargs: Any) -> Any:
                order.append(("events", address))
                return _read(calendar, address, *args, **kwargs)
            provider.read_calendar = read_calendar  # type: ignore[method-assign]
            provider.read_events = read_events  # type: ignore[method-assign]
        make_plan(desired, providers, parallelism=1)
        for provider in providers.values():
            provider.close()
    events_read = [i for i, (kind, _) in enumerate(order) if kind == "events"]
    assert len(events_read) >= 2, "the examples should read the events of several calendars"
    for i in events_read:
        assert order[i - 1] == ("calendar", order[i][1])


def test_plans_are_the_same_at_any_parallelism() -> None:
    desired = load([EXAMPLES]).desired
    plans = []
    with Sandbox() as box:
        for parallelism in (1, 3, 16):
            providers = build_providers(desired, sandbox=box.endpoints())
            plans.append(make_plan(desired, providers, parallelism).to_dict())
            for provider in providers.values():
                provider.close()
    assert plans[0]["changes"], "the examples should plan changes on a fresh sandbox"
    assert plans[0] == plans[1] == plans[2]
