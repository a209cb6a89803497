"""Loading large YAML, as users wait for it: whole ``calrecon`` processes on one generated
repository. ``python benchmarks/loading.py --events 20000``.

Writes ``--events`` events over ``--calendars`` LINE WORKS calendars (laid out as ``calrecon
fmt`` writes them, as a repository that runs ``fmt --check`` in CI has them), then runs, in
turn and ``--runs`` times each (the median is reported):

- ``validate``: ``calrecon validate`` of the folder;
- ``fmt_check``: ``calrecon fmt --check`` of the same folder;
- ``csafe_load``: PyYAML's ``CSafeLoader`` alone loading the same files, in a process of its
  own: the floor a loader that keeps positions can hope to approach.

Printed: seconds of each, microseconds per resource (calendars and events), and
``fmt_vs_validate`` (the target is at most 2). ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = "providers:\n  works:\n    type: lineworks\n"
CSAFE = ("import sys, yaml\n"
         "for name in sys.argv[1:]:\n"
         "    with open(name, encoding='utf-8') as f:\n"
         "        yaml.load(f, Loader=yaml.CSafeLoader)\n")


def write_repository(folder: Path, calendars: int, events: int) -> list[Path]:
    """One file per calendar, events spread evenly, in fmt's layout and order."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "providers.yaml").write_text(PROVIDERS)
    files = [folder / "providers.yaml"]
    for c in range(calendars):
        lines = ["calendars:", f"  cal-{c:04d}:", "    provider: works",
                 f"    name: Calendar {c}", "    description: Generated for the benchmark.",
                 "    events:"]
        for e in range(c, events, calendars):
            day = dt.date(2027, 1, 4) + dt.timedelta(days=e % 360)
            lines += [f"      ev-{e:06d}:", f"        summary: Meeting {e}",
                      "        description: Agenda in the shared folder.",
                      f"        start: {day}T10:00:00", f"        end: {day}T11:00:00",
                      "        timezone: Asia/Tokyo"]
        path = folder / f"cal-{c:04d}.yaml"
        path.write_text("\n".join(lines) + "\n")
        files.append(path)
    return files


def timed(argv: list[str], expect: int = 0) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if run.returncode != expect:
        raise SystemExit(f"{' '.join(argv[:4])} ... exited {run.returncode}: "
                         f"{run.stderr[-2000:]}")
    return elapsed


def measure(calendars: int, events: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="calrecon-loading-") as work:
        folder = Path(work) / "calendars"
        files = write_repository(folder, calendars, events)
        calrecon = [sys.executable, "-m", "reconciler"]
        steps = {
            "validate": [*calrecon, "validate", str(folder)],
            "fmt_check": [*calrecon, "fmt", "--check", str(folder)],
            "csafe_load": [sys.executable, "-c", CSAFE, *map(str, files)],
        }
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(runs):  # interleaved, so that a busy moment hits all of them alike
            for name, argv in steps.items():
                times[name].append(timed(argv))
        size = sum(f.stat().st_size for f in files)
    resources = calendars + events
    figures: dict[str, Any] = {"calendars": calendars, "events": events,
                               "resources": resources, "yaml_mib": round(size / 2**20, 2),
                               "runs": runs}
    for name, values in times.items():
        median = statistics.median(values)
        figures[f"{name}_s"] = round(median, 3)
        figures[f"{name}_us_per_resource"] = round(median / resources * 1e6, 1)
    figures["fmt_vs_validate"] = round(figures["fmt_check_s"] / figures["validate_s"], 2)
    figures["validate_vs_csafe_load"] = round(figures["validate_s"] / figures["csafe_load_s"],
                                              2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--calendars", type=int, default=700)
    parser.add_argument("--runs", type=int, default=3,
                        help="runs of each step; the median is reported (default 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.calendars < 1 or args.events < 0 or args.runs < 1:
        parser.error("--calendars and --runs must be at least 1, --events at least 0")
    figures = measure(args.calendars, args.events, args.runs)
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
