"""The ONLYOFFICE listing over the wire: a large listing (megabytes of events with their
permissions) plans and converges; a calendar read again outside the listing's window too;
a full-replace PUT sends back what calrecon does not manage; a listing whose events are not
a list is a clear error."""

from __future__ import annotations

import pytest

from reconciler.errors import ResponseError
from reconciler.sandbox.server import Sandbox
from tests.conftest import Driver

BIG_OFFICE = """\
calendars:
  archive:
    provider: office
    name: Archive
    events:
{events}
"""
BIG_EVENT = """\
      e{i:03d}:
        summary: Entry {i}
        description: {text}
        start: 2027-03-{day:02d}T10:00:00
        end: 2027-03-{day:02d}T11:00:00
        timezone: Europe/Berlin
"""


def big_office(count: int) -> str:
    return BIG_OFFICE.format(events="".join(
        BIG_EVENT.format(i=i, day=1 + i % 28, text="lorem ipsum " * 1000) for i in range(count)))


def test_a_large_listing_plans_and_converges(driver: Driver, sandbox: Sandbox) -> None:
    driver.write(big_office(60))
    driver.converge()
    sandbox.onlyoffice.reset_log()
    plan = driver.plan()
    assert plan.empty and plan.inventory["office.archive"] == {"events": 60}
    [listing] = [r for r in sandbox.onlyoffice.requests if "/calendar/calendars/" in r.path]
    assert listing.method == "GET"


def test_a_calendar_read_outside_the_listing_window_converges(driver: Driver,
                                                              sandbox: Sandbox) -> None:
    driver.write(big_office(60))
    driver.converge()
    # A new event far from the others is not in the listing's window: the calendar is read
    # again over the wide search window.
    driver.write(big_office(60) + BIG_EVENT.format(i=999, day=1, text="far").replace(
        "2027-03-01", "2028-09-01"))
    plan = driver.plan()
    assert [c.address for c in plan.changes] == ["office.archive.events.e999"]
    driver.converge()


def test_events_that_are_not_a_list_are_a_clear_error(driver: Driver, sandbox: Sandbox) -> None:
    sandbox.onlyoffice.add_calendar("Archive")
    driver.write(big_office(1))
    sandbox.onlyoffice.corrupt("/calendar/calendars/", b'{"status": 0, "statusCode": 200, '
                               b'"response": [{"objectId": "1", "title": "Archive", '
                               b'"events": {"not": "a list"}}]}')
    with pytest.raises(ResponseError, match="office"):
        driver.plan()


def test_a_full_replace_sends_back_what_calrecon_does_not_manage(
    driver: Driver, sandbox: Sandbox
) -> None:
    cid = sandbox.onlyoffice.add_calendar("Board", zone="Asia/Tokyo", alert=4)
    sandbox.onlyoffice.calendars[cid].update(textColor="#112233", backgroundColor="#445566",
                                             isHidden=True)
    driver.write("calendars:\n  board:\n    provider: office\n    name: Board\n"
                 "    description: new\n")
    driver.converge()
    [write] = sandbox.onlyoffice.writes()
    assert write.method == "PUT" and write.body["description"] == "new"
    assert {k: write.body[k] for k in ("textColor", "backgroundColor", "timeZone", "alertType",
                                       "hideEvents")} == \
        {"textColor": "#112233", "backgroundColor": "#445566", "timeZone": "Asia/Tokyo",
         "alertType": 4, "hideEvents": True}
