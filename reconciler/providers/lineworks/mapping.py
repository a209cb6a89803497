"""LINE WORKS raw shapes <-> canonical values. Pure functions, no HTTP.

Raw calendar (``GET``/``PATCH /calendars/{id}``)::

    {"calendarId", "calendarName", "description", "isPublic", "calendarEmail", "type",
     "members": [{"id", "type": USER|GROUP|ORGUNIT, "role": CALENDAR_EVENT_READ_WRITE|...}]}

Canonical calendar: see :mod:`reconciler.providers.base`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.prop import vDuration

from reconciler.errors import ResponseError
from reconciler.events import day_skip, local_iso, merged_skips, to_zone
from reconciler.model import PrincipalType, Role, normalize_principal_id
from reconciler.providers.base import CALENDAR_FIELDS, Capabilities
from reconciler.recurrence import normalize_rrule
from reconciler.timezones import iana_zone

CAPABILITIES = Capabilities(
    roles=frozenset(Role),
    principal_types=frozenset(PrincipalType),
    calendar_fields=frozenset(CALENDAR_FIELDS),
    max_name_length=50,
    max_description_length=1000,
    event_fields=frozenset({"summary", "description", "location", "start", "end", "timezone",
                            "recurrence", "skip", "alert"}),
    max_summary_length=200,
    max_event_description_length=5000,
    max_location_length=100,
    notes={"public": "", "event.sharing": " (LINE WORKS shares whole calendars, not events)"},
)

ROLE_TO_API = {
    Role.MANAGE.value: "CALENDAR_EVENT_READ_WRITE",
    Role.WRITE.value: "EVENT_READ_WRITE",
    Role.READ.value: "EVENT_READ",
    Role.FREE_BUSY.value: "EVENT_READ_FREE_BUSY",
}
API_TO_ROLE = {v: k for k, v in ROLE_TO_API.items()}

PRINCIPAL_TO_API = {t.value: t.value.upper() for t in PrincipalType}
API_TO_PRINCIPAL = {v: k for k, v in PRINCIPAL_TO_API.items()}

FIELD_TO_API = {
    "name": "calendarName",
    "description": "description",
    "public": "isPublic",
    "members": "members",
}


def calendar_to_canonical(raw: Any, address: str) -> dict[str, Any]:
    """The canonical value of a raw calendar. Raises ResponseError on a malformed shape."""
    if not isinstance(raw, dict) or not isinstance(raw.get("calendarName"), str):
        raise ResponseError(f"{address}: lineworks calendar has no 'calendarName': {raw!r:.200}")
    members: dict[str, str] = {}
    for item in raw.get("members") or []:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "type", "role")
        ):
            raise ResponseError(f"{address}: lineworks member is malformed: {item!r:.200}")
        kind = API_TO_PRINCIPAL.get(item["type"], item["type"].lower())
        # An unknown role is kept verbatim, so the plan shows it being replaced.
        role = API_TO_ROLE.get(item["role"]) or str(item["role"])
        members[f"{kind}:{normalize_principal_id(item['id'])}"] = role
    return {
        "name": raw["calendarName"],
        "description": raw.get("description") or "",
        "public": bool(raw.get("isPublic", False)),
        "members": members,
    }


def members_to_api(members: dict[str, str]) -> list[dict[str, str]]:
    """Canonical members -> the API's list, sorted so that plans are stable."""
    result = []
    for principal in sorted(members):
        kind, _, ident = principal.partition(":")
        result.append(
            {"id": ident, "type": PRINCIPAL_TO_API[kind], "role": ROLE_TO_API[members[principal]]}
        )
    return result


def calendar_body(desired: dict[str, Any], fields: set[str] | None = None) -> dict[str, Any]:
    """A POST or PATCH body for the given canonical fields (all desired fields when None).

    PATCH semantics (providers.md §2.7.1): only the fields sent change; ``members`` replaces
    the whole list, so it is sent whole, and only when it changed.
    """
    body: dict[str, Any] = {}
    for name in CALENDAR_FIELDS:
        if name not in desired or (fields is not None and name not in fields):
            continue
        value = desired[name]
        body[FIELD_TO_API[name]] = members_to_api(value) if name == "members" else value
    return body


# -- events ---------------------------------------------------------------------------------
# Choices where providers.md §2 says NOT CONFIRMED, shared with the emulator's documentation:
# an all-day event is {"date": ...} with an *exclusive* end date (as in iCalendar DTEND),
# while calrecon's canonical end is the last day included. A series is one item: the master
# component and its exceptions (moved or edited occurrences), all with one eventId; PUT
# replaces all of them, so every update sends the exceptions back unchanged (L1).

