"""The pull-request comment and the drift issue: find calrecon's own, then update in place.

Contracts:

- :func:`upsert_plan_comment`: one comment per pull request, found by the hidden marker of the
  markdown plan. Changes: update it, or create it. No changes: update an existing one to say
  "No changes.", and create none.
- :func:`sync_drift_issue`: one open issue labelled ``calrecon-drift``. Drift: update its body,
  or open it. No drift: comment and close it, if open.

Each returns what it did, for the workflow log.
"""

from __future__ import annotations

from reconciler.gitops.api import GitHub
from reconciler.render.markdown import MARKER

DRIFT_LABEL = "calrecon-drift"
DRIFT_TITLE = "calrecon: live calendars drifted from the YAML"


def upsert_plan_comment(github: GitHub, number: int, markdown: str, has_changes: bool) -> str:
    if MARKER not in markdown:
        markdown = f"{MARKER}\n{markdown}"
    mine = [c for c in github.issue_comments(number) if MARKER in (c.get("body") or "")]
    if not has_changes:
        markdown = f"{MARKER}\n### calrecon plan\n\nNo changes. The live state matches the YAML.\n"
    if mine:
        github.update_comment(int(mine[0]["id"]), markdown)
        return f"updated comment {mine[0]['id']}"
    if not has_changes:
        return "no changes and no earlier comment: nothing posted"
    created = github.create_comment(number, markdown)
    return f"created comment {created.get('id')}"


def sync_drift_issue(github: GitHub, markdown: str, drifted: bool, run_url: str = "") -> str:
    open_issues = github.open_issues(DRIFT_LABEL)
    footer = f"\n\n[Drift check run]({run_url})\n" if run_url else "\n"
    if drifted:
        body = ("The nightly plan found changes: the live calendars no longer match the YAML. "
                "Apply the YAML, or change it to match.\n\n" + markdown + footer)
        if open_issues:
            github.update_issue(int(open_issues[0]["number"]), body=body)
            return f"updated issue #{open_issues[0]['number']}"
        created = github.create_issue(DRIFT_TITLE, body, [DRIFT_LABEL])
        return f"opened issue #{created.get('number')}"
    if not open_issues:
        return "no drift and no open drift issue: nothing to do"
    for issue in open_issues:
        github.create_comment(int(issue["number"]), "The live state matches the YAML again."
                              + footer)
        github.update_issue(int(issue["number"]), state="closed", state_reason="completed")
    return "closed issue " + ", ".join(f"#{i['number']}" for i in open_issues)
