"""Import rules between modules, read from the source (no import is run).

Only one rule so far: the loader runs the desired-state checks, so :mod:`reconciler.validate`
must not import :mod:`reconciler.loader` (they share :mod:`reconciler.sources` instead). A
cycle between them made each module's import order matter and hid which one is the lower.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"


def imported(module: Path) -> set[str]:
    """Every ``reconciler...`` module ``module`` imports, at any depth of its code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.startswith("reconciler")}


def test_validate_does_not_import_the_loader() -> None:
    assert not {n for n in imported(PACKAGE / "validate.py")
                if n.startswith("reconciler.loader")}
    assert "reconciler.validate" in imported(PACKAGE / "loader.py")


def test_sources_imports_only_errors() -> None:
    assert imported(PACKAGE / "sources.py") <= {"reconciler.errors",
                                                "reconciler.errors.Problem"}
