"""Fault campaigns: per provider, a plan of ~130 changes (calendar creates, updates, event
creates and updates, and prune deletes) applied against emulators that inject, from a fixed
seed, 10% 429 with Retry-After, 5% 500/503 and 2% dropped connections *before* they act,
3% answers lost *after* they acted (dropped, or a proxy's 502), and 5% answers slower than
the client's timeout (also after acting). The first run also meets a read that fails after
every retry.

It converges in a bounded number of runs, and then the emulators' own state is checked with
exact counts: one calendar per name and one acted create per new calendar, one stored event
per uid, deletes of the planned addresses only, and the calendar outside the YAML untouched.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import apply_plan
from reconciler.errors import ProviderError
from reconciler.http import RetryPolicy
from reconciler.loader import load
from reconciler.plan import Action, Plan
from reconciler.planner import make_plan
from reconciler.providers.registry import build_providers
from reconciler.sandbox.base import Emulator, Faults
from reconciler.sandbox.server import Sandbox
from tests.conftest import FAST_RETRIES, PROVIDERS_YAML

MAX_RUNS = 6
# The product's number of attempts (6): with a fifth of the answers faulty, fewer would make
# whole plans fail to read too often to say anything about convergence. Waits are short.
POLICY = RetryPolicy(attempts=RetryPolicy().attempts, base_wait=0.01, max_wait=0.05,
                     timeout=0.4)
CAMPAIGN = dict(rate_429=0.10, rate_500=0.025, rate_503=0.025, rate_drop=0.02, rate_lost=0.03,
                slow_rate=0.05, slow_seconds=0.6, retry_after=0)  # slow outlasts the 0.4 s
EMULATOR = {"works": "lineworks", "office": "onlyoffice", "people": "cronofy"}
EXISTING, NEW, PRUNED_KEPT, PRUNED_STALE = 8, 3, 10, 4


def _event(uid: str, day: int, hour: int, summary: str) -> list[str]:
    return [f"      {uid}:", f"        summary: {summary}",
            f"        start: 2027-03-{day:02d}T{hour:02d}:00:00",
            f"        end: 2027-03-{day:02d}T{hour:02d}:30:00", "        timezone: Europe/Berlin"]


def _calendar(key: str, provider: str, name: str, prune: bool = False) -> list[str]:
    return [f"  {key}:", f"    provider: {provider}", f"    name: {name}"] + (
        ["    prune: true"] if prune else []) + ["    events:"]


def pruned_yaml(provider: str, stale: bool) -> list[str]:
    """The pruned calendar: 10 kept events (5 of them changed by the campaign) and, before
    the campaign, 4 more that the campaign's YAML no longer lists."""
    lines = _calendar("pruned", provider, "Pruned", prune=True)
    for e in range(PRUNED_KEPT):
        summary = f"Kept {e}" if stale or e >= 5 else f"Kept {e}, changed"
        lines += _event(f"p{e}", 1 + e, 8, summary)
    # Among the kept ones' days: a plan reads events over the window its YAML spans.
    for e in range(PRUNED_KEPT, PRUNED_KEPT + PRUNED_STALE) if stale else ():
        lines += _event(f"p{e}", 2 + e - PRUNED_KEPT, 12, f"Stale {e}")
    return lines


def campaign_yaml(provider: str) -> str:
    lines = ["calendars:"]
    for c in range(EXISTING):
        lines += _calendar(f"cal-{c}", provider, f"Calendar {c}")
        for e in range(10):  # uids unique across the provider: ONLYOFFICE's are portal-wide
            lines += _event(f"c{c}-e{e}", 1 + e, 9 + c % 8, f"Event {c}.{e}")
    for n in range(NEW):
        lines += _calendar(f"new-{n}", provider, f"New {n}")
        for e in range(5):
            lines += _event(f"n{n}-e{e}", 10 + e, 10, f"New event {n}.{e}")
    lines += pruned_yaml(provider, stale=False)
    return "\n".join(lines) + "\n"


