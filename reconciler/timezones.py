"""Time zone names: Windows ids (as some APIs return them) mapped to IANA names. Pure."""

from __future__ import annotations

import functools
from zoneinfo import available_timezones

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON


def iana_zone(name: str) -> str:
    """The IANA name for ``name``: Windows ids ("Tokyo Standard Time") are mapped, IANA
    names and unknown names are returned unchanged. A name that is both ("UTC") is the IANA
    one: mapping it would turn the YAML's ``UTC`` into ``Etc/UTC``, a change on every plan."""
    if name in _iana_names():
        return name
    mapped = WINDOWS_TO_OLSON.get(name)
    return str(mapped) if mapped else name


@functools.cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())
