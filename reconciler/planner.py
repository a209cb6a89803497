"""Fetch every provider, match identities, diff each resource, and build the Plan.

Contract of :func:`make_plan`:

- reads only; never writes;
- fetches in stages (list calendars of every provider, then read every matched calendar), each
  stage fanned out over a pool of ``parallelism`` threads, so no task ever waits on another;
- identity per DESIGN.md: a pinned ``id`` must exist (it is never replaced by a create); else
  the exact name must match exactly one live calendar; two live calendars with the name is an
  IdentityError, as is two YAML calendars resolving to one live calendar;
- any failed read aborts the whole plan with that error: a read failure never becomes a
  create or a delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from reconciler.diff import diff, expand
from reconciler.errors import IdentityError
from reconciler.model import Calendar, Desired, State
from reconciler.plan import Action, Change, Phase, Plan
from reconciler.providers.base import LiveCalendarRef, Provider

T = TypeVar("T")
R = TypeVar("R")


def address_of(key: str, calendar: Calendar) -> str:
    return f"{calendar.provider}.{key}"


def canonical_calendar(calendar: Calendar) -> dict[str, Any]:
    """The desired canonical value: only the fields the YAML manages."""
    value: dict[str, Any] = {"name": calendar.name}
    if calendar.description is not None:
        value["description"] = calendar.description
    if calendar.public is not None:
        value["public"] = calendar.public
    if calendar.members is not None:
        value["members"] = {m.principal: m.role.value for m in calendar.members}
    return value


@dataclass(frozen=True)
class _Target:
    key: str
    address: str
    calendar: Calendar
    live_id: str | None  # None: not found, so create (or nothing, when absent)


def fan_out(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` over ``items`` in the pool; re-raises the first failure after all have ended."""
    futures = [pool.submit(fn, item) for item in items]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


def make_plan(desired: Desired, providers: Mapping[str, Provider], parallelism: int = 8) -> Plan:
    in_use = sorted({c.provider for c in desired.calendars.values()})
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="read") as pool:
        listings = dict(
            zip(in_use, fan_out(pool, lambda n: providers[n].list_calendars(), in_use), strict=True)
        )
        targets = _match(desired, listings)
        to_read = [t for t in targets if t.live_id is not None]
        reads = fan_out(
            pool,
            lambda t: providers[t.calendar.provider].read_calendar(t.live_id or "", t.address),
            to_read,
        )
    live_values = {t.address: value for t, value in zip(to_read, reads, strict=True)}
    plan = Plan()
    for target in targets:
        change = _calendar_change(target, live_values.get(target.address),
                                  providers[target.calendar.provider])
        if change is not None:
            plan.changes.append(change)
    managed = {t.live_id for t in targets if t.live_id}
    for name in in_use:
        left = sum(1 for ref in listings[name] if ref.id not in managed)
        if left:
            plan.notes.append(f"{name}: {left} calendar(s) not in the YAML, left alone")
    plan.changes.sort(key=lambda c: (c.phase, c.address))
    return plan


def _match(desired: Desired, listings: Mapping[str, list[LiveCalendarRef]]) -> list[_Target]:
    problems: list[str] = []
    targets: list[_Target] = []
    claimed: dict[tuple[str, str], str] = {}
    for key in sorted(desired.calendars):
        cal = desired.calendars[key]
        address = address_of(key, cal)
        refs = listings[cal.provider]
        live_id: str | None
        if cal.id is not None:
            # A pinned id need not be in the account's list (e.g. hidden from it): read it anyway.
            live_id = cal.id
        else:
            matches = [r for r in refs if r.name == cal.name]
            if len(matches) > 1:
                ids = ", ".join(r.id for r in matches)
                problems.append(
                    f"{address}: {len(matches)} live calendars are named {cal.name!r} ({ids}); "
                    "pin the intended one with 'id:'"
                )
                continue
            live_id = matches[0].id if matches else None
        if live_id is not None:
            other = claimed.get((cal.provider, live_id))
            if other is not None:
                problems.append(f"{address}: matches live calendar {live_id}, as {other} does")
                continue
            claimed[(cal.provider, live_id)] = address
        targets.append(_Target(key, address, cal, live_id))
    if problems:
        raise IdentityError("\n".join(problems))
    return targets


def _calendar_change(
    target: _Target, live: dict[str, Any] | None, provider: Provider
) -> Change | None:
    cal = target.calendar
    common: dict[str, Any] = {"address": target.address, "provider": cal.provider,
                              "kind": "calendar"}
    if target.live_id is not None and live is None:
        if cal.id is not None and cal.state is State.PRESENT:
            raise IdentityError(
                f"{target.address}: pinned calendar id {cal.id!r} does not exist; remove 'id:' "
                "to create a new calendar"
            )
        return None  # absent and already gone
    if cal.state is State.ABSENT:
        if live is None:
            return None
        assert target.live_id is not None
        return Change(
            **common,
            action=Action.DELETE,
            phase=Phase.DELETE_CALENDARS,
            fields=expand(live, removing=True),
            requests=tuple(provider.delete_calendar(target.live_id)),
            live_id=target.live_id,
            live=live,
        )
    desired = canonical_calendar(cal)
    if live is None:
        return Change(
            **common,
            action=Action.CREATE,
            phase=Phase.CREATE_CALENDARS,
            fields=expand(desired, removing=False),
            requests=tuple(provider.create_calendar(target.address, desired)),
        )
    assert target.live_id is not None
    changes = diff(desired, live)
    if not changes:
        return None
    changed = {c.path.split(".", 1)[0] for c in changes}
    return Change(
        **common,
        action=Action.UPDATE,
        phase=Phase.UPDATE_CALENDARS,
        fields=changes,
        requests=tuple(provider.update_calendar(target.live_id, desired, changed)),
        live_id=target.live_id,
        live={k: live.get(k) for k in desired},
    )

