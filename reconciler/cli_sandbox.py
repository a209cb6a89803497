"""``calrecon sandbox ...``: run or reset the built-in emulators (prints, like cli.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import click

from reconciler.cli_common import DEFAULT_SANDBOX_STATE, Command, fail
from reconciler.sandbox.base import Faults
from reconciler.sandbox.server import Sandbox, SandboxStateError


@click.group()
def sandbox() -> None:
    """The built-in loopback emulators of the provider APIs."""


@sandbox.command(cls=Command, environment=("CALRECON_SANDBOX_STATE",))
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_SANDBOX_STATE, show_default=True, envvar="CALRECON_SANDBOX_STATE",
              help="State file to load (seeded if missing) and save on exit.")
@click.option("--latency", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="Seconds between a request's arrival and its answer (to measure or feel "
                   "a slow network).")
@click.option("--rate-limit", type=click.IntRange(1), default=240, show_default=True,
              help="LINE WORKS requests per minute per operation before 429s.")
@click.option("--no-save", is_flag=True, help="Leave the state file as it was on exit.")
@click.option("--only", "only", multiple=True,
              type=click.Choice(["lineworks", "onlyoffice", "cronofy"]),
              help="Serve only these emulators (repeatable); e.g. one process each.")
@click.option("--cache-reads", is_flag=True,
              help="Answer repeated GETs from a cache that every write clears; the token "
                   "and the rate budget are still checked (for benchmarks: then the "
                   "emulator's own Python costs little).")
def serve(state: Path, latency: float, rate_limit: int, no_save: bool, only: tuple[str, ...],
          cache_reads: bool) -> None:
    """Run the emulators in the foreground until Ctrl-C.

    Prints each emulator's base URL and token, so curl or any other client can use them.
    """
    try:
        # Nobody can read a served emulator's request log: kept, it would grow for as long
        # as the server runs.
        box = Sandbox(state, faults=Faults(latency=latency), rate_limit=rate_limit,
                      record_requests=False, exclusive=not no_save)
        if only:
            box.emulators = {k: v for k, v in box.emulators.items() if k in only}
        for emulator in box.emulators.values():
            emulator.cache_reads = cache_reads
        box.start()
    except SandboxStateError as exc:
        fail(str(exc))
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C does, saving the state
    for name, endpoint in box.endpoints().items():
        click.echo(f"{name:10} {endpoint.base_url}  token: {endpoint.token}")
    kept = "not saved: --no-save" if no_save else "saved on exit"
    click.echo(f"State: {state} ({kept}). Press Ctrl-C to stop.")
    sys.stdout.flush()
    try:
        _wait_for_interrupt()
    except KeyboardInterrupt:
        pass
    finally:
        if not no_save:
            box.save()
        box.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_for_interrupt() -> None:
    """Return never; Ctrl-C or SIGTERM end the wait with KeyboardInterrupt. A sleep, not
    ``signal.pause()``, which Windows does not have; a signal interrupts both."""
    while True:
        time.sleep(3600)


@sandbox.command(cls=Command, environment=("CALRECON_SANDBOX_STATE",))
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_SANDBOX_STATE, show_default=True, envvar="CALRECON_SANDBOX_STATE",
              help="The state file to delete.")
def reset(state: Path) -> None:
    """Forget the sandbox's state: the next --sandbox run starts from the seed again."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(state)
    click.echo(f"Sandbox state {state} removed.")
