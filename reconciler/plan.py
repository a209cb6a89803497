"""The plan as data: Change, FieldChange, Plan. Renderers and apply read only this.

A :class:`Change` is one resource's action with the field changes that explain it and the
exact requests apply will send. :meth:`Plan.to_dict` is the single serialisation every output
format and the fingerprint are derived from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from reconciler.providers.base import PlannedRequest


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    BLOCKED = "blocked"


class Phase(int, Enum):
    """Apply order (DESIGN.md): each phase starts when the previous one has finished."""

    CREATE_CALENDARS = 1
    UPDATE_CALENDARS = 2
    WRITE_EVENTS = 3
    DELETE_EVENTS = 4
    DELETE_CALENDARS = 5


@dataclass(frozen=True)
class FieldChange:
    """One field's move. ``path`` is dotted (``members.user:alice@example.com``)."""

    path: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Change:
    """One resource's action, with what it changes and the exact requests it sends."""

    address: str
    provider: str
    kind: str  # "calendar"
    action: Action
    phase: Phase
    fields: tuple[FieldChange, ...] = ()
    requests: tuple[PlannedRequest, ...] = ()
    live_id: str | None = None
    live: dict[str, Any] | None = None
    reason: str = ""
    depends_on: str | None = None  # address of a change whose created id this one needs

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "address": self.address,
            "provider": self.provider,
            "kind": self.kind,
            "action": self.action.value,
            "live_id": self.live_id,
            "fields": [f.to_dict() for f in self.fields],
            "requests": [r.to_dict() for r in self.requests],
            "live": self.live,
        }
        if self.reason:
            data["reason"] = self.reason
        if self.depends_on:
            data["depends_on"] = self.depends_on
        return data


FORMAT_VERSION = 1


@dataclass
class Plan:
    """Every change, notes for the reader, and what exists live per calendar.

    ``inventory`` maps a calendar address to counts of what it holds live (``events``), for
    the guard rails; ``warnings`` are printed before the plan (e.g. ``--target`` in use);
    ``guard_rails`` holds one sentence per breach (:func:`reconciler.safety.check`): apply
    refuses such a plan without ``--force``, so every format shows them.
    """

    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inventory: dict[str, dict[str, int]] = field(default_factory=dict)
    guard_rails: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.BLOCKED]

    @property
    def addresses(self) -> list[str]:
        return [c.address for c in self.changes]

    def to_dict(self) -> dict[str, Any]:
        """The plan as documented JSON (README, schemas/plan.schema.json)."""
        body = {
            "format_version": FORMAT_VERSION,
            "changed_addresses": self.addresses,
            "summary": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "guard_rails": list(self.guard_rails),
        }
        body["fingerprint"] = fingerprint(body)
        return body


def fingerprint(plan: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a plan dict, without its own fingerprint field.

    Warnings and guard rails are left out: both are derived from the changes and the
    command line, and apply checks the rails again on the plan it makes, so a plan saved
    before rails were part of the JSON still applies.
    """
    content = {k: v for k, v in plan.items()
               if k not in ("fingerprint", "warnings", "guard_rails")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
