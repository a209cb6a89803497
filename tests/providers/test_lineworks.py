"""LINE WORKS over the wire: convergence of every managed field, minimal calls, identity."""

from __future__ import annotations

import pytest
import yaml

from reconciler.errors import IdentityError
from reconciler.plan import Action
from reconciler.sandbox.server import Sandbox
from tests.conftest import Driver, lw_member

TEAM = """\
calendars:
  team:
    provider: works
    name: Team
    description: The team calendar.
    public: false
    members:
      - user: Alice@Example.com
        role: manage
      - group: eng
        role: write
      - orgunit: org-1
        role: read
      - user: bob@example.com
        role: free_busy
"""


def test_create_converges_with_every_field(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(TEAM)
    plan = driver.plan()
    assert [c.action for c in plan.changes] == [Action.CREATE]
    driver.converge()
    [calendar] = sandbox.lineworks.calendars.values()
    assert calendar["calendarName"] == "Team"
    assert calendar["description"] == "The team calendar."
    assert calendar["isPublic"] is False
    assert {(m["id"], m["type"], m["role"]) for m in calendar["members"]} == {
        ("alice@example.com", "USER", "CALENDAR_EVENT_READ_WRITE"),
        ("eng", "GROUP", "EVENT_READ_WRITE"),
        ("org-1", "ORGUNIT", "EVENT_READ"),
        ("bob@example.com", "USER", "EVENT_READ_FREE_BUSY"),
    }


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("description: The team calendar.", "description: Renamed purpose, ünïcode ✓."),
        ("public: false", "public: true"),
        ("role: read", "role: free_busy"),
        ("      - user: bob@example.com\n        role: free_busy\n", ""),
        ("members:\n", "members:\n      - user: new@example.com\n        role: write\n"),
    ],
    ids=["description", "public", "member-role", "member-removed", "member-added"],
)
def test_each_field_converges(driver: Driver, sandbox: Sandbox, before: str,
                              after: str) -> None:
    driver.write(TEAM)
    driver.converge()
    assert before in TEAM
    driver.write(TEAM.replace(before, after))
    plan = driver.plan()
    assert [c.action for c in plan.changes] == [Action.UPDATE]
    driver.converge()
    # As stored, from the YAML alone (roles and principal types as providers.md §2 names them)
    wanted = yaml.safe_load(TEAM.replace(before, after))["calendars"]["team"]
    [calendar] = sandbox.lineworks.calendars.values()
    assert (calendar["calendarName"], calendar["description"], calendar["isPublic"]) == (
        wanted["name"], wanted["description"], wanted["public"])
    roles = {"manage": "CALENDAR_EVENT_READ_WRITE", "write": "EVENT_READ_WRITE",
             "read": "EVENT_READ", "free_busy": "EVENT_READ_FREE_BUSY"}
    assert {(m["id"].lower(), m["type"], m["role"]) for m in calendar["members"]} == {
        (next(v for k, v in m.items() if k != "role").lower(),
         next(k for k in m if k != "role").upper(), roles[m["role"]])
        for m in wanted["members"]}


def test_rename_needs_and_uses_pinned_id(driver: Driver, sandbox: Sandbox) -> None:
    cid = sandbox.lineworks.add_calendar("Old name", description="x")
    driver.write(f"""\
calendars:
  team:
    provider: works
    id: {cid}
    name: New name
""")
    plan = driver.plan()
    [change] = plan.changes
    assert change.action is Action.UPDATE
    assert change.requests[0].body == {"calendarName": "New name"}
    driver.converge()
    assert sandbox.lineworks.calendars[cid]["calendarName"] == "New name"
    assert len(sandbox.lineworks.calendars) == 1


