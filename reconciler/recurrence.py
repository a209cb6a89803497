"""RRULE parsing and canonical form. Pure.

Two RRULEs that mean the same thing have the same canonical text: upper-case, FREQ first,
``RRULE:`` prefix dropped, ``INTERVAL=1`` and ``WKST=MO`` (the defaults) dropped, BY* lists
sorted, UNTIL in UTC. ICS text is never compared as text; rules are compared in this form.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar.prop import vRecur

_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# RFC 5545 §3.3.10: the range of each numeric part (a negative value counts from the end).
_RANGES = {"BYSECOND": (0, 60, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
           "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True),
           "BYMONTH": (1, 12, False), "BYSETPOS": (1, 366, True)}
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
    problem = _out_of_range(rule)
    if problem:
        raise ValueError(f"invalid recurrence rule {text!r}: {problem}")
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


def _out_of_range(rule: vRecur) -> str:
    """The first part whose value RFC 5545 §3.3.10 does not allow ("" when none): a rule a
    calendar would refuse, or silently read as another, is refused when it is loaded."""
    for key in ("INTERVAL", "COUNT"):
        for value in rule.get(key, []):
            if not isinstance(value, int) or value < 1:
                return f"{key}={value} must be a whole number of at least 1"
    for key, (low, high, signed) in _RANGES.items():
        for value in rule.get(key, []):
            number = int(value)
            size = abs(number) if signed else number
            if not low <= size <= high or (not signed and number < 0):
                sign = "-" if signed else ""
                return (f"{key}={value} is out of range ({sign}{high}..{sign}{low}, "
                        f"{low}..{high})" if signed else
                        f"{key}={value} is out of range ({low}..{high})")
    for value in rule.get("BYDAY", []):
        prefix = str(value)[:-2]
        if prefix not in ("", "+", "-") and not 1 <= abs(int(prefix)) <= 53:
            return f"BYDAY={value} is out of range (an ordinal from -53 to 53, not 0)"
    return ""


def _until(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
            return value.strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def is_occurrence(rule: str, start: dt.datetime | dt.date, when: dt.datetime | dt.date) -> bool:
    """Whether ``when`` is the start of an occurrence of the series that starts at ``start``
    with the canonical ``rule`` (both wall times in one zone, or both dates). A series
    repeats by wall time, as RFC 5545 §3.3.10 reads a DTSTART with a TZID."""
    first = start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time())
    target = when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time())
    first, target = first.replace(tzinfo=None), target.replace(tzinfo=None)
    if target < first:
        return False
    parsed = rrulestr(_floating_until(rule), dtstart=first, cache=False)
    return target in parsed


def _floating_until(rule: str) -> str:
    """The rule with UNTIL as floating wall time, the form dateutil takes beside a floating
    DTSTART (the zone's offset is at most a day away, so the end of the UNTIL day in UTC is
    read as the end of that day, the more inclusive reading)."""
    parts = []
    for part in rule.split(";"):
        key, _, value = part.partition("=")
        if key == "UNTIL":
            value = value.rstrip("Z")
            value = value + "T235959" if len(value) == 8 else value
        parts.append(f"{key}={value}")
    return ";".join(parts)


@functools.lru_cache(maxsize=4096)
def settled_until(rule: str, start: str, zone: str) -> str:
    """``rule`` with its UNTIL replaced by the start of the last occurrence it allows (UTC
    ``...Z`` for a timed series, a date for an all-day one), so that two UNTILs that end a
    series on the same occurrence compare equal: servers rewrite UNTIL (ONLYOFFICE answers
    a date or floating UNTIL as UTC, providers.md O1). ``start`` is the series start as
    canonical text (a date, a wall time in ``zone``, or a UTC instant ending in ``Z``)."""
    if "UNTIL=" not in rule:
        return rule
    parts = dict(part.split("=", 1) for part in rule.split(";"))
    until_text = parts["UNTIL"]
    all_day = len(start) == 10
    if all_day:
        first = dt.datetime.fromisoformat(start)
        until = dt.datetime.strptime(until_text[:8], "%Y%m%d").replace(hour=23, minute=59)
    else:
        tz = ZoneInfo(zone)
        first = (dt.datetime.fromisoformat(start[:-1]).replace(tzinfo=dt.timezone.utc)
                 .astimezone(tz) if start.endswith("Z")
                 else dt.datetime.fromisoformat(start).replace(tzinfo=tz))
        if len(until_text) == 8:  # a date: the end of that day where the series is
            until = dt.datetime.strptime(until_text, "%Y%m%d").replace(
                hour=23, minute=59, second=59, tzinfo=tz)
        elif until_text.endswith("Z"):
            until = dt.datetime.strptime(until_text, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=dt.timezone.utc)
        else:
            until = dt.datetime.strptime(until_text, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        first = first.replace(tzinfo=None)  # dateutil steps in wall time, as the series does
        until = until.astimezone(tz).replace(tzinfo=None)
    without = ";".join(f"{k}={v}" for k, v in parts.items() if k != "UNTIL")
    last = rrulestr(without, dtstart=first, cache=False).before(until, inc=True)
    if last is None:
        stamp = "NONE"  # no occurrence at all: every such UNTIL means the same
    elif all_day:
        stamp = last.strftime("%Y%m%d")
    else:
        stamp = last.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc).strftime(
            "%Y%m%dT%H%M%SZ")
    return ";".join(f"{k}={stamp if k == 'UNTIL' else v}" for k, v in parts.items())


def occurrences(rule: str, start: dt.datetime, since: dt.datetime, until: dt.datetime,
                limit: int) -> list[dt.datetime]:
    """The starts of the series' occurrences from ``since`` to ``until`` (inclusive), at most
    ``limit`` of them: wall times in the series' zone, like ``start`` (naive)."""
    first = start.replace(tzinfo=None)
    found: list[dt.datetime] = []
    for when in rrulestr(_floating_until(rule), dtstart=first, cache=False).xafter(
            since.replace(tzinfo=None), inc=True):
        if when > until.replace(tzinfo=None) or len(found) == limit:
            break
        found.append(when)
    return found
