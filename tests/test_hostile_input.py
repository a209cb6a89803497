"""Hostile input: every file of the corpus in tests/hostile/ (and a 10 MB file made here) is
refused with exit 1, located at file:line where it has one, in bounded time and memory, and
without a single HTTP request."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.http import STATS

CORPUS = Path(__file__).resolve().parent / "hostile"
CASES = json.loads((CORPUS / "cases.json").read_text())
MAX_SECONDS = 10.0  # a guard against runaway parsing, far above the real cost
MAX_MIB = 150.0


def _invoke(path: Path, state: Path) -> Any:
    STATS.reset()
    return CliRunner().invoke(cli, ["plan", str(path), "--sandbox", "--sandbox-state",
                                    str(state)])


def refuse(path: Path, tmp_path: Path) -> tuple[str, float, float]:
    """stderr, seconds and peak MiB of refusing ``path``. Time and memory come from two
    separate runs: memory tracing slows Python down several times, and a time bound taken
    under it would measure the tracer on a busy machine."""
    state = tmp_path / "state.json"
    started = time.perf_counter()
    result = _invoke(path, state)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 1, result.output
    assert STATS.total() == 0 and not state.exists()  # not one request; no sandbox started
    tracemalloc.start()
    try:
        traced = _invoke(path, state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert traced.exit_code == 1 and traced.stderr == result.stderr
    return result.stderr, elapsed, peak / 2**20


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert {p.name for p in CORPUS.glob("*.yaml")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_is_refused_and_located(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    path = CORPUS / name
    stderr, elapsed, mib = refuse(path, tmp_path)
    where = f"{path}:{case['line']}:" + (f"{case['col']}:" if "col" in case else "")
    assert where in stderr, stderr
    assert case["message"] in stderr, stderr
    assert elapsed < MAX_SECONDS and mib < MAX_MIB, (elapsed, mib)


def test_a_10_mb_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    line = "calendars: {" + ", ".join(f"k{i}: {{provider: w, name: N}}" for i in range(100))
    with path.open("w") as handle:
        while handle.tell() < 10 * 2**20:
            handle.write(f"# {line}\n")
    stderr, elapsed, mib = refuse(path, tmp_path)
    assert f"{path}: file is" in stderr and "the limit is 4 MiB" in stderr
    assert elapsed < MAX_SECONDS and mib < 20
