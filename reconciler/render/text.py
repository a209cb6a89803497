"""The plan as terminal text, in the terraform manner.

::

    ~ works.platform-team (update calendar calendar-1f2e)
        ~ description: "Old" -> "New"
        ~ member user:bob@example.com: "read" -> "write"
        - member user:dave@example.com: "write"
        -> PATCH /calendars/calendar-1f2e {"description": "New", "members": [...]}

    Plan: 0 to create, 1 to update, 0 to delete.
"""

from __future__ import annotations

import json
from typing import Any

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "blocked": "!"}


def render_plan(plan: dict[str, Any]) -> str:
    """Every change, then notes, then the summary line (``No changes.`` when there are none)."""
    lines: list[str] = []
    changes = plan["changes"]
    if changes:
        lines.append("calrecon will perform the following actions:")
        lines.append("")
        for change in changes:
            lines.extend(_change(change))
            lines.append("")
    for note in plan.get("notes", []):
        lines.append(f"Note: {note}")
    if plan.get("notes"):
        lines.append("")
    lines.append(summary_line(plan))
    return "\n".join(lines)


def summary_line(plan: dict[str, Any]) -> str:
    s = plan["summary"]
    if not plan["changes"]:
        return "No changes. The live state matches the YAML."
    line = f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete."
    if s.get("blocked"):
        line += f" {s['blocked']} blocked."
    return line


def _change(change: dict[str, Any]) -> list[str]:
    action = change["action"]
    what = f"{action} {change['kind']}"
    if change.get("live_id"):
        what += f" {change['live_id']}"
    lines = [f"  {SYMBOLS[action]} {change['address']} ({what})"]
    if change.get("reason"):
        lines.append(f"      reason: {change['reason']}")
    for field in change["fields"]:
        lines.append("      " + _field(field, action))
    for request in change["requests"]:
        lines.append("      -> " + request_line(request))
    return lines


def _field(field: dict[str, Any], action: str) -> str:
    path, before, after = field["path"], field["before"], field["after"]
    label = path
    for group, noun in (("members.", "member "), ("sharing.", "shared with ")):
        if path.startswith(group):
            label = noun + path.removeprefix(group)
    if action == "delete" or after is None:
        return f"- {label}: {_value(before)}"
    if action == "create" or before is None:
        return f"+ {label}: {_value(after)}"
    return f"~ {label}: {_value(before)} -> {_value(after)}"


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def request_line(request: dict[str, Any]) -> str:
    """``METHOD /path?query {json body}``: exactly what apply sends (no headers, no token)."""
    text = f"{request['method']} {request['path']}"
    if request.get("params"):
        text += "?" + "&".join(f"{k}={v}" for k, v in request["params"].items())
    if "body" in request:
        text += " " + json.dumps(request["body"], ensure_ascii=False, separators=(", ", ": "))
    return text