def seed(box: Sandbox, provider: str) -> None:
    """Existing calendars, the pruned one, and an outsider with an event of its own."""
    if provider == "people":
        box.cronofy.add_profile("pro_test", "p")
    for name in [f"Calendar {c}" for c in range(EXISTING)] + ["Pruned"]:
        if provider == "works":
            box.lineworks.add_calendar(name)
        elif provider == "office":
            box.onlyoffice.add_calendar(name)
        else:
            box.cronofy.add_calendar("pro_test", name)
    if provider == "works":
        cid = box.lineworks.add_calendar("Outsider", description="keep")
        box.lineworks.add_event(cid, {"eventId": "outside", "summary": "Keep me",
                                      "start": {"date": "2027-03-05"},
                                      "end": {"date": "2027-03-06"}})
    elif provider == "office":
        cid_office = box.onlyoffice.add_calendar("Outsider", description="keep")
        box.onlyoffice.add_event(cid_office, "outside", (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:outside\r\nSUMMARY:Keep me\r\n"
            "DTSTART;VALUE=DATE:20270305\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
    else:
        cal = box.cronofy.add_calendar("pro_test", "Outsider")
        box.cronofy.add_external_event(cal, "evt_outside", "Keep me", "2027-03-05T10:00:00Z",
                                       "2027-03-05T11:00:00Z")


def calendar_names(box: Sandbox, provider: str) -> list[str]:
    if provider == "works":
        return [c["calendarName"] for c in box.lineworks.calendars.values()]
    if provider == "office":
        return [c["title"] for c in box.onlyoffice.calendars.values()]
    return [c["calendar_name"] for c in box.cronofy.calendars.values()]


def stored_uids(box: Sandbox, provider: str) -> list[str]:
    """Every stored event's own uid (one entry per stored event, so twins show twice)."""
    if provider == "works":
        return [k for v in box.lineworks.events.values() for k in v]
    if provider == "office":
        return [e["uid"].split("@")[0] for e in box.onlyoffice.events.values()]
    return [e.get("event_id") or e["event_uid"] for e in box.cronofy.events.values()
            if not e["deleted"]]


def outsiders(box: Sandbox, provider: str) -> Any:
    state = json.loads(json.dumps(box.emulators[EMULATOR[provider]].snapshot()))
    if provider == "works":
        ids = {k for k, c in state["calendars"].items() if c["calendarName"] == "Outsider"}
        return [state["calendars"][k] for k in ids], [state["events"].get(k) for k in ids]
    if provider == "office":
        ids = {int(k) for k, c in state["calendars"].items() if c["title"] == "Outsider"}
        return ([c for c in state["calendars"].values() if c["id"] in ids],
                [e for e in state["events"].values() if e["calendarId"] in ids])
    return [e for e in state["events"].values() if e["event_uid"] == "evt_outside"]


def created_calendar_name(request_body: Any) -> str | None:
    if not isinstance(request_body, dict):
        return None
    value = request_body.get("calendarName") or request_body.get("name")
    return str(value) if value is not None else None


def planned_pattern(emulator: Emulator, method: str, path: str) -> re.Pattern[str]:
    """A planned request as the emulator records it: LINE WORKS serves under /v1.0, and a
    new calendar's ``${...}`` placeholder stands for whatever id the create answered."""
    prefix = "/v1.0" if emulator.name == "lineworks" else ""
    parts = re.split(r"\$\{[^}]*\}", prefix + path)
    return re.compile(re.escape(method + " ") + "[^/]+".join(map(re.escape, parts)) + "$")


class Run:
    """Providers built for one run (plan, then apply), closed at the end."""

    def __init__(self, desired: Any, box: Sandbox) -> None:
        self.desired = desired
        self.providers = build_providers(desired, sandbox=box.endpoints(), policy=POLICY,
                                         parallelism=16)

    def plan(self) -> Plan:
        return make_plan(self.desired, self.providers, 16)

    def apply(self, plan: Plan) -> bool:
        return apply_plan(plan, self.providers, 16).ok

    def close(self) -> None:
        for p in self.providers.values():
            p.close()


def setup_pruned(box: Sandbox, provider: str, folder: Path) -> None:
    """Before the campaign, fault-free: the pruned calendar holds 14 managed events."""
    (folder / "c.yaml").write_text(PROVIDERS_YAML + "calendars:\n"
                                   + "\n".join(pruned_yaml(provider, stale=True)) + "\n")
    desired = load([folder]).desired
    providers = build_providers(desired, sandbox=box.endpoints(), policy=FAST_RETRIES)
    plan = make_plan(desired, providers, 8)
    assert apply_plan(plan, providers, 8).ok
    assert make_plan(desired, providers, 8).empty
    for p in providers.values():
        p.close()


@pytest.mark.parametrize("provider", ["works", "office", "people"])
def test_campaign_converges_with_exact_counts(tmp_path: Path, provider: str) -> None:
    folder = tmp_path / "yaml"
    folder.mkdir()
    with Sandbox(seed=False, rate_limit=10**9) as box:
        seed(box, provider)
        setup_pruned(box, provider, folder)
        stale = {f"p{e}" for e in range(PRUNED_KEPT, PRUNED_KEPT + PRUNED_STALE)}
        assert stale <= set(stored_uids(box, provider))
        (folder / "c.yaml").write_text(PROVIDERS_YAML + campaign_yaml(provider))
        desired = load([folder]).desired
        untouched = copy.deepcopy(outsiders(box, provider))
        emulator = box.emulators[EMULATOR[provider]]
        emulator.reset_log()

        # Run 0: a read that fails after every retry. The plan is refused: no plan, no write.
        emulator.script("GET", {"works": "/events?", "office": "/calendar/calendars/",
                                "people": "/v1/events"}[provider], "503", times=None)
        run = Run(desired, box)
        with pytest.raises(ProviderError, match="HTTP 503"):
            run.plan()
        run.close()
        assert emulator.acted == []
        emulator.scripted.clear()

        emulator.faults = Faults(seed=2026, **CAMPAIGN)  # type: ignore[arg-type]
        planned: list[re.Pattern[str]] = []
        planned_deletes: set[str] = set()
        runs, first_plan = 0, None
        for attempt in range(1, MAX_RUNS + 1):
            runs = attempt
            run = Run(desired, box)
            try:
                plan = run.plan()
            except ProviderError:
                run.close()
                continue  # a read failed after every retry: refused, as run 0 showed
            first_plan = first_plan or plan
            live = set(stored_uids(box, provider))
            for change in plan.changes:
                assert change.action in (Action.CREATE, Action.UPDATE, Action.DELETE)
                if change.kind == "event" and change.action is Action.CREATE:
                    assert change.address.rsplit(".", 1)[-1] not in live, change.address
                if change.action is Action.DELETE:
                    planned_deletes.add(change.address)
                planned += [planned_pattern(emulator, r.method, r.path) for r in change.requests]
            ok = run.apply(plan)
            run.close()
            if ok:
                break
        injected = emulator.faults.injected
        emulator.faults = Faults()
        assert all(injected[k] for k in ("429", "500", "drop", "lost", "slow")), injected
        assert first_plan is not None
        assert len(first_plan.changes) >= EXISTING * 10 + NEW * 6 + 5 + PRUNED_STALE

        # Converged, and the next plan is empty.
        providers = build_providers(desired, sandbox=box.endpoints(), policy=POLICY)
        assert make_plan(desired, providers, 8).empty, f"not converged after {runs} runs"
        # Each run reads a pruned calendar half a year past its events on either side (an
        # event removed from either end must be seen), so LINE WORKS reads about 14 more
        # 30-day slices per plan than it did, and meets more of the injected faults.
        assert runs <= 5, f"{runs} runs to converge"

        # One calendar per name; one create carried out per new calendar.
        names = calendar_names(box, provider)
        expected_names = ([f"Calendar {c}" for c in range(EXISTING)]
                          + [f"New {n}" for n in range(NEW)] + ["Pruned", "Outsider"])
        assert sorted(names) == sorted(expected_names)
        created = [created_calendar_name(r.body) for r in emulator.acted_writes("POST")]
        for n in range(NEW):
            assert created.count(f"New {n}") == 1, created

        # One stored event per uid: the YAML's, the outsider's, and no stale one.
        uids = stored_uids(box, provider)
        expected_uids = ([f"c{c}-e{e}" for c in range(EXISTING) for e in range(10)]
                         + [f"n{n}-e{e}" for n in range(NEW) for e in range(5)]
                         + [f"p{e}" for e in range(PRUNED_KEPT)]
                         + ["evt_outside" if provider == "people" else "outside"])
        assert sorted(uids) == sorted(expected_uids)

        # Deletes: exactly the stale events were planned, and only four resources deleted
        # (a delete retried after its answer was lost may be carried out twice: Cronofy
        # answers 202 again, the others 404).
        assert planned_deletes == {f"{provider}.pruned.events.{uid}" for uid in stale}
        deleted = {(d.path, json.dumps(d.body)) for d in emulator.acted_writes("DELETE")}
        assert len(deleted) == PRUNED_STALE, deleted

        # Every write the emulator carried out was one a plan showed.
        stray = {f"{r.method} {r.path}" for r, _ in emulator.acted} - {
            f"{r.method} {r.path}" for r, _ in emulator.acted
            if any(p.match(f"{r.method} {r.path}") for p in planned)}
        assert not stray, stray
        assert outsiders(box, provider) == untouched
