"""Has a pull request changed where the providers' tokens go? The providers sections of the
YAML now and at a base git ref, compared on the fields that decide it.

A plan job with secrets must not plan a YAML whose ``providers`` a pull request changed: the
change would decide, before review, which host receives the tokens (``base_url``,
``data_center``, ``type``) or which secret is sent as one (``token_env`` and the user name and
password variables). :func:`provider_changes` lists such changes; the workflow then validates
only and leaves the plan to the default branch.

Files are read as plain YAML (``providers`` of each document), not through the loader, so
that a base that no longer validates is still compared.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import CalreconError
from reconciler.loader import discover

GUARDED = ("type", "base_url", "data_center", "token_env", "username_env", "password_env")
SUFFIXES = (".yaml", ".yml")


def providers_of(texts: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """provider name -> its guarded fields, over (file name, YAML text) pairs; a file that
    is not YAML, or has no ``providers`` mapping, adds nothing."""
    found: dict[str, dict[str, Any]] = {}
    for _, text in texts:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        section = data.get("providers") if isinstance(data, dict) else None
        if not isinstance(section, dict):
            continue
        for name, config in section.items():
            if isinstance(config, dict):
                found[str(name)] = {k: config.get(k) for k in GUARDED if k in config}
    return found


def provider_changes(base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]
                     ) -> list[str]:
    """What ``head`` changes of ``base`` in the guarded fields, one line each; a provider
    removed is not a change (it sends nothing)."""
    lines = []
    for name in sorted(head):
        if name not in base:
            lines.append(f"provider '{name}' is new")
            continue
        for field in GUARDED:
            before, after = base[name].get(field), head[name].get(field)
            if before != after:
                lines.append(f"provider '{name}': {field} changes from {before!r} to {after!r}")
    return lines


def texts_now(paths: Iterable[str]) -> list[tuple[str, str]]:
    """The YAML files under ``paths`` in the working tree, as (name, text): the files the
    loader reads (:func:`~reconciler.loader.discover`)."""
    files, problems = discover(paths)
    if problems:
        raise CalreconError("\n".join(str(p) for p in problems))
    return [(str(f), f.read_text(encoding="utf-8", errors="replace")) for f in files]


def texts_at(ref: str, paths: Iterable[str], cwd: Path | None = None) -> list[tuple[str, str]]:
    """The YAML files under ``paths`` at git ``ref``, as (name, text)."""
    listed = _git(["ls-tree", "-r", "--name-only", "--full-tree", ref, "--",
                   *[_repo_path(p, cwd) for p in paths]], cwd)
    result = []
    for name in listed.splitlines():
        if name.endswith(SUFFIXES):
            result.append((name, _git(["show", f"{ref}:{name}"], cwd)))
    return result


def _repo_path(path: str, cwd: Path | None) -> str:
    """``path`` relative to the repository's top, as git ls-tree --full-tree wants it."""
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    absolute = (Path(cwd or Path.cwd()) / path).resolve()
    try:
        return str(absolute.relative_to(top.resolve())) or "."
    except ValueError:
        raise CalreconError(f"{path} is not inside the git repository at {top}") from None


def _git(args: list[str], cwd: Path | None) -> str:
    run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise CalreconError(f"git {' '.join(args[:2])} failed: {run.stderr.strip()}")
    return run.stdout
