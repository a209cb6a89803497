"""The LINE WORKS emulator speaks the documented protocol (providers.md §2), to any client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.sandbox.lineworks import LineWorksEmulator
from reconciler.sandbox.server import Sandbox


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    endpoint = sandbox.endpoints()["lineworks"]
    with httpx.Client(base_url=endpoint.base_url,
                      headers={"Authorization": f"Bearer {endpoint.token}"}) as client:
        yield client


def emulator(sandbox: Sandbox) -> LineWorksEmulator:
    return sandbox.lineworks


def test_auth_is_required(sandbox: Sandbox) -> None:
    url = sandbox.endpoints()["lineworks"].base_url
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": sandbox.endpoints()["lineworks"].token}):
        response = httpx.get(f"{url}/users/me/calendar-personals", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHORIZED"


def test_create_get_patch_delete(api: httpx.Client, sandbox: Sandbox) -> None:
    created = api.post("/calendars", json={
        "calendarName": "Ops", "description": "d",
        "members": [{"id": "a@example.com", "type": "USER", "role": "EVENT_READ"}],
    })
    assert created.status_code == 201
    body = created.json()
    cid = body["calendarId"]
    assert body["calendarEmail"].startswith(cid) and body["isPublic"] is False
    patched = api.patch(f"/calendars/{cid}", json={"isPublic": True})
    assert patched.status_code == 200
    assert patched.json()["description"] == "d"  # PATCH keeps what it was not sent
    assert patched.json()["members"] == body["members"]
    replaced = api.patch(f"/calendars/{cid}", json={"members": []}).json()
    assert replaced["members"] == []  # members is replaced whole
    assert api.get(f"/calendars/{cid}").json()["isPublic"] is True
    assert api.delete(f"/calendars/{cid}").status_code == 204
    missing = api.get(f"/calendars/{cid}")
    assert missing.status_code == 404 and missing.json()["code"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize("body", [
    {},
    {"calendarName": "x" * 51},
    {"calendarName": "ok", "description": "d" * 1001},
    {"calendarName": "ok", "members": [{"id": "a", "type": "USER", "role": "OWNER"}]},
    {"calendarName": "ok", "members": [{"id": "a", "type": "TEAM", "role": "EVENT_READ"}]},
    {"calendarName": "ok", "members": [{"id": "a", "type": "USER", "role": "EVENT_READ"}] * 2},
    {"calendarName": "ok", "isPublic": "yes"},
])
def test_validation_answers_400(api: httpx.Client, body: dict[str, object]) -> None:
    response = api.post("/calendars", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "description"}


def test_calendar_personals_pages_by_cursor(api: httpx.Client, sandbox: Sandbox) -> None:
    for i in range(7):
        emulator(sandbox).add_calendar(f"C{i}")
    names, cursor, pages = [], None, 0
    while True:
        params = {"count": "3", **({"cursor": cursor} if cursor else {})}
        body = api.get("/users/me/calendar-personals", params=params).json()
        names += [c["calendarName"] for c in body["calendarPersonals"]]
        pages += 1
        cursor = body["responseMetaData"]["nextCursor"]
        if not cursor:
            break
    assert names == [f"C{i}" for i in range(7)] and pages == 3
    assert api.get("/users/me/calendar-personals", params={"count": "51"}).status_code == 400
    assert api.get("/users/nobody/calendar-personals").status_code == 404


def test_rate_budget_answers_429_with_headers(sandbox: Sandbox, api: httpx.Client) -> None:
    emulator(sandbox).rate_limit = 3
    statuses = [api.get("/users/me/calendar-personals") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    last = statuses[-1]
    assert last.json() == {"code": "TOO_MANY_REQUESTS", "description": "API rate limit exceeded"}
    assert last.headers["rateLimit-limit"] == "3"
    assert last.headers["rateLimit-remaining"] == "0"
    assert 0 <= int(last.headers["rateLimit-reset"]) <= 60
    # budgets are per operation: another route is unaffected
    assert api.post("/calendars", json={"calendarName": "x"}).status_code == 201


def test_unknown_route_and_method(api: httpx.Client) -> None:
    assert api.get("/nowhere").status_code == 404
    assert api.put("/calendars/abc", json={}).status_code == 405


def test_requests_are_logged_with_bodies(api: httpx.Client, sandbox: Sandbox) -> None:
    api.post("/calendars", json={"calendarName": "Logged"})
    [entry] = emulator(sandbox).writes()
    assert (entry.method, entry.path, entry.body) == (
        "POST", "/v1.0/calendars", {"calendarName": "Logged"})


def test_state_survives_a_restart(tmp_path: object) -> None:
    from pathlib import Path
    state = Path(str(tmp_path)) / "state.json"
    with Sandbox(state) as first:
        seeded = len(first.lineworks.calendars)
        first.lineworks.add_calendar("Added")
        first.save()
    with Sandbox(state) as second:
        assert len(second.lineworks.calendars) == seeded + 1
