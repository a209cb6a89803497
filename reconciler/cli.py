"""The calrecon command line: argument parsing, exit codes, and the only place that prints.

Exit codes: 0 success (or no changes), 1 error (bad YAML, a failed read, a failed apply, a
blocked change, a guard rail), 2 changes present (only with ``--detailed-exitcode``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import cli_progress, planfile, secrets
from reconciler.apply import ApplyReport, Outcome, apply_plan
from reconciler.cli_common import DEFAULT_SANDBOX_STATE, Command, fail
from reconciler.cli_github import emit_plan, github, print_problems
from reconciler.cli_repo import fmt, import_
from reconciler.cli_sandbox import sandbox
from reconciler.errors import CalreconError, ConfigError
from reconciler.loader import Loaded, load
from reconciler.model import Desired, json_schema
from reconciler.pacing import Deadline
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.providers.base import Provider
from reconciler.providers.registry import build_providers, sandbox_tenants
from reconciler.render import html as html_render
from reconciler.render import json as json_render
from reconciler.render import markdown, text
from reconciler.render.github import annotation
from reconciler.sandbox.server import Sandbox, SandboxStateError
from reconciler.sources import Sources

EXIT_ERROR, EXIT_CHANGES = 1, 2
FORMATS = ("text", "markdown", "json", "github", "html", "svg")
PLAIN = ("text", "markdown")  # the formats whose renderer leaves the last newline to echo
DEADLINE_S = 1800.0  # seconds: a full plan, apply and plan of a large tenant on a Free plan
PROGRESS_FROM = 10  # changes: below this an apply is quick enough to need no progress
PROGRESS_EVERY_S = 5.0  # seconds between progress lines when stderr is not a terminal

RUN_ENVIRONMENT = ("tokens", "CALRECON_ALLOWED_HOSTS", "CALRECON_SANDBOX_STATE")

F = TypeVar("F", bound=Callable[..., Any])


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(secrets.RedactingFilter())
    root = logging.getLogger("reconciler")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _load(paths: tuple[str, ...], fmt: str = "text") -> Loaded:
    try:
        return load(paths)
    except ConfigError as exc:
        if fmt == "github":
            print_problems(exc.problems)
        for problem in exc.problems:
            click.echo(f"Error: {problem}", err=True)
        count = len(exc.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found; nothing was sent.",
                   err=True)
        sys.exit(EXIT_ERROR)


def run_options(fn: F) -> F:
    """Options shared by plan and apply."""
    options = [
        click.option("--sandbox", is_flag=True,
                     help="Run against the built-in emulators instead of the real APIs; no "
                          "account or token needed. State is kept in --sandbox-state."),
        click.option("--sandbox-state", type=click.Path(dir_okay=False, path_type=Path),
                     default=DEFAULT_SANDBOX_STATE, show_default=True,
                     envvar="CALRECON_SANDBOX_STATE",
                     help="File holding the sandbox's live state between commands."),
        click.option("--parallelism", type=click.IntRange(1, 64), default=8, show_default=True,
                     help="Requests in flight at once, across all providers."),
        click.option("--timeout", type=click.FloatRange(0.1, 600), default=None,
                     metavar="SECONDS",
                     help="Wait this long for an answer before a request fails (a timeout "
                          "is retried once). Overrides each provider's 'timeout' "
                          "[default: 15]."),
        click.option("--deadline", type=click.FloatRange(1, 86_400), default=DEADLINE_S,
                     show_default=True, metavar="SECONDS",
                     help="One end for the whole run: waits for a provider's rate budget "
                          "never go past it (a large tenant on a LINE WORKS Free plan needs "
                          "a few minutes)."),
        click.option("--target", "targets", multiple=True, metavar="ADDRESS",
                     help="Limit to this address and what is inside it (repeatable), e.g. "
                          "works.team or works.team.events.standup."),
        click.option("--force", is_flag=True,
                     help="Accept a plan that trips a guard rail (revokes or deletes more than "
                          "the allowed share of a calendar's members or events)."),
        click.option("--no-color", is_flag=True, help="Plain text even on a terminal."),
        click.option("-v", "--verbose", count=True,
                     help="Log each HTTP request (-v) and retries in detail (-vv). Tokens are "
                          "never logged."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@contextlib.contextmanager
def _session(desired: Desired, sandbox: bool, sandbox_state: Path, parallelism: int,
             timeout: float | None, deadline: float) -> Iterator[dict[str, Provider]]:
    """Start the sandbox if asked and build the providers; save and clean up after."""
    box: Sandbox | None = None
    if sandbox:
        try:
            box = Sandbox(sandbox_state, record_requests=False,  # no one reads the log
                          tenants=sandbox_tenants(desired)).start()
        except SandboxStateError as exc:
            fail(str(exc))
    try:
        providers = build_providers(desired, sandbox=box.endpoints() if box else None,
                                    parallelism=parallelism, timeout=timeout,
                                    deadline=Deadline(deadline))
        try:
            yield providers
        finally:
            for provider in providers.values():
                provider.close()
    finally:
        if box is not None:
            box.save()
            box.stop()


def _render(plan: dict[str, Any], fmt: str, color: bool) -> str:
    """text, markdown, json, html or svg (github output needs the YAML's locations: see
    emit_plan)."""
    if fmt == "html":
        return html_render.render_html(plan)
    if fmt == "svg":
        return html_render.render_svg_document(plan)
    if fmt == "markdown":
        return markdown.render_plan(plan)
    if fmt == "json":
        return json_render.render_plan(plan)
    return text.render_plan(plan, color=color)


def _use_color(no_color: bool) -> bool:
    return not no_color and sys.stdout.isatty()


def _guard(the_plan: Plan, force: bool) -> None:
    """Stop (exit 1) when the plan trips a guard rail and --force was not given. The rails
    are in the plan itself (every format shows them); stderr repeats them, because that is
    where a reader of a failed job looks for why it failed."""
    for breach in the_plan.guard_rails:
        click.echo(f"{'Warning (forced)' if force else 'Error'}: {breach}", err=True)
    if the_plan.guard_rails and not force:
        sys.exit(EXIT_ERROR)


class _Calrecon(click.Group):
    """The command group, with every error exiting 1 (as terraform's do): click's own
    usage errors (an unknown option, a bad choice, a missing argument) exit 2, which is
    what ``plan --detailed-exitcode`` means by "changes present"."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=_Calrecon, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calendar-reconciler", prog_name="calrecon")
