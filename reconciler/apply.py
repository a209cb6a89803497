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


def resolve(request: PlannedRequest, address: str, new_id: str) -> PlannedRequest:
    """``request`` with the placeholder of ``address`` replaced by the id it was created with.

    Only changes that ``depends_on`` a created calendar hold a placeholder (the planner puts
    it there), so other requests never pay for this.
    """
    marker = placeholder(address)
    body_text = json.dumps(request.body)
    return replace(request, path=request.path.replace(marker, new_id),
                   body=json.loads(body_text.replace(marker, new_id)))


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
                if change.depends_on:  # its calendar was created in an earlier phase
                    request = resolve(request, change.depends_on, ids[change.depends_on])
                response: Any = provider.send(request, change.address)
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
