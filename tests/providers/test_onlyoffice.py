"""ONLYOFFICE over the wire: full-replace sharing, event edits that keep sharing, refusals."""

from __future__ import annotations

import pytest

from reconciler.errors import ApiError
from reconciler.loader import load
from reconciler.model import Desired
from reconciler.plan import Action
from reconciler.planner import make_plan
from reconciler.providers.onlyoffice.client import OnlyOfficeClient
from reconciler.providers.registry import build_providers
from reconciler.sandbox.base import Faults
from reconciler.sandbox.onlyoffice import PASSWORD, USERNAME
from reconciler.sandbox.server import Sandbox
from reconciler.tasks import TaskPool
from tests.conftest import Driver

U1, U2, G1 = ("11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002",
              "99999999-0000-4000-8000-000000000009")

BOARD = f"""\
calendars:
  board:
    provider: office
    name: Board
    description: Board meetings.
    members:
      - user: {U1}
        role: manage
      - group: {G1}
        role: read
    events:
      review:
        summary: Review
        start: 2027-03-01T10:00:00
        end: 2027-03-01T11:00:00
        timezone: Europe/Berlin
        alert: 1h
        sharing:
          - user: {U2}
            role: read
"""


def test_calendar_sharing_change_sends_one_put_with_the_full_list(
    driver: Driver, sandbox: Sandbox
) -> None:
    driver.write(BOARD)
    driver.converge()
    sandbox.onlyoffice.reset_log()
    driver.write(BOARD.replace("        role: read\n    events",
                               "        role: manage\n    events"))
    driver.converge()
    [write] = sandbox.onlyoffice.writes()
    assert (write.method, write.path) == ("PUT", f"/api/2.0/calendar/{calendar_id(sandbox)}")
    assert write.body["sharingOptions"] == [
        {"actionId": "full_access", "itemId": G1, "isGroup": True},
        {"actionId": "full_access", "itemId": U1, "isGroup": False},
    ]
    # a full replace keeps what calrecon does not manage
    assert write.body["timeZone"] == "Europe/Berlin" and write.body["textColor"]


def test_summary_only_change_sends_one_put_icsevent_and_keeps_sharing(
    driver: Driver, sandbox: Sandbox
) -> None:
    driver.write(BOARD.replace("        sharing:\n          - user: " + U2 +
                               "\n            role: read\n", ""))  # sharing unmanaged
    sandbox_event_sharing = [{"itemId": U2, "isGroup": False, "actionId": "read"}]
    driver.converge()
    [event] = sandbox.onlyoffice.events.values()
    event["sharing"] = sandbox_event_sharing  # shared by someone in the portal
    sandbox.onlyoffice.reset_log()
    driver.write(BOARD.replace("summary: Review", "summary: Quarterly review").replace(
        "        sharing:\n          - user: " + U2 + "\n            role: read\n", ""))
    driver.converge()
    [write] = sandbox.onlyoffice.writes()
    assert (write.method, write.path) == ("PUT", "/api/2.0/calendar/icsevent")
    assert write.body["sharingOptions"] == [{"actionId": "read", "itemId": U2, "isGroup": False}]
    assert write.body["alertType"] == 4
    assert "SUMMARY:Quarterly review" in write.body["ics"]
    assert event["sharing"] == sandbox_event_sharing
    assert event["title"] == "Quarterly review"


