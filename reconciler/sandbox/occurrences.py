"""Occurrences of a possibly recurring event inside a window, for the emulators' listings."""

from __future__ import annotations

import datetime as dt

from dateutil.rrule import rrulestr

Span = tuple[dt.datetime, dt.datetime]


def occurrences(start: dt.datetime, end: dt.datetime, rrule: str, window_start: dt.datetime,
                window_end: dt.datetime, limit: int = 1000) -> list[Span]:
    """(start, end) of each occurrence overlapping [window_start, window_end).

    ``start``/``end`` are aware (wall time in the event's zone, so a weekly series keeps its
    local hour across DST); a rule's UNTIL is read in UTC.
    """
    duration = end - start
    if not rrule:
        return [(start, end)] if start < window_end and end > window_start else []
    rule = rrulestr(_aware_until(rrule), dtstart=start, cache=False)
    found = []
    for begin in rule.xafter(window_start - duration, count=limit, inc=True):
        if begin >= window_end:
            break
        # rrule steps in wall time; re-attach the zone so DST shifts the instant, not the hour
        begin = begin.replace(tzinfo=start.tzinfo)
        if begin + duration > window_start:
            found.append((begin, begin + duration))
    return found


def _aware_until(rrule: str) -> str:
    """dateutil needs UNTIL in UTC when DTSTART is aware; a floating or date UNTIL is taken
    as the end of that day in UTC (the most inclusive reading)."""
    parts = []
    for part in rrule.split(";"):
        key, _, value = part.partition("=")
        if key.upper() == "UNTIL" and not value.endswith("Z"):
            value = (value[:8] + "T235959Z") if len(value) == 8 else value + "Z"
        parts.append(f"{key}={value}")
    return ";".join(parts)
