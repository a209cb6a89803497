"""The suite catches the bugs it claims to catch: every bug of tests/planted.py, planted in a
copy of the tree, makes its tests fail (and with none planted they pass)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(900)  # ~20 short pytest runs in copies of the tree
def test_every_planted_bug_is_caught() -> None:
    run = subprocess.run([sys.executable, "-m", "tests.planted", "--quiet"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip().endswith("0 missed"), run.stdout
