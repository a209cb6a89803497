"""The other side of the wire: what the emulators *stored*, read without calrecon's mapping.

Convergence alone cannot see a mistake made the same way in both directions (written wrong,
read back wrong, "no changes"). These readers look at the raw resources an emulator holds,
written from shared/providers.md rather than from calrecon's code, so that tests can assert
what a real service would keep.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from reconciler.sandbox.server import Sandbox

# -- LINE WORKS -------------------------------------------------------------------------------


def lineworks_calendar(box: Sandbox, name: str) -> dict[str, Any]:
    """The one stored calendar named ``name`` (a copy)."""
    found = [c for c in box.lineworks.calendars.values() if c["calendarName"] == name]
    assert len(found) == 1, f"{len(found)} LINE WORKS calendars named {name!r}"
    return copy.deepcopy(found[0])


def lineworks_item(box: Sandbox, calendar_name: str, event_id: str) -> dict[str, Any]:
    """The stored event item (``{eventComponents, ...}``) of ``event_id`` (a copy)."""
    cid = lineworks_calendar(box, calendar_name)["calendarId"]
    return copy.deepcopy(box.lineworks.events[cid][event_id])


def lineworks_master(box: Sandbox, calendar_name: str, event_id: str) -> dict[str, Any]:
    """The series master (or only component) of a stored event."""
    comps = lineworks_item(box, calendar_name, event_id)["eventComponents"]
    masters = [c for c in comps if not c.get("recurringEventId")]
    assert len(masters) == 1, comps
    return masters[0]


# -- ONLYOFFICE -------------------------------------------------------------------------------


def onlyoffice_calendar(box: Sandbox, title: str) -> dict[str, Any]:
    found = [c for c in box.onlyoffice.calendars.values() if c["title"] == title]
    assert len(found) == 1, f"{len(found)} ONLYOFFICE calendars titled {title!r}"
    return copy.deepcopy(found[0])


def onlyoffice_event(box: Sandbox, uid: str) -> dict[str, Any]:
    """The stored event whose UID is ``uid`` (before the ``@domain`` the server appends)."""
    found = [e for e in box.onlyoffice.events.values() if e["uid"].split("@")[0] == uid]
    assert len(found) == 1, f"{len(found)} ONLYOFFICE events with UID {uid!r}"
    return copy.deepcopy(found[0])


def vevent_lines(ics: str) -> dict[str, list[tuple[str, str]]]:
    """The first VEVENT's content lines, unfolded (RFC 5545 §3.1): NAME -> [(params, raw
    value)], values left escaped exactly as sent."""
    unfolded = re.sub(r"\r?\n[ \t]", "", ics)
    lines: dict[str, list[tuple[str, str]]] = {}
    inside = False
    for line in re.split(r"\r?\n", unfolded):
        if line == "BEGIN:VEVENT":
            inside = True
            continue
        if line == "END:VEVENT":
            break
        if not inside or not line:
            continue
        match = re.fullmatch(r'([A-Za-z0-9-]+)((?:;[^:;"]+=(?:"[^"]*"|[^:;]*))*):(.*)', line)
        assert match, f"not a content line: {line!r}"
        lines.setdefault(match.group(1).upper(), []).append((match.group(2), match.group(3)))
    return lines


def strict_text(raw: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11) decoded strictly: a bare ``,`` or ``;`` is an error
    (they must be escaped), as are unknown escapes."""
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\":
            nxt = raw[index + 1: index + 2]
            assert nxt in ("\\", ";", ",", "n", "N"), f"bad escape in {raw!r}"
            out.append("\n" if nxt in ("n", "N") else nxt)
            index += 2
            continue
        assert char not in ",;", f"unescaped {char!r} in TEXT value {raw!r}"
        out.append(char)
        index += 1
    return "".join(out)


# -- Cronofy ----------------------------------------------------------------------------------


def cronofy_event(box: Sandbox, *, event_id: str | None = None,
                  event_uid: str | None = None) -> dict[str, Any]:
    """The one live (not deleted) stored event with that ``event_id`` or ``event_uid``."""
    found = [e for e in box.cronofy.events.values() if not e["deleted"]
             and (event_id is None or e.get("event_id") == event_id)
             and (event_uid is None or e["event_uid"] == event_uid)]
    assert len(found) == 1, f"{len(found)} Cronofy events for {event_id or event_uid!r}"
    return copy.deepcopy(found[0])


# -- one comparable view of an event, from the YAML and from what a service stored ------------
# Written from providers.md and RFC 5545, not from calrecon's mapping: for the convergence
# tests, which assert that what was stored is what the YAML said.

ALERT_MINUTES = {"none": None, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "1d": 1440}
ONLYOFFICE_ALERT_MINUTES = {0: None, 1: 5, 2: 15, 3: 30, 4: 60, 5: 120, 6: 1440}  # §1.6


