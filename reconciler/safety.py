"""Guard rails: refuse plans that remove too much at once, unless forced. Pure.

Contract of :func:`check`: for every calendar, count what the plan revokes (members) and
deletes (events) against what exists live; return one sentence per breach, naming the
calendar, the numbers and ``--force``. A breach is: more than ``max_delete_percent`` (30 by
default) of at least ``min_existing`` (10) existing members or events, or a member list made
empty; deleting a calendar deletes all of its live events. Limits come from the calendar's
``safety``, else its provider's, else the defaults.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from reconciler.model import Desired, Safety
from reconciler.plan import Action, Plan

DEFAULT_PERCENT = 30.0
DEFAULT_MIN_EXISTING = 10


@dataclass(frozen=True)
class Limits:
    max_delete_percent: float
    min_existing: int


def limits_for(desired: Desired, calendar_key: str) -> Limits:
    calendar = desired.calendars[calendar_key]
    layers: list[Safety | None] = [calendar.safety,
                                   desired.providers[calendar.provider].safety]
    percent = next((s.max_delete_percent for s in layers
                    if s and s.max_delete_percent is not None), DEFAULT_PERCENT)
    minimum = next((s.min_existing for s in layers if s and s.min_existing is not None),
                   DEFAULT_MIN_EXISTING)
    return Limits(percent, minimum)


def check(plan: Plan, desired: Desired) -> list[str]:
    breaches: list[str] = []
    keys = {f"{c.provider}.{k}": k for k, c in desired.calendars.items()}
    deleted_events: Counter[str] = Counter()
    for change in plan.changes:
        if change.kind == "event" and change.action is Action.DELETE:
            deleted_events[change.address.rsplit(".events.", 1)[0]] += 1
        elif change.kind == "calendar" and change.action is Action.DELETE:
            # a calendar deleted takes its events with it (the planner counts them)
            deleted_events[change.address] += sum(
                f.before for f in change.fields if f.path == "events" and isinstance(f.before,
                                                                                      int))
    for change in plan.changes:
        if change.kind != "calendar" or change.action is not Action.UPDATE:
            continue
        existing = (change.live or {}).get("members")
        if not isinstance(existing, dict):
            continue
        revoked = sum(1 for f in change.fields if f.path.startswith("members.") and f.after is None)
        if not revoked:
            continue
        if revoked == len(existing):
            breaches.append(f"{change.address}: the plan empties the member list (revokes all "
                            f"{revoked} members); pass --force to apply it anyway")
            continue
        limits = limits_for(desired, keys[change.address])
        breach = _breach("revokes", "members", revoked, len(existing), limits)
        if breach:
            breaches.append(f"{change.address}: {breach}")
    for address, count in sorted(deleted_events.items()):
        existing_events = plan.inventory.get(address, {}).get("events", 0)
        breach = _breach("deletes", "events", count, existing_events,
                         limits_for(desired, keys[address]))
        if breach:
            breaches.append(f"{address}: {breach}")
    return breaches


def _breach(verb: str, noun: str, removed: int, existing: int, limits: Limits) -> str:
    if existing < limits.min_existing or existing == 0:
        return ""
    percent = 100.0 * removed / existing
    if percent <= limits.max_delete_percent:
        return ""
    return (f"the plan {verb} {removed} of {existing} {noun} ({percent:.0f}% > "
            f"{limits.max_delete_percent:g}%); pass --force to apply it anyway")
