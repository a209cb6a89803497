"""Canonical event values and the date window they span. Pure.

Canonical event (desired and live alike, before a provider's own projection)::

    {"summary": str, "all_day": bool,
     "start": "2026-03-02T10:00:00" | "2026-12-24",   # local wall time in `timezone`, or a date
     "end":   "2026-03-02T11:00:00" | "2026-12-26",   # all-day: the last day included
     "timezone": "Europe/Berlin",                      # timed events only
     # only when the YAML manages them:
     "recurrence": "FREQ=WEEKLY;BYDAY=MO" | "",        # canonical RRULE, "" when none
     "skip": ["2027-03-08T09:00:00", ...],             # cancelled occurrences, sorted: wall
                                                       # starts in `timezone`, or dates
     "description": str, "location": str, "alert": "15m", "sharing": {principal: role}}

Live values carry every field the provider reads, and ``exceptions``: how many occurrences
were changed in the calendar (moved or edited, not cancelled), which every update keeps.

Local wall time plus IANA zone is the same information as "instant plus zone", in the form a
reviewer reads. Providers that cannot read a zone back compare instants (see their mapping).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.model import Event


def local_iso(value: dt.datetime) -> str:
    return value.replace(tzinfo=None, microsecond=0).isoformat()


def canonical_event(event: Event) -> dict[str, Any]:
    # Run for every desired event of every plan: the fields are read once, and the common
    # wall time (naive, whole seconds) is written out here rather than in _wall_text.
    start, end, zone = event.start, event.end, event.timezone
    value: dict[str, Any]
    if isinstance(start, dt.datetime):
        assert isinstance(end, dt.datetime)
        assert zone is not None  # enforced by validate.check_desired
        value = {"summary": event.summary, "all_day": False,
                 "start": start.isoformat() if start.tzinfo is None and not start.microsecond
                 else _wall_text(start, zone),
                 "end": end.isoformat() if end.tzinfo is None and not end.microsecond
                 else _wall_text(end, zone),
                 "timezone": zone}
    else:
        value = {"summary": event.summary, "all_day": True, "start": start.isoformat(),
                 "end": (end or start).isoformat()}
    if event.recurrence is not None:
        value["recurrence"] = event.recurrence
    if event.skip is not None:
        value["skip"] = skip_texts(event.skip, value)
    if event.description is not None:
        value["description"] = event.description
    if event.location is not None:
        value["location"] = event.location
    if event.alert is not None:
        value["alert"] = event.alert.value
    if event.sharing is not None:
        value["sharing"] = {m.principal: m.role.value for m in event.sharing}
    if event.event_uid is not None:
        value["event_uid"] = event.event_uid
    return value


def skip_texts(skips: Iterable[dt.date | dt.datetime], value: dict[str, Any]) -> list[str]:
    """Cancelled occurrences as canonical text, sorted and once each: for a timed series the
    wall start in its zone (a date names the occurrence at the series' time of day that
    date), for an all-day series the date."""
    texts = set()
    for skip in skips:
        if value["all_day"]:
            texts.add((skip.date() if isinstance(skip, dt.datetime) else skip).isoformat())
        elif isinstance(skip, dt.datetime):
            texts.add(_wall_text(skip, value["timezone"]))
        else:
            texts.add(day_skip(skip, value))
    return sorted(texts)


def day_skip(day: dt.date, value: dict[str, Any]) -> str:
    """The canonical skip text of the series' occurrence on ``day``: the date for an all-day
    series, else that date at the series' wall time of day (a start given as a UTC instant,
    ``...Z``, is read in the value's ``timezone``)."""
    if value["all_day"]:
        return day.isoformat()
    start = value["start"]
    if start.endswith("Z"):
        instant = dt.datetime.fromisoformat(start[:-1]).replace(tzinfo=dt.timezone.utc)
        start = local_iso(instant.astimezone(ZoneInfo(value["timezone"])))
    return f"{day.isoformat()}T{start[11:19]}"


def _wall_text(value: dt.datetime, zone: str) -> str:
    """Wall-time text in ``zone``; a naive value (the usual YAML) is that already."""
    if value.tzinfo is None:
        # isoformat() is the same text without microseconds, and faster than with timespec
        return value.isoformat(timespec="seconds") if value.microsecond else value.isoformat()
    return local_iso(value.astimezone(ZoneInfo(zone)))


