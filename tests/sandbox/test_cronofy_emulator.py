"""The Cronofy emulator speaks the documented protocol (providers.md §3), to any client:
the official Python SDK included."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pycronofy
import pytest

from reconciler.sandbox.server import Sandbox


@pytest.fixture
def box(sandbox: Sandbox) -> Sandbox:
    sandbox.cronofy.add_profile("pro_1", "someone@example.com")
    sandbox.cronofy.add_calendar("pro_1", "Work", calendar_id="cal_work")
    sandbox.cronofy.add_calendar("pro_1", "Holidays", calendar_id="cal_ro", readonly=True)
    return sandbox


@pytest.fixture
def api(box: Sandbox) -> Iterator[httpx.Client]:
    endpoint = box.endpoints()["cronofy"]
    with httpx.Client(base_url=endpoint.base_url,
                      headers={"Authorization": f"Bearer {endpoint.token}"}) as client:
        yield client


def sdk(box: Sandbox) -> pycronofy.Client:
    endpoint = box.endpoints()["cronofy"]
    client = pycronofy.Client(access_token=endpoint.token)
    client.request_handler.base_url = endpoint.base_url  # as for any data-center host
    return client


def test_the_official_sdk_lists_reads_across_pages_upserts_and_deletes(box: Sandbox) -> None:
    box.cronofy.page_size = 4
    client = sdk(box)
    calendars = client.list_calendars()
    assert {c["calendar_id"] for c in calendars} == {"cal_work", "cal_ro"}
    for i in range(10):
        client.upsert_event("cal_work", {"event_id": f"ev-{i}", "summary": f"Event {i}",
                                         "start": "2027-02-01T10:00:00Z",
                                         "end": "2027-02-01T11:00:00Z"})
    events = client.read_events(calendar_ids=("cal_work",), from_date="2027-01-01",
                                to_date="2027-03-01", include_managed=True).all()
    assert sorted(e["event_id"] for e in events) == sorted(f"ev-{i}" for i in range(10))
    client.delete_event("cal_work", "ev-3")
    left = client.read_events(calendar_ids=("cal_work",), from_date="2027-01-01",
                              to_date="2027-03-01").all()
    assert len(left) == 9
    created = client.create_calendar("pro_1", "New one")
    assert created["calendar"]["calendar_name"] == "New one"


def test_bearer_auth(box: Sandbox) -> None:
    url = box.endpoints()["cronofy"].base_url + "/v1/calendars"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_upsert_is_202_with_no_body_and_validates(api: httpx.Client) -> None:
    good = {"event_id": "e1", "summary": "S", "start": "2027-02-01", "end": "2027-02-02"}
    response = api.post("/v1/calendars/cal_work/events", json=good)
    assert response.status_code == 202 and response.content == b""
    for bad, field in (({**good, "summary": ""}, "summary"),
                       ({**good, "summary": "s" * 1025}, "summary"),
                       ({**good, "description": "d" * 4097}, "description"),
                       ({k: v for k, v in good.items() if k != "end"}, "end")):
        answer = api.post("/v1/calendars/cal_work/events", json=bad)
        assert answer.status_code == 422 and field in answer.json()["errors"]
    readonly = api.post("/v1/calendars/cal_ro/events", json=good)
    assert readonly.status_code == 422 and "calendar_id" in readonly.json()["errors"]


def test_managed_events_need_include_managed_and_tzid(api: httpx.Client) -> None:
    api.post("/v1/calendars/cal_work/events", json={
        "event_id": "e1", "summary": "S", "start": {"time": "2027-02-01T10:00:00Z",
                                                    "tzid": "Europe/Paris"},
        "end": {"time": "2027-02-01T11:00:00Z", "tzid": "Europe/Paris"}})
    assert api.get("/v1/events").status_code == 422
    hidden = api.get("/v1/events", params={"tzid": "Etc/UTC"}).json()
    assert hidden["events"] == []
    shown = api.get("/v1/events", params={"tzid": "Etc/UTC", "include_managed": "true"}).json()
    [event] = shown["events"]
    assert event["event_id"] == "e1" and event["event_uid"].startswith("evt_")
    assert event["start"] == "2027-02-01T10:00:00Z"
    local = api.get("/v1/events", params={"tzid": "Etc/UTC", "include_managed": "true",
                                          "localized_times": "true"}).json()["events"][0]
    assert local["start"] == {"time": "2027-02-01T11:00:00+01:00", "tzid": "Europe/Paris"}


def test_external_events_are_edited_by_uid_never_created(api: httpx.Client, box: Sandbox) -> None:
    box.cronofy.add_external_event("cal_work", "evt_ext", "Theirs", "2027-02-01T10:00:00Z",
                                   "2027-02-01T11:00:00Z")
    edit = {"event_uid": "evt_ext", "summary": "Edited", "start": "2027-02-01T12:00:00Z",
            "end": "2027-02-01T13:00:00Z"}
    assert api.post("/v1/calendars/cal_work/events", json=edit).status_code == 202
    assert box.cronofy.events["evt_ext"]["summary"] == "Edited"
    assert api.request("DELETE", "/v1/calendars/cal_work/events",
                       json={"event_uid": "evt_ext"}).status_code == 202
    again = api.post("/v1/calendars/cal_work/events", json=edit)
    assert again.status_code == 422 and "event_uid" in again.json()["errors"]  # no recreation
    # event_id together with event_uid creates a new managed event (event_id wins)
    both = api.post("/v1/calendars/cal_work/events", json={**edit, "event_id": "mine"})
    assert both.status_code == 202
    assert any(e.get("event_id") == "mine" for e in box.cronofy.events.values())


def test_recurring_or_locked_external_events_refuse_edits(api: httpx.Client,
                                                          box: Sandbox) -> None:
    box.cronofy.add_external_event("cal_work", "evt_rec", "Weekly", "2027-02-01T10:00:00Z",
                                   "2027-02-01T11:00:00Z", recurring=True)
    box.cronofy.add_external_event("cal_work", "evt_lock", "Locked", "2027-02-01T10:00:00Z",
                                   "2027-02-01T11:00:00Z", update=False)
    for uid in ("evt_rec", "evt_lock"):
        answer = api.post("/v1/calendars/cal_work/events", json={
            "event_uid": uid, "summary": "X", "start": "2027-02-01", "end": "2027-02-02"})
        assert answer.status_code == 422
        assert answer.json()["errors"]["event_uid"][0]["key"] == "errors.not_editable"


def test_duplicate_calendar_name_and_locked_profile(api: httpx.Client, box: Sandbox) -> None:
    duplicate = api.post("/v1/calendars", json={"profile_id": "pro_1", "name": "Work"})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"]["name"][0]["key"] == "errors.duplicate_calendar_name"
    box.cronofy.profiles["pro_1"]["locked"] = True
    assert api.post("/v1/calendars", json={"profile_id": "pro_1", "name": "X"}).status_code == 423
