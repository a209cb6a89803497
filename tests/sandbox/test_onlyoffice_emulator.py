"""The ONLYOFFICE emulator speaks the documented protocol (providers.md §1), to any client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.sandbox.onlyoffice import DOMAIN, PASSWORD, USERNAME
from reconciler.sandbox.server import Sandbox

ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:Standup\r\n"
       "DTSTART;TZID=Europe/Berlin:20270301T090000\r\nDTEND;TZID=Europe/Berlin:20270301T091500"
       "\r\nRRULE:FREQ=DAILY;COUNT=5\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")

USER_GUID = "5d2c7e10-1111-4000-8000-000000000001"


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    endpoint = sandbox.endpoints()["onlyoffice"]
    with httpx.Client(base_url=endpoint.base_url + "/api/2.0",
                      headers={"Authorization": endpoint.token}) as client:
        yield client


def test_raw_token_auth_and_login(sandbox: Sandbox) -> None:
    endpoint = sandbox.endpoints()["onlyoffice"]
    url = f"{endpoint.base_url}/api/2.0/calendar/calendars/2027-01-01/2027-01-31"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {endpoint.token}"}).status_code == 401
    login = httpx.post(f"{endpoint.base_url}/api/2.0/authentication.json",
                       json={"userName": USERNAME, "password": PASSWORD})
    assert login.status_code == 201
    body = login.json()
    assert body["status"] == 0 and body["statusCode"] == 201
    token = body["response"]["token"]
    assert httpx.get(url, headers={"Authorization": token}).status_code == 200
    bad = httpx.post(f"{endpoint.base_url}/api/2.0/authentication",
                     data={"userName": USERNAME, "password": "nope"})
    assert bad.status_code == 500 and bad.json()["error"]["message"] == "User authentication failed"


def test_listing_creates_a_default_calendar_and_lists_external_ones(api: httpx.Client,
                                                                    sandbox: Sandbox) -> None:
    assert sandbox.onlyoffice.calendars == {}
    body = api.get("/calendar/calendars/2027-01-01/2027-01-31.json").json()
    ids = [c["objectId"] for c in body["response"]]
    assert len(sandbox.onlyoffice.calendars) == 1  # the documented side effect
    assert "shared_events" in ids and "users_birthdays" in ids
    own = next(c for c in body["response"] if c["objectId"].isdigit())
    first = own["permissions"]["data"]["items"][0]
    assert first["selectedAction"]["id"] == "owner" and first["canEdit"] is False


def test_calendar_put_is_a_full_replace_that_clears_omitted_sharing(api: httpx.Client) -> None:
    created = api.post("/calendar", json={
        "name": "Ops",
        "sharingOptions": [{"actionId": "read", "itemId": USER_GUID, "isGroup": False}],
    })
    assert created.status_code == 201 and created.json()["statusCode"] == 201
    cid = created.json()["response"]["objectId"]
    updated = api.put(f"/calendar/{cid}", json={"name": "Ops 2"}).json()["response"]
    assert updated["title"] == "Ops 2" and updated["isShared"] is False
    assert [i["selectedAction"]["id"] for i in updated["permissions"]["data"]["items"]] == ["owner"]
    empty = api.put(f"/calendar/{cid}", json={"name": " "})
    assert empty.status_code == 500 and empty.json()["error"]["message"] == "Name can't be empty"


def test_errors_are_mostly_500_with_a_message(api: httpx.Client) -> None:
    for response in (api.delete("/calendar/999"), api.delete("/calendar/events/999")):
        assert response.status_code == 500
        assert response.json() == {"status": 1, "statusCode": 500, "error": {
            "message": "Item not found", "hresult": -2146233088, "data": {}}}
    # O9: PUT icsevent dereferences the missing event before its null check
    missing = api.put("/calendar/icsevent", json={"eventId": 999, "ics": ICS})
    assert missing.status_code == 500
    assert missing.json()["error"]["message"] == ("Object reference not set to an instance of "
                                                  "an object.")
    assert api.get("/calendar/999").json()["response"] == {}  # null read, not an error
    assert api.get("/nothing/here").status_code == 404


def test_ics_event_upsert_by_uid_with_domain_and_occurrences(api: httpx.Client,
                                                              sandbox: Sandbox) -> None:
    cid = int(api.post("/calendar", json={"name": "Team", "timeZone": "Europe/Berlin"}
                       ).json()["response"]["objectId"])
    first = api.post("/calendar/icsevent", json={"calendarId": cid, "ics": ICS,
                                                "eventUid": "standup", "alertType": "Hour"})
    assert first.status_code == 201
    occurrences = first.json()["response"]
    assert len(occurrences) == 5 and len({o["objectId"] for o in occurrences}) == 1
    assert occurrences[0]["uniqueId"] == f"standup@{DOMAIN}"
    assert occurrences[0]["start"] == "2027-03-01T09:00:00.0000000+01:00"
    assert occurrences[0]["alert"] == {"type": 4}
    again = api.post("/calendar/icsevent", json={"calendarId": str(cid),
                                                "ics": ICS.replace("Standup", "Daily"),
                                                "eventUid": "standup"})
    assert again.json()["response"][0]["title"] == "Daily"
    assert len(sandbox.onlyoffice.events) == 1  # an upsert, not a twin


def test_put_icsevent_replaces_everything_including_sharing_and_alert(api: httpx.Client) -> None:
    cid = api.post("/calendar", json={"name": "Team"}).json()["response"]["objectId"]
    created = api.post("/calendar/icsevent", json={
        "calendarId": cid, "ics": ICS, "eventUid": "s", "alertType": 2,
        "sharingOptions": [{"actionId": "read", "itemId": USER_GUID, "isGroup": False}],
    }).json()["response"][0]
    updated = api.put("/calendar/icsevent", json={"eventId": int(created["objectId"]),
                                                  "calendarId": cid, "ics": ICS})
    item = updated.json()["response"][0]
    assert item["isShared"] is False and item["alert"] == {"type": 0}


def test_all_day_events_come_back_in_utc_with_an_inclusive_end(api: httpx.Client) -> None:
    cid = api.post("/calendar", json={"name": "Days"}).json()["response"]["objectId"]
    ics = ICS.replace("DTSTART;TZID=Europe/Berlin:20270301T090000", "DTSTART;VALUE=DATE:20270510")
    ics = ics.replace("DTEND;TZID=Europe/Berlin:20270301T091500", "DTEND;VALUE=DATE:20270513")
    ics = ics.replace("RRULE:FREQ=DAILY;COUNT=5\r\n", "")
    [item] = api.post("/calendar/icsevent", json={"calendarId": cid, "ics": ics}).json()["response"]
    assert item["allDay"] is True
    assert (item["start"], item["end"]) == ("2027-05-10T00:00:00.0000000Z",
                                            "2027-05-12T00:00:00.0000000Z")


def test_without_full_access_an_update_silently_becomes_a_view_change(
    api: httpx.Client, sandbox: Sandbox
) -> None:
    theirs = sandbox.onlyoffice.add_calendar(
        "Theirs", owner="someone-else",
        sharing=[{"itemId": sandbox.onlyoffice.user, "isGroup": False, "actionId": "read"}])
    response = api.put(f"/calendar/{theirs}", json={"name": "Mine now"})
    assert response.status_code == 200
    assert response.json()["response"]["isEditable"] is False
    assert sandbox.onlyoffice.calendars[theirs]["title"] == "Theirs"  # only my view changed
    assert api.delete(f"/calendar/{theirs}").status_code == 403


def test_custom_delete_of_one_occurrence(api: httpx.Client, sandbox: Sandbox) -> None:
    cid = api.post("/calendar", json={"name": "Team"}).json()["response"]["objectId"]
    eid = api.post("/calendar/icsevent", json={"calendarId": cid, "ics": ICS}).json()[
        "response"][0]["objectId"]
    left = api.request("DELETE", f"/calendar/events/{eid}/custom",
                       json={"date": "2027-03-02T09:00:00Z", "type": 0}).json()["response"]
    assert len(left) == 4
