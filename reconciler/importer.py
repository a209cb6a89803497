"""``calrecon import``: YAML for what already exists, so that the next plan is empty.

Contract of :func:`import_calendars`: reads (never writes) one provider's calendars, or the
ones named by id or name, and with a date window their events; returns the ``calendars``
mapping of a desired-state document in canonical form: ids pinned (so a later rename is
safe), only fields the provider can manage, members and sharing in the YAML vocabulary,
events keyed by their uid. What cannot be expressed is left out and said in the notes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from reconciler.errors import PlanError
from reconciler.fmt import format_text
from reconciler.model import Alert, Desired
from reconciler.providers.base import Capabilities, LiveEvent, Provider

_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ALERTS = {a.value for a in Alert}


@dataclass
class Imported:
    calendars: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_yaml(self, provider: str) -> str:
        header = (f"# Imported by 'calrecon import --provider {provider}'. Review it, then run\n"
                  "# 'calrecon plan': it should say \"No changes.\".\n")
        text = yaml.safe_dump({"calendars": self.calendars}, sort_keys=False,
                              allow_unicode=True, width=4096)
        formatted, _ = format_text(header + text)
        return formatted


def import_calendars(name: str, provider: Provider, selection: list[str],
                     window: tuple[dt.date, dt.date] | None,
                     managed: Desired | None = None) -> Imported:
    """``managed``: the YAML already there; its calendars are skipped and its keys avoided."""
    result = Imported()
    taken_ids = {c.id for c in managed.calendars.values() if c.provider == name and c.id} \
        if managed else set()
    taken_names = {c.name for c in managed.calendars.values() if c.provider == name
                   and not c.id} if managed else set()
    refs = provider.list_calendars(window)
    chosen = refs if not selection else [r for r in refs if r.id in selection
                                         or r.name in selection]
    missing = [s for s in selection if not any(s in (r.id, r.name) for r in refs)]
    if missing:
        raise PlanError(f"{name}: no calendar with id or name {', '.join(map(repr, missing))}")
    caps = provider.capabilities
    keys: set[str] = set(managed.calendars) if managed else set()
    for ref in chosen:
        if ref.id in taken_ids or ref.name in taken_names:
            result.notes.append(f"{name}: calendar {ref.name!r} ({ref.id}) is in the YAML "
                                "already; skipped")
            continue
        key = _unique(_slug(ref.name) or "calendar", keys)
        address = f"{name}.{key}"
        live = provider.read_calendar(ref.id, address)
        if live is None:
            continue
        value = live.value
        entry: dict[str, Any] = {"provider": name, "id": live.id, "name": value["name"]}
        if value.get("description") and "description" in caps.calendar_fields:
            entry["description"] = value["description"]
        if "public" in value and "public" in caps.calendar_fields:
            entry["public"] = value["public"]
        if "members" in caps.calendar_fields and value.get("members"):
            entry["members"] = _members(value["members"])
        if window is not None and caps.event_fields:
            events = provider.read_events(live, address, window, {}, whole=True)
            entry["events"] = _events(events, caps, address, result.notes)
        result.calendars[key] = entry
    return result


def _events(events: list[LiveEvent], caps: Capabilities, address: str,
            notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for event in sorted(events, key=lambda e: e.uid):
        if not _UID.match(event.uid):
            notes.append(f"{address}: event {event.uid!r} skipped: its uid cannot be a YAML key")
            continue
        if event.value.get("event_uid"):
            continue  # an external Cronofy event: not calrecon's; reference it by hand
        v = event.value
        item: dict[str, Any] = {"summary": v["summary"]}
        for key in ("description", "location"):
            if v.get(key) and key in caps.event_fields:
                item[key] = v[key]
        if v["all_day"]:
            item["start"] = dt.date.fromisoformat(v["start"])
            if v["end"] != v["start"]:
                item["end"] = dt.date.fromisoformat(v["end"])
        else:
            zone = v.get("timezone", "UTC")  # providers that read instants give UTC
            item["start"] = _wall(v["start"], zone)
            item["end"] = _wall(v["end"], zone)
            item["timezone"] = zone
        if v.get("recurrence") and "recurrence" in caps.event_fields:
            item["recurrence"] = v["recurrence"]
            if v.get("skip") and "skip" in caps.event_fields:
                item["skip"] = [_skip(text, item["start"]) for text in v["skip"]]
        if v.get("alert") in _ALERTS and "alert" in caps.event_fields:
            item["alert"] = v["alert"]
        if v.get("sharing") and "sharing" in caps.event_fields:
            item["sharing"] = _members(v["sharing"])
        out[event.uid] = item
    return out


def _members(members: dict[str, str]) -> list[dict[str, str]]:
    result = []
    for principal in sorted(members):
        kind, _, ident = principal.partition(":")
        result.append({kind: ident, "role": members[principal]})
    return result


def _wall(text: str, zone: str) -> dt.datetime:
    """Canonical wall time ("...T10:00:00") as a naive datetime; a UTC instant ("...Z", as
    providers that read instants give) as the wall time in ``zone``."""
    if text.endswith("Z"):
        instant = dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.timezone.utc)
        return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return dt.datetime.fromisoformat(text)


def _skip(text: str, start: dt.date) -> dt.date:
    """A cancelled occurrence as the YAML writes it: its date when it is at the series'
    time of day (the usual case), else its wall date-time."""
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    moment = dt.datetime.fromisoformat(text)
    if isinstance(start, dt.datetime) and moment.time() == start.time():
        return moment.date()
    return moment


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def _unique(key: str, taken: set[str]) -> str:
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}-{n}", n + 1
    taken.add(candidate)
    return candidate
