"""Saved plans: ``plan --out FILE`` writes one, ``apply FILE`` and ``show FILE`` read it.

A plan file is the JSON plan (see :meth:`reconciler.plan.Plan.to_dict`) plus what apply needs
to recompute it: the desired state it was made from (so a later YAML edit cannot slip into
the apply), the ``--target`` list, and a ``checksum`` over all of it. :func:`load` refuses a
file that is not JSON, does not match schemas/plan.schema.json, or whose checksum or
fingerprint does not match its content (hand-edited or corrupted). No token is ever written:
requests carry no headers, and the desired state names environment variables, not values.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import ValidationError

from reconciler.errors import CalreconError
from reconciler.model import Desired
from reconciler.plan import FORMAT_VERSION, fingerprint

SCHEMA_FILE = "plan.schema.json"
FILE_ONLY = ("desired", "targets", "checksum")  # what a plan file adds to the JSON plan


class PlanFileError(CalreconError):
    """A plan file that cannot be trusted or read."""


@dataclass(frozen=True)
class SavedPlan:
    plan: dict[str, Any]
    desired: Desired
    targets: list[str]


def plan_schema() -> dict[str, Any]:
    """schemas/plan.schema.json, shipped inside the package as well."""
    here = Path(__file__).resolve().parent / "schemas" / SCHEMA_FILE
    data: dict[str, Any] = json.loads(here.read_text())
    return data


def save(path: Path, plan: dict[str, Any], desired: Desired, targets: list[str]) -> None:
    data = dict(plan)
    data["desired"] = desired.model_dump(mode="json", exclude_none=True)
    data["targets"] = list(targets)
    data["checksum"] = _checksum(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # atomic: a reader never sees half a plan


def load(path: Path) -> SavedPlan:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan file: {exc.strerror}") from None
    except ValueError as exc:
        raise PlanFileError(f"{path}: not a calrecon plan file (not JSON: {exc})") from None
    if not isinstance(data, dict) or "desired" not in data:
        raise PlanFileError(f"{path}: not a calrecon plan file (write one with plan --out)")
    if data.get("format_version") != FORMAT_VERSION:
        raise PlanFileError(f"{path}: plan format {data.get('format_version')!r} is not "
                            f"{FORMAT_VERSION}; make the plan again with this calrecon")
    errors = sorted(jsonschema.Draft202012Validator(plan_schema()).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top)"
        raise PlanFileError(f"{path}: not a valid plan file at {where}: {errors[0].message}")
    plan = {k: v for k, v in data.items() if k not in FILE_ONLY}
    if data.get("checksum") != _checksum(data) or plan["fingerprint"] != fingerprint(plan):
        raise PlanFileError(f"{path}: the plan file was changed after calrecon wrote it "
                            "(checksum mismatch); make the plan again")
    try:
        desired = Desired.model_validate(data["desired"])
    except ValidationError as exc:
        raise PlanFileError(f"{path}: the plan's desired state is invalid: {exc}") from None
    return SavedPlan(plan, desired, list(data.get("targets", [])))


def _checksum(data: dict[str, Any]) -> str:
    content = {k: v for k, v in data.items() if k != "checksum"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def moved(saved: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """Addresses whose change differs between two plans (or exists in only one)."""
    def by_address(plan: dict[str, Any]) -> dict[str, Any]:
        return {c["address"]: c for c in plan["changes"]}
    old, new = by_address(saved), by_address(fresh)
    addresses = sorted(set(old) | set(new))
    return [a for a in addresses if old.get(a) != new.get(a)] or ["(notes: " + "; ".join(
        sorted(set(fresh["notes"]) ^ set(saved["notes"]))) + ")"]