def test_no_op_plan_and_apply_send_no_writes(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(TEAM)
    driver.converge()
    sandbox.lineworks.reset_log()
    plan = driver.plan()
    assert plan.empty
    report = driver.apply(plan)
    assert report.outcomes == []
    assert sandbox.lineworks.writes() == []
    # one list page + one GET per calendar, and nothing else
    paths = [(r.method, r.path.split("/")[2]) for r in sandbox.lineworks.requests]
    assert sorted(paths) == [("GET", "calendars"), ("GET", "users")]


def test_description_change_patches_only_description(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(TEAM)
    driver.converge()
    sandbox.lineworks.reset_log()
    driver.write(TEAM.replace("The team calendar.", "New words."))
    driver.converge()
    [write] = sandbox.lineworks.writes()
    assert write.method == "PATCH"
    assert write.body == {"description": "New words."}


def test_role_change_sends_members_whole_and_nothing_else(
    driver: Driver, sandbox: Sandbox
) -> None:
    driver.write(TEAM)
    driver.converge()
    sandbox.lineworks.reset_log()
    driver.write(TEAM.replace("role: write", "role: manage"))
    driver.converge()
    [write] = sandbox.lineworks.writes()
    assert write.method == "PATCH"
    assert set(write.body) == {"members"}
    assert sorted((m["id"], m["role"]) for m in write.body["members"]) == [
        ("alice@example.com", "CALENDAR_EVENT_READ_WRITE"),
        ("bob@example.com", "EVENT_READ_FREE_BUSY"),
        ("eng", "CALENDAR_EVENT_READ_WRITE"),
        ("org-1", "EVENT_READ"),
    ]


def test_unmanaged_fields_are_left_alone(driver: Driver, sandbox: Sandbox) -> None:
    cid = sandbox.lineworks.add_calendar(
        "Team", description="kept", is_public=True,
        members=[lw_member("x@example.com", "USER", "EVENT_READ")],
    )
    driver.write("""\
calendars:
  team:
    provider: works
    name: Team
""")
    assert driver.plan().empty
    assert sandbox.lineworks.calendars[cid]["description"] == "kept"


def test_ambiguous_name_is_an_error(driver: Driver, sandbox: Sandbox) -> None:
    first = sandbox.lineworks.add_calendar("Team")
    second = sandbox.lineworks.add_calendar("Team")
    driver.write(TEAM)
    with pytest.raises(IdentityError) as info:
        driver.apply()  # reads first, as `calrecon apply` without a saved plan does
    message = str(info.value)
    assert "works.team" in message and first in message and second in message
    assert "pin" in message
    assert sandbox.lineworks.writes() == []


def test_created_calendar_is_found_by_name_next_time(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(TEAM)
    driver.converge()  # the second plan inside converge() must match by name, not re-create
    driver.converge()
    assert len(sandbox.lineworks.calendars) == 1
    assert [w.method for w in sandbox.lineworks.writes()] == ["POST"]


def test_missing_pinned_id_is_an_error_not_a_create(driver: Driver, sandbox: Sandbox) -> None:
    driver.write("""\
calendars:
  team:
    provider: works
    id: calendar-does-not-exist
    name: Team
""")
    with pytest.raises(IdentityError, match="does not exist"):
        driver.apply()
    assert sandbox.lineworks.writes() == []


def test_two_yaml_calendars_cannot_claim_one_live_calendar(
    driver: Driver, sandbox: Sandbox
) -> None:
    cid = sandbox.lineworks.add_calendar("Team")
    driver.write(f"""\
calendars:
  a:
    provider: works
    name: Team
  b:
    provider: works
    id: {cid}
    name: Other
""")
    with pytest.raises(IdentityError, match=r"as works\.a does"):
        driver.plan()


def test_state_absent_deletes_and_then_converges(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.lineworks.add_calendar("Old")
    keep = sandbox.lineworks.add_calendar("Not in yaml")
    driver.write("""\
calendars:
  old:
    provider: works
    name: Old
    state: absent
""")
    plan = driver.plan()
    assert [c.action for c in plan.changes] == [Action.DELETE]
    assert plan.notes == ["works: 1 calendar(s) not in the YAML, left alone"]
    driver.converge()
    assert list(sandbox.lineworks.calendars) == [keep]


def test_calendar_list_is_read_across_cursor_pages(driver: Driver, sandbox: Sandbox) -> None:
    for i in range(120):
        sandbox.lineworks.add_calendar(f"Filler {i}")
    target = sandbox.lineworks.add_calendar("Team")
    driver.write(TEAM)
    plan = driver.plan()
    [change] = plan.changes
    assert change.action is Action.UPDATE and change.live_id == target
    pages = [r for r in sandbox.lineworks.requests if r.path.endswith("calendar-personals")]
    assert len(pages) == 3
