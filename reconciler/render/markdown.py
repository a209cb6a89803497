"""The plan as Markdown for a pull-request comment.

A hidden marker (so a bot can find and update its own comment), a summary line, warnings
and guard-rail breaches, the changed addresses, a table of resources and their actions, then
one collapsible section per resource with its field changes (as a ``diff`` block) and the
exact requests.
"""

from __future__ import annotations

from typing import Any

from reconciler.render.text import field_line, request_line, summary_line

MARKER = "<!-- calrecon-plan -->"
ICONS = {"create": "🟢 create", "update": "🟡 update", "delete": "🔴 delete",
         "blocked": "⛔ blocked"}


def render_plan(plan: dict[str, Any]) -> str:
    lines = [MARKER, f"### calrecon plan: {summary_line(plan)}", ""]
    for warning in plan.get("warnings", []):
        lines += [f"> **Warning:** {_inline(warning)}", ""]
    for breach in plan.get("guard_rails", []):
        # first after the title: a reviewer must see why apply will refuse before the detail
        lines += [f"> **⛔ Guard rail:** {_inline(breach)}", ""]
    changes = plan["changes"]
    if changes:
        lines += ["**Changed addresses**", "", "```", *[c["address"] for c in changes], "```",
                  ""]
        lines += ["| Action | Resource | Kind | Live id |", "|---|---|---|---|"]
        for c in changes:
            lines.append(f"| {ICONS[c['action']]} | `{c['address']}` | {c['kind']} | "
                         f"{_code(c.get('live_id'))} |")
        lines.append("")
        for c in changes:
            lines += _details(c)
    for note in plan.get("notes", []):
        lines.append(f"- {_inline(note)}")
    if plan.get("notes"):
        lines.append("")
    lines.append(f"<sub>fingerprint `{plan.get('fingerprint', '')[:16]}`</sub>")
    return "\n".join(lines) + "\n"


def _details(change: dict[str, Any]) -> list[str]:
    head = f"<code>{change['address']}</code> ({change['action']} {change['kind']})"
    lines = ["<details>", f"<summary>{head}</summary>", ""]
    if change.get("reason"):
        lines += [f"**Blocked:** {_inline(change['reason'])}", ""]
    if change["fields"]:
        lines.append("```diff")
        for field in change["fields"]:
            symbol, text = field_line(field, change["action"])
            lines.append(("!" if symbol == "~" else symbol) + text)
        lines += ["```", ""]
    if change["requests"]:
        lines.append("Requests:")
        lines.append("```http")
        lines += [request_line(r) for r in change["requests"]]
        lines += ["```", ""]
    lines += ["</details>", ""]
    return lines


def _code(value: Any) -> str:
    return f"`{value}`" if value else ""


def _inline(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")
