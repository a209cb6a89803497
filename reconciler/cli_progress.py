"""Progress while a plan reads: requests answered so far, per provider, on stderr.

On a terminal one line is redrawn in place; elsewhere (CI logs) a line is printed every
``EVERY_S`` seconds. Nothing is shown for a read that ends within ``QUIET_S``: short plans
stay silent. The figures come from :data:`reconciler.http.STATS` (attempts sent, retries
included), so a plan that waits for a rate budget shows that it is waiting, not stuck.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

import click

from reconciler.http import STATS

QUIET_S = 2.0  # seconds before the first line
EVERY_S = 5.0  # seconds between lines when stderr is not a terminal
TTY_EVERY_S = 0.5


def _line() -> str:
    counts = STATS.by_provider()
    parts = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    return f"Reading live state: {sum(counts.values())} requests ({parts or 'none yet'})"


@contextlib.contextmanager
def reading(enabled: bool = True) -> Iterator[None]:
    """Show read progress while the block runs (see the module docstring)."""
    if not enabled:
        yield
        return
    STATS.reset()
    tty = sys.stderr.isatty()
    stop = threading.Event()
    shown = {"any": False}

    def report() -> None:
        if stop.wait(QUIET_S):
            return
        while True:
            shown["any"] = True
            if tty:
                click.echo("\r" + _line(), err=True, nl=False)
            else:
                click.echo(_line(), err=True)
            if stop.wait(TTY_EVERY_S if tty else EVERY_S):
                return

    thread = threading.Thread(target=report, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if shown["any"] and tty:
            click.echo("\r" + _line(), err=True)  # the last figures, and a new line
