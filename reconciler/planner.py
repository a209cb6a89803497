"""Fetch every provider, match identities, diff each resource, and build the Plan.

Contract of :func:`make_plan`:

- reads only; never writes;
- fetches in stages (list calendars of every provider; read every matched calendar; read the
  events of every calendar that manages events), each stage fanned out over a pool of
  ``parallelism`` threads, so no task ever waits on another;
- identity per DESIGN.md: a pinned ``id`` must exist (it is never replaced by a create); else
  the exact name must match exactly one live calendar; two live calendars with the name is an
  IdentityError, as is two YAML calendars resolving to one live calendar. Events are matched
  by uid;
- any failed read aborts the whole plan with that error: a read failure never becomes a
  create or a delete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from reconciler.diff import diff, expand
from reconciler.errors import IdentityError, PlanError
from reconciler.events import canonical_event, window
from reconciler.model import Calendar, Desired, State
from reconciler.plan import Action, Change, Phase, Plan
from reconciler.providers.base import (
    LiveCalendar,
    LiveCalendarRef,
    LiveEvent,
    Provider,
    Window,
    placeholder,
)

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
    events: dict[str, dict[str, Any]]  # uid -> desired canonical event
    window: Window | None  # dates to read live events over; None when events are unmanaged


def fan_out(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` over ``items`` in the pool; re-raises the first failure after all have ended."""
    futures = [pool.submit(fn, item) for item in items]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


def targeted(address: str, targets: Iterable[str]) -> bool:
    """Whether ``address`` is, contains, or is inside one of ``targets``."""
    return any(address == t or address.startswith(t + ".") or t.startswith(address + ".")
               for t in targets)


def select(desired: Desired, targets: list[str]) -> Desired:
    """The desired state cut down to the calendars ``targets`` touch (PlanError if a target
    touches none)."""
    keys = {k for k, c in desired.calendars.items() if targeted(address_of(k, c), targets)}
    for target in targets:
        if not any(targeted(address_of(k, desired.calendars[k]), [target]) for k in keys):
            raise PlanError(f"--target {target} matches no calendar in the YAML")
    return desired.model_copy(update={"calendars": {k: desired.calendars[k] for k in keys}})


def make_plan(desired: Desired, providers: Mapping[str, Provider], parallelism: int = 8,
              today: dt.date | None = None, targets: list[str] | None = None) -> Plan:
    """The plan; with ``targets``, only for those addresses (and what they depend on)."""
    if targets:
        desired = select(desired, targets)
    plan = _make_plan(desired, providers, parallelism, today)
    if targets:
        keep = {c.address for c in plan.changes
                if c.address in targets or any(c.address.startswith(t + ".") for t in targets)}
        keep |= {c.depends_on for c in plan.changes if c.address in keep and c.depends_on}
        plan.changes = [c for c in plan.changes if c.address in keep]
        plan.warnings.append(
            "--target in use: the plan covers only " + ", ".join(targets) + "; other changes "
            "may be left out. Use it to recover from a problem, not routinely.")
    return plan


def _make_plan(desired: Desired, providers: Mapping[str, Provider], parallelism: int,
               today: dt.date | None) -> Plan:
    in_use = sorted({c.provider for c in desired.calendars.values()})
    windows = _event_windows(desired, today)
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="read") as pool:
        listings = dict(zip(in_use, fan_out(
            pool, lambda n: providers[n].list_calendars(_union(windows, desired, n)), in_use,
        ), strict=True))
        targets = _match(desired, listings, windows)
        to_read = [t for t in targets if t.live_id is not None]
        reads = fan_out(
            pool,
            lambda t: providers[t.calendar.provider].read_calendar(t.live_id or "", t.address),
            to_read,
        )
        live_cals = {t.address: value for t, value in zip(to_read, reads, strict=True)}
        with_events = [t for t in to_read if t.window is not None
                       and t.calendar.state is State.PRESENT
                       and live_cals[t.address] is not None]
        event_reads = fan_out(
            pool,
            lambda t: providers[t.calendar.provider].read_events(
                live_cals[t.address], t.address, t.window,  # type: ignore[arg-type]
                t.events),
            with_events,
        )
    live_events = {t.address: evs for t, evs in zip(with_events, event_reads, strict=True)}
    plan = Plan()
    for target in targets:
        provider = providers[target.calendar.provider]
        live = live_cals.get(target.address)
        change = _calendar_change(target, live, provider)
        if change is not None:
            plan.changes.append(change)
        if target.address in live_events:
            plan.inventory[target.address] = {"events": len(live_events[target.address])}
        if target.window is not None and target.calendar.state is State.PRESENT:
            plan.changes.extend(_event_changes(target, live, live_events.get(target.address, []),
                                               provider, plan.notes))
    managed = {t.live_id for t in targets if t.live_id}
    for name in in_use:
        left = sum(1 for ref in listings[name] if ref.id not in managed)
        if left:
            plan.notes.append(f"{name}: {left} calendar(s) not in the YAML, left alone")
    plan.changes.sort(key=lambda c: (c.phase, c.address))
    return plan


