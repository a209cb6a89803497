"""The calrecon command line: argument parsing, exit codes, and the only place that prints.

Exit codes: 0 success (or no changes), 1 error (bad YAML, failed read, failed apply, blocked
change), 2 changes present (only with ``--detailed-exitcode``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from reconciler import secrets
from reconciler.apply import ApplyReport, Outcome, apply_plan
from reconciler.errors import CalreconError, ConfigError
from reconciler.loader import Loaded, load
from reconciler.model import json_schema
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.providers.base import Provider
from reconciler.providers.registry import build_providers
from reconciler.render.text import render_plan
from reconciler.sandbox.server import Sandbox, SandboxStateError

DEFAULT_SANDBOX_STATE = Path(".calrecon/sandbox.json")
EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {secrets.redact(message)}", err=True)
    sys.exit(EXIT_ERROR)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(secrets.RedactingFilter())
    root = logging.getLogger("reconciler")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _load(paths: tuple[str, ...]) -> Loaded:
    try:
        return load(paths)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"Error: {problem}", err=True)
        count = len(exc.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found; nothing was sent.",
                   err=True)
        sys.exit(EXIT_ERROR)


def paths_argument(fn: F) -> F:
    return click.argument("paths", nargs=-1, required=True, type=click.Path())(fn)


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
                     help="Requests in flight at once, per stage."),
        click.option("-v", "--verbose", count=True,
                     help="Log each HTTP request (-v) and retries in detail (-vv). Tokens are "
                          "never logged."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@dataclass
class _Session:
    loaded: Loaded
    providers: dict[str, Provider]
    sandbox: Sandbox | None


@contextlib.contextmanager
def _session(paths: tuple[str, ...], sandbox: bool, sandbox_state: Path,
             parallelism: int) -> Iterator[_Session]:
    """Load the YAML, start the sandbox if asked, build providers; clean up after."""
    loaded = _load(paths)
    box: Sandbox | None = None
    if sandbox:
        try:
            box = Sandbox(sandbox_state).start()
        except SandboxStateError as exc:
            _fail(str(exc))
    try:
        providers = build_providers(
            loaded.desired,
            sandbox=box.endpoints() if box else None,
            parallelism=parallelism,
        )
        try:
            yield _Session(loaded, providers, box)
        finally:
            for provider in providers.values():
                provider.close()
    finally:
        if box is not None:
            box.save()
            box.stop()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calendar-reconciler", prog_name="calrecon")
def cli() -> None:
    """Calendars as code: reconcile YAML with calendars, their sharing and their events.

    \b
    Typical use:
      calrecon validate calendars/           # check the YAML, no network
      calrecon plan calendars/               # show the calls that would be made
      calrecon apply calendars/              # make them, after you type 'yes'
    Add --sandbox to plan and apply to try it all against built-in emulators.

    Exit codes: 0 ok, 1 error, 2 changes present (plan --detailed-exitcode).
    """


@cli.command()
@paths_argument
def validate(paths: tuple[str, ...]) -> None:
    """Check YAML files or directories without contacting any provider.

    Reports every problem as FILE:LINE:COL and exits 1 when there is one.
    """
    loaded = _load(paths)
    cals = len(loaded.desired.calendars)
    click.echo(f"Valid: {len(loaded.files)} file(s), {len(loaded.desired.providers)} "
               f"provider(s), {cals} calendar(s).")


@cli.command()
@paths_argument
@run_options
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when there are changes, 0 when there are none, 1 on error.")
def plan(paths: tuple[str, ...], sandbox: bool, sandbox_state: Path, parallelism: int,
         verbose: int, detailed_exitcode: bool) -> None:
    """Show what apply would change, and the exact requests it would send.

    Reads the live state of every calendar the YAML names; writes nothing.
    """
    _setup_logging(verbose)
    try:
        with _session(paths, sandbox, sandbox_state, parallelism) as session:
            the_plan = make_plan(session.loaded.desired, session.providers, parallelism)
    except CalreconError as exc:
        _fail(str(exc))
    click.echo(render_plan(the_plan.to_dict()))
    if the_plan.blocked:
        sys.exit(EXIT_ERROR)
    if detailed_exitcode and not the_plan.empty:
        sys.exit(EXIT_CHANGES)


@cli.command()
@paths_argument
@run_options
@click.option("--auto-approve", is_flag=True,
              help="Apply without asking for 'yes' (for CI after a reviewed plan).")
def apply(paths: tuple[str, ...], sandbox: bool, sandbox_state: Path, parallelism: int,
          verbose: int, auto_approve: bool) -> None:
    """Plan, show the plan, ask for 'yes', then make exactly the planned calls.

    A failed change does not stop unrelated ones; the report lists what was applied, what
    failed and what was skipped, and the exit code is 1 if anything did not apply. Running
    apply again after fixing the cause picks up where it stopped.
    """
    _setup_logging(verbose)
    try:
        with _session(paths, sandbox, sandbox_state, parallelism) as session:
            the_plan = make_plan(session.loaded.desired, session.providers, parallelism)
            click.echo(render_plan(the_plan.to_dict()))
            if the_plan.empty:
                return
            if the_plan.blocked:
                _fail("the plan has blocked changes; nothing was applied")
            if not auto_approve:
                _confirm()
            report = apply_plan(the_plan, session.providers, parallelism,
                                on_outcome=_print_outcome)
    except CalreconError as exc:
        _fail(str(exc))
    _print_report(the_plan, report)
    if not report.ok:
        sys.exit(EXIT_ERROR)


def _confirm() -> None:
    if not sys.stdin.isatty():
        _fail("apply needs confirmation, but standard input is not a terminal; "
              "review the plan and pass --auto-approve")
    click.echo("")
    answer = click.prompt("Do you want to perform these actions? Only 'yes' will be accepted",
                          default="", show_default=False)
    if answer.strip() != "yes":
        click.echo("Apply cancelled; nothing was sent.")
        sys.exit(EXIT_ERROR)


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


def _print_report(plan: Plan, report: ApplyReport) -> None:
    applied = len(report.by_status("applied"))
    failed = report.by_status("failed")
    skipped = report.by_status("skipped")
    click.echo("")
    click.echo(f"Apply {'complete' if report.ok else 'incomplete'}: {applied} applied, "
               f"{len(failed)} failed, {len(skipped)} skipped.")
    if not report.ok:
        click.echo("Fix the cause and run apply again: it converges from where it stopped.",
                   err=True)


@cli.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of the YAML format (editors use it to complete and check)."""
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


@cli.group()
def sandbox() -> None:
    """The built-in loopback emulators of the provider APIs."""


@sandbox.command()
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_SANDBOX_STATE, show_default=True, envvar="CALRECON_SANDBOX_STATE",
              help="State file to load (seeded if missing) and save on exit.")
def serve(state: Path) -> None:
    """Run the emulators in the foreground until Ctrl-C.

    Prints each emulator's base URL and token, so curl or any other client can use them.
    """
    try:
        box = Sandbox(state).start()
    except SandboxStateError as exc:
        _fail(str(exc))
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C does, saving the state
    for name, endpoint in box.endpoints().items():
        click.echo(f"{name:10} {endpoint.base_url}  token: {endpoint.token}")
    click.echo(f"State: {state} (saved on exit). Press Ctrl-C to stop.", nl=True)
    sys.stdout.flush()
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        box.save()
        box.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@sandbox.command()
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_SANDBOX_STATE, show_default=True, envvar="CALRECON_SANDBOX_STATE")
def reset(state: Path) -> None:
    """Forget the sandbox's state: the next --sandbox run starts from the seed again."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(state)
    click.echo(f"Sandbox state {state} removed.")


def main() -> None:
    cli(prog_name="calrecon")
