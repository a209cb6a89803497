"""What a plan does to events' occurrences, for drawing: before and after, in a few weeks.

Reads only the plan's JSON (a saved plan draws the same). For each event change that moves
occurrences (created, deleted, or a change of start, end, zone, rule or skipped dates), the
live value is the plan's ``live`` and the desired value is that with the change's fields
applied. Both are expanded into occurrences in the event's zone, inside one window per
calendar: from the week before the first occurrence that differs, :data:`WEEKS` weeks long.

Each occurrence has a state: before the change ``kept`` or ``removed`` (it is not in the
desired series at that time: moved or deleted), after it ``kept`` or ``added``; a date the
desired series skips is ``skipped``. Bounded: :data:`MAX_EVENTS` events per calendar and
:data:`MAX_OCCURRENCES` occurrences per row, so that a picture stays small in a comment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.recurrence import occurrences

WEEKS = 4
MAX_EVENTS = 12
MAX_OCCURRENCES = 12
HORIZON = dt.timedelta(days=731)  # how far a series is searched for its first difference
MOVING = ("start", "end", "timezone", "recurrence", "skip", "all_day")


@dataclass(frozen=True)
class Occurrence:
    start: dt.datetime  # wall time in the event's zone (an all-day one: its first midnight)
    end: dt.datetime
    state: str  # kept | removed | added | skipped


@dataclass
class EventRows:
    address: str
    summary: str
    all_day: bool
    before: list[Occurrence] | None  # None: the event does not exist before (or after)
    after: list[Occurrence] | None


@dataclass
class CalendarPicture:
    address: str
    zone: str
    since: dt.datetime
    until: dt.datetime
    events: list[EventRows] = field(default_factory=list)
    left_out: int = 0  # events past MAX_EVENTS


def pictures(plan: dict[str, Any]) -> list[CalendarPicture]:
    """One picture per calendar whose event changes move occurrences, in address order."""
    by_calendar: dict[str, list[tuple[dict[str, Any], dict[str, Any] | None,
                                      dict[str, Any] | None]]] = {}
    for change in plan["changes"]:
        if change["kind"] != "event" or change["action"] == "blocked":
            continue
        before, after = _values(change)
        if not _moves(change, before, after):
            continue
        calendar = change["address"].rsplit(".events.", 1)[0]
        by_calendar.setdefault(calendar, []).append((change, before, after))
    return [_picture(address, rows) for address, rows in sorted(by_calendar.items())]


def _values(change: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    live = change.get("live") if change["action"] in ("update", "delete") else None
    if change["action"] == "delete":
        return live, None
    after = dict(live or {})
    for field_change in change["fields"]:
        top = field_change["path"].split(".", 1)[0]
        if "." not in field_change["path"]:
            after[top] = field_change["after"]
    return live, after


def _moves(change: dict[str, Any], before: dict[str, Any] | None,
           after: dict[str, Any] | None) -> bool:
    if not any(v and v.get("start") for v in (before, after)):
        return False
    if change["action"] in ("create", "delete"):
        return True
    return any(f["path"].split(".", 1)[0] in MOVING for f in change["fields"])


def _picture(address: str, rows: list[tuple[dict[str, Any], dict[str, Any] | None,
                                             dict[str, Any] | None]]) -> CalendarPicture:
    zone = next((v["timezone"] for _, b, a in rows for v in (a, b)
                 if v and v.get("timezone")), "UTC")
    # Only the events drawn are expanded: a plan of thousands of changes draws twelve, and
    # expanding every series would cost its markdown seconds.
    series = [(change, _series(before, zone), _series(after, zone))
              for change, before, after in rows[:MAX_EVENTS]]
    firsts = [_first_difference(b, a) for _, b, a in series]
    first = min((f for f in firsts if f is not None), default=None)
    if first is None:
        first = dt.datetime.combine(dt.date.today(), dt.time())
    since = dt.datetime.combine((first - dt.timedelta(days=first.weekday() + 7)).date(),
                                dt.time())
    until = since + dt.timedelta(weeks=WEEKS)
    picture = CalendarPicture(address, zone, since, until)
    for change, before, after in series:
        value = change.get("live") or {}
        summary = next((f["after"] for f in change["fields"] if f["path"] == "summary"
                        and f["after"]), value.get("summary") or change["address"])
        window_before = _in_window(before, since, until, zone)
        window_after = _in_window(after, since, until, zone)
        shape = after or before
        picture.events.append(EventRows(
            change["address"], str(summary), shape is not None and shape.all_day,
            _states(window_before, window_after, "removed") if before else None,
            _states(window_after, window_before, "added") if after else None))
    picture.left_out = max(0, len(rows) - MAX_EVENTS)
    return picture


@dataclass(frozen=True)
class _Series:
    """One version of an event: its first start, length, rule ("" for one occurrence),
    skipped starts, and the zone its wall times are in (a series repeats in its own)."""

    start: dt.datetime
    length: dt.timedelta
    rule: str
    skip: frozenset[dt.datetime]
    all_day: bool
    zone: str

    def starts(self, since: dt.datetime, until: dt.datetime, limit: int) -> list[dt.datetime]:
        if not self.rule:
            return [self.start] if since <= self.start <= until else []
        return occurrences(self.rule, self.start, since, until, limit + len(self.skip))


def _series(value: dict[str, Any] | None, zone: str) -> _Series | None:
    if not value or not value.get("start"):
        return None
    start = _wall(value["start"], value.get("timezone") or zone)
    all_day = len(str(value["start"])) == 10
    if all_day:
        last = _wall(value.get("end") or value["start"], zone)
        length = last - start + dt.timedelta(days=1)  # the end day is included
    else:
        end = _wall(value.get("end") or value["start"], value.get("timezone") or zone)
        length = max(end - start, dt.timedelta(minutes=15))
    own = value.get("timezone") or zone
    skips = frozenset(_wall(s, own) if len(str(s)) > 10
                      else dt.datetime.combine(dt.date.fromisoformat(str(s)), start.time())
                      for s in value.get("skip") or [])
    return _Series(start, length, str(value.get("recurrence") or ""), skips, all_day, own)


def _wall(text: Any, zone: str) -> dt.datetime:
    """A plan's date or date-time text as naive wall time in ``zone``."""
    value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return value


