"""The ONLYOFFICE listing decoded against the fields calrecon reads: the same values for those,
nothing else kept, pauses between calendars, clear errors; and over the wire, a listing past
the size at which answers are decoded in pieces plans and converges, and a full-replace PUT
still sends back what calrecon does not manage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler import http, jsonpieces
from reconciler.errors import ApiError, ResponseError
from reconciler.http import Answer
from reconciler.providers.onlyoffice import listing
from reconciler.sandbox.server import Sandbox
from tests.conftest import Driver

PERMISSIONS = {
    "users": [],
    "data": {"actions": [{"id": "read", "name": "Read only", "defaultAction": True}],
             "items": [{"id": "u1", "name": "Ann", "isGroup": False, "canEdit": True,
                        "selectedAction": {"id": "read", "name": "Read only"}}]},
}
EVENT = {"objectId": "7", "uniqueId": "e1@portal", "sourceId": "3", "title": "T",
         "description": "", "start": "2027-01-21T09:00:00.0000000+01:00",
         "end": "2027-01-21T09:45:00.0000000+01:00", "allDay": False, "repeatRule": "",
         "alert": {"type": 2}, "isShared": True, "permissions": PERMISSIONS,
         "owner": {"objectId": "a", "name": "Admin"}, "status": 0, "hasAttachments": False}
CALENDAR = {"objectId": "3", "title": "Board", "description": "d", "textColor": "#000000",
            "backgroundColor": "#87cefa", "isSubscription": False, "isHidden": False,
            "isShared": True, "permissions": PERMISSIONS, "isEditable": True,
            "owner": {"objectId": "a", "name": "Admin"}, "events": [EVENT], "todos": [],
            "defaultAlert": {"type": -1}, "timeZone": {"id": "Europe/Berlin", "offset": 60}}


def answer(body: Any, status: int = 200) -> Answer:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, {"content-type": "application/json"}, content, "http://x/")


def decode(body: Any, pause: Any = lambda: None) -> Any:
    return listing.decode_listing(answer(body), "office", "GET", "/calendars/a/b", pause)


def test_the_fields_read_keep_their_values_and_the_rest_is_dropped() -> None:
    [calendar, stream] = decode({"status": 0, "statusCode": 200,
                                 "response": [CALENDAR, "an iCal stream"]})
    assert stream == "an iCal stream"  # not an object: left for the provider to skip
    assert set(calendar) == {"objectId", "title", "description", "textColor", "isHidden",
                             "backgroundColor", "permissions", "isEditable", "events",
                             "defaultAlert", "timeZone"}
    assert calendar["timeZone"] == CALENDAR["timeZone"]  # undeclared inside: kept whole
    assert calendar["permissions"] == {"data": {"items": [
        {"id": "u1", "isGroup": False, "selectedAction": {"id": "read"}}]}}
    [event] = calendar["events"]
    assert set(event) == {"objectId", "uniqueId", "title", "description", "start", "end",
                          "allDay", "repeatRule", "alert", "permissions"}
    assert {k: EVENT[k] for k in event if k != "permissions"} == \
        {k: v for k, v in event.items() if k != "permissions"}


def test_empty_response_is_none_and_pauses_fall_between_calendars() -> None:
    assert decode({"status": 0, "response": {}}) is None
    pauses: list[None] = []
    calendars = decode({"status": 0, "response": [CALENDAR] * 400},
                       lambda: pauses.append(None))
    size = len(json.dumps(CALENDAR))
    assert len(calendars) == 400
    assert len(pauses) == 400 * size // listing.PIECE  # one per PIECE bytes of calendars


@pytest.mark.parametrize(("body", "kind", "expected"), [
    (b'{"status": 0, "response": [{"objectId": 1}', ResponseError, "not JSON"),
    (b'{"status": 0, "response": [{"objectId": NaN}]}', ResponseError, "not JSON"),
    (b'\xff\xfe', ResponseError, "not JSON"),
    (b'[1, 2, 3]', ResponseError, "not an ONLYOFFICE envelope"),
    (b'{"response": []}', ResponseError, "not an ONLYOFFICE envelope"),
    (b'{"status": 1, "error": {"message": "Database is down"}}', ApiError,
     "envelope status 1): Database is down"),
    (b'{"status": 0, "response": "none"}', ResponseError, "response is not a list"),
    (b'{"status": 0, "response": [{"objectId": "1"}, {"objectId": "2", "events": {}}]}',
     ResponseError, "`$[1].events`"),
    (b'{"status": 0, "response": {"response": [], "status": "x"}, "status": 0}',
     ResponseError, "response is not a list"),
])
def test_bad_answers_are_clear_errors(body: bytes, kind: type[Exception], expected: str) -> None:
    with pytest.raises(kind) as info:
        decode(body)
    message = str(info.value)
    assert expected in message and message.startswith("office: GET /calendars/a/b")
    assert "HTTP 200" in message


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


def test_a_large_listing_plans_and_converges(driver: Driver, sandbox: Sandbox,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    driver.write(big_office(60))
    driver.converge()
    sizes: list[int] = []
    real = listing.decode_listing

    def spy(response: Answer, *args: Any) -> Any:
        sizes.append(len(response.content))
        return real(response, *args)
    monkeypatch.setattr("reconciler.providers.onlyoffice.client.decode_listing", spy)
    plan = driver.plan()
    assert plan.empty and plan.inventory["office.archive"] == {"events": 60}
    assert sizes and sizes[0] >= http.PIECEWISE_FROM


def test_a_large_read_outside_the_listing_goes_through_pieces(
    driver: Driver, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver.write(big_office(60))
    driver.converge()
    # A new event far from the others is not in the listing's window: the calendar is read
    # again over the wide search window, a large answer of one calendar, decoded in pieces.
    driver.write(big_office(60) + BIG_EVENT.format(i=999, day=1, text="far").replace(
        "2027-03-01", "2028-09-01"))
    decoded: list[int] = []
    real = jsonpieces.loads

    def spy(data: bytes, pause: Any, piece: int = jsonpieces.PIECE) -> Any:
        decoded.append(len(data))
        return real(data, pause, piece)
    monkeypatch.setattr(jsonpieces, "loads", spy)
    plan = driver.plan()
    assert [c.address for c in plan.changes] == ["office.archive.events.e999"]
    assert decoded and decoded[0] >= http.PIECEWISE_FROM
    driver.converge()


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
