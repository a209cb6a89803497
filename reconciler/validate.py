"""Checks of the merged desired state that depend on more than one document.

Pure: takes the desired state and where it was written, returns located problems. Checks that
each calendar names a defined provider, asks only for what that provider can express (roles,
principal types, fields, length limits), lists each member once, can be identified without
ambiguity (no two calendars pinning the same id, or sharing a name without a pinned id), and
that each event is well formed (end not before start, a zone for timed events).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from reconciler.errors import Problem
from reconciler.events import to_zone
from reconciler.model import GUID, Calendar, Desired, Event, Member, State
from reconciler.providers.base import Capabilities
from reconciler.recurrence import is_occurrence
from reconciler.sources import Sources, YamlPath

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal",
                       "Etc/Zulu", "Zulu", "GMT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0",
                       "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0", "Etc/Greenwich", "Greenwich"})
Report = Callable[[YamlPath, str], None]


def capabilities_for(provider_type: str) -> Capabilities:
    """The declared capabilities of a provider type (pure import, no HTTP)."""
    if provider_type == "lineworks":
        from reconciler.providers.lineworks.mapping import CAPABILITIES

        return CAPABILITIES
    if provider_type == "cronofy":
        from reconciler.providers.cronofy.mapping import CAPABILITIES as CRONOFY_CAPABILITIES

        return CRONOFY_CAPABILITIES
    if provider_type == "onlyoffice":
        from reconciler.providers.onlyoffice.mapping import CAPABILITIES as OO_CAPABILITIES

        return OO_CAPABILITIES
    raise KeyError(provider_type)


def check_desired(desired: Desired, sources: Sources) -> list[Problem]:
    problems: list[Problem] = []
    seen_ids: dict[tuple[str, str], str] = {}
    seen_names: dict[tuple[str, str], str] = {}
    seen_uids: dict[tuple[str, str], str] = {}
    for key, cal in desired.calendars.items():
        base: YamlPath = ("calendars", key)

        def problem(path: YamlPath, message: str, base: YamlPath = base) -> None:
            problems.append(sources.problem(base + path, message))

        provider = desired.providers.get(cal.provider)
        if provider is None:
            known = ", ".join(sorted(desired.providers)) or "none defined"
            problem(("provider",), f"unknown provider '{cal.provider}' (known: {known})")
            continue
        caps = capabilities_for(provider.type)
        _check_calendar(cal, provider.type, caps, problem, sources, base)
        if caps.event_uid_scope == "provider" and cal.state is State.PRESENT:
            for uid in cal.events or {}:
                other = seen_uids.setdefault((cal.provider, uid), key)
                if other != key:
                    first = sources.locate(("calendars", other, "events", uid))
                    problem(("events", uid),
                            f"event uid '{uid}' is also used in calendar '{other}' (at "
                            f"{first}); {provider.type} event uids are unique across the "
                            "account, so one of them must change")
        if cal.id is not None:
            id_key = (cal.provider, cal.id)
            if id_key in seen_ids:
                problem(("id",), f"calendar id '{cal.id}' is also pinned by '{seen_ids[id_key]}'")
            seen_ids[id_key] = key
        else:
            name_key = (cal.provider, cal.name)
            if name_key in seen_names:
                problem(
                    ("name",),
                    f"calendar '{seen_names[name_key]}' has the same name and neither pins an "
                    "id: both would match the same live calendar",
                )
            seen_names[name_key] = key
    return problems


def _check_calendar(cal: Calendar, kind: str, caps: Capabilities, problem: Report,
                    sources: Sources, base: YamlPath) -> None:
    _limit(problem, ("name",), "name", cal.name, caps.max_name_length, kind)
    if caps.trims_names and cal.name.strip() != cal.name:
        # the stored name would differ from the YAML's, never match, and be created again
        problem(("name",), f"{kind} trims white space around a name, so {cal.name!r} would "
                "never match the calendar it creates: remove the spaces")
    _limit(problem, ("description",), "description", cal.description,
           caps.max_description_length, kind)
    for field_name in ("description", "public", "members"):
        if getattr(cal, field_name) is not None and field_name not in caps.calendar_fields:
            problem((field_name,), f"{kind} cannot manage '{field_name}'"
                    f"{caps.notes.get(field_name, '')}")
    if cal.state is State.ABSENT and not caps.can_delete_calendars:
        problem(("state",), f"{kind} cannot delete calendars{caps.notes.get('state', '')}")
    _check_members(cal.members or [], "members", kind, caps, problem, sources, base)
    if cal.events is None:
        if cal.prune:
            problem(("prune",), "prune needs an 'events' mapping (it may be empty: events: {})")
        return
    if not caps.event_fields:
        problem(("events",), f"{kind} cannot manage events{caps.notes.get('events', '')}")
        return
    for uid, event in cal.events.items():
        where: YamlPath = ("events", uid)

        def event_problem(path: YamlPath, message: str, where: YamlPath = where) -> None:
            problem(where + path, message)

        _check_event(event, kind, caps, event_problem, sources, base + where)


def _check_event(event: Event, kind: str, caps: Capabilities, problem: Report,
                 sources: Sources, base: YamlPath) -> None:
    for field_name in ("description", "location", "alert", "sharing", "recurrence", "skip",
                       "event_uid"):
        if getattr(event, field_name) is not None and field_name not in caps.event_fields:
            problem((field_name,), f"{kind} events cannot carry '{field_name}'"
                    f"{caps.notes.get('event.' + field_name, '')}")
    _limit(problem, ("summary",), "summary", event.summary, caps.max_summary_length, kind)
    _limit(problem, ("description",), "description", event.description,
           caps.max_event_description_length, kind)
    _limit(problem, ("location",), "location", event.location, caps.max_location_length, kind)
    _check_members(event.sharing or [], "sharing", kind, caps, problem, sources, base)
    start, end = event.start, event.end
    _check_skip(event, problem)
    if event.all_day:
        if event.timezone is not None:
            problem(("timezone",), "an all-day event takes no timezone (its dates are dates)")
        if end is not None and isinstance(end, dt.datetime):
            problem(("end",), "start is a date but end is a date-time: use two dates for an "
                    "all-day event, or two date-times for a timed one")
        elif end is not None and end < start:
            problem(("end",), f"end {end} is before start {start}")
        return
    assert isinstance(start, dt.datetime)
    if event.timezone is None:
        problem(("start",), "a timed event needs 'timezone' (an IANA name, e.g. Europe/Berlin)")
        return
    if end is None:
        problem(("start",), "a timed event needs 'end'")
        return
    if not isinstance(end, dt.datetime):
        problem(("end",), "start is a date-time but end is a date: use two date-times")
        return
    if event.recurrence and not caps.utc_series and event.timezone in UTC_NAMES:
        problem(("timezone",), caps.notes.get("event.utc_series", f"{kind} cannot keep a "
                                              "series in UTC"))
    zone = ZoneInfo(event.timezone)
    for name, value in (("start", start), ("end", end)):
        gap = _in_gap(value, zone)
        if gap:
            problem((name,), gap)
    for i, skip in enumerate(event.skip or []):
        gap = _in_gap(skip, zone) if isinstance(skip, dt.datetime) else ""
        if gap:
            problem(("skip", i), gap)
    if to_zone(end, zone) < to_zone(start, zone):
        problem(("end",), f"end {end.isoformat()} is before start {start.isoformat()}")


def _in_gap(value: dt.datetime, zone: ZoneInfo) -> str:
    """Why a naive wall time does not exist in ``zone`` (a DST gap), "" when it does. A wall
    time that occurs twice (a fold) is the first of the two, as RFC 5545 §3.3.5 says."""
    if value.tzinfo is not None:
        return ""  # an instant: it exists, and is converted into the zone
    there = value.replace(tzinfo=zone)
    back = there.astimezone(dt.timezone.utc).astimezone(zone).replace(tzinfo=None)
    if back == value:
        return ""
    return (f"{value.isoformat()} does not exist in {zone.key}: the clocks skip it "
            f"(daylight saving time); use {back.isoformat()} or a time outside the gap")


def _check_skip(event: Event, problem: Report) -> None:
    """``skip`` names occurrences of the event's own series, in the event's kind of time."""
    if event.skip is None:
        return
    if event.recurrence == "":
        problem(("skip",), "skip needs a recurring event: this one has recurrence \"\"")
        return
    for i, skip in enumerate(event.skip):
        if event.all_day and isinstance(skip, dt.datetime):
            problem(("skip", i), "an all-day series skips dates, not date-times")
            return
        if not event.recurrence:
            continue  # the live rule decides; validate cannot read it
        when: dt.date | dt.datetime = skip
        start = event.start
        if isinstance(start, dt.datetime) and event.timezone:
            zone = ZoneInfo(event.timezone)
            start = to_zone(start, zone).replace(tzinfo=None)
            when = (to_zone(skip, zone).replace(tzinfo=None) if isinstance(skip, dt.datetime)
                    else dt.datetime.combine(skip, start.time()))
        if not is_occurrence(event.recurrence, start, when):
            problem(("skip", i), f"{skip.isoformat()} is not an occurrence of the series "
                    f"({event.recurrence} from {event.start.isoformat()})")


def _check_members(members: list[Member], field_name: str, kind: str, caps: Capabilities,
                   problem: Report, sources: Sources, base: YamlPath) -> None:
    principals: dict[str, int] = {}
    for i, member in enumerate(members):
        if member.principal_type not in caps.principal_types:
            allowed = ", ".join(sorted(t.value for t in caps.principal_types))
            problem((field_name, i, member.principal_type.value),
                    f"{kind} cannot share with a {member.principal_type.value} "
                    f"(it can with: {allowed})")
        if caps.principal_ids == "guid" and not GUID.match(member.principal_id):
            problem((field_name, i, member.principal_type.value),
                    f"{kind} names users and groups by their GUID (e.g. "
                    f"3f2504e0-4f89-41d3-9a0c-0305e82c3301), not {member.principal_id!r}")
        if member.role not in caps.roles:
            allowed = ", ".join(r.value for r in caps.roles_in_order())
            problem((field_name, i, "role"),
                    f"{kind} cannot express role '{member.role.value}' (it can: {allowed})")
        if member.principal in principals:
            first = sources.locate(base + (field_name, principals[member.principal]))
            problem((field_name, i), f"member '{member.principal}' is listed twice "
                    f"(first at {first})")
        else:
            principals[member.principal] = i


def _limit(problem: Report, path: YamlPath, label: str, value: str | None, limit: int | None,
           kind: str) -> None:
    if value is not None and limit is not None and len(value) > limit:
        problem(path, f"{label} is {len(value)} characters; {kind} allows at most {limit}")
