"""Planted bugs: each one a realistic mistake that loses data or leaks a secret, and the tests
that must catch it. ``python -m tests.planted`` plants them one at a time in a copy of the
tree and runs those tests there; every bug must make them fail. See docs/testing.md.

A bug is a textual replacement (``old`` must occur exactly once in ``path``), so that a
refactoring that moves the code makes this script say "cannot plant" instead of passing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Bug:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


BUGS = [
    Bug("lineworks event update drops what the YAML does not manage",
        "reconciler/providers/lineworks/mapping.py",
        "comp = {k: v for k, v in (base or {}).items() if k not in READ_ONLY_EVENT_FIELDS}",
        "comp: dict[str, Any] = {}",
        ("tests/test_wire_state.py",)),
    Bug("lineworks all-day events stored ending a day early (read back to match)",
        "reconciler/providers/lineworks/mapping.py",
        'comp["end"] = {"date": (last + dt.timedelta(days=1)).isoformat()}',
        'comp["end"] = {"date": last.isoformat()}',
        ("tests/test_wire_state.py",)),
    Bug("ICS commas and semicolons not escaped",
        "reconciler/providers/onlyoffice/ics.py",
        'return text.decode("utf-8")',
        'return text.decode("utf-8").replace("\\\\,", ",").replace("\\\\;", ";")',
        ("tests/test_wire_state.py",)),
    Bug("onlyoffice calendar update without members wipes its sharing",
        "reconciler/providers/onlyoffice/mapping.py",
        '"sharingOptions": sharing_options(desired.get("members", live_value.get("members", {}))),',
        '"sharingOptions": sharing_options(desired.get("members", {})),',
        ("tests/test_wire_state.py",)),
    Bug("onlyoffice event description from the portal cleared by an update",
        "reconciler/providers/onlyoffice/ics.py",
        'event.add("description", value.get("description", ""))',
        'event.add("description", "")',
        ("tests/test_wire_state.py",)),
]


BUGS += [
    Bug("lineworks: a failed second page of the calendar listing just ends the list",
        "reconciler/providers/lineworks/client.py",
        '            body = self._json("GET", path, address, params=params)\n'
        '            items = body.get("calendarPersonals")',
        '            try:\n'
        '                body = self._json("GET", path, address, params=params)\n'
        '            except Exception:\n'
        '                return\n'
        '            items = body.get("calendarPersonals")',
        ("tests/test_read_failures.py",)),
    Bug("lineworks: a 5xx reading a calendar is taken as 404",
        "reconciler/providers/lineworks/client.py",
        "            if exc.status == 404:",
        "            if exc.status == 404 or exc.status >= 500:",
        ("tests/test_read_failures.py",)),
    Bug("creates retried after a read timeout",
        "reconciler/http.py",
        "if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):",
        "if isinstance(exc, httpx.ConnectError | httpx.TimeoutException):",
        ("tests/test_lost_answers.py",)),
    Bug("a lineworks calendar create marked safe to retry",
        "reconciler/providers/lineworks/provider.py",
        "                               idempotent=False)]",
        "                               idempotent=True)]",
        ("tests/test_lost_answers.py",)),
]


BUGS += [
    Bug("no token redaction in the CLI's log handler",
        "reconciler/cli.py",
        "    handler.addFilter(secrets.RedactingFilter())\n",
        "",
        ("tests/test_secrets.py",)),
    Bug("no token redaction in an API error's message",
        "reconciler/http.py",
        "detail = secrets.redact(self.error_detail(response))",
        "detail = self.error_detail(response)",
        ("tests/test_secrets.py",)),
    Bug("no token redaction in the retry log line",
        "reconciler/http.py",
        "secrets.redact(what), attempt, wait)",
        "what, attempt, wait)",
        ("tests/test_secrets.py",)),
    Bug("no token redaction in a transport error's message",
        "reconciler/http.py",
        "detail = secrets.redact(str(exc)) or kind",
        "detail = str(exc) or kind",
        ("tests/test_http.py",)),
]


BUGS += [
    Bug("onlyoffice alerts 2h and 1d swapped, both ways (convergence alone passes)",
        "reconciler/providers/onlyoffice/mapping.py",
        '"2h": 5, "1d": 6}',
        '"2h": 6, "1d": 5}',
        ("tests/providers/test_events.py",)),
    Bug("lineworks roles write and read swapped, both ways",
        "reconciler/providers/lineworks/mapping.py",
        '    Role.WRITE.value: "EVENT_READ_WRITE",\n    Role.READ.value: "EVENT_READ",',
        '    Role.WRITE.value: "EVENT_READ",\n    Role.READ.value: "EVENT_READ_WRITE",',
        ("tests/providers/test_lineworks.py::test_each_field_converges",)),
    Bug("cronofy start sent as wall time marked UTC",
        "reconciler/providers/cronofy/mapping.py",
        '        body["start"] = {"time": utc_text(start_instant(merged)), "tzid": zone}',
        '        body["start"] = {"time": merged["start"] + "Z", "tzid": zone}',
        ("tests/providers/test_cronofy.py",)),
]


BUGS += [
    Bug("requests sent without the allow-list check",
        "reconciler/http.py",
        "            egress.check(self.provider, request.url)  # before any connection is opened",
        "            pass",
        ("tests/test_egress.py",)),
    Bug("token_env may name any variable",
        "reconciler/model.py",
        "    if not name.startswith(ENV_PREFIXES):",
        "    if not name:",
        ("tests/test_egress.py",)),
    Bug("the guard ignores a changed base_url",
        "reconciler/gitops/guard.py",
        'GUARDED = ("type", "base_url", "data_center",',
        'GUARDED = ("type", "data_center",',
        ("tests/test_egress.py",)),
]


BUGS += [  # the events issue: a series is a series, and nothing of a user's is lost
    Bug("lineworks update sends the master alone, dropping moved occurrences",
        "reconciler/providers/lineworks/mapping.py",
        "    return [event_component(uid, desired, main, value),\n"
        "            *(c for c in item[\"eventComponents\"] if c is not main)]",
        "    return [event_component(uid, desired, main, value)]",
        ("tests/providers/test_series.py",)),
    Bug("cancelled occurrences not carried through an update",
        "reconciler/events.py",
        "    return carried_skips(live, desired) if live else []",
        "    return []",
        ("tests/providers/test_series.py",)),
    Bug("onlyoffice series compared by the first occurrence in the window",
        "reconciler/providers/onlyoffice/provider.py",
        "            if value[\"recurrence\"] and uid in desired:",
        "            if False:",
        ("tests/providers/test_series.py",)),
    Bug("an omitted recurrence removes the live rule",
        "reconciler/providers/onlyoffice/provider.py",
        "\"sharing\", \"recurrence\")},",
        "\"sharing\")},",
        ("tests/providers/test_series.py",)),
    Bug("an event that moved calendar is recreated in place (O2: the server keeps it where "
        "it was)",
        "reconciler/planner.py",
        "        moved_from = live.calendar if live is not None and live.calendar else \"\"",
        "        moved_from = \"\"",
        ("tests/providers/test_series.py",)),
]


def plant(bug: Bug, tree: Path) -> None:
    target = tree / bug.path
    text = target.read_text()
    if text.count(bug.old) != 1:
        raise SystemExit(f"cannot plant {bug.name!r}: the code it changes is not in {bug.path} "
                         "exactly once (moved?); update tests/planted.py")
    target.write_text(text.replace(bug.old, bug.new))


def caught(bug: Bug | None, tests: tuple[str, ...], quiet: bool) -> bool:
    """True when ``tests`` fail (pytest's exit 1: a failed test, not an error of
    collection) in a copy of the tree with ``bug`` planted; None plants nothing."""
    with tempfile.TemporaryDirectory(prefix="calrecon-planted-") as tmp:
        tree = Path(tmp)
        for part in ("reconciler", "tests", "schemas", "examples", ".github"):
            if (ROOT / part).exists():
                shutil.copytree(ROOT / part, tree / part,
                                ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
        for name in ("pyproject.toml", "action.yml", ".pre-commit-hooks.yaml"):
            shutil.copy(ROOT / name, tree / name)
        if bug is not None:
            plant(bug, tree)
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
            cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True, text=True, check=False)
        unexpected = run.returncode not in (0, 1) or (run.returncode == 0) == (bug is not None)
        if unexpected and (not quiet or bug is None):  # a failed control always says why
            print(run.stdout[-3000:], run.stderr[-2000:], file=sys.stderr)
        if run.returncode not in (0, 1):
            raise SystemExit(f"pytest could not run the tests (exit {run.returncode})")
        return run.returncode == 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only the bugs whose name contains this")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()
    chosen = [bug for bug in BUGS if args.k in bug.name]
    every_test = tuple(sorted({t for bug in chosen for t in bug.tests}))
    if caught(None, every_test, args.quiet):  # the control: with no bug, they must pass
        raise SystemExit("the tests fail with no bug planted: fix them first")
    missed = []
    for bug in chosen:
        ok = caught(bug, bug.tests, args.quiet)
        print(f"{'caught' if ok else 'MISSED'}  {bug.name}", flush=True)
        if not ok:
            missed.append(bug.name)
    print(f"{len(missed)} missed")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
