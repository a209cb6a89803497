"""The benchmark script runs end to end and its figures keep their promises.

Timings are not asserted (a shared machine makes them flaky); what is asserted are the exact
figures: the keys docs/performance.md documents, an empty no-op plan (the script exits
otherwise), write requests equal to changed resources, no 429 in the realistic mode, and no
temporary files left behind.
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
        "write_requests", "changed_resources", "peak_mib"}
REALISTIC_KEYS = {"wall_s", "total_wall_s", "requests", "bound_s", "latency_bound_s", "ratio",
                  "http_429", "failed", "write_requests", "changed_resources", "cpu_s",
                  "cpu_us_per_resource_per_run", "peak_mib"}


def run_script(tmp_path: Path, *args: str) -> dict[str, Any]:
    before = set(Path(tempfile.gettempdir()).glob("calrecon-bench-*"))
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--scenario", "org-small",
         "--json", *args], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert set(Path(tempfile.gettempdir()).glob("calrecon-bench-*")) == before
    figures: dict[str, Any] = json.loads(run.stdout)
    # 125 calendars and 2,250 events; 1% of 2,375 changed, and one write for each
    assert figures["resources"] == 2375
    assert figures["changed_resources"] == 23
    assert figures["write_requests"] == figures["changed_resources"]
    return figures


def test_loopback_mode_gives_every_figure(tmp_path: Path) -> None:
    figures = run_script(tmp_path, "--runs", "1")
    assert figures.keys() >= KEYS and figures["mode"] == "loopback"
    assert figures["requests"] > 75  # 50 + 25 calendar reads and the listings, at least
    assert figures["lower_bound_s"] == round(figures["requests"] * 0.02 / 16, 3)
    assert figures["ratio"] >= 1.0
    assert 0 < figures["cpu_us_per_resource"] < 10_000


def test_realistic_mode_runs_three_processes_with_budgets_and_no_429(tmp_path: Path) -> None:
    figures = run_script(tmp_path, "--realistic", "--latency", "0.02")
    assert figures.keys() >= REALISTIC_KEYS and figures["mode"] == "realistic"
    assert set(figures["wall_s"]) == {"plan", "apply", "plan_again"}
    assert figures["failed"] == 0 and figures["http_429"] == 0
    assert figures["requests_by_provider"].keys() == {"lineworks", "onlyoffice", "cronofy"}
    assert figures["bound_s"] >= figures["latency_bound_s"] > 0
    assert figures["total_wall_s"] >= figures["latency_bound_s"]


def test_the_budget_bound_counts_whole_windows() -> None:
    bound = bench_module().window_bound
    assert bound(240, 240, 60.0) == 0  # one window's worth goes at once
    assert bound(241, 240, 60.0) == 60.0
    assert bound(600, 240, 60.0) == 120.0
    assert bound(0, 240, 60.0) == 0


def test_runs_must_be_positive(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--runs", "0"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2
    assert "--runs must be at least 1" in run.stderr


def test_the_loading_benchmark_measures_whole_processes(tmp_path: Path) -> None:
    """benchmarks/loading.py: every figure docs/performance.md names, for a small repository
    (its own validate and fmt --check must succeed on it, or it exits non-zero)."""
    before = set(Path(tempfile.gettempdir()).glob("calrecon-loading-*"))
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "loading.py"), "--events",
                          "300", "--calendars", "10", "--runs", "1", "--json"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert set(Path(tempfile.gettempdir()).glob("calrecon-loading-*")) == before
    figures = json.loads(run.stdout)
    assert figures["resources"] == 310
    for step in ("validate", "fmt_check", "csafe_load"):
        assert figures[f"{step}_s"] > 0 and figures[f"{step}_us_per_resource"] > 0
    assert figures["fmt_vs_validate"] > 0 and figures["validate_vs_csafe_load"] > 0