def _event_windows(desired: Desired, today: dt.date | None) -> dict[str, Window]:
    """Per calendar key that manages events: the dates its live events are read over."""
    result = {}
    for key, cal in desired.calendars.items():
        if cal.events is not None:
            result[key] = window((canonical_event(e) for e in cal.events.values()), today)
    return result


def _union(windows: Mapping[str, Window], desired: Desired, provider: str) -> Window | None:
    spans = [w for k, w in windows.items() if desired.calendars[k].provider == provider]
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


def _match(desired: Desired, listings: Mapping[str, list[LiveCalendarRef]],
           windows: Mapping[str, Window]) -> list[_Target]:
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
        events = {uid: canonical_event(e) for uid, e in (cal.events or {}).items()}
        targets.append(_Target(key, address, cal, live_id, events, windows.get(key)))
    if problems:
        raise IdentityError("\n".join(problems))
    return targets


def _calendar_change(
    target: _Target, live: LiveCalendar | None, provider: Provider
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
        return Change(
            **common,
            action=Action.DELETE,
            phase=Phase.DELETE_CALENDARS,
            fields=expand(live.value, removing=True),
            requests=tuple(provider.delete_calendar(live)),
            live_id=live.id,
            live=live.value,
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
    changes = diff(desired, live.value)
    if not changes:
        return None
    before = {k: live.value.get(k) for k in desired}
    changed = {c.path.split(".", 1)[0] for c in changes}
    reason = live.blocked
    if not reason and "name" in changed and not provider.capabilities.can_rename:
        reason = f"{provider.name} cannot rename calendars{_note(provider, 'name')}"
    if reason:
        return Change(**common, action=Action.BLOCKED, phase=Phase.UPDATE_CALENDARS,
                      fields=changes, live_id=live.id, live=before, reason=reason)
    return Change(
        **common,
        action=Action.UPDATE,
        phase=Phase.UPDATE_CALENDARS,
        fields=changes,
        requests=tuple(provider.update_calendar(live, desired, changed)),
        live_id=live.id,
        live=before,
    )


def _note(provider: Provider, key: str) -> str:
    return provider.capabilities.notes.get(key, "")


def _event_changes(target: _Target, live_cal: LiveCalendar | None, live_events: list[LiveEvent],
                   provider: Provider, notes: list[str]) -> list[Change]:
    """Creates, updates and (with ``prune``) deletes for one calendar's events."""
    changes = []
    if live_cal is None:  # the calendar is created in this apply: its id is not known yet
        calendar_id, depends_on = placeholder(target.address), target.address
    else:
        calendar_id, depends_on = live_cal.id, None
    by_uid = {e.uid: e for e in live_events}
    for uid in sorted(target.events):
        desired = target.events[uid]
        address = f"{target.address}.events.{uid}"
        common: dict[str, Any] = {"address": address, "provider": target.calendar.provider,
                                  "kind": "event", "phase": Phase.WRITE_EVENTS,
                                  "depends_on": depends_on}
        wanted = provider.event_value(desired)
        live = by_uid.get(uid)
        fields = expand(wanted, removing=False) if live is None else diff(wanted, live.value)
        if not fields:
            continue
        reason = (live_cal.blocked if live_cal else "") or provider.event_blocked(desired, live)
        if reason:
            changes.append(Change(**common, action=Action.BLOCKED, fields=fields, reason=reason,
                                  live_id=live.id if live else None,
                                  live=live.value if live else None))
            continue
        if live is None:
            changes.append(Change(**common, action=Action.CREATE, fields=fields,
                                  requests=tuple(provider.create_event(calendar_id, uid,
                                                                       desired))))
        else:
            changed = {f.path.split(".", 1)[0] for f in fields}
            changes.append(Change(
                **common, action=Action.UPDATE, fields=fields, live_id=live.id,
                live={k: live.value.get(k) for k in wanted},
                requests=tuple(provider.update_event(calendar_id, live, desired, changed)),
            ))
    unmanaged = [e for uid, e in sorted(by_uid.items()) if uid not in target.events]
    if unmanaged and target.calendar.prune:
        for live in unmanaged:
            changes.append(Change(
                address=f"{target.address}.events.{live.uid}", provider=target.calendar.provider,
                kind="event", action=Action.DELETE, phase=Phase.DELETE_EVENTS,
                fields=expand(live.value, removing=True), live_id=live.id, live=live.value,
                requests=tuple(provider.delete_event(calendar_id, live)),
            ))
    elif unmanaged:
        notes.append(f"{target.address}: {len(unmanaged)} unmanaged event(s) left alone "
                     "(set prune: true to delete them)")
    return changes
