"""RRULE parsing and canonical form. Pure.

Two RRULEs that mean the same thing have the same canonical text: upper-case, FREQ first,
``RRULE:`` prefix dropped, ``INTERVAL=1`` and ``WKST=MO`` (the defaults) dropped, BY* lists
sorted, UNTIL in UTC. ICS text is never compared as text; rules are compared in this form.
"""

from __future__ import annotations

import datetime as dt
import functools

from icalendar.prop import vRecur

_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_ORDER = ["FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
          "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"]


def _weekday_key(value: str) -> tuple[int, int]:
    day = value[-2:]
    prefix = value[:-2]
    return _WEEKDAYS.index(day), int(prefix) if prefix not in ("", "+", "-") else 0


@functools.lru_cache(maxsize=4096)
def normalize_rrule(text: str) -> str:
    """The canonical text of an RRULE; ValueError naming the problem when it is invalid."""
    raw = text.strip()
    if raw.upper().startswith("RRULE:"):
        raw = raw[6:]
    if not raw:
        raise ValueError("empty recurrence rule")
    try:
        rule = vRecur.from_ical(raw.upper())
    except ValueError as exc:
        raise ValueError(f"invalid recurrence rule {text!r}: {exc}") from None
    if "FREQ" not in rule:
        raise ValueError(f"invalid recurrence rule {text!r}: FREQ is required")
    if "UNTIL" in rule and "COUNT" in rule:
        raise ValueError(f"invalid recurrence rule {text!r}: UNTIL and COUNT exclude each other")
    unknown = set(rule) - set(_ORDER)
    if unknown:
        raise ValueError(f"invalid recurrence rule {text!r}: unknown part {sorted(unknown)[0]}")
    parts = []
    for key in _ORDER:
        if key not in rule:
            continue
        values = list(rule[key])
        if key == "INTERVAL" and values == [1]:
            continue
        if key == "WKST" and values == ["MO"]:
            continue
        if key == "UNTIL":
            parts.append(f"UNTIL={_until(values[0])}")
            continue
        if key == "BYDAY":
            values = sorted((str(v) for v in values), key=_weekday_key)
        elif key.startswith("BY"):
            values = sorted(values, key=lambda v: (str(v).startswith("-"), abs(int(v))))
        parts.append(f"{key}=" + ",".join(str(v) for v in values))
    return ";".join(parts)


def _until(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
            return value.strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")