def to_zone(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A date-time as wall time in ``zone``: naive values are already wall time there."""
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def start_utc_text(value: dict[str, Any]) -> str:
    """:func:`utc_text` of :func:`start_instant`, cached by the wall time and zone."""
    return _utc_text_of(value["start"], "" if value["all_day"] else value["timezone"])


def end_utc_text(value: dict[str, Any]) -> str:
    """:func:`utc_text` of :func:`end_instant` (timed events only)."""
    return _utc_text_of(value["end"], value["timezone"])


@functools.lru_cache(maxsize=1 << 16)
def _utc_text_of(text: str, zone: str) -> str:
    return utc_text(_utc_of(text, zone))


def start_instant(value: dict[str, Any]) -> dt.datetime:
    """The UTC instant (all-day: midnight UTC) a canonical event starts at."""
    return _instant(value, "start")


def end_instant(value: dict[str, Any]) -> dt.datetime:
    """The UTC instant a canonical event ends at (all-day: midnight after its last day)."""
    if value["all_day"]:
        return _instant(value, "end") + dt.timedelta(days=1)
    return _instant(value, "end")


def _instant(value: dict[str, Any], key: str) -> dt.datetime:
    if value["all_day"]:
        return _utc_of(value[key], "")
    return _utc_of(value[key], value["timezone"])


@functools.lru_cache(maxsize=1 << 16)
def _utc_of(text: str, zone: str) -> dt.datetime:
    """The UTC instant of a wall time in ``zone`` (a date: its midnight in UTC). Cached: the
    window, the projection and the diff of one plan ask for the same values."""
    if not zone:
        day = dt.date.fromisoformat(text)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    local = dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(dt.timezone.utc)


def utc_text(value: dt.datetime) -> str:
    """``2027-03-01T09:00:00Z`` for an aware date-time (isoformat: faster than strftime)."""
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(
        timespec="seconds") + "Z"


SEARCH_YEARS = 2


def search_window(window: tuple[dt.date, dt.date], today: dt.date | None = None
                  ) -> tuple[dt.date, dt.date]:
    """A wide window around ``window`` and today (``SEARCH_YEARS`` either side): where a
    provider without a read by uid looks for desired events that moved out of their window."""
    today = today or dt.date.today()
    margin = dt.timedelta(days=366 * SEARCH_YEARS)
    return min(window[0], today) - margin, max(window[1], today) + margin


def window(values: Iterable[dict[str, Any]], today: dt.date | None = None
           ) -> tuple[dt.date, dt.date]:
    """The dates to read live events over: the span of ``values`` with a day's margin each
    side (zones shift dates), or, with no events, a year either side of ``today``."""
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    for value in values:  # start_instant and end_instant, inlined: run for every event
        if value["all_day"]:
            start = _utc_of(value["start"], "")
            end = _utc_of(value["end"], "") + _ONE_DAY
        else:
            zone = value["timezone"]
            start, end = _utc_of(value["start"], zone), _utc_of(value["end"], zone)
        if first is None or start < first:
            first = start
        if last is None or end > last:
            last = end
    if first is None or last is None:
        today = today or dt.date.today()
        return today - dt.timedelta(days=366), today + dt.timedelta(days=366)
    return first.date() - _ONE_DAY, last.date() + _ONE_DAY


_ONE_DAY = dt.timedelta(days=1)


def carried_skips(live: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """The cancelled occurrences an update keeps when the YAML does not manage ``skip``:
    the live ones, each moved to the same date in the desired series (a series moved from
    09:00 to 10:00 keeps its cancelled Mondays cancelled), as canonical text."""
    days = {text[:10] for text in live.get("skip") or []}
    return sorted(day_skip(dt.date.fromisoformat(day), desired) for day in days)


def merged_skips(live: dict[str, Any] | None, desired: dict[str, Any]) -> list[str]:
    """What an update (or a create, ``live`` None) sends as the series' cancelled
    occurrences: the YAML's when it manages them, else the live ones carried over."""
    if "skip" in desired:
        return list(desired["skip"])
    return carried_skips(live, desired) if live else []
