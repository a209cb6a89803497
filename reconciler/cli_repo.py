"""``calrecon fmt`` and ``calrecon import``: commands that write the repository's YAML
(prints, like cli.py)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
import yaml
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from reconciler.cli_common import DEFAULT_SANDBOX_STATE, Command, fail
from reconciler.errors import CalreconError, ConfigError
from reconciler.fmt import format_bytes
from reconciler.importer import import_calendars
from reconciler.loader import discover, line_col, load, parse_text
from reconciler.providers.registry import build_providers, sandbox_tenants
from reconciler.sandbox.server import Sandbox, SandboxStateError


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--check", is_flag=True,
              help="Change nothing; exit 1 and list the files that are not formatted (for CI).")
def fmt(paths: tuple[str, ...], check: bool) -> None:
    """Rewrite YAML files in canonical form: names sorted, fields in schema order.

    Comments are kept; when keys move in a file with comments, a note says to check them.
    """
    files, problems = discover(paths)
    if problems:
        fail("\n".join(str(p) for p in problems))
    unformatted = []
    for path in files:
        try:
            raw = path.read_bytes()
            new, notes = format_bytes(raw)
        except OSError as exc:
            fail(f"{path}: cannot read file: {exc.strerror}")
        except UnicodeDecodeError as exc:
            line, col = line_col(raw[:exc.start].decode("utf-8", "replace"))
            fail(f"{path}:{line}:{col}: file is not UTF-8 text")
        except MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            fail(f"{where}: YAML syntax error: {exc.problem}")
        except YAMLError as exc:
            fail(f"{path}: YAML error: {exc}")
        except (ValueError, OverflowError) as exc:  # a value ruamel cannot construct
            fail(_located(path, raw, exc))
        if new == raw:
            continue
        unformatted.append(path)
        for note in notes:
            click.echo(f"Note: {path}: {note}", err=True)
        if check:
            click.echo(f"would reformat {path}")
        else:
            path.write_bytes(new)
            click.echo(f"reformatted {path}")
    if check and unformatted:
        click.echo(f"{len(unformatted)} file(s) would be reformatted; run 'calrecon fmt'.",
                   err=True)
        sys.exit(1)
    if not unformatted:
        click.echo(f"{len(files)} file(s) already formatted.")


def _located(path: Path, raw: bytes, exc: Exception) -> str:
    """The loader's located problems for a file fmt could not read (ruamel says what, but
    not where: a date like 2027-02-30)."""
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    problems = parse_text(text, str(path))[2]
    return "\n".join(str(p) for p in problems) or f"{path}: cannot read a value: {exc}"


@click.command(name="import", cls=Command,
               environment=("tokens", "CALRECON_ALLOWED_HOSTS", "CALRECON_SANDBOX_STATE"))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--provider", "provider_name", required=True,
              help="The provider (a name under 'providers' in PATHS) to import from.")
@click.option("--calendar", "calendars", multiple=True, metavar="ID_OR_NAME",
              help="Import only this calendar (repeatable); default: all of the account's.")
@click.option("--events-from", type=click.DateTime(["%Y-%m-%d"]),
              help="Also import events from this date (with --events-to).")
@click.option("--events-to", type=click.DateTime(["%Y-%m-%d"]), help="... to this date.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Write PROVIDER.yaml into this directory instead of printing it.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--sandbox", is_flag=True, help="Import from the built-in emulators.")
@click.option("--sandbox-state", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_SANDBOX_STATE, show_default=True, envvar="CALRECON_SANDBOX_STATE",
              help="With --sandbox: the file holding the sandbox's state.")
def import_(paths: tuple[str, ...], provider_name: str, calendars: tuple[str, ...],
            events_from: dt.datetime | None, events_to: dt.datetime | None,
            output: Path | None, force: bool, sandbox: bool, sandbox_state: Path) -> None:
    """Write YAML for calendars (members, events) that already exist.

    PATHS (default: the current directory) hold the provider settings. The result pins
    each calendar's id; planning it right after gives "No changes.".
    """
    if (events_from is None) != (events_to is None):
        fail("--events-from and --events-to go together")
    window = None
    if events_from and events_to:
        if events_to < events_from:
            fail("--events-to is before --events-from")
        window = (events_from.date(), events_to.date())
    target = output / f"{provider_name}.yaml" if output else None
    if target is not None and target.exists() and not force:
        fail(f"{target} exists; pass --force to overwrite it")
    try:
        desired = load(paths or (".",)).desired
    except ConfigError as exc:
        fail("\n".join(str(p) for p in exc.problems))
    if provider_name not in desired.providers:
        fail(f"no provider '{provider_name}' in {' '.join(paths or ('.',))} (known: "
              f"{', '.join(sorted(desired.providers)) or 'none'})")
    if target is not None and target.exists():
        # Overwritten with --force: its own calendars are not "in the YAML already", or a
        # second import would write every one of them away.
        replaced = _calendar_keys(target)
        desired = desired.model_copy(update={"calendars": {
            k: c for k, c in desired.calendars.items() if k not in replaced}})
    box = None
    try:
        if sandbox:
            box = Sandbox(sandbox_state, record_requests=False,  # no one reads the log
                          tenants=sandbox_tenants(desired)).start()
        providers = build_providers(desired, sandbox=box.endpoints() if box else None,
                                    names=[provider_name])
        try:
            result = import_calendars(provider_name, providers[provider_name],
                                      list(calendars), window, managed=desired)
        finally:
            for p in providers.values():
                p.close()
    except (CalreconError, SandboxStateError) as exc:
        fail(str(exc))
    finally:
        if box is not None:
            box.save()
            box.stop()
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    text = result.to_yaml(provider_name)
    if target is None:
        click.echo(text, nl=False)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {len(result.calendars)} calendar(s) to {target}", err=True)


def _calendar_keys(path: Path) -> set[str]:
    """The calendar keys a YAML file defines (none when it cannot be read as YAML)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    calendars = data.get("calendars") if isinstance(data, dict) else None
    return {str(k) for k in calendars} if isinstance(calendars, dict) else set()
