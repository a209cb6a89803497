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
