"""Pure: desired vs live canonical values of one resource -> field changes.

Contract: :func:`diff` returns ``()`` exactly when the projected values are equal. Only the
keys present in ``desired`` are compared (a field the YAML omits is not managed). The cheap
``==`` runs first; DeepDiff runs only for resources that differ, to say *which* fields did.
Members are dicts keyed by principal, so no list pairing or ``ignore_order`` is involved.
"""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff

from reconciler.plan import FieldChange

FIELD_ORDER = ("name", "summary", "description", "location", "public", "all_day", "start", "end",
               "timezone", "recurrence", "skip", "alert", "members", "sharing", "event_uid",
               "calendar", "events")


def project(live: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The live value restricted to the fields the desired value manages."""
    return {k: live.get(k) for k in desired}


def diff(desired: dict[str, Any], live: dict[str, Any]) -> tuple[FieldChange, ...]:
    get = live.get
    for key, value in desired.items():  # the no-op case, without building the projection
        if get(key) != value:
            break
    else:
        return ()
    before = project(live, desired)
    changes = []
    for key, value in desired.items():  # a list (skip) is one field: shown whole, before
        if isinstance(value, list) and before.get(key) != value:  # and after
            changes.append(FieldChange(key, before.pop(key), value))
    desired = {k: v for k, v in desired.items() if k in before}
    tree = DeepDiff(before, desired, view="tree", verbose_level=2)
    for report in tree.values():
        for level in report:
            path = ".".join(str(p) for p in level.path(output_format="list"))
            old, new = _absent(level.t1), _absent(level.t2)
            if isinstance(old, dict | None) and isinstance(new, dict | None):
                # DeepDiff reports a mapping emptied (or first filled) as one change; members
                # are listed one by one, so that reviewers and guard rails see each of them.
                changes.extend(_per_key(path, old or {}, new or {}))
            else:
                changes.append(FieldChange(path, old, new))
    changes.sort(key=lambda c: field_order(c.path))
    return tuple(changes)


def field_order(path: str) -> tuple[int, str]:
    """Sort key: fields in the order the YAML documents them, then by sub-path."""
    head = path.split(".", 1)[0]
    rank = FIELD_ORDER.index(head) if head in FIELD_ORDER else len(FIELD_ORDER)
    return rank, path


def expand(value: dict[str, Any], *, removing: bool) -> tuple[FieldChange, ...]:
    """Field changes that create (or, ``removing``, delete) a whole value, members one by one."""
    changes = []
    for key, item in value.items():
        if isinstance(item, dict):
            pairs = [(f"{key}.{sub}", v) for sub, v in item.items()]
        else:
            pairs = [(key, item)]
        for path, v in pairs:
            changes.append(FieldChange(path, v, None) if removing else FieldChange(path, None, v))
    changes.sort(key=lambda c: field_order(c.path))
    return tuple(changes)


def _per_key(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    return [FieldChange(f"{path}.{key}", old.get(key), new.get(key))
            for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)]


def _absent(value: Any) -> Any:
    """DeepDiff's marker for "not there" becomes None."""
    return None if type(value).__name__ == "NotPresent" else value
