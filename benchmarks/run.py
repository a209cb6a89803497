"""Benchmarks of calrecon against the sandbox: ``python benchmarks/run.py --scenario org-large``.

Builds a synthetic organisation, makes calrecon's YAML for it, fills the emulators by applying
that YAML once (in a child process), then serves the emulators from another child process
(``calrecon sandbox serve``), so that every figure below is the client's alone:

1. no-op plan at ``--latency`` (default 20 ms) and ``--parallelism`` (16): wall time, requests,
   the lower bound ``requests x latency / parallelism`` and the ratio wall / bound; beside
   it, the transport floor: as many bare reads of LINE WORKS calendars through the same HTTP
   client and task pool, at the same parallelism and interleaved with the plans, i.e. what
   this machine and the emulators allow a client with nothing to plan; and the median run's
   wall time above the bound, split by :func:`wall_split`;
2. CPU microseconds per managed resource (calendars + events) of a no-op plan at zero latency;
   (1) and (2) are the medians of ``--runs`` plans (default 5) after a warm-up;
3. apply of 1% changed resources: write requests sent vs resources changed;
4. peak memory (max RSS of this process);
plus a comparison: one DeepDiff over the whole desired vs live tree, against calrecon's
per-resource diff on the same values. ``--json`` prints one JSON object instead of lines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from deepdiff import DeepDiff

from reconciler import greenio
from reconciler.apply import apply_plan
from reconciler.diff import diff
from reconciler.http import STATS, RetryPolicy
from reconciler.loader import load
from reconciler.planner import canonical_calendar, fetch, make_plan
from reconciler.providers.lineworks.provider import LineWorksProvider
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
RUNS = 5  # no-op plans per figure by default; the median is reported (a shared machine is noisy)
ROLES = ["manage", "write", "read", "free_busy"]


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


def populate(folder: Path, state: Path) -> None:
    """Child process: fill the emulators by applying the YAML, then save their state."""
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
    per provider (one GIL each), answering repeated reads from cache (``--cache-reads``) so
    that what is measured is the client, not the emulators' Python."""

    def __init__(self, state: Path, latency: float) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.endpoints: dict[str, Endpoint] = {}
        for provider in ("lineworks", "onlyoffice", "cronofy"):
            proc = subprocess.Popen(
                [sys.executable, "-m", "reconciler", "sandbox", "serve", "--state", str(state),
                 "--latency", str(latency), "--rate-limit", str(10**9), "--no-save",
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


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every figure, for the YAML and emulator state written under ``work``."""
    scenario = SCENARIOS[args.scenario]
    folder, state = work / "yaml", work / "state.json"
    folder.mkdir()
    document = generate(scenario)
    (folder / "org.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--populate", str(folder), str(state)], check=True)
    populate_s = time.perf_counter() - started

    t0 = time.perf_counter()
    desired = load([folder]).desired
    load_s = time.perf_counter() - t0
    calendars = len(desired.calendars)
    events = sum(len(c.events or {}) for c in desired.calendars.values())
    resources = calendars + events
    policy = RetryPolicy(attempts=3, base_wait=0.05, max_wait=1.0, timeout=60.0)

    def plan_once(server: Server) -> tuple[float, float, int, dict[str, float]]:
        """(wall, cpu, requests, wall_split) of one no-op plan."""
        providers = build_providers(desired, sandbox=server.endpoints, policy=policy,
                                    parallelism=args.parallelism)
        STATS.reset()
        STATS.record_spans()
        started, cpu = time.perf_counter(), time.process_time()
        plan = make_plan(desired, providers, args.parallelism)
        finished, cpu = time.perf_counter(), time.process_time() - cpu
        spans = STATS.spans or []
        for p in providers.values():
            p.close()
        if not plan.empty:
            sys.exit(f"the no-op plan is not empty: {plan.addresses[:5]}")
        return (finished - started, cpu, STATS.total(),
                wall_split(spans, started, finished, args.parallelism, args.latency))

    server = Server(state, args.latency)
    try:
        requests = plan_once(server)[2]  # warm-up: imports, connection pools, emulator caches
        ids = lineworks_ids(desired, server, policy)
        transport_floor(desired, server, policy, args.parallelism, requests, ids)
        runs, floors = [], []
        for _ in range(args.runs):  # interleaved: a slow minute slows both alike
            runs.append(plan_once(server))
            floors.append(transport_floor(desired, server, policy, args.parallelism, requests,
                                          ids))
    finally:
        server.stop()
    noop_wall = statistics.median(run[0] for run in runs)
    middle = sorted(runs, key=lambda run: run[0])[(len(runs) - 1) // 2]  # median_low's run
    floor_wall = statistics.median(floors)
    bound = requests * args.latency / args.parallelism

    server = Server(state, 0.0)
    try:
        cpu = statistics.median(plan_once(server)[1] for _ in range(args.runs))
        naive_s, ours_s = compare_diffs(desired, server, policy, args.parallelism)
        changed, writes = apply_one_percent(document, folder, server, policy, args.parallelism)
    finally:
        server.stop()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "scenario": args.scenario, "resources": resources, "calendars": calendars,
        "events": events, "latency_s": args.latency, "parallelism": args.parallelism,
        "noop_wall_s": round(noop_wall, 3), "lower_bound_s": round(bound, 3),
        "ratio": round(noop_wall / bound, 3) if bound else None,
        "floor_wall_s": round(floor_wall, 3),
        "floor_ratio": round(floor_wall / bound, 3) if bound else None,
        "median_run_wall_s": round(middle[0], 4),
        "wall_above_bound_s": {k: round(v, 4) for k, v in middle[3].items()
                               if k != "mean_exchange_ms"},
        "mean_exchange_ms": round(middle[3]["mean_exchange_ms"], 2),
        "cpu_us_per_resource": round(cpu / resources * 1e6, 1), "requests": requests,
        "write_requests": writes, "changed_resources": changed,
        "peak_mib": round(peak_mib, 1), "load_s": round(load_s, 3),
        "populate_s": round(populate_s, 1), "naive_deepdiff_s": round(naive_s, 3),
        "per_resource_diff_s": round(ours_s, 3),
    }


def wall_split(spans: list[tuple[float, float]], started: float, finished: float,
               parallelism: int, latency: float) -> dict[str, float]:
    """Where a plan's wall time above the bound ``requests x latency / parallelism`` went, in
    seconds of wall time (slot seconds / parallelism), from each request's (sent, answered)
    ``spans`` within [``started``, ``finished``]. The four parts add up to that excess:

    - ``exchanges``: how much longer than ``latency`` the exchanges took (the emulators' and
      the machine's share, and the client's own time to send and take in an answer);
    - slot time not spent waiting on an answer: ``start``, until the ``parallelism``-th
      request went out (calendars can be read only once their listings are in);
      ``between``, until the last request went out (a freed slot busy with the client's own
      work or waiting for the CPU, or with nothing queued); ``end``, after it (the last
      answers, the last diffs, the plan put together).

    Also ``mean_exchange_ms``."""
    n = len(spans)
    busy = sum(answered - sent for sent, answered in spans)
    sends = sorted(sent for sent, _ in spans)
    full = sends[min(parallelism, n) - 1] if n else finished
    last = sends[-1] if n else finished

    def idle(start: float, end: float) -> float:
        waiting = sum(max(0.0, min(answered, end) - max(sent, start)) for sent, answered in spans)
        return (parallelism * (end - start) - waiting) / parallelism

    return {"exchanges": (busy - n * latency) / parallelism, "start": idle(started, full),
            "between": idle(full, last), "end": idle(last, finished),
            "mean_exchange_ms": busy / n * 1000 if n else 0.0}


def lineworks_ids(desired: Any, server: Server, policy: RetryPolicy) -> list[str]:
    """The ids of the LINE WORKS calendars, for :func:`transport_floor` to read."""
    providers = build_providers(desired, sandbox=server.endpoints, policy=policy)
    try:
        return [ref.id for ref in providers["works"].list_calendars(None)]
    finally:
        for p in providers.values():
            p.close()


def transport_floor(desired: Any, server: Server, policy: RetryPolicy, parallelism: int,
                    requests: int, ids: list[str]) -> float:
    """Wall time of ``requests`` bare reads of the LINE WORKS calendars ``ids`` (answered
    from the emulator's cache), ``parallelism`` at a time, through the HTTP client and the
    task pool a plan uses, on new connections as a plan's are: the part of the no-op plan's
    wall time that is the machine's and the emulators', not the planning's. Seconds."""
    providers = build_providers(desired, sandbox=server.endpoints, policy=policy,
                                parallelism=parallelism)
    works = providers["works"]
    assert isinstance(works, LineWorksProvider)
    try:
        pool = greenio.GreenPool(parallelism)
        for n in range(requests):
            pool.submit(works.client.get_calendar, ids[n % len(ids)], "floor")
        started = time.perf_counter()
        pool.run()
        return time.perf_counter() - started
    finally:
        for p in providers.values():
            p.close()


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


def apply_one_percent(document: dict[str, Any], folder: Path, server: Server,
                      policy: RetryPolicy, parallelism: int) -> tuple[int, int]:
    """Change 1% of the resources (descriptions, roles, summaries); apply; count writes."""
    calendars = document["calendars"]
    keys = sorted(calendars)
    total = len(keys) + sum(len(c.get("events", {})) for c in calendars.values())
    budget = max(1, total // 100)
    for n in range(budget):
        cal = calendars[keys[(n * 37) % len(keys)]]
        if cal.get("events"):
            uid = sorted(cal["events"])[n % len(cal["events"])]
            cal["events"][uid]["summary"] += " (moved)"
        elif "members" in cal:
            cal["members"][0]["role"] = "read" if cal["members"][0]["role"] != "read" else "write"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="org-large")
    parser.add_argument("--latency", type=float, default=0.02,
                        help="seconds the emulators add to each request (default 0.02)")
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--runs", type=int, default=RUNS,
                        help=f"no-op plans per figure, after a warm-up; the median is reported "
                             f"(default {RUNS})")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--populate", nargs=2, metavar=("FOLDER", "STATE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.populate:
        populate(Path(args.populate[0]), Path(args.populate[1]))
        return
    os.environ.pop("CALRECON_SANDBOX_STATE", None)
    with tempfile.TemporaryDirectory(prefix="calrecon-bench-") as work:
        figures = measure(args, Path(work))
    if args.json:
        print(json.dumps(figures))
        return
    print(f"scenario {figures['scenario']}: {figures['calendars']} calendars, "
          f"{figures['events']} events ({figures['resources']} managed resources)")
    print(f"no-op plan wall time: {figures['noop_wall_s']} s at {figures['latency_s'] * 1000:g} "
          f"ms latency, parallelism {figures['parallelism']}")
    print(f"requests: {figures['requests']}")
    print(f"lower bound (requests x latency / parallelism): {figures['lower_bound_s']} s")
    print(f"ratio wall / bound: {figures['ratio']}")
    print(f"transport floor ({figures['requests']} bare reads, same parallelism, interleaved "
          f"with the plans): {figures['floor_wall_s']} s, ratio {figures['floor_ratio']}")
    split = figures["wall_above_bound_s"]
    print(f"wall above the bound, median run ({figures['median_run_wall_s']} s): exchanges "
          f"over the latency +{split['exchanges']} s (mean {figures['mean_exchange_ms']} ms); "
          f"slots not waiting on an answer: at the start +{split['start']} s, between "
          f"+{split['between']} s, at the end +{split['end']} s")
    print(f"CPU per managed resource (no-op plan, zero latency): "
          f"{figures['cpu_us_per_resource']} us")
    print(f"apply of 1%: {figures['write_requests']} write requests for "
          f"{figures['changed_resources']} changed resources")
    print(f"peak memory: {figures['peak_mib']} MiB")
    print(f"YAML load: {figures['load_s']} s; populate (apply of everything): "
          f"{figures['populate_s']} s")
    print(f"diff of all resources: one DeepDiff {figures['naive_deepdiff_s']} s vs "
          f"per-resource {figures['per_resource_diff_s']} s")


if __name__ == "__main__":
    main()