def test_event_uids_match_despite_the_domain_suffix(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(BOARD)
    driver.converge()
    [event] = sandbox.onlyoffice.events.values()
    assert event["uid"].startswith("review@")


def test_calendar_the_account_cannot_fully_edit_is_blocked(driver: Driver,
                                                           sandbox: Sandbox) -> None:
    owner = "d0d0d0d0-0000-4000-8000-000000000004"
    me = sandbox.onlyoffice.user
    cid = sandbox.onlyoffice.add_calendar(
        "Theirs", owner=owner, sharing=[{"itemId": me, "isGroup": False, "actionId": "read"}])
    sandbox.onlyoffice.accept(cid, me)  # O3: listed only once the account accepted it
    driver.write("""\
calendars:
  theirs:
    provider: office
    name: Theirs
    description: I want to change this.
""")
    plan = driver.plan()
    [change] = plan.changes
    assert change.action is Action.BLOCKED
    assert "isEditable is false" in change.reason
    report = driver.apply(plan)
    assert report.by_status("skipped") and sandbox.onlyoffice.writes() == []


def test_server_errors_are_named_with_address_and_status(driver: Driver,
                                                         sandbox: Sandbox) -> None:
    driver.write(BOARD)
    driver.converge()
    plan = driver.plan()
    assert plan.empty
    driver.write(BOARD.replace("summary: Review", "summary: Renamed"))
    plan = driver.plan()
    sandbox.onlyoffice.events.clear()  # the event vanishes between plan and apply
    report = driver.apply(plan)
    [failed] = report.by_status("failed")
    assert failed.detail == ("office.board.events.review: PUT /api/2.0/calendar/icsevent "
                             "failed with HTTP 500: Object reference not set to an instance "
                             "of an object.")  # O9
    # a 500 with an envelope message is permanent: it was sent once, not retried
    puts = [w for w in sandbox.onlyoffice.writes() if w.method == "PUT"]
    assert len(puts) == 1


def desired_at_sandbox(driver: Driver, sandbox: Sandbox) -> Desired:
    """BOARD with the office provider's base_url pointed at the emulator, token unset."""
    driver.write(BOARD)
    loaded = load([driver.folder])
    url = sandbox.endpoints()["onlyoffice"].base_url
    office = loaded.desired.providers["office"].model_copy(update={"base_url": url})
    return loaded.desired.model_copy(update={"providers": {"office": office}})


def test_login_with_user_name_and_password(driver: Driver, sandbox: Sandbox) -> None:
    desired = desired_at_sandbox(driver, sandbox)
    endpoint = sandbox.endpoints()["onlyoffice"]
    env = {"ONLYOFFICE_USERNAME": USERNAME, "ONLYOFFICE_PASSWORD": PASSWORD}
    providers = build_providers(desired, environ=env)
    try:
        plan = make_plan(desired, providers)
    finally:
        for p in providers.values():
            p.close()
    assert plan.changes[0].action is Action.CREATE
    login = sandbox.onlyoffice.requests[0]
    assert login.path == "/api/2.0/authentication"
    assert sandbox.onlyoffice.requests[1].headers["authorization"] == endpoint.token


def test_wrong_password_is_a_clear_error(sandbox: Sandbox, driver: Driver) -> None:
    desired = desired_at_sandbox(driver, sandbox)
    providers = build_providers(desired, environ={"ONLYOFFICE_USERNAME": USERNAME,
                                                  "ONLYOFFICE_PASSWORD": "wrong-password"})
    with pytest.raises(ApiError) as info:
        make_plan(desired, providers)
    assert "login as 'admin@sandbox.example' failed with HTTP 500" in str(info.value)
    assert "wrong-password" not in str(info.value)


def calendar_id(sandbox: Sandbox) -> int:
    return next(c["id"] for c in sandbox.onlyoffice.calendars.values() if c["title"] == "Board")


def test_tasks_that_need_the_login_together_log_in_once(sandbox: Sandbox) -> None:
    """Eight tasks reach for the connection while the first logs in (the login answer is
    held back 50 ms): they wait for it, over the wire, and one login serves all of them."""
    endpoint = sandbox.endpoints()["onlyoffice"]
    client = OnlyOfficeClient(endpoint.base_url, username=USERNAME, password=PASSWORD)
    sandbox.onlyoffice.faults = Faults(latency=0.05)
    listed: list[object] = []
    pool = TaskPool(8)
    for _ in range(8):
        pool.submit(lambda: listed.append(
            client.listing("/api/2.0/calendar/calendars/2027-01-01/2027-01-31", "office")))
    try:
        pool.run()
    finally:
        client.close()
        sandbox.onlyoffice.faults = Faults()
    logins = [r for r in sandbox.onlyoffice.requests if r.path == "/api/2.0/authentication"]
    assert len(logins) == 1 and len(listed) == 8