def _first_difference(before: _Series | None, after: _Series | None) -> dt.datetime | None:
    """The first occurrence start that one version has and the other has not."""
    if before is None or after is None:
        one = before or after
        return one.start if one is not None else None
    since = min(before.start, after.start)
    until = since + HORIZON
    have = {s: before.length for s in before.starts(since, until, 500) if s not in before.skip}
    want = {s: after.length for s in after.starts(since, until, 500) if s not in after.skip}
    differ = sorted(set(have.items()) ^ set(want.items()))
    if differ:
        return differ[0][0]
    return min(after.skip ^ before.skip, default=since)


def _in_window(series: _Series | None, since: dt.datetime, until: dt.datetime, zone: str
               ) -> list[Occurrence]:
    """The series' occurrences in the window, as wall times in the picture's ``zone`` (an
    all-day event's dates stay dates: they are the same days in every zone)."""
    if series is None:
        return []
    shift = not series.all_day and series.zone != zone
    found = []
    for start in series.starts(since - dt.timedelta(days=1), until + dt.timedelta(days=1),
                               MAX_OCCURRENCES + 2):
        state = "skipped" if start in series.skip else "kept"
        begin, end = start, start + series.length
        if shift:
            begin, end = (_moved(t, series.zone, zone) for t in (begin, end))
        if since <= begin <= until:
            found.append(Occurrence(begin, end, state))
    return found[:MAX_OCCURRENCES]


def _moved(wall: dt.datetime, source: str, target: str) -> dt.datetime:
    """A wall time in ``source`` as the wall time in ``target`` at the same instant."""
    return wall.replace(tzinfo=ZoneInfo(source)).astimezone(ZoneInfo(target)).replace(
        tzinfo=None)


def _states(mine: Iterable[Occurrence], other: Iterable[Occurrence], differs: str
            ) -> list[Occurrence]:
    """``mine`` with each occurrence the other version lacks (same start and end) marked
    ``differs``; skipped ones stay ``skipped``."""
    theirs = {(o.start, o.end) for o in other if o.state != "skipped"}
    return [o if o.state == "skipped" or (o.start, o.end) in theirs
            else Occurrence(o.start, o.end, differs) for o in mine]