def rule_parts(rule: str) -> dict[str, Any]:
    """An RRULE as {KEY: value}, BYDAY as a set, UNTIL as its UTC digits; "" is {}."""
    parts: dict[str, Any] = {}
    for part in rule.upper().removeprefix("RRULE:").split(";") if rule else []:
        key, _, value = part.partition("=")
        if (key, value) in (("INTERVAL", "1"), ("WKST", "MO")):
            continue  # the defaults
        parts[key] = frozenset(value.split(",")) if key.startswith("BY") else value
    return parts


def yaml_event_view(event: dict[str, Any]) -> dict[str, Any]:
    """What a service must store for an event as ``yaml.safe_load`` reads it from the YAML:
    all-day ends exclusive (the day after the last), timed times as local wall time."""
    import datetime as dt

    view: dict[str, Any] = {"summary": event["summary"]}
    start = event["start"]
    if isinstance(start, dt.datetime):
        view.update(all_day=False, start=start.isoformat(), end=event["end"].isoformat(),
                    zone=event["timezone"])
    else:
        last = event.get("end", start)
        view.update(all_day=True, start=start.isoformat(),
                    end=(last + dt.timedelta(days=1)).isoformat(), zone=None)
    view["rule"] = rule_parts(event.get("recurrence", ""))
    for key in ("description", "location"):
        if key in event:
            view[key] = event[key]
    if "alert" in event:
        view["alert"] = ALERT_MINUTES[event["alert"]]
    return view


def lineworks_event_view(comp: dict[str, Any]) -> dict[str, Any]:
    """The same view of a stored LINE WORKS component (providers.md §2, L1)."""
    start, end = comp["start"], comp["end"]
    view: dict[str, Any] = {"summary": comp["summary"], "all_day": "date" in start}
    if view["all_day"]:
        view.update(start=start["date"], end=end["date"], zone=None)
    else:
        assert start["timeZone"] == end["timeZone"], comp
        view.update(start=start["dateTime"], end=end["dateTime"], zone=start["timeZone"])
    rules = [r for r in comp.get("recurrence") or [] if r.upper().startswith("RRULE")]
    view["rule"] = rule_parts(rules[0]) if rules else {}
    view["description"] = comp.get("description", "")
    view["location"] = comp.get("location", "")
    reminders = comp.get("reminders") or []
    match = re.fullmatch(r"-P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?",
                         reminders[0]["trigger"]) if reminders else None
    view["alert"] = (int(match.group(1) or 0) * 1440 + int(match.group(2) or 0) * 60
                     + int(match.group(3) or 0)) if match else None
    return view


def onlyoffice_event_view(event: dict[str, Any]) -> dict[str, Any]:
    """The same view of a stored ONLYOFFICE event (the emulator keeps all-day ends
    inclusively, providers.md §1.9.7)."""
    import datetime as dt

    view: dict[str, Any] = {"summary": event["title"], "all_day": event["allDay"],
                            "description": event["description"]}
    if event["allDay"]:
        after = dt.date.fromisoformat(event["end"]) + dt.timedelta(days=1)
        view.update(start=event["start"], end=after.isoformat(), zone=None)
    else:
        view.update(start=event["start"], end=event["end"], zone=event["tzid"])
    view["rule"] = rule_parts(event["rrule"])
    view["alert"] = ONLYOFFICE_ALERT_MINUTES.get(event["alert"], event["alert"])
    view["sharing"] = {(s["itemId"], s["isGroup"], s["actionId"]) for s in event["sharing"]}
    return view


def assert_stored_as(view: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every field of ``expected`` is stored as it says (fields it lacks are not managed)."""
    differing = {k: (view.get(k), v) for k, v in expected.items() if view.get(k) != v}
    assert not differing, f"stored != YAML: {differing}"


def cronofy_event_view(event: dict[str, Any]) -> dict[str, Any]:
    """The same view of a stored Cronofy event: ``{time, tzid}`` times (UTC instants) turned
    into wall time in their zone, dates as they are (the end exclusive, providers.md §3)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    start, end = event["start"], event["end"]
    view: dict[str, Any] = {"summary": event["summary"], "description": event["description"],
                            "location": (event["location"] or {}).get("description", "")}
    if isinstance(start, str) and len(start) == 10:
        view.update(all_day=True, start=start, end=end, zone=None)
        return view
    zone = start["tzid"]

    def wall(point: dict[str, Any]) -> str:
        instant = dt.datetime.fromisoformat(point["time"].replace("Z", "+00:00"))
        return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat()

    view.update(all_day=False, start=wall(start), end=wall(end), zone=zone)
    return view
