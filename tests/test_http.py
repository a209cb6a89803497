"""The HTTP layer in isolation: retries, waits, give-up messages, redaction.

These use httpx.MockTransport to script exact answers; tests/test_faults.py covers the same
behaviour over the wire against the emulators.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from reconciler.errors import ApiError, TransportError
from reconciler.http import STATS, HttpClient, RetryPolicy
from reconciler.pacing import Deadline

TOKEN = "tok-0123456789-secret"


def client(handler: Callable[[httpx.Request], httpx.Response],
           sleeps: list[float], attempts: int = 4, deadline: float | None = None) -> HttpClient:
    http = HttpClient(provider="lineworks", base_url="http://api.test/v1.0",
                      headers={"Authorization": f"Bearer {TOKEN}"}, secret=TOKEN,
                      policy=RetryPolicy(attempts=attempts, base_wait=0.01, max_wait=30),
                      sleep=sleeps.append, transport=httpx.MockTransport(handler),
                      deadline=Deadline(deadline) if deadline is not None else None)
    return http


def scripted(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item
    return handler


def test_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(429, headers={"Retry-After": "7"}),
                           httpx.Response(200, json={})), sleeps)
    assert http.request("GET", "/x", address="works.a").status_code == 200
    assert sleeps == [7.0]


def test_lineworks_ratelimit_reset_is_honoured() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(429, headers={"rateLimit-reset": "3"}),
                           httpx.Response(200)), sleeps)
    http.request("GET", "/x", address="works.a")
    assert sleeps == [4.0]  # whole seconds rounded down by the server: one more is safe


def test_a_429_is_waited_out_as_long_as_the_server_asks_within_the_deadline() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(429, headers={"Retry-After": "90"}),
                           httpx.Response(200)), sleeps)
    http.request("GET", "/x", address="works.a")
    assert sleeps == [90.0]  # a whole rate window, not capped at max_wait


def test_a_429_reset_of_0_means_soon_not_now() -> None:
    sleeps: list[float] = []
    http = client(scripted(*[httpx.Response(429, headers={"rateLimit-reset": "0"})] * 8,
                           httpx.Response(200)), sleeps)
    assert http.request("GET", "/x", address="works.a").status_code == 200
    assert sleeps == [1.0] * 8  # 429s do not count against the 4 attempts


def test_a_429_past_the_deadline_gives_up_saying_so() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(429, headers={"Retry-After": "120"})), sleeps,
                  deadline=60)
    with pytest.raises(ApiError, match=r"HTTP 429.*would pass the run's deadline"):
        http.request("GET", "/x", address="works.a")
    assert sleeps == []


def test_a_redirect_is_an_error_not_a_success() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(302, headers={"Location": "http://elsewhere/"})),
                  sleeps)
    with pytest.raises(ApiError, match=r"HTTP 302.*does not follow them"):
        http.request("POST", "/calendars", address="works.t", json={}, idempotent=False)


def test_timeouts_are_retried_once() -> None:
    sleeps: list[float] = []
    http = client(scripted(*[httpx.ReadTimeout("slow")] * 3), sleeps, attempts=6)
    with pytest.raises(TransportError, match=r"ReadTimeout.*no answer within"):
        http.request("GET", "/x", address="works.a")
    assert len(sleeps) == 1


def test_5xx_backs_off_exponentially_then_gives_up_naming_everything() -> None:
    sleeps: list[float] = []
    body = {"code": "INTERNAL", "description": "boom"}
    http = client(scripted(*[httpx.Response(502, json=body)] * 4), sleeps)
    with pytest.raises(ApiError) as info:
        http.request("PATCH", "/calendars/c1", address="works.team", json={})
    assert str(info.value) == (
        "works.team: PATCH /calendars/c1 failed with HTTP 502: "
        '{"code":"INTERNAL","description":"boom"}'
    )
    assert info.value.status == 502
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[2]


def test_client_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(400, json={"code": "BAD"})), sleeps)
    with pytest.raises(ApiError, match="HTTP 400"):
        http.request("POST", "/calendars", address="works.t", json={})
    assert sleeps == []


def test_create_is_not_retried_after_a_500_or_a_dropped_answer() -> None:
    for failure in (httpx.Response(500), httpx.ReadError("connection reset")):
        sleeps: list[float] = []
        http = client(scripted(failure, httpx.Response(201)), sleeps)
        with pytest.raises((ApiError, TransportError)):
            http.request("POST", "/calendars", address="works.t", json={}, idempotent=False)
        assert sleeps == []


def test_create_is_retried_when_the_server_cannot_have_acted() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(503), httpx.ConnectError("refused"),
                           httpx.Response(429), httpx.Response(201)), sleeps)
    response = http.request("POST", "/calendars", address="works.t", json={}, idempotent=False)
    assert response.status_code == 201
    assert len(sleeps) == 3


def test_transport_errors_name_the_resource_and_hide_the_token() -> None:
    sleeps: list[float] = []
    leak = httpx.ConnectError(f"failed with header Bearer {TOKEN}")
    http = client(scripted(leak, leak), sleeps, attempts=2)
    with pytest.raises(TransportError) as info:
        http.request("GET", "/calendars/c1", address="works.team")
    message = str(info.value)
    assert message.startswith("works.team: GET /calendars/c1 failed: ConnectError")
    assert TOKEN not in message and "[REDACTED]" in message


def test_requests_are_counted_with_their_answers() -> None:
    handler = scripted(httpx.Response(503), httpx.Response(200, json={}))
    http = client(handler, [])
    STATS.reset()
    http.request("GET", "/calendars/a", address="x")
    assert STATS.total() == 2 and STATS.statuses == {503: 1, 200: 1}
    STATS.reset()
    assert STATS.total() == 0