def cli() -> None:
    """Calendars as code: reconcile YAML with calendars, their sharing and their events.

    \b
    Typical use:
      calrecon validate calendars/           # check the YAML, no network
      calrecon plan calendars/               # show the calls that would be made
      calrecon apply calendars/              # make them, after you type 'yes'
      calrecon plan calendars/ --out p.json  # save a plan for review ...
      calrecon apply p.json                  # ... and apply exactly it, if still current
    Add --sandbox to plan and apply to try it all against built-in emulators.

    Exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode).

    \b
    Shell completion (commands, options, choices), e.g. in ~/.bashrc:
      eval "$(_CALRECON_COMPLETE=bash_source calrecon)"
    zsh: zsh_source in ~/.zshrc; fish: _CALRECON_COMPLETE=fish_source calrecon | source

    Each command's --help ends with the environment variables it reads.
    """


cli.add_command(sandbox)
cli.add_command(github)
cli.add_command(fmt)
cli.add_command(import_)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(("text", "github")), default="text",
              show_default=True, help="github: also print problems as workflow annotations.")
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check YAML files or directories without contacting any provider.

    Reports every problem as FILE:LINE:COL and exits 1 when there is one.
    """
    loaded = _load(paths, fmt)
    cals = len(loaded.desired.calendars)
    click.echo(f"Valid: {len(loaded.files)} file(s), {len(loaded.desired.providers)} "
               f"provider(s), {cals} calendar(s).")


@cli.command(cls=Command, environment=(*RUN_ENVIRONMENT, "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@run_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text for people, markdown for a pull-request comment, json for programs, "
                   "github for workflow annotations, step outputs and the job summary, html "
                   "for one self-contained page with drawings of the moved occurrences, svg "
                   "for the drawings alone.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan to this file, for 'calrecon apply FILE' later.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes, 0 when there are none, 1 on error.")
def plan(paths: tuple[str, ...], sandbox: bool, sandbox_state: Path, parallelism: int,
         timeout: float | None, deadline: float, targets: tuple[str, ...], force: bool,
         no_color: bool, verbose: int, fmt: str, out: Path | None,
         detailed_exitcode: bool) -> None:
    """Show what apply would change, and the exact requests it would send.

    Reads the live state of every calendar the YAML names; writes nothing. Exits 1 when a
    change is blocked or a guard rail trips (unless --force).
    """
    _setup_logging(verbose)
    loaded = _load(paths, fmt)
    try:
        with _session(loaded.desired, sandbox, sandbox_state, parallelism, timeout,
                      deadline) as providers, cli_progress.reading():
            the_plan = make_plan(loaded.desired, providers, parallelism,
                                 targets=list(targets))
    except CalreconError as exc:
        if fmt == "github":
            click.echo(annotation("error", secrets.redact(str(exc))))
        fail(str(exc))
    data = the_plan.to_dict()
    if fmt == "github":
        emit_plan(data, loaded.sources)
    else:
        click.echo(_render(data, fmt, _use_color(no_color)), nl=fmt in PLAIN)
    if out is not None:
        planfile.save(out, data, loaded.desired, list(targets))
        again = f"calrecon apply {out}" + (
            (" --sandbox" + ("" if sandbox_state == DEFAULT_SANDBOX_STATE
                             else f" --sandbox-state {sandbox_state}")) if sandbox else "")
        click.echo(f"Saved the plan to {out}; apply it with: {again}", err=True)
    _guard(the_plan, force)
    if the_plan.blocked:
        sys.exit(EXIT_ERROR)
    if detailed_exitcode and not the_plan.empty:
        sys.exit(EXIT_CHANGES)


@cli.command(cls=Command, environment=RUN_ENVIRONMENT)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@run_options
@click.option("--auto-approve", is_flag=True,
              help="Apply without asking for 'yes' (for CI after a reviewed plan).")
def apply(paths: tuple[str, ...], sandbox: bool, sandbox_state: Path, parallelism: int,
          timeout: float | None, deadline: float, targets: tuple[str, ...], force: bool,
          no_color: bool, verbose: int, auto_approve: bool) -> None:
    """Plan, show the plan, ask for 'yes', then make exactly the planned calls.

    PATHS are YAML files or directories, or one plan file saved with 'plan --out': then the
    live state is read again and, if anything moved since the plan was made, apply refuses
    ("plan is stale") and sends nothing; otherwise it applies exactly that plan.

    A failed change does not stop unrelated ones; the report lists what was applied, what
    failed and what was skipped, and the exit code is 1 if anything did not apply. Running
    apply again after fixing the cause picks up where it stopped.
    """
    _setup_logging(verbose)
    saved = _saved_plan(paths)
    if saved is not None and targets:
        fail("--target cannot be combined with a saved plan (it keeps its own targets)")
    desired = saved.desired if saved else _load(paths).desired
    target_list = saved.targets if saved else list(targets)
    color = _use_color(no_color)
    try:
        with _session(desired, sandbox, sandbox_state, parallelism, timeout,
                      deadline) as providers:
            with cli_progress.reading():
                the_plan = make_plan(desired, providers, parallelism, targets=target_list)
            data = the_plan.to_dict()
            if saved is not None and data["fingerprint"] != saved.plan["fingerprint"]:
                moved = ", ".join(planfile.moved(saved.plan, data))
                fail(f"plan is stale: the live state changed since the plan was made "
                      f"({moved}); nothing was sent. Run plan again.")
            click.echo(text.render_plan(data, color=color))
            if the_plan.empty:
                return
            _guard(the_plan, force)
            if the_plan.blocked:
                fail("the plan has blocked changes; nothing was applied")
            if not auto_approve:
                _confirm()
            with _progress(len(the_plan.changes)) as progress:
                report = apply_plan(the_plan, providers, parallelism,
                                    on_outcome=progress)
    except CalreconError as exc:
        fail(str(exc))
    _print_report(report)
    if not report.ok:
        sys.exit(EXIT_ERROR)


def _saved_plan(paths: tuple[str, ...]) -> planfile.SavedPlan | None:
    """The saved plan when PATHS is one plan file, else None (PATHS are YAML)."""
    if len(paths) != 1 or not paths[0].endswith(".json"):
        return None
    try:
        return planfile.load(Path(paths[0]))
    except CalreconError as exc:
        fail(str(exc))


@cli.command(cls=Command, environment=("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"))
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="As for plan: text, markdown, json, github (annotations, step outputs "
                   "and the job summary), html (a self-contained page) or svg (its drawings).")
@click.option("--no-color", is_flag=True, help="Plain text even on a terminal.")
def show(plan_file: Path, fmt: str, no_color: bool) -> None:
    """Render a plan saved with 'plan --out', in any output format. Reads no live state."""
    try:
        saved = planfile.load(plan_file)
    except CalreconError as exc:
        fail(str(exc))
    if fmt == "github":
        emit_plan(saved.plan, Sources())  # a saved plan has no YAML locations
    else:
        click.echo(_render(saved.plan, fmt, _use_color(no_color)), nl=fmt in PLAIN)


@cli.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the YAML format (editors use it to complete and check)."""
    body = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(body, nl=False)
    else:
        output.write_text(body)


