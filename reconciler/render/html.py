"""The plan as one self-contained HTML page, or its pictures as one SVG: for reviewers who
read a plan outside GitHub (``calrecon show plan.json --format html > plan.html``).

The page holds the summary, warnings and guard rails, the changed addresses, a drawing per
calendar whose event changes move occurrences (:mod:`reconciler.render.picture`), and each
change's fields and requests. Nothing is fetched: no script, no style sheet or font from
elsewhere. Each drawing is a timeline of :data:`~reconciler.render.picture.WEEKS` weeks, a
column per day, and per event a row before the change and a row after it: grey kept, red
removed (moved or deleted), green added, an outlined diamond for a skipped date. Every piece
of user text goes through :func:`escape`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from reconciler.render.picture import CalendarPicture, Occurrence, pictures
from reconciler.render.text import field_line, request_line, summary_line

# characters XML 1.0 cannot hold even escaped (C0 controls, lone surrogates, U+FFFE/F)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str) -> str:
    """User text as HTML and XML character data: escaped, and without the characters no
    XML document may contain (shown as U+FFFD)."""
    return html.escape(_NOT_XML.sub("\ufffd", text))


DAY_W, ROW_H, LABEL_W, HEAD_H = 26, 22, 230, 34
FILLS = {"kept": "#9e9e9e", "removed": "#d32f2f", "added": "#2e7d32", "skipped": "none"}
LEGEND = (("kept", "kept"), ("removed", "removed or moved away"), ("added", "added or moved "
                                                                   "here"),
          ("skipped", "skipped date"))
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; max-width: 70em; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 2em; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; }
.guard { border-left: 4px solid #d32f2f; padding-left: .6em; }
.warning { border-left: 4px solid #f9a825; padding-left: .6em; }
svg text { font: 12px system-ui, sans-serif; }
"""


def render_html(plan: dict[str, Any]) -> str:
    """The page (see the module docstring)."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             "<title>calrecon plan</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
             f"<h1>calrecon plan: {escape(summary_line(plan))}</h1>"]
    parts += [f'<p class="warning">Warning: {escape(w)}</p>' for w in plan.get("warnings", [])]
    parts += [f'<p class="guard">Guard rail: {escape(g)}</p>'
              for g in plan.get("guard_rails", [])]
    if plan["changes"]:
        parts.append("<h2>Changed addresses</h2>")
        parts.append("<pre>" + "\n".join(escape(c["address"]) for c in plan["changes"])
                     + "</pre>")
    for picture in pictures(plan):
        parts.append(f"<h2>Occurrences before and after: {escape(picture.address)}</h2>")
        parts.append(render_svg(picture))
    for change in plan["changes"]:
        parts.append(f"<h2>{escape(change['address'])} ({escape(change['action'])} "
                     f"{escape(change['kind'])})</h2>")
        if change.get("reason"):
            parts.append(f"<p>Blocked: {escape(change['reason'])}</p>")
        lines = ["".join(field_line(f, change["action"])) for f in change["fields"]]
        lines += ["-> " + request_line(r) for r in change["requests"]]
        if lines:
            parts.append("<pre>" + "\n".join(escape(line) for line in lines) + "</pre>")
    parts += [f"<p>Note: {escape(n)}</p>" for n in plan.get("notes", [])]
    parts += [f"<p><small>fingerprint {escape(plan.get('fingerprint', '')[:16])}</small></p>",
              "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def render_svg_document(plan: dict[str, Any]) -> str:
    """Every picture of the plan, one under the other, as one SVG document."""
    drawings = [(p, _svg_body(p)) for p in pictures(plan)]
    width = LABEL_W + 7 * 4 * DAY_W + 10
    if not drawings:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40">'
                '<text x="10" y="24">No occurrences move in this plan.</text></svg>\n')
    y, pieces = 0, []
    for picture, (body, height) in drawings:
        pieces.append(f'<g transform="translate(0,{y + 22})">{body}</g>')
        pieces.append(f'<text x="4" y="{y + 14}" font-weight="bold">'
                      f"{escape(picture.address)}</text>")
        y += height + 34
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y}" '
            f'role="img">{"".join(pieces)}</svg>\n')


def render_svg(picture: CalendarPicture) -> str:
    """One calendar's drawing as an inline ``<svg>`` element."""
    body, height = _svg_body(picture)
    width = LABEL_W + _days(picture) * DAY_W + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(picture.address)}">{body}</svg>')


def _days(picture: CalendarPicture) -> int:
    return max(1, (picture.until - picture.since).days)


def _svg_body(picture: CalendarPicture) -> tuple[str, int]:
    days = _days(picture)
    rows = [(f"{event.summary} ({version})", occurrences)
            for event in picture.events
            for version, occurrences in (("before", event.before), ("after", event.after))
            if occurrences is not None]
    height = HEAD_H + ROW_H * len(rows) + 46
    when = "all-day events" if all(e.all_day for e in picture.events) \
        else f"times in {picture.zone}"
    out = [f'<text x="4" y="14">{escape(when)}</text>']
    for d in range(days + 1):
        x = LABEL_W + d * DAY_W
        day = picture.since + dt.timedelta(days=d)
        out.append(f'<line x1="{x}" y1="{HEAD_H - 6}" x2="{x}" y2="{height - 46}" '
                   f'stroke="{"#888" if day.weekday() == 0 else "#e0e0e0"}"/>')
        if d < days and day.weekday() == 0:
            out.append(f'<text x="{x + 2}" y="{HEAD_H - 10}">{day:%a %d %b}</text>')
    for i, (name, occurrences) in enumerate(rows):
        y = HEAD_H + i * ROW_H
        out.append(f'<text x="4" y="{y + 15}">{escape(_short(name))}</text>')
        out += [_mark(o, picture.since, y) for o in occurrences]
    if picture.left_out:
        out.append(f'<text x="4" y="{height - 30}">{picture.left_out} more events not '
                   "drawn</text>")
    x = 4
    for state, words in LEGEND:
        out.append(_mark(Occurrence(picture.since, picture.since, state), picture.since,
                         height - 22, x=x))
        out.append(f'<text x="{x + 16}" y="{height - 8}">{escape(words)}</text>')
        x += 16 + 8 * len(words) + 14
    return "".join(out), height


def _mark(occurrence: Occurrence, since: dt.datetime, y: int, x: float | None = None) -> str:
    """A bar for an occurrence (a diamond for a skipped date), ``x`` given for the legend."""
    left = x if x is not None else \
        LABEL_W + (occurrence.start - since).total_seconds() / 86_400 * DAY_W
    if occurrence.state == "skipped":
        cx, cy = left + 5, y + 11
        return (f'<path d="M{cx} {cy - 6} L{cx + 6} {cy} L{cx} {cy + 6} L{cx - 6} {cy} Z" '
                'fill="none" stroke="#d32f2f" stroke-width="1.5"/>')
    days = (occurrence.end - occurrence.start).total_seconds() / 86_400
    width = 10 if x is not None else max(3.0, days * DAY_W)
    return (f'<rect x="{left:.1f}" y="{y + 4}" width="{width:.1f}" height="{ROW_H - 8}" '
            f'rx="2" fill="{FILLS[occurrence.state]}"/>')


def _short(text: str, limit: int = 32) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
