"""Checks of the merged desired state that depend on more than one document.

Pure: takes the desired state and where it was written, returns located problems. Checks that
each calendar names a defined provider, asks only for what that provider can express (roles,
principal types, fields, length limits), lists each member once, and can be identified without
ambiguity (no two calendars pinning the same id, or sharing a name without a pinned id).
"""

from __future__ import annotations

from reconciler.errors import Problem
from reconciler.loader import Sources
from reconciler.model import Desired, State
from reconciler.providers.base import Capabilities


def capabilities_for(provider_type: str) -> Capabilities:
    """The declared capabilities of a provider type (pure import, no HTTP)."""
    if provider_type == "lineworks":
        from reconciler.providers.lineworks.mapping import CAPABILITIES

        return CAPABILITIES
    raise KeyError(provider_type)


def check_desired(desired: Desired, sources: Sources) -> list[Problem]:
    problems: list[Problem] = []
    seen_ids: dict[tuple[str, str], str] = {}
    seen_names: dict[tuple[str, str], str] = {}
    for key, cal in desired.calendars.items():
        base = ("calendars", key)

        def problem(
            path: tuple[str | int, ...], message: str, base: tuple[str, str] = base
        ) -> None:
            problems.append(sources.problem(base + path, message))

        provider = desired.providers.get(cal.provider)
        if provider is None:
            known = ", ".join(sorted(desired.providers)) or "none defined"
            problem(("provider",), f"unknown provider '{cal.provider}' (known: {known})")
            continue
        caps = capabilities_for(provider.type)
        kind = provider.type
        if caps.max_name_length is not None and len(cal.name) > caps.max_name_length:
            problem(
                ("name",),
                f"name is {len(cal.name)} characters; {kind} allows at most "
                f"{caps.max_name_length}",
            )
        if cal.description is not None:
            limit = caps.max_description_length
            if limit is not None and len(cal.description) > limit:
                problem(
                    ("description",),
                    f"description is {len(cal.description)} characters; {kind} allows at most "
                    f"{limit}",
                )
        for field_name in ("description", "public", "members"):
            if getattr(cal, field_name) is not None and field_name not in caps.calendar_fields:
                reason = caps.notes.get(field_name, "")
                problem((field_name,), f"{kind} cannot manage '{field_name}'{reason}")
        if cal.state is State.ABSENT and not caps.can_delete_calendars:
            problem(("state",), f"{kind} cannot delete calendars{caps.notes.get('state', '')}")
        principals: dict[str, int] = {}
        for i, member in enumerate(cal.members or []):
            if member.principal_type not in caps.principal_types:
                allowed = ", ".join(sorted(t.value for t in caps.principal_types))
                problem(
                    ("members", i, member.principal_type.value),
                    f"{kind} cannot share with a {member.principal_type.value} "
                    f"(it can with: {allowed})",
                )
            if member.role not in caps.roles:
                allowed = ", ".join(r.value for r in caps.roles_in_order())
                problem(
                    ("members", i, "role"),
                    f"{kind} cannot express role '{member.role.value}' (it can: {allowed})",
                )
            if member.principal in principals:
                first = sources.locate((*base, "members", principals[member.principal]))
                problem(("members", i), f"member '{member.principal}' is listed twice "
                        f"(first at {first})")
            else:
                principals[member.principal] = i
        if cal.id is not None:
            id_key = (cal.provider, cal.id)
            if id_key in seen_ids:
                problem(("id",), f"calendar id '{cal.id}' is also pinned by '{seen_ids[id_key]}'")
            seen_ids[id_key] = key
        else:
            name_key = (cal.provider, cal.name)
            if name_key in seen_names:
                problem(
                    ("name",),
                    f"calendar '{seen_names[name_key]}' has the same name and neither pins an "
                    "id: both would match the same live calendar",
                )
            seen_names[name_key] = key
    return problems
