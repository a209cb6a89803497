"""The plan as terminal text, in the terraform manner.

::

    Changed addresses:
      works.platform-team

    ~ works.platform-team (update calendar calendar-1f2e)
        ~ description: "Old" -> "New"
        ~ member user:bob@example.com: "read" -> "write"
        - member user:dave@example.com: "write"
        -> PATCH /calendars/calendar-1f2e {"description": "New", "members": [...]}

    Plan: 0 to create, 1 to update, 0 to delete.

Colour (green create, yellow update, red delete, magenta blocked) only when ``color`` is true;
the CLI turns it on for terminals.
"""

from __future__ import annotations

import json
from typing import Any

import click

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "blocked": "!"}
COLORS = {"create": "green", "update": "yellow", "delete": "red", "blocked": "magenta"}


def render_plan(plan: dict[str, Any], color: bool = False) -> str:
    """Warnings, changed addresses, every change, notes, guard-rail breaches, then the
    summary line."""
    def paint(text: str, action: str) -> str:
        return click.style(text, fg=COLORS[action]) if color else text

    lines: list[str] = [f"Warning: {w}" for w in plan.get("warnings", [])]
    if lines:
        lines.append("")
    changes = plan["changes"]
    if changes:
        lines.append("Changed addresses:")
        lines.extend(f"  {c['address']}" for c in changes)
        lines.append("")
        lines.append("calrecon will perform the following actions:")
        lines.append("")
        for change in changes:
            lines.extend(_change(change, paint))
            lines.append("")
    for note in plan.get("notes", []):
        lines.append(f"Note: {note}")
    if plan.get("notes"):
        lines.append("")
    for breach in plan.get("guard_rails", []):
        lines.append(paint(f"Guard rail: {breach}", "blocked"))
    if plan.get("guard_rails"):
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


def _change(change: dict[str, Any], paint: Any) -> list[str]:
    action = change["action"]
    what = f"{action} {change['kind']}"
    if change.get("live_id"):
        what += f" {change['live_id']}"
    lines = [paint(f"  {SYMBOLS[action]} {change['address']}", action) + f" ({what})"]
    if change.get("reason"):
        lines.append(f"      reason: {change['reason']}")
    for field in change["fields"]:
        symbol, text = field_line(field, action)
        lines.append("      " + paint(symbol, _action_of(symbol)) + text)
    for request in change["requests"]:
        lines.append("      -> " + request_line(request))
    return lines


def _action_of(symbol: str) -> str:
    return {"+": "create", "~": "update", "-": "delete"}[symbol]


def field_line(field: dict[str, Any], action: str) -> tuple[str, str]:
    """(symbol, rest) for one field change: ``("~", ' name: "a" -> "b"')``."""
    path, before, after = field["path"], field["before"], field["after"]
    label = path
    for group, noun in (("members.", "member "), ("sharing.", "shared with ")):
        if path.startswith(group):
            label = noun + path.removeprefix(group)
    if action == "delete" or after is None:
        return "-", f" {label}: {value_text(before)}"
    if action == "create" or before is None:
        return "+", f" {label}: {value_text(after)}"
    return "~", f" {label}: {value_text(before)} -> {value_text(after)}"


def value_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def request_line(request: dict[str, Any]) -> str:
    """``METHOD /path?query {json body}``: exactly what apply sends (no headers, no token)."""
    text = f"{request['method']} {request['path']}"
    if request.get("params"):
        text += "?" + "&".join(f"{k}={v}" for k, v in request["params"].items())
    if "body" in request:
        text += " " + json.dumps(request["body"], ensure_ascii=False, separators=(", ", ": "))
    return text
