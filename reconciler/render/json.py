"""The plan as JSON: :meth:`reconciler.plan.Plan.to_dict`, stable and versioned
(``format_version``), described by schemas/plan.schema.json and the README."""

from __future__ import annotations

import json
from typing import Any


def render_plan(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
