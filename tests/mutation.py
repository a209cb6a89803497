"""Mutation testing of the pure core and the providers' mapping modules (docs/testing.md).

``python -m tests.mutation`` runs ``mutmut run`` (configured in pyproject.toml's
``[tool.mutmut]``), then prints, per module, how many mutants the tests killed, how many
survived and how many no test reached, the score (killed / all), and the survivors' names
for ``mutmut show``. ``--report`` prints the last run's figures without running again.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

LINE = re.compile(r"^\s+(?P<name>[\w.]+?)__mutmut_\d+: (?P<status>[\w ]+)$")
MODULE = re.compile(r"^(?P<module>[\w.]+?)\.(x_|xǁ)")


def module_of(mutant: str) -> str:
    """``reconciler.diff.x_explain__mutmut_3`` -> ``reconciler.diff``."""
    match = MODULE.match(mutant)
    return match.group("module") if match else mutant.rsplit(".", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only report the last run")
    args = parser.parse_args()
    beside = Path(sys.executable).with_name("mutmut")  # the same virtualenv's, first
    mutmut = str(beside) if beside.exists() else shutil.which("mutmut")
    if mutmut is None:
        print("mutmut is not installed: python -m pip install mutmut", file=sys.stderr)
        return 1
    if not args.report:
        subprocess.run([mutmut, "run"], check=False)
    listing = subprocess.run([mutmut, "results", "--all", "true"], capture_output=True,
                             text=True, check=True).stdout
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in listing.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        name = line.strip().split(": ")[0]
        module, status = module_of(name), match.group("status")
        counts[module][status] += 1
        if status == "survived":
            survivors[module].append(name)
    total: Counter[str] = Counter()
    print(f"{'module':48} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>6}")
    for module in sorted(counts):
        c = counts[module]
        total.update(c)
        print(f"{module:48} {c['killed']:>7} {c['survived']:>9} {c['no tests']:>9} "
              f"{_score(c):>6}")
    print(f"{'all':48} {total['killed']:>7} {total['survived']:>9} {total['no tests']:>9} "
          f"{_score(total):>6}")
    other = {k: v for k, v in total.items() if k not in ("killed", "survived", "no tests")}
    if other:
        print("also:", ", ".join(f"{v} {k}" for k, v in sorted(other.items())))
    for module in sorted(survivors):
        print(f"\nsurvived in {module}:")
        for name in survivors[module]:
            print(f"  {name}")
    return 0


def _score(c: Counter[str]) -> str:
    total = sum(c.values())
    return f"{100 * c['killed'] / total:.0f}%" if total else "-"


if __name__ == "__main__":
    raise SystemExit(main())
