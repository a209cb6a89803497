"""Fetch every provider, match identities, diff each resource, and build the Plan.

Contract of :func:`make_plan`:

- reads only; never writes;
- fetches per provider in a pipeline (list calendars; read each matched calendar as soon as
  its listing is in; read its events as soon as it is read) as at most ``parallelism``
  concurrent tasks (:mod:`reconciler.tasks`), where no task ever waits on another;
- identity per DESIGN.md: a pinned ``id`` must exist (it is never replaced by a create); else
  the exact name must match exactly one live calendar; two live calendars with the name is an
  IdentityError, as is two YAML calendars resolving to one live calendar. Events are matched
  by uid;
- any failed read aborts the whole plan with that error: a read failure never becomes a
  create or a delete.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler import safety
from reconciler.diff import diff, expand
from reconciler.errors import CalreconError, CredentialsError, IdentityError, PlanError
from reconciler.events import canonical_event, search_window, window
from reconciler.model import Calendar, Desired, State
from reconciler.plan import Action, Change, FieldChange, Phase, Plan
from reconciler.providers.base import (
    LiveCalendar,
    LiveCalendarRef,
    LiveEvent,
    Provider,
    Window,
    placeholder,
)
from reconciler.recurrence import settled_until
from reconciler.tasks import TaskPool

DECADE = dt.timedelta(days=3653)  # a window longer than this is worth a note in the plan
PRUNE_MARGIN = dt.timedelta(days=183)  # read beyond a pruned calendar's events, each side


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
    ready: bool = True  # False: events and window are still to be made (see _prepared)
    # live calendar id -> address, for every calendar of this provider the YAML manages
    siblings: Mapping[str, str] = field(default_factory=dict)
    # uids other calendars of this provider list, where uids are account-wide: a live event
    # here with one of them is being moved away, so it is neither pruned nor "unmanaged"
    moving: frozenset[str] = frozenset()


def _prepared(target: _Target, today: dt.date | None) -> _Target:
    """``target`` with its desired events made canonical and its read window. Done in the
    target's own task, so that the work overlaps other targets' reads instead of delaying
    all of them."""
    if target.ready:
        return target
    if target.calendar.state is State.ABSENT:
        return replace(target, window=_delete_window(today), ready=True)
    if target.calendar.events is None:
        return replace(target, ready=True)
    events = {uid: canonical_event(e) for uid, e in target.calendar.events.items()}
    return replace(target, events=events, window=_read_window(target.calendar, events, today),
                   ready=True)


def _delete_window(today: dt.date | None) -> Window:
    """Where a calendar to delete is searched for the events that go with it: as far as a
    search for a moved event reaches (:func:`~reconciler.events.search_window`, two years
    either side of today)."""
    day = today or dt.date.today()
    return search_window((day, day), day)


def _read_window(calendar: Calendar, events: dict[str, dict[str, Any]],
                 today: dt.date | None) -> Window:
    """The dates a calendar's live events are read over: the span of its desired events;
    for a calendar that prunes, ``PRUNE_MARGIN`` more on each side, so that an event
    removed from either end of the YAML is still seen (and deleted). The plan notes the
    dates covered: further out, nothing is seen (LINE WORKS reads 30 days per request, so
    a wider margin costs every plan of every pruned calendar)."""
    first, last = window(events.values(), today)
    if not calendar.prune:
        return first, last
    return first - PRUNE_MARGIN, last + PRUNE_MARGIN


@dataclass
class Fetched:
    """Everything read for a plan: listings, matched targets, calendars, events."""

    listings: dict[str, list[LiveCalendarRef]]
    targets: list[_Target]
    calendars: dict[str, LiveCalendar | None]
    events: dict[str, list[LiveEvent]]


def desired_events(desired: Desired, provider: str | None = None
                   ) -> dict[str, dict[str, dict[str, Any]]]:
    """calendar key -> uid -> canonical event (of one ``provider``'s calendars, if given)."""
    events = {}
    for key, cal in desired.calendars.items():
        if cal.events is not None and (provider is None or cal.provider == provider):
            events[key] = {uid: canonical_event(e) for uid, e in cal.events.items()}
    return events


OnRead = Callable[[_Target, LiveCalendar | None, list[LiveEvent] | None], None]


def fetch(desired: Desired, providers: Mapping[str, Provider], parallelism: int,
          today: dt.date | None = None, on_read: OnRead | None = None) -> Fetched:
    """Every read the plan needs, pipelined per provider on one bounded pool: a finished
    listing submits its calendar reads at once, and a calendar's task goes on to read its
    events, so no stage waits for another provider's (no barriers, no idle workers). Each
    provider is a lane of the pool: a freed slot serves the providers in turn, so one
    provider's reads served from its listing (CPU only) run between another's requests
    rather than after the last of them. A calendar's desired
    events are made canonical in its own read task, so that the work overlaps other reads;
    only a provider whose listing takes a window (``listing_uses_window``) makes all of its
    own first, in its listing task, which is why such providers list last.
    ``on_read(target, live, events)`` runs in the pool once all of a target's reads are in
    (``events`` None when they are not read), so that diffing overlaps the remaining reads.
    ``Fetched.targets`` holds the targets ready (events made), sorted by key;
    ``Fetched.calendars`` and ``Fetched.events`` are filled only without ``on_read``."""
    got = Fetched({}, [], {}, {})

    def done(target: _Target, live: LiveCalendar | None, events: list[LiveEvent] | None
             ) -> None:
        with lock:
            got.targets.append(target)
        if on_read is not None:
            on_read(target, live, events)

    problems: list[str] = []
    refused: list[str] = []  # providers whose credentials were refused, one sentence each
    lock = threading.Lock()

    def list_calendars(name: str) -> None:
        """A provider's listing, then its calendars' reads. Refused credentials are collected
        rather than raised, so that one run names every provider whose token is wrong (each
        lists first, so all of them are asked before any other read fails the run)."""
        try:
            list_and_submit(name)
        except CredentialsError as exc:
            with lock:
                refused.append(f"{exc}\n  check {desired.providers[name].credentials()}")

    def list_and_submit(name: str) -> None:
        provider = providers[name]
        if provider.capabilities.listing_uses_window:
            events = desired_events(desired, name)
            windows = event_windows(events, today, desired)
            for key, cal in desired.calendars.items():  # calendars to delete: see their events
                if cal.provider == name and cal.state is State.ABSENT:
                    windows[key] = _delete_window(today)
            refs = provider.list_calendars(_span(windows.values()))
            matched, trouble = _match(desired, name, refs, (windows, events), provider)
        else:
            refs = provider.list_calendars(None)
            matched, trouble = _match(desired, name, refs, None, provider)
        with lock:
            got.listings[name] = refs
            problems.extend(trouble)
        for target in matched if not refused else ():  # the run fails: read no more
            if target.live_id is not None:
                tasks.submit(read_calendar, target, lane=name)
            else:
                tasks.submit(find_events, target, lane=name)

    def find_events(target: _Target) -> None:
        """A calendar to create: where uids are account-wide, its events may already live
        in another calendar (to move, or to refuse)."""
        target = _prepared(target, today)
        provider = providers[target.calendar.provider]
        found = None
        if target.events and target.window is not None \
                and provider.capabilities.event_uid_scope == "provider":
            found = provider.find_events(target.address, target.window, set(target.events))
        done(target, None, found)

    def read_calendar(target: _Target) -> None:
        target = _prepared(target, today)
        live = providers[target.calendar.provider].read_calendar(target.live_id or "",
                                                                 target.address)
        # With on_read, the callback gets what was read. Kept here as well, a large plan's
        # reads would all be freed at its end, after the last answer, instead of meanwhile.
        if on_read is None:
            with lock:
                got.calendars[target.address] = live
        if live is not None and target.window is not None:
            # In this task, not a new one: a queued task would wait behind every calendar
            # read submitted before it, so the events read would go out last, not next.
            read_events(target, live)
        else:
            done(target, live, None)

    def read_events(target: _Target, live: LiveCalendar) -> None:
        assert target.window is not None
        events = providers[target.calendar.provider].read_events(
            live, target.address, target.window, target.events,
            whole=target.calendar.prune or target.calendar.state is State.ABSENT)
        if on_read is None:
            with lock:
                got.events[target.address] = events
        done(target, live, events)

    tasks = TaskPool(parallelism)
    load: Counter[str] = Counter()
    for cal in desired.calendars.values():
        load[cal.provider] += 1 + len(cal.events or {})
    for name in sorted(load, key=lambda n: (providers[n].capabilities.listing_uses_window,
                                            load[n], n)):
        tasks.submit(list_calendars, name, lane=name)
    tasks.run()
    if refused:
        raise CredentialsError("\n".join(sorted(refused)))
    if problems:
        raise IdentityError("\n".join(sorted(problems)))
    got.targets.sort(key=lambda t: t.key)
    return got


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
        for key in keys:
            calendar = desired.calendars[key]
            inside = target.removeprefix(address_of(key, calendar) + ".")
            if inside != target and not _names_part(calendar, inside):
                raise PlanError(f"--target {target} matches nothing in the YAML: calendar "
                                f"{address_of(key, calendar)} has no {inside!r} (a "
                                "calendar's parts are 'members', 'events' and "
                                "'events.UID' for the uids its YAML lists)")
    return desired.model_copy(update={"calendars": {k: desired.calendars[k] for k in keys}})


def _names_part(calendar: Calendar, part: str) -> bool:
    """Whether ``part`` (an address below the calendar's) is one of its plan's addresses."""
    if part in ("members", "events"):
        return True
    uid = part.removeprefix("events.")
    return uid != part and uid in (calendar.events or {})


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
    # after --target has cut the plan: a rail counts only what this plan would remove
    plan.guard_rails = safety.check(plan, desired)
    return plan


def _make_plan(desired: Desired, providers: Mapping[str, Provider], parallelism: int,
               today: dt.date | None) -> Plan:
    planned: dict[str, _Planned] = {}
    lock = threading.Lock()

    def plan_target(target: _Target, live: LiveCalendar | None,
                    events: list[LiveEvent] | None) -> None:
        result = _Planned(None if events is None else len(events))
        try:
            result.changes = _target_changes(target, live, events,
                                             providers[target.calendar.provider], result.notes)
        except CalreconError as exc:  # raised in target order below, as if planned there
            result.error = exc
        with lock:
            planned[target.address] = result

    got = fetch(desired, providers, parallelism, today, on_read=plan_target)
    plan = Plan()
    for target in got.targets:
        result = planned[target.address]
        if result.error is not None:
            raise result.error
        plan.changes.extend(result.changes)
        plan.notes.extend(result.notes)
        if result.events is not None:
            plan.inventory[target.address] = {"events": result.events}
    managed = {t.live_id for t in got.targets if t.live_id}
    for name in sorted(got.listings):
        left = sum(1 for ref in got.listings[name] if ref.id not in managed)
        if left:
            plan.notes.append(f"{name}: {left} calendar(s) not in the YAML, left alone")
    plan.changes.sort(key=lambda c: (c.phase, c.address))
    return plan


@dataclass
class _Planned:
    """One target's share of the plan, computed as soon as its reads are in."""

    events: int | None  # how many live events were read; None: not read
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: CalreconError | None = None


def _target_changes(target: _Target, live: LiveCalendar | None,
                    events: list[LiveEvent] | None, provider: Provider,
                    notes: list[str]) -> list[Change]:
    """The calendar's change (if any), then its events' changes."""
    changes = []
    change = _calendar_change(target, live, provider)
    if change is not None and change.action is Action.DELETE and events is not None:
        first, last = target.window or (None, None)
        change = replace(change, fields=(*change.fields,
                                         FieldChange("events", len(events), None)))
        if events:
            notes.append(f"{target.address}: deleting the calendar deletes its "
                         f"{len(events)} live event(s) found between {first} and {last}")
    if change is not None:
        changes.append(change)
    if target.window is not None and target.calendar.state is State.PRESENT:
        changes.extend(_event_changes(target, live, events or [], provider, notes))
    return changes


def event_windows(events: Mapping[str, dict[str, dict[str, Any]]],
                  today: dt.date | None, desired: Desired | None = None) -> dict[str, Window]:
    """Per calendar key that manages events: the dates its live events are read over
    (:func:`_read_window`; without ``desired``, the span of the events alone)."""
    if desired is None:
        return {key: window(values.values(), today) for key, values in events.items()}
    return {key: _read_window(desired.calendars[key], values, today)
            for key, values in events.items()}


def _span(windows: Iterable[Window]) -> Window | None:
    spans = list(windows)
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


def _match(desired: Desired, provider: str, refs: list[LiveCalendarRef],
           prepared: tuple[Mapping[str, Window], Mapping[str, dict[str, dict[str, Any]]]]
           | None, driver: Provider) -> tuple[list[_Target], list[str]]:
    """The targets of one provider's calendars, and the identity problems found. With
    ``prepared`` (windows, canonical events by key) the targets are ready; without, their
    tasks make them ready (:func:`_prepared`)."""
    problems: list[str] = []
    targets: list[_Target] = []
    claimed: dict[str, str] = {}
    named: dict[str, list[LiveCalendarRef]] = {}
    for ref in refs:
        named.setdefault(ref.name, []).append(ref)
    for key in sorted(k for k, c in desired.calendars.items() if c.provider == provider):
        cal = desired.calendars[key]
        address = address_of(key, cal)
        live_id: str | None
        if cal.id is not None:
            # A pinned id need not be in the account's list (e.g. hidden from it): read it anyway.
            live_id = cal.id
        else:
            matches = named.get(cal.name, [])
            if len(matches) > 1:
                ids = ", ".join(r.id for r in matches)
                problems.append(
                    f"{address}: {len(matches)} live calendars are named {cal.name!r} ({ids}); "
                    "pin the intended one with 'id:'"
                )
                continue
            live_id = matches[0].id if matches else None
        if live_id is not None:
            other = claimed.get(live_id)
            if other is not None:
                problems.append(f"{address}: matches live calendar {live_id}, as {other} does")
                continue
            claimed[live_id] = address
        if prepared is None:
            targets.append(_Target(key, address, cal, live_id, {}, None, ready=False))
        else:
            windows, events = prepared
            targets.append(_Target(key, address, cal, live_id, events.get(key, {}),
                                   windows.get(key)))
    siblings = {live_id: address for live_id, address in claimed.items()}
    uids: dict[str, str] = {}
    if driver.capabilities.event_uid_scope == "provider":
        for target in targets:
            for uid in target.calendar.events or {}:
                if target.calendar.state is State.PRESENT:
                    uids[uid] = target.key
    targets = [replace(t, siblings=siblings,
                       moving=frozenset(u for u, k in uids.items() if k != t.key))
               for t in targets]
    return targets, problems


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
    kept = [0, 0, 0]  # cancelled occurrences, changed occurrences, events they belong to
    for uid, desired in target.events.items():  # the plan is sorted by address at the end
        live = by_uid.get(uid)
        wanted = provider.event_value(desired, live)
        moved_from = live.calendar if live is not None and live.calendar else ""
        fields = expand(wanted, removing=False) if live is None else diff(
            _settled(wanted), _settled(live.value))
        if moved_from:
            origin = target.siblings.get(moved_from, f"calendar {moved_from}")
            fields = (FieldChange("calendar", origin, target.address), *fields)
        if not fields:
            continue
        common: dict[str, Any] = {"address": f"{target.address}.events.{uid}",
                                  "provider": target.calendar.provider, "kind": "event",
                                  "phase": Phase.WRITE_EVENTS, "depends_on": depends_on}
        reason = (live_cal.blocked if live_cal else "") or provider.event_blocked(desired, live)
        if moved_from and moved_from not in target.siblings:
            reason = _foreign_uid(provider, uid, moved_from)
        if not reason and desired.get("skip") and not desired.get(
                "recurrence", live.value.get("recurrence") if live else ""):
            reason = ("skip needs a series, and this event does not repeat: the YAML gives no "
                      "recurrence and the live event has none")
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
            _count_kept(live.value, desired, kept)
            changes.append(Change(
                **common, action=Action.UPDATE, fields=fields, live_id=live.id,
                live={k: live.value.get(k) for k in wanted},
                requests=tuple(provider.update_event(calendar_id, live, desired, changed)),
            ))
    if kept[2]:
        parts = [f"{n} {what}" for n, what in ((kept[0], "cancelled"), (kept[1], "changed"))
                 if n]
        notes.append(f"{target.address}: the updates keep {' and '.join(parts)} "
                     f"occurrence(s) of {kept[2]} series made in the calendar (the YAML does "
                     "not list them: add skip to manage cancellations)")
    if target.calendar.prune and target.window is not None:
        first, last = target.window
        notes.append(f"{target.address}: prune looks for live events between {first} and "
                     f"{last}; events outside those dates are not seen")
    if target.window is not None and target.window[1] - target.window[0] > DECADE:
        first, last = target.window
        notes.append(f"{target.address}: its events span {first} .. {last} "
                     f"({(last - first).days // 365} years); "
                     + ("every part of that span is read, since it prunes" if
                        target.calendar.prune else "only the parts that hold them are read"))
    unmanaged = [e for uid, e in sorted(by_uid.items())
                 if uid not in target.events and uid not in target.moving]
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


def _foreign_uid(provider: Provider, uid: str, calendar_id: str) -> str:
    """Why an event whose uid lives in a calendar the YAML does not manage is not created."""
    title = getattr(provider, "calendar_title", lambda _id: "")(calendar_id)
    named = f"calendar {title!r} ({calendar_id})" if title else f"calendar {calendar_id}"
    return (f"uid {uid!r} already belongs to an event in {named}, which this YAML does not "
            f"manage: {provider.name} uids are account-wide, so creating it would overwrite "
            "or duplicate that event (providers.md O2); choose another key, or manage that "
            "calendar")


def _count_kept(live: dict[str, Any], desired: dict[str, Any], kept: list[int]) -> None:
    """Add to ``kept`` the occurrences an update keeps that the YAML does not manage."""
    cancelled = 0 if "skip" in desired else len(live.get("skip") or [])
    changed = int(live.get("exceptions") or 0)
    if cancelled or changed:
        kept[0] += cancelled
        kept[1] += changed
        kept[2] += 1


TEXT_FIELDS = ("summary", "description", "location")


def _settled(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as it is compared: line breaks as LF (iCalendar has one escape for a line
    break, RFC 5545 §3.3.11, so CRLF and CR come back from ONLYOFFICE as LF), and the rule's
    UNTIL as the last occurrence it allows (see :func:`~reconciler.recurrence.settled_until`).
    For the comparison only: what is sent is the YAML's text."""
    texts = {k: _lf(value[k]) for k in TEXT_FIELDS
             if isinstance(value.get(k), str) and "\r" in value[k]}
    rule = value.get("recurrence")
    if not texts and (not rule or "UNTIL=" not in rule):
        return value
    value = {**value, **texts}
    if rule and "UNTIL=" in rule:
        zone = value.get("timezone") or "UTC"
        value["recurrence"] = settled_until(rule, value["start"], zone)
    return value


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
