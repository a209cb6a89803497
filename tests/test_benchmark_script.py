"""The benchmark script runs end to end and its figures keep their promises.

Timings are not asserted (a shared machine makes them flaky); what is asserted are the exact
figures: the keys the README documents, an empty no-op plan (the script exits otherwise),
write requests equal to changed resources, and no temporary files left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
    assert set(Path(tempfile.gettempdir()).glob("calrecon-bench-*")) == before


def test_runs_must_be_positive(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--runs", "0"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2
    assert "--runs must be at least 1" in run.stderr
