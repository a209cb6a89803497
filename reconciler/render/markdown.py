"""The plan as Markdown for a pull-request comment.

A hidden marker (so a bot can find and update its own comment), a summary line, warnings
and guard-rail breaches, the changed addresses, a table of resources and their actions, a
Mermaid picture of the occurrences each calendar's event changes move
(:mod:`reconciler.render.mermaid`), then one collapsible section per resource with its field
changes (as a ``diff`` block) and the exact requests.
"""

from __future__ import annotations

from typing import Any

from reconciler.render import mermaid
from reconciler.render.picture import pictures
from reconciler.render.text import field_line, request_line, summary_line

MARKER = "<!-- calrecon-plan -->"
COMMENT_LIMIT = 65_536
"""GitHub refuses a comment or issue body longer than this many characters."""
# Counted in UTF-16 code units, which is at least the count of characters however GitHub
# counts them (an emoji is two), so a body that fits here fits there.
ICONS = {"create": "🟢 create", "update": "🟡 update", "delete": "🔴 delete",
         "blocked": "⛔ blocked"}


def render_plan(plan: dict[str, Any]) -> str:
    """The whole plan (the job summary shows it, whatever its length)."""
    lines = _head(plan)
    changes = plan["changes"]
    if changes:
        lines += _addresses(changes)
        lines += ["| Action | Resource | Kind | Live id |", "|---|---|---|---|"]
        for c in changes:
            lines.append(f"| {ICONS[c['action']]} | `{c['address']}` | {c['kind']} | "
                         f"{_code(c.get('live_id'))} |")
        lines.append("")
        lines += mermaid.blocks(pictures(plan))
        for c in changes:
            lines += _details(c)
    for note in plan.get("notes", []):
        lines.append(f"- {_inline(note)}")
    if plan.get("notes"):
        lines.append("")
    lines.append(f"<sub>fingerprint `{plan.get('fingerprint', '')[:16]}`</sub>")
    return "\n".join(lines) + "\n"


SUMMARY_LIMIT = 1024 * 1024 // 3
"""A job summary holds at most 1 MiB; a character takes at most three bytes of UTF-8."""


def whole_plan_at(run_url: str = "", artifact: str = "", summary: bool = True) -> str:
    """Where a reader finds the plan a shortened one leaves out: the run's job summary
    (``summary``, linked when ``run_url`` is known) and the workflow artifact ``artifact``."""
    places = []
    if summary:
        places.append(f"the [job summary]({run_url})" if run_url else
                      "the job summary of the workflow run")
    if artifact:
        places.append(f"the workflow artifact `{artifact}` (a plan file: `calrecon show "
                      "FILE` renders it)")
    return " and in ".join(places) or "the plan file ('calrecon show FILE' renders it)"


def render_comment(plan: dict[str, Any], whole_at: str = "", limit: int = COMMENT_LIMIT,
                   what: str = "a comment") -> str:
    """The plan as a pull-request comment (or issue body, or job summary) that GitHub
    accepts: the whole plan when it fits in ``limit`` characters; otherwise the summary,
    warnings, guard rails and the changed addresses (as many as fit, with the count of the
    rest), and a sentence saying what was cut and where the whole plan is (``whole_at``,
    see :func:`whole_plan_at`)."""
    whole = render_plan(plan)
    if _length(whole) <= limit:
        return whole
    changes = plan["changes"]
    cut = (f"> **The plan is too long for {what}** ({_length(whole):,} characters; GitHub "
           f"allows {limit:,}), so the pictures and each change's fields and requests are "
           f"left out here. The whole plan is in {whole_at or whole_plan_at()}.")
    head = [*_head(plan), cut, ""]
    tail = [f"<sub>fingerprint `{plan.get('fingerprint', '')[:16]}`</sub>"]
    budget = limit - _length("\n".join([*head, *tail])) - 200  # 200: the fences and counts
    shown: list[str] = []
    for change in changes:
        line = change["address"]
        budget -= _length(line) + 1
        if budget < 0:
            break
        shown.append(line)
    rest = len(changes) - len(shown)
    body = ["**Changed addresses**", "", "```", *shown, "```", ""]
    if rest:
        body += [f"... and {rest:,} more: see the whole plan.", ""]
    return "\n".join([*head, *body, *tail]) + "\n"


def _head(plan: dict[str, Any]) -> list[str]:
    lines = [MARKER, f"### calrecon plan: {summary_line(plan)}", ""]
    for warning in plan.get("warnings", []):
        lines += [f"> **Warning:** {_inline(warning)}", ""]
    for breach in plan.get("guard_rails", []):
        # first after the title: a reviewer must see why apply will refuse before the detail
        lines += [f"> **⛔ Guard rail:** {_inline(breach)}", ""]
    return lines


def _addresses(changes: list[dict[str, Any]]) -> list[str]:
    return ["**Changed addresses**", "", "```", *[c["address"] for c in changes], "```", ""]


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


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
