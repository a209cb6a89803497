"""``--format github`` output and ``calrecon github ...``: the glue the workflows call.

Prints (like cli.py). Reads the Actions environment: ``GITHUB_REPOSITORY``, ``GITHUB_TOKEN``,
``GITHUB_API_URL``, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, and the run URL parts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from reconciler import planfile
from reconciler.cli_common import Command, fail
from reconciler.errors import CalreconError, Problem
from reconciler.gitops import guard as guard_module
from reconciler.gitops.api import GitHub
from reconciler.gitops.sync import sync_drift_issue, upsert_plan_comment
from reconciler.render import github as github_render
from reconciler.render import markdown
from reconciler.render.markdown import MARKER
from reconciler.sources import Sources


def locator(sources: Sources) -> github_render.Locate:
    """address -> where its YAML is: ``works.team.events.x.y`` is calendars.team.events.x.y."""
    def locate(address: str) -> tuple[str, int, int] | None:
        parts = address.split(".", 3)
        path: tuple[str, ...] = ("calendars", parts[1]) if len(parts) > 1 else ("calendars",)
        if len(parts) == 4 and parts[2] == "events":
            path += ("events", parts[3])
        where = sources.locate(path)
        return (where.file, where.line, where.col) if where else None
    return locate


def print_problems(problems: list[Problem]) -> None:
    for p in problems:
        where = (p.file, p.line, p.col) if p.line else None
        click.echo(github_render.annotation("error", p.message, where, title="calrecon: invalid"))


def emit_plan(plan: dict[str, Any], sources: Sources) -> None:
    """Annotations on stdout; step outputs and the markdown plan for the job summary."""
    click.echo(github_render.render_plan(plan, locator(sources)), nl=False)
    _github_file("GITHUB_OUTPUT", "".join(f"{key}={value}\n" for key, value in
                                          github_render.outputs(plan).items()))
    _github_file("GITHUB_STEP_SUMMARY", markdown.render_comment(
        plan, markdown.whole_plan_at(summary=False), markdown.SUMMARY_LIMIT, "a job summary"))


def _client() -> GitHub:
    repo, token = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_TOKEN")
    if not repo or not token:
        raise click.UsageError("GITHUB_REPOSITORY and GITHUB_TOKEN must be set (they are in "
                               "GitHub Actions when the job passes the token)")
    return GitHub(repo, token, os.environ.get("GITHUB_API_URL", "https://api.github.com"))


def _report(action: Callable[[GitHub], str]) -> None:
    """Run ``action`` with a GitHub client from the environment; print what it did, or the
    error (exit 1)."""
    client = _client()
    try:
        done = action(client)
    except CalreconError as exc:
        fail(str(exc))
    finally:
        client.close()
    click.echo(done)


def _run_url() -> str:
    server, repo, run = (os.environ.get(k, "") for k in
                         ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else ""


def _saved(path: Path) -> dict[str, Any]:
    try:
        return planfile.load(path).plan
    except CalreconError as exc:
        fail(str(exc))


@click.group()
def github() -> None:
    """Pull-request comments and drift issues, for the GitHub Actions workflows."""


@github.command(cls=Command, environment=("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_API_URL",
                                     "GITHUB_SERVER_URL", "GITHUB_RUN_ID"))
@click.option("--plan", "plan_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A plan saved with 'plan --out'.")
@click.option("--pr", "number", required=True, type=int, help="The pull request's number.")
@click.option("--artifact", metavar="NAME", default="",
              help="The workflow artifact the plan file was uploaded as; a plan too long for a "
                   "comment points to it.")
def comment(plan_path: Path, number: int, artifact: str) -> None:
    """Post the plan on the pull request as one comment, updated in place on every push.

    The comment is found by a hidden marker. With no changes, no comment is created, but an
    existing one is updated to say "No changes.". A plan longer than GitHub's 65,536
    characters is cut to its summary and changed addresses, with links to the job summary
    (from GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID) and to --artifact.
    """
    plan = _saved(plan_path)
    body = markdown.render_comment(plan, markdown.whole_plan_at(_run_url(), artifact))
    _report(lambda client: upsert_plan_comment(client, number, body, bool(plan["changes"])))


@github.command(cls=Command, environment=("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_API_URL",
                                     "GITHUB_SERVER_URL", "GITHUB_RUN_ID"))
@click.option("--plan", "plan_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A plan saved with 'plan --out' by the drift check.")
@click.option("--artifact", metavar="NAME", default="",
              help="The workflow artifact the plan file was uploaded as; a plan too long for "
                   "an issue points to it.")
def drift(plan_path: Path, artifact: str) -> None:
    """Open or update the drift issue when the plan has changes; close it when none.

    The issue body holds the plan, cut like a pull-request comment when it is too long.
    """
    plan = _saved(plan_path)
    body = markdown.render_comment(plan, markdown.whole_plan_at(_run_url(), artifact),
                                   DRIFT_BODY_LIMIT, "an issue")
    _report(lambda client: sync_drift_issue(client, body, bool(plan["changes"]), _run_url()))


DRIFT_BODY_LIMIT = markdown.COMMENT_LIMIT - 1_000  # room for the issue's own sentence and link

GUARD_NOTE = (
    "Plan skipped: this pull request changes the providers section ({changes}). A plan "
    "would send the providers' tokens where the pull request says, before anyone reviewed "
    "it, so it only validates. Once the change is on the default branch, its push plans "
    "and applies as usual; a maintainer can also run the plan by hand.")


@github.command(cls=Command, environment=("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY",
                                             "GITHUB_REPOSITORY", "GITHUB_TOKEN",
                                             "GITHUB_API_URL"))
@click.option("--base", "base_ref", required=True, metavar="REF",
              help="The pull request's base (a commit, branch or tag) to compare with.")
@click.option("--pr", "number", type=int, default=None,
              help="Also say why on the pull request's plan comment.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def guard(base_ref: str, number: int | None, paths: tuple[str, ...]) -> None:
    """Say whether the YAML changes where the providers' tokens go, since REF.

    Compares the providers sections (type, base_url, data_center, token_env, username_env,
    password_env) of PATHS with those at --base. Writes providers_changed=true|false to
    $GITHUB_OUTPUT for the plan step's condition and, when changed, the reason to
    $GITHUB_STEP_SUMMARY (and the plan comment with --pr). Exit 0 either way; 1 on error.
    """
    try:
        changes = guard_module.provider_changes(
            guard_module.providers_of(guard_module.texts_at(base_ref, paths)),
            guard_module.providers_of(guard_module.texts_now(paths)))
    except CalreconError as exc:
        fail(str(exc))
    _github_file("GITHUB_OUTPUT", f"providers_changed={'true' if changes else 'false'}\n")
    if not changes:
        click.echo(f"The providers sections are unchanged since {base_ref}: planning is safe.")
        return
    for line in changes:
        click.echo(f"Changed since {base_ref}: {line}")
    note = GUARD_NOTE.format(changes="; ".join(changes))
    _github_file("GITHUB_STEP_SUMMARY", f"### calrecon plan\n\n{note}\n")
    click.echo(note)
    if number is not None:
        _report(lambda client: upsert_plan_comment(
            client, number, f"{MARKER}\n### calrecon plan\n\n{note}\n", True))


def _github_file(variable: str, text: str) -> None:
    """Append ``text`` to the file GitHub Actions names in ``variable``, if it does."""
    path = os.environ.get(variable)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
