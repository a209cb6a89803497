"""ONLYOFFICE raw shapes <-> canonical values. Pure functions, no HTTP.

- CalendarWrapper: ``objectId`` (int as text for own calendars), ``title``, ``description``,
  ``permissions.data.items`` (the owner first), ``isEditable``, colours, ``timeZone``,
  ``defaultAlert`` (providers.md §1.6).
- EventWrapper: one item *per occurrence*, ``uniqueId`` = ``{uid}@{domain}``, ``start`` and
  ``end`` as ApiDateTime, ``allDay`` (end stored inclusively), ``repeatRule``, ``alert.type``.

Events are compared as ONLYOFFICE reads them back: an EventWrapper carries no time zone, so a
timed event's start and end are compared as UTC instants; all-day events as dates.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.errors import ResponseError
from reconciler.events import day_skip, end_utc_text, local_iso, start_utc_text, utc_text
from reconciler.model import PrincipalType, Role, normalize_principal_id
from reconciler.providers.base import Capabilities
from reconciler.providers.onlyoffice.ics import read_series
from reconciler.recurrence import normalize_rrule

CAPABILITIES = Capabilities(
    listing_uses_window=True,
    roles=frozenset({Role.MANAGE, Role.READ}),
    principal_types=frozenset({PrincipalType.USER, PrincipalType.GROUP}),
    calendar_fields=frozenset({"name", "description", "members"}),
    event_fields=frozenset({"summary", "description", "start", "end", "timezone", "recurrence",
                            "skip", "alert", "sharing"}),
    principal_ids="guid",
    utc_series=False,
    trims_names=True,  # POST and PUT calendar trim the name (providers.md, POST calendar)
    # POST icsevent with eventUid upserts by UID across the whole portal: a uid used in two
    # calendars would move one event back and forth between them.
    event_uid_scope="provider",
    notes={
        "public": " (ONLYOFFICE shares with users and groups: list them under members)",
        "event.location": " (the ONLYOFFICE event API does not return a location)",
        "event.utc_series": "ONLYOFFICE moves a series that starts in UTC into its calendar's "
                            "zone (providers.md §1.9.7), so it would never match the YAML: "
                            "give the series a named zone (Atlantic/Reykjavik has no DST)",
    },
)

_ID_TYPES = (str, int)  # an object id comes as text or as a number
ROLE_TO_ACTION = {Role.MANAGE.value: "full_access", Role.READ.value: "read"}
ACTION_TO_ROLE = {v: k for k, v in ROLE_TO_ACTION.items()}
ALERT_TO_TYPE = {"none": 0, "5m": 1, "15m": 2, "30m": 3, "1h": 4, "2h": 5, "1d": 6}
TYPE_TO_ALERT = {v: k for k, v in ALERT_TO_TYPE.items()}
DEFAULT_ALERT = -1  # "Default": the calendar's own alert


def is_own_calendar(raw: Any) -> bool:
    """Internal calendars have integer ids; shared-events, birthdays and iCal streams don't."""
    return isinstance(raw, dict) and str(raw.get("objectId", "")).isdigit()


def sharing_to_canonical(permissions: Any, address: str) -> dict[str, str]:
    """``permissions.data.items`` minus the owner -> ``{principal: role}``."""
    data = permissions.get("data") if isinstance(permissions, dict) else None
    items = data.get("items") if isinstance(data, dict) else []
    result: dict[str, str] = {}
    for item in items or []:
        action = (item.get("selectedAction") or {}).get("id") if isinstance(item, dict) else None
        if action is None or not isinstance(item.get("id"), str):
            raise ResponseError(f"{address}: onlyoffice sharing item is malformed: {item!r:.200}")
        if action == "owner":  # the owner's own entry is not a member (providers.md §1.7)
            continue
        kind = "group" if item.get("isGroup") else "user"
        result[f"{kind}:{normalize_principal_id(item['id'])}"] = ACTION_TO_ROLE.get(action, action)
    return result


def sharing_options(members: dict[str, str]) -> list[dict[str, Any]]:
    """Canonical members -> ``sharingOptions``, sorted so that plans are stable."""
    options = []
    for principal in sorted(members):
        kind, _, ident = principal.partition(":")
        options.append({"actionId": ROLE_TO_ACTION.get(members[principal], members[principal]),
                        "itemId": ident, "isGroup": kind == "group"})
    return options


def calendar_to_canonical(raw: Any, address: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("title"), str):
        raise ResponseError(f"{address}: onlyoffice calendar has no title: {raw!r:.200}")
    return {
        "name": raw["title"],
        "description": raw.get("description") or "",
        "members": sharing_to_canonical(raw.get("permissions"), address),
    }


