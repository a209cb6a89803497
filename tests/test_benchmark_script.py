"""The benchmark script runs end to end and its figures keep their promises.

Timings are not asserted (a shared machine makes them flaky); what is asserted are the exact
figures: the keys the README documents, an empty no-op plan (the script exits otherwise),
write requests equal to changed resources, and no temporary files left behind.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
def bench_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


KEYS = {"noop_wall_s", "lower_bound_s", "ratio", "cpu_us_per_resource", "requests",
        "write_requests", "changed_resources", "peak_mib", "floor_wall_s", "floor_ratio"}


def test_small_scenario_gives_every_figure(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("calrecon-bench-*"))
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--scenario", "org-small",
         "--runs", "1", "--json"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(run.stdout)
    assert figures.keys() >= KEYS
    # 125 calendars and 2,250 events: 50 + 25 calendar reads and the listings, at least
    assert figures["resources"] == 2375
    assert figures["requests"] > 75
    assert figures["lower_bound_s"] == round(figures["requests"] * 0.02 / 16, 3)
    assert figures["ratio"] >= 1.0 and figures["floor_ratio"] >= 1.0
    assert figures["changed_resources"] == 23  # 1% of 2,375
    assert figures["write_requests"] == figures["changed_resources"]
    assert 0 < figures["cpu_us_per_resource"] < 10_000
    # with one run, the median run is the run: its split adds up to its wall above the bound
    split = figures["wall_above_bound_s"]
    assert split.keys() == {"exchanges", "start", "between", "end"}
    assert abs(figures["median_run_wall_s"] - figures["noop_wall_s"]) < 0.001
    assert abs(sum(split.values()) - (figures["median_run_wall_s"]
                                      - figures["requests"] * 0.02 / 16)) < 0.002
    assert figures["mean_exchange_ms"] >= 20.0  # the injected latency, at least
    assert set(Path(tempfile.gettempdir()).glob("calrecon-bench-*")) == before


def test_runs_must_be_positive(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--runs", "0"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2
    assert "--runs must be at least 1" in run.stderr


def test_wall_split_accounts_for_every_slot_second() -> None:
    """Two slots, latency 1: requests over [0, 1.5] and [0.5, 1.5] (both slots in use from
    0.5), then [2, 3] (the last sent); the plan ends at 3.5."""
    split = bench_module().wall_split([(0.0, 1.5), (0.5, 1.5), (2.0, 3.0)], 0.0, 3.5, 2, 1.0)
    assert split["exchanges"] == (3.5 - 3.0) / 2  # 3.5 slot seconds waiting, 3 expected
    assert split["start"] == 0.5 / 2  # [0, 0.5]: one slot not waiting
    assert split["between"] == 1.0 / 2  # [0.5, 2]: 3 slot seconds, 2 of them waiting
    assert split["end"] == 2.0 / 2  # [2, 3.5]: 3 slot seconds, 1 of them waiting
    assert split["mean_exchange_ms"] == 3.5 / 3 * 1000
    wall, bound = 3.5, 3 * 1.0 / 2
    assert sum(v for k, v in split.items() if k != "mean_exchange_ms") == wall - bound
