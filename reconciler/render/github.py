"""The plan as GitHub Actions workflow commands.

The changed addresses come first, in a ``::group::`` of the log. Blocked changes and
guard-rail breaches become ``::error file=...,line=...::`` annotations on the YAML lines that
define the resource, so they show on the pull request's diff; the plan ends with a
``::notice::`` summary. The CLI adds ``$GITHUB_OUTPUT`` values and the markdown
plan in ``$GITHUB_STEP_SUMMARY``: see :func:`outputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.render.text import summary_line

Locate = Callable[[str], tuple[str, int, int] | None]
"""address -> (file, line, col) of the YAML that defines it, when known."""


def annotation(level: str, message: str, where: tuple[str, int, int] | None = None,
               title: str = "calrecon") -> str:
    """One workflow command; GitHub needs %, CR and LF escaped in the message."""
    props = [f"title={_prop(title)}"]
    if where is not None:
        file, line, col = where
        props = [f"file={_prop(file)}", f"line={line}", f"col={col}", *props]
    text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{level} {','.join(props)}::{text}"


def render_plan(plan: dict[str, Any], locate: Locate) -> str:
    """The changed addresses first (one per line, in a collapsible log group, as every format
    starts with them), then warnings, blocked changes and breaches as annotations, then the
    summary notice."""
    lines = []
    if plan.get("changed_addresses"):
        lines += ["::group::calrecon: changed addresses", *plan["changed_addresses"],
                  "::endgroup::"]
    lines += [annotation("warning", w) for w in plan.get("warnings", [])]
    for change in plan["changes"]:
        if change["action"] == "blocked":
            lines.append(annotation("error", f"{change['address']} is blocked: "
                                             f"{change.get('reason', '')}",
                                    locate(change["address"]), title="calrecon: blocked"))
    for breach in plan.get("guard_rails", []):
        address = breach.split(":", 1)[0]
        lines.append(annotation("error", breach, locate(address), title="calrecon: guard rail"))
    lines.append(annotation("notice", summary_line(plan), title="calrecon plan"))
    return "\n".join(lines) + "\n"


def outputs(plan: dict[str, Any]) -> dict[str, str]:
    """Step outputs: ``has_changes`` and the counts of each action."""
    values = {"has_changes": "true" if plan["changes"] else "false"}
    values.update({k: str(v) for k, v in plan["summary"].items()})
    return values


def _prop(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A") \
        .replace(":", "%3A").replace(",", "%2C")
