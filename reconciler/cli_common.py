"""What every command module shares: the error exit, the sandbox state default, and the
``Environment:`` section of each command's ``--help``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import secrets

DEFAULT_SANDBOX_STATE = Path(".calrecon/sandbox.json")

ENVIRONMENT = {
    "tokens": "LINEWORKS_TOKEN, ONLYOFFICE_TOKEN (or ONLYOFFICE_USERNAME and "
              "ONLYOFFICE_PASSWORD), CRONOFY_TOKEN: the providers' credentials, or the "
              "variables each provider's token_env, username_env and password_env names",
    "CALRECON_ALLOWED_HOSTS": "hosts requests may go to besides the providers' documented "
                              "API hosts (host, host:port or *.domain); unset: any",
    "CALRECON_SANDBOX_STATE": "the sandbox's state file (as --sandbox-state / --state)",
    "GITHUB_OUTPUT": "with --format github: where the step outputs are written",
    "GITHUB_STEP_SUMMARY": "with --format github: where the markdown plan is appended",
    "GITHUB_REPOSITORY": "owner/name of the repository (set by GitHub Actions)",
    "GITHUB_TOKEN": "the token for GitHub's API (never printed)",
    "GITHUB_API_URL": "GitHub's API (default https://api.github.com)",
    "GITHUB_SERVER_URL": "with GITHUB_REPOSITORY and GITHUB_RUN_ID: the run linked to",
    "GITHUB_RUN_ID": "the workflow run linked to",
}


class Command(click.Command):
    """A command whose ``--help`` ends with the environment variables it reads:
    ``@click.command(cls=Command, environment=("tokens", "CALRECON_ALLOWED_HOSTS"))``, each
    name a key of :data:`ENVIRONMENT`."""

    def __init__(self, *args: Any, environment: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unknown = set(environment) - set(ENVIRONMENT)
        if unknown:
            raise ValueError(f"no description for {sorted(unknown)}")
        self.environment = environment

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.environment:
            with formatter.section("Environment"):
                formatter.write_dl([("provider tokens" if n == "tokens" else n, ENVIRONMENT[n])
                                    for n in self.environment])
        super().format_epilog(ctx, formatter)


def fail(message: str) -> NoReturn:
    """Print ``Error: message`` (secrets masked) on stderr and exit 1."""
    click.echo(f"Error: {secrets.redact(message)}", err=True)
    sys.exit(1)
