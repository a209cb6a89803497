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
from reconciler.cli_common import fail
from reconciler.errors import CalreconError, Problem
from reconciler.gitops.api import GitHub
from reconciler.gitops.sync import sync_drift_issue, upsert_plan_comment
from reconciler.loader import Sources
from reconciler.render import github as github_render
from reconciler.render import markdown


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


def emit_plan(plan: dict[str, Any], sources: Sources, breaches: list[str]) -> None:
    """Annotations on stdout; step outputs and the markdown plan for the job summary."""
    click.echo(github_render.render_plan(plan, locator(sources), breaches), nl=False)
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            for key, value in github_render.outputs(plan).items():
                handle.write(f"{key}={value}\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown.render_plan(plan))


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


@github.command()
@click.option("--plan", "plan_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A plan saved with 'plan --out'.")
@click.option("--pr", "number", required=True, type=int, help="The pull request's number.")
def comment(plan_path: Path, number: int) -> None:
    """Post the plan on the pull request as one comment, updated in place on every push.

    The comment is found by a hidden marker. With no changes, no comment is created, but an
    existing one is updated to say "No changes.".
    """
    plan = _saved(plan_path)
    _report(lambda client: upsert_plan_comment(client, number, markdown.render_plan(plan),
                                               bool(plan["changes"])))


@github.command()
@click.option("--plan", "plan_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A plan saved with 'plan --out' by the drift check.")
def drift(plan_path: Path) -> None:
    """Open or update the drift issue when the plan has changes; close it when none."""
    plan = _saved(plan_path)
    _report(lambda client: sync_drift_issue(client, markdown.render_plan(plan),
                                            bool(plan["changes"]), _run_url()))
