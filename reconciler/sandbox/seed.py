"""The live state a fresh sandbox starts with: a small organisation that differs from
``examples/``, so the first plan has something to show (a create, an update, a delete)."""

from __future__ import annotations

from reconciler.sandbox.lineworks import LineWorksEmulator


def seed_lineworks(emulator: LineWorksEmulator) -> None:
    default = emulator.add_calendar("My calendar", kind="INDIVIDUAL")
    emulator.default_calendar_id = default
    emulator.add_calendar(
        "Platform team",
        description="Platform group calendar.",
        members=[
            {"id": "alice@example.com", "type": "USER", "role": "CALENDAR_EVENT_READ_WRITE"},
            {"id": "bob@example.com", "type": "USER", "role": "EVENT_READ"},
            {"id": "dave@example.com", "type": "USER", "role": "EVENT_READ_WRITE"},
            {"id": "platform-eng", "type": "GROUP", "role": "EVENT_READ_WRITE"},
        ],
    )
    emulator.add_calendar(
        "Company holidays",
        description="Public holidays and office closures for every site.",
        is_public=True,
        members=[
            {"id": "hr-lead@example.com", "type": "USER", "role": "CALENDAR_EVENT_READ_WRITE"},
            {"id": "org-all", "type": "ORGUNIT", "role": "EVENT_READ"},
        ],
    )
    emulator.add_calendar(
        "Legacy standups",
        description="Replaced by the platform team calendar.",
        members=[{"id": "alice@example.com", "type": "USER", "role": "CALENDAR_EVENT_READ_WRITE"}],
    )
    emulator.add_calendar("Alice's reading list", description="Not managed by calrecon.")