def calendar_body(desired: dict[str, Any], live_raw: dict[str, Any] | None,
                  live_value: dict[str, Any] | None) -> dict[str, Any]:
    """The body of POST (``live_raw`` None) or PUT ``{calendarId}``.

    PUT is a full replace (providers.md §1.9.2): a field left out is reset, and a missing
    ``sharingOptions`` clears all sharing. So the body carries every field, taking what the
    YAML does not manage from the live calendar.
    """
    live_value = live_value or {}
    body: dict[str, Any] = {
        "name": desired["name"],
        "description": desired.get("description", live_value.get("description", "")),
        "sharingOptions": sharing_options(desired.get("members", live_value.get("members", {}))),
    }
    if live_raw is not None:
        body["textColor"] = live_raw.get("textColor")
        body["backgroundColor"] = live_raw.get("backgroundColor")
        body["timeZone"] = (live_raw.get("timeZone") or {}).get("id")
        body["alertType"] = (live_raw.get("defaultAlert") or {}).get("type", DEFAULT_ALERT)
        body["hideEvents"] = bool(live_raw.get("isHidden", False))
    return body


# -- events ---------------------------------------------------------------------------------
def is_recurring(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """Whether the event repeats once updated: the YAML's rule, else the live one."""
    if "recurrence" in desired:
        return bool(desired["recurrence"])
    return bool(live and live.get("recurrence"))


def project_event(desired: dict[str, Any], live: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """A canonical event as ONLYOFFICE reads it back: timed times as UTC instants. A series
    keeps its zone (read from the event's stored ICS), since its occurrences depend on it; a
    single event's zone cannot be read back, so it is not compared."""
    value = desired.copy()  # copy and pop: a fifth of a comprehension's cost, per event
    if not is_recurring(desired, live):
        value.pop("timezone", None)
    if not desired["all_day"]:
        value["start"] = start_utc_text(desired)
        value["end"] = end_utc_text(desired)
    return value


def parse_repeat_rule(text: str) -> tuple[str, list[str]]:
    """``repeatRule`` as the server writes it (O1: lower case, ``;exdates=...``) -> the
    canonical RRULE ("" when none) and the exception dates as written (ValueError when it
    cannot be read)."""
    parts: list[str] = []
    exdates: list[str] = []
    for part in text.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "exdates":
            exdates.extend(v.strip() for v in value.split(",") if v.strip())
        elif part.strip():
            parts.append(part.strip())
    return (normalize_rrule(";".join(parts)) if parts else ""), exdates


def exdate_text(item: str, value: dict[str, Any]) -> str:
    """One exception date as the server writes it (``20270308T080000Z``, or ``20270308``
    for an all-day series) -> canonical skip text, in the series' zone."""
    digits = item.strip()
    if len(digits) == 8 or value["all_day"]:
        day = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        return day_skip(day, value)
    moment = dt.datetime.strptime(digits.rstrip("Z"), "%Y%m%dT%H%M%S")
    moment = moment.replace(tzinfo=dt.timezone.utc)
    return local_iso(moment.astimezone(ZoneInfo(value["timezone"])))


def events_to_canonical(raws: Any, address: str) -> dict[str, tuple[str, dict[str, Any], Any]]:
    """Occurrence lists -> ``{uid: (objectId, value, raw)}``, one entry per event.

    A recurring event comes back once per occurrence; the earliest occurrence stands for the
    series until :func:`series_value` replaces its times with the series' own.
    """
    earliest: dict[str, dict[str, Any]] = {}
    for raw in raws or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("objectId"), _ID_TYPES):
            raise ResponseError(f"{address}: onlyoffice event is malformed: {raw!r:.200}")
        key = str(raw["objectId"])
        if key not in earliest or _when(raw["start"], address) < _when(earliest[key]["start"],
                                                                       address):
            earliest[key] = raw
    result = {}
    for object_id, raw in earliest.items():
        uid = str(raw.get("uniqueId") or "").split("@", 1)[0]
        result[uid] = (object_id, event_to_canonical(raw, address), raw)
    return result


def event_to_canonical(raw: dict[str, Any], address: str) -> dict[str, Any]:
    start_text, end_text = raw.get("start"), raw.get("end")
    value: dict[str, Any] = {"summary": raw.get("title") or "", "all_day": bool(raw.get("allDay"))}
    if value["all_day"]:
        # All-day events come back as midnight UTC, the end stored inclusively (§1.9.7).
        start, end = _when(start_text, address), _when(end_text, address)
        value["start"] = start.date().isoformat()
        value["end"] = max(end.date(), start.date()).isoformat()
    else:
        value["start"], value["end"] = _utc_checked(start_text, address), \
            _utc_checked(end_text, address)
    try:
        value["recurrence"], exdates = parse_repeat_rule(str(raw.get("repeatRule") or ""))
    except ValueError as exc:
        raise ResponseError(f"{address}: onlyoffice repeatRule cannot be read ({exc}): "
                            f"{raw.get('repeatRule')!r:.200}") from None
    value["exdates"] = exdates  # made skip texts by series_value, which knows the zone
    value["description"] = raw.get("description") or ""
    alert = (raw.get("alert") or {}).get("type", DEFAULT_ALERT)
    value["alert"] = TYPE_TO_ALERT.get(alert, "default" if alert == DEFAULT_ALERT else str(alert))
    value["sharing"] = sharing_to_canonical(raw.get("permissions"), address)
    return value


def series_value(value: dict[str, Any], history: Any, zone: str, address: str
                 ) -> dict[str, Any]:
    """A live series' value with its own start, end and zone, from the ICS the server keeps
    (``events/{id}/historybyid``, ``mergedIcs``): the occurrences in a read window cannot say
    where a series starts or in which zone it repeats. ``zone`` (the calendar's) stands in
    when the ICS has no TZID. The exception dates of ``repeatRule`` become ``skip``."""
    value = dict(value)
    exdates = value.pop("exdates", [])
    ics = history.get("mergedIcs") or history.get("ics") if isinstance(history, dict) else None
    if isinstance(ics, str) and ics.strip():
        try:
            series = read_series(ics, zone)
        except ValueError as exc:
            raise ResponseError(f"{address}: onlyoffice event history cannot be read "
                                f"({exc})") from None
        if series is not None:
            value.update(series)
    if not value["all_day"]:
        value.setdefault("timezone", zone)
    try:
        value["skip"] = sorted({exdate_text(item, value) for item in exdates})
    except ValueError:
        raise ResponseError(f"{address}: onlyoffice exdates cannot be read: "
                            f"{exdates!r:.200}") from None
    return value


def single_value(value: dict[str, Any]) -> dict[str, Any]:
    """A live event that does not repeat: nothing to add but an empty ``skip``."""
    value = dict(value)
    value.pop("exdates", None)
    value["skip"] = []
    return value


def event_body(calendar_id: str, uid: str, ics: str, merged: dict[str, Any],
               object_id: str | None) -> dict[str, Any]:
    """POST icsevent (``object_id`` None: upsert by UID) or PUT icsevent (full replace)."""
    if object_id is None:  # POST takes an int; a placeholder stays text until apply
        target: Any = int(calendar_id) if calendar_id.isdigit() else calendar_id
    else:  # PUT takes text; the event's own calendar keeps it in place
        target = calendar_id
    body: dict[str, Any] = {
        "calendarId": target,
        "ics": ics,
        "sharingOptions": sharing_options(merged.get("sharing", {})),
    }
    # O5: an omitted alertType is Never, not the calendar's default: always send one.
    body["alertType"] = ALERT_TO_TYPE.get(merged.get("alert", ""), DEFAULT_ALERT)
    if object_id is None:
        body["eventUid"] = uid
    else:
        body["eventId"] = int(object_id) if object_id.isdigit() else object_id
    return body


def _when(value: Any, address: str) -> dt.datetime:
    """Parse an ApiDateTime (``yyyy-MM-ddTHH:mm:ss.fffffffK``) into an aware UTC date-time."""
    parsed = _api_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise _date_error(value, address)
    return parsed


def _utc_checked(value: Any, address: str) -> str:
    """:func:`utc_text` of an ApiDateTime, checked as :func:`_when` checks it (one cached
    call per event time: this runs for every live event of a plan)."""
    text = _utc_text(value) if isinstance(value, str) else None
    if text is None:
        raise _date_error(value, address)
    return text


def _date_error(value: Any, address: str) -> ResponseError:
    if not isinstance(value, str):
        return ResponseError(f"{address}: onlyoffice date is missing or not text: {value!r}")
    return ResponseError(f"{address}: onlyoffice date is malformed: {value!r}")


@functools.lru_cache(maxsize=1 << 16)
def _utc_text(value: str) -> str | None:
    """:func:`utc_text` of an ApiDateTime, None when it is malformed; cached like
    :func:`_api_time`."""
    parsed = _api_time(value)
    return None if parsed is None else utc_text(parsed)


@functools.lru_cache(maxsize=1 << 16)
def _api_time(value: str) -> dt.datetime | None:
    """Cached: an occurrence list repeats the same times for every event of a series."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, _, tail = text.partition(".")
    if tail:  # .NET writes 7 fractional digits; Python reads at most 6
        digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]
        text = f"{head}.{digits[:6]}{tail[len(digits):]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)
