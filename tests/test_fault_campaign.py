"""Fault campaigns: per provider, an apply of 200 changes against emulators that inject, from a
fixed seed, 10% 429 with Retry-After, 5% 500/503, 2% dropped connections and 5% answers slower
than the client's timeout. It converges within a bounded number of re-runs, the next plan is
empty, no event is duplicated, nothing outside the plans is touched, and a failed read never
turns into a create or a delete."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import apply_plan
from reconciler.errors import ProviderError
from reconciler.http import RetryPolicy
from reconciler.loader import load
from reconciler.plan import Action
from reconciler.planner import make_plan
from reconciler.providers.registry import build_providers
from reconciler.sandbox.base import Faults
from reconciler.sandbox.server import Sandbox
from tests.conftest import PROVIDERS_YAML

MAX_RUNS = 6
# The product's number of attempts (6): with 22% of answers faulty, fewer would make whole
# plans fail to read too often to say anything about convergence. Waits are short for speed.
POLICY = RetryPolicy(attempts=RetryPolicy().attempts, base_wait=0.01, max_wait=0.05,
                     timeout=0.4)
CAMPAIGN = dict(rate_429=0.10, rate_500=0.025, rate_503=0.025, rate_drop=0.02, slow_rate=0.05,
                slow_seconds=0.6, retry_after=0)  # slow answers outlast the 0.4 s timeout


def yaml_for(provider: str) -> str:
    """10 calendars x 20 new events = 200 changes; 'outsider' calendars stay out of the YAML."""
    lines = ["calendars:"]
    for c in range(10):
        lines += [f"  cal-{c}:", f"    provider: {provider}", f"    name: Calendar {c}",
                  "    events:"]
        for e in range(20):
            uid = f"c{c}-e{e}"  # unique across the provider: ONLYOFFICE UIDs are portal-wide
            lines += [f"      {uid}:", f"        summary: Event {c}.{e}",
                      f"        start: 2027-03-{1 + e:02d}T{9 + c % 8:02d}:00:00",
                      f"        end: 2027-03-{1 + e:02d}T{9 + c % 8:02d}:30:00",
                      "        timezone: Europe/Berlin"]
    return "\n".join(lines) + "\n"


def seed(box: Sandbox, provider: str) -> None:
    if provider == "people":
        box.cronofy.add_profile("pro_test", "p")
    for c in range(10):
        if provider == "works":
            box.lineworks.add_calendar(f"Calendar {c}")
        elif provider == "office":
            box.onlyoffice.add_calendar(f"Calendar {c}")
        else:
            box.cronofy.add_calendar("pro_test", f"Calendar {c}")
    # outsiders: live things the YAML does not mention; the campaign must not touch them
    if provider == "works":
        cid = box.lineworks.add_calendar("Outsider", description="keep")
        box.lineworks.add_event(cid, {"eventId": "outside", "summary": "Keep me",
                                      "start": {"date": "2027-03-05"},
                                      "end": {"date": "2027-03-06"}})
    elif provider == "office":
        box.onlyoffice.add_calendar("Outsider", description="keep")
    else:
        cal = box.cronofy.add_calendar("pro_test", "Outsider")
        box.cronofy.add_external_event(cal, "evt_outside", "Keep me", "2027-03-05T10:00:00Z",
                                       "2027-03-05T11:00:00Z")


def event_count(box: Sandbox, provider: str) -> int:
    if provider == "works":
        return sum(len(v) for v in box.lineworks.events.values())
    if provider == "office":
        return len(box.onlyoffice.events)
    return sum(1 for e in box.cronofy.events.values() if not e["deleted"])


def outsiders(box: Sandbox, provider: str) -> Any:
    emulator = box.emulators[{"works": "lineworks", "office": "onlyoffice",
                              "people": "cronofy"}[provider]]
    state = json.loads(json.dumps(emulator.snapshot()))
    if provider == "works":
        return [c for c in state["calendars"].values() if c["calendarName"] == "Outsider"], \
            {k: v for k, v in state["events"].items()
             if state["calendars"].get(k, {}).get("calendarName") == "Outsider"}
    if provider == "office":
        return [c for c in state["calendars"].values() if c["title"] == "Outsider"]
    return [e for e in state["events"].values() if e["event_uid"] == "evt_outside"]


@pytest.mark.parametrize("provider", ["works", "office", "people"])
def test_campaign_converges_without_duplicates_or_stray_writes(tmp_path: Path,
                                                                provider: str) -> None:
    folder = tmp_path / "yaml"
    folder.mkdir()
    (folder / "c.yaml").write_text(PROVIDERS_YAML + yaml_for(provider))
    desired = load([folder]).desired
    with Sandbox(seed=False, rate_limit=10**9) as box:
        seed(box, provider)
        untouched = copy.deepcopy(outsiders(box, provider))
        emulator = next(e for e in box.emulators.values() if e.name == {
            "works": "lineworks", "office": "onlyoffice", "people": "cronofy"}[provider])
        emulator.faults = Faults(seed=2026, **CAMPAIGN)  # type: ignore[arg-type]
        planned_paths: set[str] = set()
        runs = 0
        for attempt in range(1, MAX_RUNS + 1):
            runs = attempt
            providers = build_providers(desired, sandbox=box.endpoints(), policy=POLICY,
                                        parallelism=16)
            writes_before = len(emulator.writes())
            try:
                plan = make_plan(desired, providers, 16)
            except ProviderError:
                # a failed read: the plan is refused, and nothing at all was sent
                assert len(emulator.writes()) == writes_before
                continue
            assert all(c.action in (Action.CREATE, Action.UPDATE) for c in plan.changes)
            live_uids = _live_uids(box, provider)
            for change in plan.changes:
                if change.action is Action.CREATE:  # only for what is really missing
                    assert change.address.rsplit(".", 1)[-1] not in live_uids, change.address
            planned_paths |= {r.path for c in plan.changes for r in c.requests}
            report = apply_plan(plan, providers, 16)
            for p in providers.values():
                p.close()
            if report.ok:
                break
        injected = emulator.faults.injected
        emulator.faults = Faults()
        assert injected["429"] and injected["drop"] and injected["slow"], injected
        providers = build_providers(desired, sandbox=box.endpoints(), policy=POLICY)
        assert make_plan(desired, providers, 8).empty, f"not converged after {runs} runs"
        assert event_count(box, provider) == 200 + (1 if provider != "office" else 0)
        assert outsiders(box, provider) == untouched
        stray = {w.path for w in emulator.writes()} - {_full(emulator, p) for p in
                                                       planned_paths}
        assert not stray, stray
        assert runs <= 3, f"{runs} runs to converge"


def _live_uids(box: Sandbox, provider: str) -> set[str]:
    if provider == "works":
        return {k for v in box.lineworks.events.values() for k in v}
    if provider == "office":
        return {e["uid"].split("@")[0] for e in box.onlyoffice.events.values()}
    return {e["event_id"] for e in box.cronofy.events.values()
            if e.get("event_id") and not e["deleted"]}


def _full(emulator: Any, path: str) -> str:
    """A planned path as the emulator records it (LINE WORKS serves under /v1.0)."""
    return ("/v1.0" + path) if emulator.name == "lineworks" else path
