"""Mermaid ``gantt`` blocks of a plan's moved occurrences, for the markdown plan (GitHub
renders Mermaid in comments, issues and job summaries).

One block per calendar (:mod:`reconciler.render.picture`): a section per event and version
(``before`` and ``after``), a task per occurrence, drawn by state: ``done`` (kept), ``crit``
(removed: moved or deleted), ``active`` (added), ``crit, milestone`` (skipped). Times are
wall times in the event's zone, which the title names.

User text (summaries, addresses) only ever reaches a title or a section name, after
:func:`label` has kept it to letters, digits, spaces and ``. , - _ ( ) / ' +``: nothing in it
can end the block, start a directive or a comment, or split a task line.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from reconciler.render.picture import CalendarPicture, Occurrence

TAGS = {"kept": "done", "removed": "crit", "added": "active", "skipped": "crit, milestone"}
NAMES = {"kept": "kept", "removed": "removed", "added": "new", "skipped": "skipped"}
_UNSAFE = re.compile(r"[^\w .,\-()/'+]", re.UNICODE)


def label(text: str, limit: int = 60) -> str:
    """``text`` safe for a Mermaid title, section or task name (see the module docstring)."""
    flat = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    safe = " ".join(_UNSAFE.sub(" ", flat).split())
    return (safe[:limit - 1] + "…") if len(safe) > limit else safe or "event"


def gantt(picture: CalendarPicture) -> str:
    """The Mermaid source (without the fence) of one calendar's picture."""
    when = "all-day events" if all(e.all_day for e in picture.events) \
        else f"times in {label(picture.zone)}"
    lines = ["gantt",
             f"    title {label(picture.address, 80)} ({when})",
             "    dateFormat YYYY-MM-DD HH:mm",
             "    axisFormat %a %d %b",
             "    todayMarker off"]
    for event in picture.events:
        name = label(event.summary, 40)
        for version, occurrences in (("before", event.before), ("after", event.after)):
            if occurrences is None:
                continue
            lines.append(f"    section {name} ({version})")
            if not occurrences:
                lines.append(f"    none in these weeks :milestone, "
                             f"{_stamp(picture.since)}, 0m")
            lines += [f"    {_task(o, event.all_day)}" for o in occurrences]
    if picture.left_out:
        lines.append(f"    section {picture.left_out} more events not drawn")
    return "\n".join(lines)


def _task(occurrence: Occurrence, all_day: bool) -> str:
    when = occurrence.start.strftime("%a %d %b") if all_day \
        else occurrence.start.strftime("%a %d %b %Hh%M")
    minutes = max(1, int((occurrence.end - occurrence.start).total_seconds() // 60))
    length = "0m" if occurrence.state == "skipped" else \
        (f"{minutes // 1440}d" if all_day and minutes % 1440 == 0 else f"{minutes}m")
    return (f"{NAMES[occurrence.state]} {when} :{TAGS[occurrence.state]}, "
            f"{_stamp(occurrence.start)}, {length}")


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def blocks(pictures: list[CalendarPicture]) -> list[str]:
    """Markdown lines: a heading and a fenced ``mermaid`` block per picture."""
    lines: list[str] = []
    for picture in pictures:
        lines += [f"**Occurrences before and after: `{label(picture.address, 80)}`**", "",
                  "```mermaid", gantt(picture), "```", ""]
    return lines
