"""Run a Plan's changes: phase order, bounded concurrency, failures contained.

Contract of :func:`apply_plan`:

- sends exactly the planned requests, in phase order (DESIGN.md); within a phase, changes run
  concurrently on ``parallelism`` threads, and a change's own requests run in order;
- a failed change does not stop unrelated ones; a change that ``depends_on`` a failed or
  skipped change is skipped, never sent with an unresolved placeholder;
- blocked changes are never sent;
- returns an :class:`ApplyReport` listing applied, failed and skipped changes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from reconciler.errors import CalreconError
from reconciler.plan import Action, Change, Plan
from reconciler.providers.base import PlannedRequest, Provider, placeholder


@dataclass(frozen=True)
class Outcome:
    change: Change
    status: str  # "applied" | "failed" | "skipped"
    detail: str = ""
    created_id: str | None = None


@dataclass
class ApplyReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> bool:
        return all(o.status == "applied" for o in self.outcomes)


def resolve(request: PlannedRequest, ids: Mapping[str, str]) -> PlannedRequest:
    """``request`` with every ``${ADDRESS}`` placeholder replaced by the created id."""
    if "${" not in request.path and "${" not in json.dumps(request.body):
        return request
    path = request.path
    body_text = json.dumps(request.body)
    for address, new_id in ids.items():
        path = path.replace(placeholder(address), new_id)
        body_text = body_text.replace(placeholder(address), new_id)
    return replace(request, path=path, body=json.loads(body_text))


def apply_plan(
    plan: Plan,
    providers: Mapping[str, Provider],
    parallelism: int = 8,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> ApplyReport:
    report = ApplyReport()
    ids: dict[str, str] = {}
    lost: set[str] = set()  # addresses that failed or were skipped
    lock = threading.Lock()

    def run(change: Change) -> Outcome:
        if change.action is Action.BLOCKED:
            return Outcome(change, "skipped", f"blocked: {change.reason}")
        if change.depends_on and change.depends_on in lost:
            return Outcome(change, "skipped", f"depends on {change.depends_on}, which failed")
        provider = providers[change.provider]
        created: str | None = None
        try:
            for request in change.requests:
                with lock:
                    known = dict(ids)
                response: Any = provider.send(resolve(request, known), change.address)
                if change.action is Action.CREATE and change.kind == "calendar":
                    created = provider.created_id(response)
                    with lock:
                        ids[change.address] = created
        except CalreconError as exc:
            return Outcome(change, "failed", str(exc))
        return Outcome(change, "applied", created_id=created)

    ordered = sorted(plan.changes, key=lambda c: c.phase)
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="apply") as pool:
        for _, group in groupby(ordered, key=lambda c: c.phase):
            for outcome in pool.map(run, list(group)):
                report.outcomes.append(outcome)
                if outcome.status != "applied":
                    lost.add(outcome.change.address)
                if on_outcome is not None:
                    on_outcome(outcome)
    return report