def _confirm() -> None:
    if not sys.stdin.isatty():
        fail("apply needs confirmation, but standard input is not a terminal; "
              "review the plan and pass --auto-approve")
    click.echo("")
    answer = click.prompt("Do you want to perform these actions? Only 'yes' will be accepted",
                          default="", show_default=False)
    if answer.strip() != "yes":
        click.echo("Apply cancelled; nothing was sent.")
        sys.exit(EXIT_ERROR)


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Outcome], None]]:
    """A callback per finished change: a bar on a terminal, a line every few seconds
    otherwise (for CI logs), nothing for short applies. Outcomes print as they come."""
    done = {"n": 0, "failed": 0, "last": time.monotonic()}
    show = total >= PROGRESS_FROM
    bar_cm = click.progressbar(length=total, label="Applying", file=sys.stderr) \
        if show and sys.stderr.isatty() else contextlib.nullcontext()
    with bar_cm as bar:
        def on_outcome(outcome: Outcome) -> None:
            _print_outcome(outcome)
            done["n"] += 1
            done["failed"] += outcome.status == "failed"
            if bar is not None:
                bar.update(1)
            elif show and (time.monotonic() - done["last"] >= PROGRESS_EVERY_S
                           or done["n"] == total):
                done["last"] = time.monotonic()
                click.echo(f"Progress: {done['n']}/{total} changes done, {done['failed']} "
                           "failed", err=True)
        yield on_outcome


