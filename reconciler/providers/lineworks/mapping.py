"""LINE WORKS raw shapes <-> canonical values. Pure functions, no HTTP.

Raw calendar (``GET``/``PATCH /calendars/{id}``)::

    {"calendarId", "calendarName", "description", "isPublic", "calendarEmail", "type",
     "members": [{"id", "type": USER|GROUP|ORGUNIT, "role": CALENDAR_EVENT_READ_WRITE|...}]}

Canonical calendar: see :mod:`reconciler.providers.base`.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import ResponseError
from reconciler.model import PrincipalType, Role, normalize_principal_id
from reconciler.providers.base import CALENDAR_FIELDS, Capabilities

CAPABILITIES = Capabilities(
    roles=frozenset(Role),
    principal_types=frozenset(PrincipalType),
    calendar_fields=frozenset(CALENDAR_FIELDS),
    max_name_length=50,
    max_description_length=1000,
)

ROLE_TO_API = {
    Role.MANAGE.value: "CALENDAR_EVENT_READ_WRITE",
    Role.WRITE.value: "EVENT_READ_WRITE",
    Role.READ.value: "EVENT_READ",
    Role.FREE_BUSY.value: "EVENT_READ_FREE_BUSY",
}
API_TO_ROLE = {v: k for k, v in ROLE_TO_API.items()}

PRINCIPAL_TO_API = {t.value: t.value.upper() for t in PrincipalType}
API_TO_PRINCIPAL = {v: k for k, v in PRINCIPAL_TO_API.items()}

FIELD_TO_API = {
    "name": "calendarName",
    "description": "description",
    "public": "isPublic",
    "members": "members",
}


def calendar_to_canonical(raw: Any, address: str) -> dict[str, Any]:
    """The canonical value of a raw calendar. Raises ResponseError on a malformed shape."""
    if not isinstance(raw, dict) or not isinstance(raw.get("calendarName"), str):
        raise ResponseError(f"{address}: lineworks calendar has no 'calendarName': {raw!r:.200}")
    members: dict[str, str] = {}
    for item in raw.get("members") or []:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "type", "role")
        ):
            raise ResponseError(f"{address}: lineworks member is malformed: {item!r:.200}")
        kind = API_TO_PRINCIPAL.get(item["type"], item["type"].lower())
        # An unknown role is kept verbatim, so the plan shows it being replaced.
        role = API_TO_ROLE.get(item["role"]) or str(item["role"])
        members[f"{kind}:{normalize_principal_id(item['id'])}"] = role
    return {
        "name": raw["calendarName"],
        "description": raw.get("description") or "",
        "public": bool(raw.get("isPublic", False)),
        "members": members,
    }


def members_to_api(members: dict[str, str]) -> list[dict[str, str]]:
    """Canonical members -> the API's list, sorted so that plans are stable."""
    result = []
    for principal in sorted(members):
        kind, _, ident = principal.partition(":")
        result.append(
            {"id": ident, "type": PRINCIPAL_TO_API[kind], "role": ROLE_TO_API[members[principal]]}
        )
    return result


def calendar_body(desired: dict[str, Any], fields: set[str] | None = None) -> dict[str, Any]:
    """A POST or PATCH body for the given canonical fields (all desired fields when None).

    PATCH semantics (providers.md §2.7.1): only the fields sent change; ``members`` replaces
    the whole list, so it is sent whole, and only when it changed.
    """
    body: dict[str, Any] = {}
    for name in CALENDAR_FIELDS:
        if name not in desired or (fields is not None and name not in fields):
            continue
        value = desired[name]
        body[FIELD_TO_API[name]] = members_to_api(value) if name == "members" else value
    return body
