"""``calrecon sandbox ...``: run or reset the built-in emulators (prints, like cli.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import click

from reconciler.sandbox.server import Sandbox, SandboxStateError

DEFAULT_SANDBOX_STATE = Path(".calrecon/sandbox.json")


@click.group()
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
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C does, saving the state
    for name, endpoint in box.endpoints().items():
        click.echo(f"{name:10} {endpoint.base_url}  token: {endpoint.token}")
    click.echo(f"State: {state} (saved on exit). Press Ctrl-C to stop.")
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
