"""Time zone names: Windows ids (as some APIs return them) mapped to IANA names. Pure."""

from __future__ import annotations

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON


def iana_zone(name: str) -> str:
    """The IANA name for ``name``: Windows ids ("Tokyo Standard Time") are mapped, IANA
    names and unknown names are returned unchanged."""
    mapped = WINDOWS_TO_OLSON.get(name)
    return str(mapped) if mapped else name
