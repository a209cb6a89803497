"""What every command module shares: the error exit and the sandbox state default."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from reconciler import secrets

DEFAULT_SANDBOX_STATE = Path(".calrecon/sandbox.json")


def fail(message: str) -> NoReturn:
    """Print ``Error: message`` (secrets masked) on stderr and exit 1."""
    click.echo(f"Error: {secrets.redact(message)}", err=True)
    sys.exit(1)
