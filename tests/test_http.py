"""The HTTP layer in isolation: retries, waits, give-up messages, redaction.

These use httpx.MockTransport to script exact answers; tests/test_faults.py covers the same
behaviour over the wire against the emulators.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from reconciler.aiotransport import request_head
from reconciler.errors import ApiError, TransportError
from reconciler.http import STATS, Answer, HttpClient, RawRequests, RetryPolicy, _answer

TOKEN = "tok-0123456789-secret"


def client(handler: Callable[[httpx.Request], httpx.Response],
           sleeps: list[float], attempts: int = 4) -> HttpClient:
    http = HttpClient(provider="lineworks", base_url="http://api.test/v1.0",
                      headers={"Authorization": f"Bearer {TOKEN}"}, secret=TOKEN,
                      policy=RetryPolicy(attempts=attempts, base_wait=0.01, max_wait=30),
                      sleep=sleeps.append, transport=httpx.MockTransport(handler))
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
    assert sleeps == [3.0]


def test_server_waits_are_capped() -> None:
    sleeps: list[float] = []
    http = client(scripted(httpx.Response(429, headers={"Retry-After": "3600"}),
                           httpx.Response(200)), sleeps)
    http.request("GET", "/x", address="works.a")
    assert sleeps == [30.0]


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


HEADERS = httpx.Headers({"Accept": "application/json", "Authorization": f"Bearer {TOKEN}"})


@pytest.mark.parametrize(("base", "url", "params"), [
    ("http://api.test/v1.0/", "calendars/c-1", None),
    ("http://127.0.0.1:8080/", "v1/events", {"tzid": "Etc/UTC", "from": "2027-01-01"}),
    ("https://api.test/", "v1/events", {"calendar_ids[]": ["cal_1", "cal 2"], "q": "ü & ?"}),
    ("http://api.test:80/api/2.0/", "calendar/calendars/2026-12-31/2027-03-02", {"n": 3}),
    ("https://api.test:8443/", "https://api.test:8443/v1/events/pages/08a07b0343", None),
    ("http://api.test/", "http://api.test/v1/events/pages/x?cursor=a:b", None),
])
def test_reads_written_directly_are_what_httpx_would_send(
        base: str, url: str, params: dict[str, object] | None) -> None:
    raw = RawRequests(httpx.URL(base), HEADERS).head("GET", url, params)
    assert raw is not None
    origin, head, shown = raw
    full = url if url.startswith("http") else base + url
    request = httpx.Request("GET", full, params=params, headers=HEADERS)
    assert head == request_head(request)
    assert origin == (request.url.scheme, request.url.host,
                      request.url.port or (443 if request.url.scheme == "https" else 80))
    assert shown == str(request.url)


@pytest.mark.parametrize("url", [
    "calendars/with space",  # needs quoting: httpx does it
    "calendars/%41",  # an escape httpx may normalise
    "calendars/ünï",
    "https://elsewhere.test/v1/events/pages/1",  # another origin
    "http://api.test/v1/events/pages/1#part",
])
def test_reads_that_need_httpx_are_left_to_it(url: str) -> None:
    assert RawRequests(httpx.URL("http://api.test/"), HEADERS).head("GET", url, None) is None


def test_answers_read_the_same_headers_either_way() -> None:
    raw = [(b"Content-Type", b"application/json"), (b"Content-Length", b"2"), (b"Vary", b"Accept"),
           (b"vary", b"Origin")]
    direct = _answer(200, raw, b"{}", "http://api.test/")
    via_httpx = Answer.of(httpx.Response(200, headers=raw, content=b"{}"),
                          httpx.URL("http://api.test/"))
    assert direct.headers == via_httpx.headers
    assert direct.headers["vary"] == "Accept, Origin"


def test_request_spans_are_kept_only_when_asked_for() -> None:
    handler = scripted(httpx.Response(503), httpx.Response(200, json={}),
                       httpx.Response(200, json={}))
    http = client(handler, [])
    STATS.reset()
    http.request("GET", "/calendars/a", address="x")
    assert STATS.spans is None and STATS.total() == 2
    STATS.record_spans()
    http.request("GET", "/calendars/b", address="x")
    spans = STATS.spans
    assert spans is not None and len(spans) == 1 and spans[0][0] <= spans[0][1]
    STATS.reset()
    assert STATS.spans is None and STATS.total() == 0
