"""Cronofy raw shapes <-> canonical values. Pure functions, no HTTP.

Choices where providers.md §3 says NOT CONFIRMED, shared with the emulator:

- an all-day event's ``end`` is exclusive (the day after the last), as in iCalendar;
- calendars have only a name: the API cannot rename, describe, share or delete them;
- read events carry no reminders and no recurrence rules, so calrecon cannot manage either;
- timed events are sent as ``{time: <UTC instant>, tzid}`` and read back as UTC instants
  (with ``tzid=Etc/UTC``), so they are compared as instants, like ONLYOFFICE's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reconciler.errors import ResponseError
from reconciler.events import end_instant, end_utc_text, start_instant, start_utc_text, utc_text
from reconciler.providers.base import Capabilities

CAPABILITIES = Capabilities(
    roles=frozenset(),
    principal_types=frozenset(),
    calendar_fields=frozenset({"name"}),
    can_rename=False,
    can_delete_calendars=False,
    event_fields=frozenset({"summary", "description", "location", "start", "end", "timezone",
                            "event_uid"}),
    max_summary_length=1024,
    max_event_description_length=4096,
    notes={
        "name": " (the API has no calendar update; pin the id and keep the live name)",
        "description": " (Cronofy calendars have only a name, set when they are created)",
        "public": " (Cronofy calendars have only a name, set when they are created)",
        "members": " (the Cronofy API cannot share calendars)",
        "state": " (the Cronofy API has no calendar delete)",
        "event.alert": " (Cronofy read events do not return reminders)",
        "event.recurrence": " (recurrence is an alpha Cronofy API and read events do not "
                            "return rules)",
        "event.sharing": " (the Cronofy API cannot share events)",
    },
)


def calendar_blocked(raw: dict[str, Any]) -> str:
    if raw.get("calendar_deleted"):
        return "the calendar was deleted in Cronofy (calendar_deleted is true)"
    if raw.get("calendar_readonly"):
        return "the calendar is read-only (calendar_readonly is true)"
    return ""


def project_event(desired: dict[str, Any]) -> dict[str, Any]:
    """A canonical event as Cronofy reads it back: timed times as UTC instants, no zone, no
    recurrence (always "" in a desired value: Cronofy events here never recur)."""
    value = desired.copy()  # copy and pop: a fifth of a comprehension's cost, per event
    value.pop("timezone", None)
    value.pop("recurrence", None)
    if not desired["all_day"]:
        value["start"] = start_utc_text(desired)
        value["end"] = end_utc_text(desired)
    return value


def event_to_canonical(raw: Any, address: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("event_uid"), str):
        raise ResponseError(f"{address}: cronofy event has no event_uid: {raw!r:.200}")
    value: dict[str, Any] = {"summary": raw.get("summary") or ""}
    start, end = raw.get("start"), raw.get("end")
    if isinstance(start, dict):  # localized times: {time, tzid}
        start, end = start.get("time"), (end or {}).get("time")
    if not isinstance(start, str) or not isinstance(end, str):
        raise ResponseError(f"{address}: cronofy event times are malformed: {raw!r:.200}")
    try:
        if len(start) == 10:  # a date: all-day, end exclusive
            first, after = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            value.update(all_day=True, start=first.isoformat(),
                         end=max(first, after - dt.timedelta(days=1)).isoformat())
        else:
            value.update(all_day=False, start=_utc(start), end=_utc(end))
    except ValueError:
        raise ResponseError(f"{address}: cronofy event times are malformed: {start!r}") from None
    value["description"] = raw.get("description") or ""
    location = raw.get("location")
    value["location"] = (location or {}).get("description", "") if isinstance(location, dict) \
        else ""
    if not raw.get("event_id"):
        value["event_uid"] = raw["event_uid"]
    return value


def event_body(uid: str, merged: dict[str, Any]) -> dict[str, Any]:
    """An upsert (managed: ``event_id``) or an external edit (``event_uid`` only: sending
    ``event_id`` too would create a new managed event instead, providers.md §3.6.4)."""
    body: dict[str, Any] = {}
    if merged.get("event_uid"):
        body["event_uid"] = merged["event_uid"]
    else:
        body["event_id"] = uid
    body["summary"] = merged["summary"]
    body["description"] = merged.get("description", "")
    if merged["all_day"]:
        last = dt.date.fromisoformat(merged["end"])
        body["start"] = merged["start"]
        body["end"] = (last + dt.timedelta(days=1)).isoformat()
    else:
        zone = merged["timezone"]
        body["start"] = {"time": utc_text(start_instant(merged)), "tzid": zone}
        body["end"] = {"time": utc_text(end_instant(merged)), "tzid": zone}
    # C1: what an upsert does with a field left out is not documented, so a field calrecon
    # knows (managed, or read live) is always sent, empty to clear it.
    if "location" in merged:
        body["location"] = {"description": merged["location"]}
    return body


def error_detail(body: Any) -> str | None:
    """``field: description (key); ...`` from a 422 ``{errors: {field: [{key, description}]}}``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return None
    parts = []
    for field, items in errors.items():
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                parts.append(f"{field}: {item.get('description', '')} ({item.get('key', '')})")
    return "; ".join(parts) or None


def _utc(text: str) -> str:
    """Canonical UTC text; answers read with tzid=Etc/UTC are in that form already."""
    if len(text) == 20 and text[10] == "T" and text[19] == "Z" and text[4] == "-":
        return text
    return utc_text(_parse(text))


def _parse(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
