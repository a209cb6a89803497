"""What every emulator shares, over loopback: the request log, and ``--cache-reads`` answering
repeated reads exactly as an uncached emulator does (token and rate budget included)."""

from __future__ import annotations

import httpx

from reconciler.sandbox.server import Sandbox


def _client(sandbox: Sandbox) -> httpx.Client:
    endpoint = sandbox.endpoints()["lineworks"]
    return httpx.Client(base_url=endpoint.base_url,
                        headers={"Authorization": f"Bearer {endpoint.token}"})


def _answer(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    # The rate-limit counters differ from one answer to the next, cached or not.
    headers = {k: v for k, v in response.headers.items()
               if k not in ("date", "server") and not k.startswith("ratelimit-")}
    return response.status_code, headers, response.content


def test_cached_reads_answer_as_uncached_ones_and_a_write_clears_them(sandbox: Sandbox) -> None:
    cid = sandbox.lineworks.add_calendar("Ops")
    with _client(sandbox) as api:
        uncached = [_answer(api.get(f"/calendars/{cid}")) for _ in range(2)]
        sandbox.lineworks.cache_reads = True
        cached = [_answer(api.get(f"/calendars/{cid}")) for _ in range(3)]
        assert cached == [uncached[0]] * 3
        assert api.patch(f"/calendars/{cid}", json={"description": "new"}).status_code == 200
        after = api.get(f"/calendars/{cid}")
        assert after.json()["description"] == "new"  # the write emptied the cache
        assert _answer(api.get(f"/calendars/{cid}")) == _answer(after)
        missing = api.get("/calendars/nope")
        assert missing.status_code == 404 and api.get("/calendars/nope").status_code == 404
    # every read was recorded, cached or not
    assert sum(1 for r in sandbox.lineworks.requests if r.method == "GET") == 9


def test_recorded_headers_are_the_request_headers_in_lower_case(sandbox: Sandbox) -> None:
    with _client(sandbox) as api:
        api.post("/calendars", json={"calendarName": "Ops"}, headers={"X-Trace": "t1"})
    recorded = sandbox.lineworks.requests[-1]
    assert recorded.headers["x-trace"] == "t1"
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.headers["content-length"] == str(len(b'{"calendarName":"Ops"}'))
    assert recorded.headers["authorization"].startswith("Bearer ")
    assert recorded.body == {"calendarName": "Ops"}
    assert all(name == name.lower() and "_" not in name for name in recorded.headers)


def test_a_cached_read_still_checks_the_token(sandbox: Sandbox) -> None:
    cid = sandbox.lineworks.add_calendar("Ops")
    sandbox.lineworks.cache_reads = True
    with _client(sandbox) as api:
        assert api.get(f"/calendars/{cid}").status_code == 200  # now kept
        assert api.get(f"/calendars/{cid}").status_code == 200  # answered from the cache
        wrong = api.get(f"/calendars/{cid}", headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "UNAUTHORIZED"
    assert httpx.get(f"{sandbox.endpoints()['lineworks'].base_url}/calendars/{cid}"
                     ).status_code == 401


def test_a_cached_read_spends_the_rate_budget_and_shows_fresh_counters() -> None:
    with Sandbox(seed=False, rate_limit=3) as box:
        cid = box.lineworks.add_calendar("Ops")
        box.lineworks.cache_reads = True
        with _client(box) as api:
            answers = [api.get(f"/calendars/{cid}") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["rateLimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].content == answers[2].content


def test_an_emulator_not_recording_keeps_no_log_and_answers_the_same() -> None:
    with Sandbox(seed=False, record_requests=False) as box:
        cid = box.lineworks.add_calendar("Ops")
        with _client(box) as api:
            assert api.get(f"/calendars/{cid}").json()["calendarName"] == "Ops"
            assert api.patch(f"/calendars/{cid}", json={"description": "new"}).status_code == 200
        assert box.lineworks.requests == [] and box.request_count() == 0
        assert box.lineworks.calendars[cid]["description"] == "new"