def _print_outcome(outcome: Outcome) -> None:
    change = outcome.change
    if outcome.status == "applied":
        extra = f" (id {outcome.created_id})" if outcome.created_id else ""
        click.echo(f"{change.address}: {change.action.value} complete{extra}")
    elif outcome.status == "failed":
        click.echo(f"{change.address}: {change.action.value} FAILED: "
                   f"{secrets.redact(outcome.detail)}", err=True)
    else:
        click.echo(f"{change.address}: skipped ({outcome.detail})", err=True)


def _print_report(report: ApplyReport) -> None:
    applied = report.by_status("applied")
    failed = report.by_status("failed")
    skipped = report.by_status("skipped")
    click.echo("")
    click.echo(f"Apply {'complete' if report.ok else 'incomplete'}: {len(applied)} applied, "
               f"{len(failed)} failed, {len(skipped)} skipped.")
    if report.ok:
        return
    for title, outcomes in (("Applied", applied), ("Failed", failed), ("Skipped", skipped)):
        if outcomes:
            click.echo(f"{title}:", err=True)
            for o in outcomes:
                detail = f": {secrets.redact(o.detail)}" if o.detail else ""
                click.echo(f"  {o.change.address}{detail}", err=True)
    click.echo("Fix the cause and run apply again: it converges from where it stopped.",
               err=True)


def main() -> None:
    cli(prog_name="calrecon")