ALERT_TO_TRIGGER = {"5m": "-PT5M", "15m": "-PT15M", "30m": "-PT30M", "1h": "-PT1H",
                    "2h": "-PT2H", "1d": "-P1D"}
MINUTES_TO_ALERT = {5: "5m", 15: "15m", 30: "30m", 60: "1h", 120: "2h", 1440: "1d"}
READ_ONLY_EVENT_FIELDS = ("createdTime", "updatedTime", "viewUrl", "organizer")


def event_to_canonical(item: Any, address: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(eventId, canonical value, raw item) of one ``events[]`` item: the master's values,
    its cancelled occurrences as ``skip`` and the number of exception components."""
    comps = item.get("eventComponents") if isinstance(item, dict) else None
    if not isinstance(comps, list) or not comps or not all(isinstance(c, dict) for c in comps):
        raise ResponseError(f"{address}: lineworks event has no eventComponents: {item!r:.200}")
    main = master(item)
    uid = main.get("eventId")
    if not isinstance(uid, str) or not isinstance(main.get("start"), dict):
        raise ResponseError(f"{address}: lineworks event is malformed: {main!r:.200}")
    value: dict[str, Any] = {"summary": main.get("summary") or ""}
    value.update(_times(main, address))
    lines = recurrence_lines(main, address)
    try:
        value["recurrence"] = normalize_rrule(lines["RRULE"][0]) if lines["RRULE"] else ""
        value["skip"] = _exdates(lines["EXDATE"], value)
    except ValueError as exc:
        raise ResponseError(f"{address}: lineworks event {uid} has a recurrence calrecon "
                            f"cannot read ({exc}): {main.get('recurrence')!r:.200}") from None
    value["description"] = main.get("description") or ""
    value["location"] = main.get("location") or ""
    value["alert"] = _alert(main.get("reminders"))
    value["exceptions"] = len(comps) - 1
    return uid, value, item


def master(item: dict[str, Any]) -> dict[str, Any]:
    """The series master: the component that is not an exception of another."""
    comps = item["eventComponents"]
    return next((c for c in comps if not c.get("recurringEventId")), comps[0])


def recurrence_lines(comp: dict[str, Any], address: str) -> dict[str, list[str]]:
    """The component's ``recurrence`` lines by kind: ``RRULE`` (a line without a name is an
    RRULE, L2), ``EXDATE`` and ``other`` (RDATE and the rest, kept as they are)."""
    raw = comp.get("recurrence") or []
    if not isinstance(raw, list) or not all(isinstance(line, str) for line in raw):
        raise ResponseError(f"{address}: lineworks recurrence is not a list of lines: "
                            f"{raw!r:.200}")
    lines: dict[str, list[str]] = {"RRULE": [], "EXDATE": [], "other": []}
    for line in raw:
        head = line.split(":", 1)[0].split(";", 1)[0].strip().upper()
        if head == "RRULE" or head.startswith("FREQ="):
            lines["RRULE"].append(line)
        elif head == "EXDATE":
            lines["EXDATE"].append(line)
        else:
            lines["other"].append(line)
    return lines


def _exdates(lines: list[str], value: dict[str, Any]) -> list[str]:
    """EXDATE lines -> canonical skip texts (wall starts in the event's zone, or dates)."""
    texts = set()
    for line in lines:
        params, _, values = line.partition(":")
        zone_name = ""
        for param in params.split(";")[1:]:
            key, _, given = param.partition("=")
            if key.upper() == "TZID":
                zone_name = given.strip('"')
        for item in filter(None, values.split(",")):
            texts.add(_exdate_text(item.strip(), zone_name, value))
    return sorted(texts)


def _exdate_text(item: str, zone_name: str, value: dict[str, Any]) -> str:
    if len(item) == 8:  # a DATE
        day = dt.date(int(item[:4]), int(item[4:6]), int(item[6:8]))
        return day_skip(day, value)
    moment = dt.datetime.strptime(item.rstrip("Z"), "%Y%m%dT%H%M%S")
    if value["all_day"]:
        return moment.date().isoformat()
    zone = ZoneInfo(value["timezone"])
    if item.endswith("Z"):
        moment = moment.replace(tzinfo=dt.timezone.utc)
    elif zone_name:
        moment = moment.replace(tzinfo=ZoneInfo(iana_zone(zone_name)))
    return local_iso(to_zone(moment, zone))


def exdate_lines(skips: list[str], value: dict[str, Any]) -> list[str]:
    """Canonical skip texts -> one EXDATE line in the event's zone (none when empty)."""
    if not skips:
        return []
    if value["all_day"]:
        return ["EXDATE;VALUE=DATE:" + ",".join(s.replace("-", "") for s in skips)]
    stamps = [s.replace("-", "").replace(":", "") for s in skips]
    return [f"EXDATE;TZID={value['timezone']}:" + ",".join(stamps)]


def event_item(uid: str, desired: dict[str, Any], live: tuple[dict[str, Any], dict[str, Any]]
               | None = None) -> list[dict[str, Any]]:
    """``eventComponents`` for POST (``live`` None) or PUT, a full replace of the item: the
    master built by :func:`event_component`, then the live exception components unchanged."""
    if live is None:
        return [event_component(uid, desired)]
    value, item = live
    main = master(item)
    return [event_component(uid, desired, main, value),
            *(c for c in item["eventComponents"] if c is not main)]


def event_component(uid: str, desired: dict[str, Any], base: dict[str, Any] | None = None,
                    live: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full master component: the live one without its read-only fields, overlaid with
    every field calrecon manages. Recurrence lines the YAML does not manage are kept: the
    live rule when ``recurrence`` is omitted, the cancelled occurrences (carried to the new
    series) when ``skip`` is."""
    comp = {k: v for k, v in (base or {}).items() if k not in READ_ONLY_EVENT_FIELDS}
    comp["eventId"] = uid
    comp["summary"] = desired["summary"]
    if desired["all_day"]:
        last = dt.date.fromisoformat(desired["end"])
        comp["start"] = {"date": desired["start"]}
        comp["end"] = {"date": (last + dt.timedelta(days=1)).isoformat()}
    else:
        zone = desired["timezone"]
        comp["start"] = {"dateTime": desired["start"], "timeZone": zone}
        comp["end"] = {"dateTime": desired["end"], "timeZone": zone}
    lines = recurrence_lines(base, "") if base else {"RRULE": [], "EXDATE": [], "other": []}
    if "recurrence" in desired:
        rule = [f"RRULE:{desired['recurrence']}"] if desired["recurrence"] else []
    else:  # the live rule, written in the documented form (it may come without RRULE:, L2)
        rule = [f"RRULE:{normalize_rrule(line)}" for line in lines["RRULE"][:1]]
    skips = merged_skips(live, desired) if rule else []
    comp["recurrence"] = [*rule, *exdate_lines(skips, desired), *lines["other"]]
    for key in ("description", "location"):
        if key in desired:
            comp[key] = desired[key]
    if "alert" in desired:
        trigger = ALERT_TO_TRIGGER.get(desired["alert"])
        comp["reminders"] = [{"method": "DISPLAY", "trigger": trigger}] if trigger else []
    return comp


def _times(comp: dict[str, Any], address: str) -> dict[str, Any]:
    start, end = comp.get("start") or {}, comp.get("end") or comp.get("start") or {}
    try:
        if "date" in start:
            first = dt.date.fromisoformat(start["date"])
            after = dt.date.fromisoformat(end.get("date", start["date"]))
            last = max(first, after - dt.timedelta(days=1))
            return {"all_day": True, "start": first.isoformat(), "end": last.isoformat()}
        zone_name = iana_zone(start.get("timeZone") or "UTC")
        zone = ZoneInfo(zone_name)
        return {
            "all_day": False,
            "start": local_iso(to_zone(dt.datetime.fromisoformat(start["dateTime"]), zone)),
            "end": local_iso(to_zone(dt.datetime.fromisoformat(end["dateTime"]), zone)),
            "timezone": zone_name,
        }
    except (KeyError, ValueError, ZoneInfoNotFoundError) as exc:
        raise ResponseError(f"{address}: lineworks event times are malformed ({exc}): "
                            f"{start!r:.120}") from None


def _alert(reminders: Any) -> str:
    if not reminders:
        return "none"
    trigger = str(reminders[0].get("trigger", "")) if isinstance(reminders[0], dict) else ""
    try:
        delta = vDuration.from_ical(trigger)  # type: ignore[no-untyped-call]
        minutes = int(-delta.total_seconds() // 60)
    except (ValueError, TypeError):
        return trigger
    return MINUTES_TO_ALERT.get(minutes, trigger)
