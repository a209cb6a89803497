"""Benchmarks of calrecon against the sandbox: ``python benchmarks/run.py --scenario org-large``.

Builds a synthetic organisation, makes calrecon's YAML for it, fills the emulators by applying
that YAML once (in a child process), then serves the emulators from other child processes
(``calrecon sandbox serve``). Two modes:

- ``--realistic`` (what users wait for): ``--latency`` 0.1 s by default and the providers'
  documented rate budgets on (LINE WORKS 240 requests a minute per API, or ``--free-plan``'s
  60). Three whole ``calrecon`` processes back to back, inside one minute: a no-op ``plan``,
  an ``apply`` of 1% changed resources (which reads again), a no-op ``plan``. Reported:
  wall time of each and in all; requests; ``bound_s``, the larger of
  ``requests x latency / parallelism`` and, per provider and API, the least time its budget
  lets those requests go (:func:`window_bound`); ``ratio`` = wall / bound; ``http_429`` (answers of 429
  received: pacing, not luck, keeps it at 0); ``failed`` (steps that exited non-zero);
  writes vs changed resources; CPU seconds of the three ``calrecon`` processes and the
  largest one's peak memory (YAML load included), and CPU per resource and run. ``--code DIR`` runs the ``calrecon`` processes from
  another checkout, to compare two versions side by side.
- loopback (default, for comparing designs, no longer a target): in this process, no-op
  plans at ``--latency`` (0.02 s) with the clients' budgets lifted and none in the emulators: wall, requests, the bound and the ratio;
  CPU microseconds per resource at zero latency; apply of 1% (writes vs changes); a DeepDiff
  of the whole tree against calrecon's per-resource diff.

``--json`` prints one JSON object instead of lines.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from deepdiff import DeepDiff

from reconciler.apply import apply_plan
from reconciler.diff import diff
from reconciler.http import STATS, RetryPolicy
from reconciler.loader import load
from reconciler.planner import canonical_calendar, fetch, make_plan
from reconciler.providers.lineworks.client import api_of
from reconciler.providers.registry import build_providers
from reconciler.sandbox.server import Sandbox


@dataclass(frozen=True)
class Scenario:
    lineworks_calendars: int
    lineworks_members: int
    onlyoffice_calendars: int
    onlyoffice_events: int
    cronofy_calendars: int
    cronofy_events: int


SCENARIOS = {
    "org-large": Scenario(200, 10, 200, 20, 100, 50),
    "org-medium": Scenario(100, 10, 100, 20, 50, 50),
    "org-small": Scenario(50, 10, 50, 20, 25, 50),
}
PROFILE = "pro_bench"
RUNS = 5  # no-op plans per loopback figure; the median is reported (a shared machine is noisy)
ROLES = ["manage", "write", "read", "free_busy"]
# Documented budgets, as requests per second (providers.md L5 and §0 "Cronofy"): LINE WORKS
# per API, Cronofy per application. ONLYOFFICE documents none.
LINEWORKS_PER_MINUTE = 240
CRONOFY_PER_MINUTE = 500


def generate(s: Scenario) -> dict[str, Any]:
    """The desired state of the synthetic organisation, as one YAML document."""
    providers = {
        "works": {"type": "lineworks", "safety": {"max_delete_percent": 100}},
        "office": {"type": "onlyoffice", "base_url": "https://office.example.com"},
        "people": {"type": "cronofy", "profile_id": PROFILE},
    }
    calendars: dict[str, Any] = {}
    for i in range(s.lineworks_calendars):
        members = [{"user": f"user{j}.{i}@example.com", "role": ROLES[j % 4]}
                   for j in range(s.lineworks_members - 2)]
        members += [{"group": f"group-{i}", "role": "write"}, {"orgunit": "org-all",
                                                               "role": "read"}]
        calendars[f"lw-{i:04d}"] = {"provider": "works", "name": f"LW calendar {i:04d}",
                                    "description": f"Team {i} calendar.", "public": i % 2 == 0,
                                    "members": members}
    for i in range(s.onlyoffice_calendars):
        events: dict[str, Any] = {}
        for j in range(s.onlyoffice_events):
            day = 1 + (i + j) % 28
            event: dict[str, Any] = {"summary": f"Meeting {i}-{j}",
                                     "description": f"Agenda for meeting {j}."}
            if j % 5 == 4:
                event.update(start=f"2027-02-{day:02d}")
            else:
                event.update(start=f"2027-01-{day:02d}T{9 + j % 8:02d}:00:00",
                             end=f"2027-01-{day:02d}T{9 + j % 8:02d}:45:00",
                             timezone="Europe/Berlin", alert="15m")
            if j % 10 == 3:
                event["recurrence"] = "FREQ=WEEKLY;COUNT=4"
            if j % 4 == 0:
                event["sharing"] = [{"user": f"{j:08d}-0000-4000-8000-{i:012d}", "role": "read"}]
            events[f"ev-{i:04d}-{j:03d}"] = event  # ONLYOFFICE uids are portal-wide
        calendars[f"oo-{i:04d}"] = {
            "provider": "office", "name": f"OO calendar {i:04d}",
            "members": [{"group": f"{i:08d}-0000-4000-8000-00000000000b", "role": "read"}],
            "events": events}
    for i in range(s.cronofy_calendars):
        calendars[f"cr-{i:04d}"] = {"provider": "people", "name": f"CR calendar {i:04d}",
                                    "events": {f"m-{j:03d}": {
                                        "summary": f"Slot {j}",
                                        "start": f"2027-03-{1 + j % 28:02d}T{8 + j % 9:02d}:00:00",
                                        "end": f"2027-03-{1 + j % 28:02d}T{8 + j % 9:02d}:30:00",
                                        "timezone": "Europe/London"}
                                        for j in range(s.cronofy_events)}}
    return {"providers": providers, "calendars": calendars}


def lift_client_budgets() -> None:
    """In this process only: the clients' documented rate budgets set out of reach (module
    constants read when a client is made), for runs that fill the emulators or compare
    designs rather than measure a real run."""
    from reconciler.providers.cronofy import client as cronofy_client
    from reconciler.providers.lineworks import client as lineworks_client

    cronofy_client.PER_SECOND = cronofy_client.PER_MINUTE = 10**9
    lineworks_client.RATE_LIMIT = 10**9


def populate(folder: Path, state: Path) -> None:
    """Child process: fill the emulators by applying the YAML, then save their state. The
    emulators are being filled, not measured: no budgets."""
    lift_client_budgets()
    with Sandbox(seed=False, rate_limit=10**9) as box:
        box.cronofy.add_profile(PROFILE, "bench@example.com")
        desired = load([folder]).desired
        providers = build_providers(desired, sandbox=box.endpoints(), parallelism=32)
        plan = make_plan(desired, providers, 32)
        report = apply_plan(plan, providers, 32)
        if not report.ok:
            sys.exit(f"populate failed: {report.by_status('failed')[0].detail}")
        box.state_file = state
        box.save()


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    token: str


class Server:
    """The emulators on the populated state: ``calrecon sandbox serve``, one child process
    per provider (one GIL each), answering repeated reads from cache (``--cache-reads``,
    which still checks the token and spends the rate budget)."""

    def __init__(self, state: Path, latency: float, rate_limit: int = 10**9) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.endpoints: dict[str, Endpoint] = {}
        for provider in ("lineworks", "onlyoffice", "cronofy"):
            proc = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "sandbox", "serve", "--state", str(state),
                 "--latency", str(latency), "--rate-limit", str(rate_limit), "--no-save",
                 "--only", provider, "--cache-reads"],
                stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            name, url, _, token = proc.stdout.readline().split()
            self.endpoints[name] = Endpoint(url, token)
            self.procs.append(proc)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=30)


def prepare(args: argparse.Namespace, work: Path) -> tuple[dict[str, Any], Path, Path, float]:
    """The scenario's YAML document and folder, the populated state, and populate's seconds."""
    folder, state = work / "yaml", work / "state.json"
    folder.mkdir()
    document = generate(SCENARIOS[args.scenario])
    (folder / "org.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--populate", str(folder), str(state)], check=True)
    return document, folder, state, time.perf_counter() - started


def count_resources(document: dict[str, Any]) -> tuple[int, int]:
    calendars = document["calendars"]
    return len(calendars), sum(len(c.get("events") or {}) for c in calendars.values())


def change_one_percent(document: dict[str, Any]) -> int:
    """Change 1% of the resources (summaries, roles) in ``document``; how many changed."""
    calendars = document["calendars"]
    keys = sorted(calendars)
    total = sum(count_resources(document))
    budget = max(1, total // 100)
    for n in range(budget):
        cal = calendars[keys[(n * 37) % len(keys)]]
        if cal.get("events"):
            uid = sorted(cal["events"])[n % len(cal["events"])]
            cal["events"][uid]["summary"] += " (moved)"
        elif "members" in cal:
            cal["members"][0]["role"] = "read" if cal["members"][0]["role"] != "read" else "write"
    return budget


# -- realistic: whole calrecon processes, real latency and budgets ------------------------------

REQUEST_LINE = re.compile(r"reconciler\.http: (\w+) (\w+) (\S+) -> (\d+) ")


def served_yaml(document: dict[str, Any], server: Server, rate_limit: int) -> dict[str, Any]:
    """The document pointed at the served emulators (tokens come from the environment)."""
    served = json.loads(json.dumps(document))
    providers = served["providers"]
    providers["works"]["base_url"] = server.endpoints["lineworks"].base_url
    if rate_limit != LINEWORKS_PER_MINUTE:  # the default needs no setting (older versions
        providers["works"]["rate_limit"] = rate_limit  # of calrecon do not know it)
    providers["office"]["base_url"] = server.endpoints["onlyoffice"].base_url
    providers["people"]["base_url"] = server.endpoints["cronofy"].base_url
    return served


def run_calrecon(argv: list[str], code: Path | None) -> dict[str, Any]:
    """One ``calrecon`` process at -v: wall seconds, exit code, its own CPU seconds and peak
    memory (from ``wait4``), and its requests (provider, method, api, status) read from its
    log lines."""
    env = dict(os.environ)
    python = sys.executable
    if code is not None:  # that checkout's own virtualenv, which has its dependencies
        env["PYTHONPATH"] = str(code)
        if (code / ".venv" / "bin" / "python").exists():
            python = str(code / ".venv" / "bin" / "python")
    started = time.perf_counter()
    proc = subprocess.Popen([python, "-m", "reconciler", *argv, "-v"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for its rusage
    reader.join()
    wall = time.perf_counter() - started
    requests = []
    for line in stderr[0].splitlines():
        match = REQUEST_LINE.search(line)
        if match:
            provider, method, url, code_ = match.groups()
            path = re.sub(r"^https?://[^/]+(/v1\.0)?", "", url).split("?")[0]
            requests.append((provider, method, api_of(method, path), int(code_)))
    return {"wall_s": wall, "exit": proc.returncode,
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024,
            "requests": requests, "stderr": stderr[0][-2000:]}


def window_bound(requests: int, limit: int, per: float) -> float:
    """The least time in which a budget of ``limit`` requests per ``per`` seconds lets
    ``requests`` go: each full window of them but the last is waited out. (Reading
    ``requests / budget`` as a steady rate would count a wait for the first window too.)"""
    return (max(0, requests - 1) // limit) * per


def realistic(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    document, folder, state, populate_s = prepare(args, work)
    calendars, events = count_resources(document)
    resources = calendars + events
    rate_limit = 60 if args.free_plan else LINEWORKS_PER_MINUTE
    server = Server(state, args.latency, rate_limit=rate_limit)
    env_tokens = {"LINEWORKS_TOKEN": server.endpoints["lineworks"].token,
                  "ONLYOFFICE_TOKEN": server.endpoints["onlyoffice"].token,
                  "CRONOFY_TOKEN": server.endpoints["cronofy"].token}
    os.environ.update(env_tokens)
    yaml_file = folder / "org.yaml"
    common = ["--parallelism", str(args.parallelism)]
    steps: dict[str, dict[str, Any]] = {}
    try:
        yaml_file.write_text(yaml.safe_dump(served_yaml(document, server, rate_limit),
                                            sort_keys=False))
        steps["plan"] = run_calrecon(["plan", str(folder), *common], args.code)
        changed = change_one_percent(document)
        yaml_file.write_text(yaml.safe_dump(served_yaml(document, server, rate_limit),
                                            sort_keys=False))
        steps["apply"] = run_calrecon(["apply", str(folder), "--auto-approve", *common],
                                      args.code)
        steps["plan_again"] = run_calrecon(["plan", str(folder), "--detailed-exitcode",
                                            *common], args.code)
    finally:
        server.stop()
    every = [r for step in steps.values() for r in step["requests"]]
    per_api = Counter((provider, api) for provider, _, api, _ in every)
    per_provider = Counter(provider for provider, _, _, _ in every)
    budget_bounds = [window_bound(n, rate_limit, 60.0) for (provider, _), n in per_api.items()
                     if provider == "lineworks"]
    budget_bounds.append(window_bound(per_provider["cronofy"], CRONOFY_PER_MINUTE, 60.0))
    latency_bound = len(every) * args.latency / args.parallelism
    bound = max([latency_bound, *budget_bounds])
    wall = sum(step["wall_s"] for step in steps.values())
    failed = [name for name, step in steps.items() if step["exit"] != 0]
    for name in failed:
        print(f"{name} exited {steps[name]['exit']}:\n{steps[name]['stderr']}", file=sys.stderr)
    writes = sum(1 for _, method, _, status in steps["apply"]["requests"]
                 if method != "GET" and status != 429)
    cpu = sum(step["cpu_s"] for step in steps.values())
    return {
        "mode": "realistic", "scenario": args.scenario, "resources": resources,
        "calendars": calendars, "events": events, "latency_s": args.latency,
        "parallelism": args.parallelism, "lineworks_budget_per_min": rate_limit,
        "code": str(args.code or "this checkout"),
        "wall_s": {name: round(step["wall_s"], 2) for name, step in steps.items()},
        "total_wall_s": round(wall, 2), "requests": len(every),
        "requests_by_provider": dict(per_provider), "bound_s": round(bound, 2),
        "latency_bound_s": round(latency_bound, 2), "ratio": round(wall / bound, 3),
        "http_429": sum(1 for *_, status in every if status == 429),
        "failed": len(failed), "write_requests": writes, "changed_resources": changed,
        "cpu_s": round(cpu, 2), "cpu_us_per_resource_per_run": round(cpu / 3 / resources * 1e6),
        "peak_mib": round(max(step["peak_mib"] for step in steps.values()), 1),
        "populate_s": round(populate_s, 1),
    }


# -- loopback: in this process, no budgets ------------------------------------------------------

def loopback(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    lift_client_budgets()  # the design's own cost, as the old stack had no budgets either
    document, folder, state, populate_s = prepare(args, work)
    t0 = time.perf_counter()
    desired = load([folder]).desired
    load_s = time.perf_counter() - t0
    calendars, events = count_resources(document)
    resources = calendars + events
    policy = RetryPolicy(attempts=3, base_wait=0.05, max_wait=1.0, timeout=60.0)

    def plan_once(server: Server) -> tuple[float, float, int]:
        """(wall, cpu, requests) of one no-op plan."""
        providers = build_providers(desired, sandbox=server.endpoints, policy=policy,
                                    parallelism=args.parallelism)
        STATS.reset()
        started, cpu = time.perf_counter(), time.process_time()
        plan = make_plan(desired, providers, args.parallelism)
        finished, cpu = time.perf_counter(), time.process_time() - cpu
        for p in providers.values():
            p.close()
        if not plan.empty:
            sys.exit(f"the no-op plan is not empty: {plan.addresses[:5]}")
        return finished - started, cpu, STATS.total()

    server = Server(state, args.latency)
    try:
        requests = plan_once(server)[2]  # warm-up: imports, connection pools, emulator caches
        walls = [plan_once(server)[0] for _ in range(args.runs)]
    finally:
        server.stop()
    bound = requests * args.latency / args.parallelism
    server = Server(state, 0.0)
    try:
        cpu = statistics.median(plan_once(server)[1] for _ in range(args.runs))
        naive_s, ours_s = compare_diffs(desired, server, policy, args.parallelism)
        changed, writes = apply_one_percent(document, folder, server, policy, args.parallelism)
    finally:
        server.stop()
    noop_wall = statistics.median(walls)
    return {
        "mode": "loopback", "scenario": args.scenario, "resources": resources,
        "calendars": calendars, "events": events, "latency_s": args.latency,
        "parallelism": args.parallelism, "noop_wall_s": round(noop_wall, 3),
        "lower_bound_s": round(bound, 3), "ratio": round(noop_wall / bound, 3) if bound else None,
        "cpu_us_per_resource": round(cpu / resources * 1e6, 1), "requests": requests,
        "write_requests": writes, "changed_resources": changed,
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_s": round(load_s, 3), "populate_s": round(populate_s, 1),
        "naive_deepdiff_s": round(naive_s, 3), "per_resource_diff_s": round(ours_s, 3),
    }


def apply_one_percent(document: dict[str, Any], folder: Path, server: Server,
                      policy: RetryPolicy, parallelism: int) -> tuple[int, int]:
    """Change 1% of the resources; apply in this process; (changes planned, writes sent)."""
    change_one_percent(document)
    (folder / "org.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    desired = load([folder]).desired
    providers = build_providers(desired, sandbox=server.endpoints, policy=policy,
                                parallelism=parallelism)
    plan = make_plan(desired, providers, parallelism)
    STATS.reset()
    report = apply_plan(plan, providers, parallelism)
    for p in providers.values():
        p.close()
    if not report.ok:
        sys.exit(f"apply failed: {report.by_status('failed')[0].detail}")
    return len(plan.changes), STATS.total(writes_only=True)


def compare_diffs(desired: Any, server: Server, policy: RetryPolicy,
                  parallelism: int) -> tuple[float, float]:
    """One DeepDiff over the whole tree vs calrecon's per-resource diff, same values."""
    providers = build_providers(desired, sandbox=server.endpoints, policy=policy,
                                parallelism=parallelism)
    got = fetch(desired, providers, parallelism)
    for p in providers.values():
        p.close()
    want: dict[str, Any] = {}
    have: dict[str, Any] = {}
    for target in got.targets:
        live = got.calendars[target.address]
        assert live is not None
        want[target.address] = canonical_calendar(target.calendar)
        have[target.address] = {k: live.value.get(k) for k in want[target.address]}
        by_uid = {e.uid: e for e in got.events.get(target.address, [])}
        provider = providers[target.calendar.provider]
        for uid, event in target.events.items():
            want[f"{target.address}.events.{uid}"] = provider.event_value(event)
            have[f"{target.address}.events.{uid}"] = by_uid[uid].value
    started = time.perf_counter()
    DeepDiff(have, want, ignore_order=True)
    naive = time.perf_counter() - started
    started = time.perf_counter()
    for address in want:
        diff(want[address], have[address])
    return naive, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="org-large")
    parser.add_argument("--realistic", action="store_true",
                        help="whole calrecon processes, real latency and rate budgets")
    parser.add_argument("--free-plan", action="store_true",
                        help="with --realistic: LINE WORKS at 60 requests a minute per API")
    parser.add_argument("--latency", type=float, default=None,
                        help="seconds the emulators add to each request (default 0.1 with "
                             "--realistic, else 0.02)")
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--runs", type=int, default=RUNS,
                        help=f"loopback no-op plans per figure, after a warm-up; the median is "
                             f"reported (default {RUNS})")
    parser.add_argument("--code", type=Path, default=None,
                        help="with --realistic: run calrecon from this checkout instead (with "
                             "its .venv's Python when it has one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--populate", nargs=2, metavar=("FOLDER", "STATE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.populate:
        populate(Path(args.populate[0]), Path(args.populate[1]))
        return
    if args.latency is None:
        args.latency = 0.1 if args.realistic else 0.02
    os.environ.pop("CALRECON_SANDBOX_STATE", None)
    with tempfile.TemporaryDirectory(prefix="calrecon-bench-") as work:
        figures = (realistic if args.realistic else loopback)(args, Path(work))
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
