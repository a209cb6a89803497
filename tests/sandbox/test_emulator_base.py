"""What every emulator shares, over loopback: the request log, and ``--cache-reads`` answering
repeated reads exactly as an uncached emulator does."""

from __future__ import annotations

import httpx

from reconciler.sandbox.server import Sandbox


def _client(sandbox: Sandbox) -> httpx.Client:
    endpoint = sandbox.endpoints()["lineworks"]
    return httpx.Client(base_url=endpoint.base_url,
                        headers={"Authorization": f"Bearer {endpoint.token}"})


def _answer(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    # A cached answer repeats the rate-limit counters of the answer it keeps: cache_reads is
    # for benchmarks, which run without a rate limit.
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
