"""The one HTTP client factory: timeouts, retries with backoff, status -> exception mapping.

Contract of :meth:`HttpClient.request`:

- returns the response when its status is a success (2xx);
- retries what is temporary (by default; a provider may narrow it, e.g. ONLYOFFICE answers
  500 for permanent errors too): 429 (waiting ``Retry-After`` or LINE WORKS ``rateLimit-reset``
  when given, else exponential backoff with jitter), 5xx, and transport errors. A request
  marked non-idempotent (a create) is retried only when the server cannot have acted on it:
  429, 503 and failures to connect; a 500 or a dropped connection after sending is reported,
  and the next plan finds whatever was created;
- gives up after ``RetryPolicy.attempts`` tries with an :class:`~reconciler.errors.ApiError`
  or :class:`~reconciler.errors.TransportError` naming the resource address, method, path and
  status, and the provider's own error text (parsed by ``error_detail``);
- never puts a header or token in a log line or an exception message.

Requests go straight to an httpx transport (:mod:`reconciler.transport` unless one is given,
e.g. ``httpx.MockTransport`` in tests), without ``httpx.Client``. A plan's reads (from a
:mod:`reconciler.greenio` task, no body, a plain path) skip httpx's request and response
objects: :class:`RawRequests` writes the same bytes httpx would, and the answer comes back
as the same :class:`Answer` either way.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, NoReturn

import httpx
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from reconciler import greenio, jsonpieces, secrets
from reconciler.errors import ApiError, ResponseError, TransportError
from reconciler.transport import LeanTransport, green_send, transport_for

log = logging.getLogger("reconciler.http")


class RequestStats:
    """Requests sent (attempts, retries included), by provider and method; thread-safe.
    After :meth:`record_spans`, also when each answered attempt was sent and answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        # (sent, answered) per answered attempt, time.perf_counter() seconds; None: not kept
        self.spans: list[tuple[float, float]] | None = None

    def add(self, provider: str, method: str) -> None:
        with self._lock:
            self.counts[(provider, method)] += 1

    def record_spans(self) -> None:
        """Keep each answered attempt's (sent, answered) times until :meth:`reset` (for
        ``benchmarks/``, which splits a plan's wall time with them)."""
        with self._lock:
            self.spans = []

    def span(self, sent: float, answered: float) -> None:
        if self.spans is not None:
            with self._lock:
                self.spans.append((sent, answered))

    def total(self, writes_only: bool = False) -> int:
        with self._lock:
            return sum(n for (_, m), n in self.counts.items()
                       if not writes_only or m not in ("GET", "HEAD"))

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.spans = None


STATS = RequestStats()

DEFAULT_HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate",
                   "User-Agent": f"calrecon/{version('calendar-reconciler')}"}
TEMPORARY_STATUSES = frozenset({429, 500, 502, 503, 504})
NOT_ACTED_ON_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Waits are capped at ``max_wait`` even when the server asks for more."""

    attempts: int = 6
    base_wait: float = 0.25
    max_wait: float = 20.0
    timeout: float = 30.0


class Answer:
    """An HTTP answer as calrecon uses it: status, headers (names in lower case), the body
    (content-encoding already undone), and the URL asked, for logs. Both ways of sending
    give one, so that providers see a single type."""

    __slots__ = ("content", "headers", "status_code", "url")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes,
                 url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @classmethod
    def of(cls, response: httpx.Response, url: httpx.URL) -> Answer:
        """From an httpx response whose body has been read, to a request for ``url``."""
        return cls(response.status_code,
                   {name.lower(): value for name, value in response.headers.items()},
                   response.content, str(url))

    @property
    def reason_phrase(self) -> str:
        return httpx.codes.get_reason_phrase(self.status_code)

    @property
    def text(self) -> str:
        """The body as text: in the charset the answer names, else UTF-8 (bad bytes
        replaced, since the text only goes into error messages)."""
        charset = _CHARSET.search(self.headers.get("content-type", ""))
        encoding = charset.group(1) if charset else "utf-8"
        try:
            return self.content.decode(encoding, "replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body's JSON; ``ValueError`` when it is not JSON."""
        return orjson.loads(self.content)


_CHARSET = re.compile(r"charset=\"?([\w.:-]+)", re.IGNORECASE)


class _Temporary(Exception):
    """A response worth retrying, carried through tenacity."""

    def __init__(self, response: Answer) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class _Permanent(Exception):
    """An error response not worth retrying; mapped to ApiError by request()."""

    def __init__(self, response: Answer) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


ErrorDetail = Callable[[Answer], str]


def default_error_detail(response: Answer) -> str:
    """A short, single-line excerpt of an error body."""
    text = " ".join(response.text.split())
    return text[:300]


class HttpClient:
    """A provider's connection: base URL, auth header, timeouts, retries, error mapping."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        secret: str | None = None,
        policy: RetryPolicy | None = None,
        error_detail: ErrorDetail = default_error_detail,
        temporary: Callable[[Answer], bool] | None = None,
        max_connections: int = 16,
        sleep: Callable[[float], None] = greenio.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.policy = policy or RetryPolicy()
        self.error_detail = error_detail
        self._temporary = temporary or (lambda r: r.status_code in TEMPORARY_STATUSES)
        self._sleep = sleep
        if secret:
            secrets.register(secret)
        self._base_url = base_url.rstrip("/") + "/"
        self._headers = httpx.Headers({**DEFAULT_HEADERS, **headers})
        self._timeout = httpx.Timeout(self.policy.timeout).as_dict()
        base = httpx.URL(self._base_url)
        self._transport = transport or transport_for(
            base, timeout=self.policy.timeout, max_connections=max_connections)
        self._raw = RawRequests(base, self._headers)

    def close(self) -> None:
        self._transport.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        address: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> Answer:
        """Send one request with retries; see the module docstring for the contract."""
        url = path.lstrip("/")  # relative to base_url, which may carry a path prefix

        def worth_retrying(exc: BaseException) -> bool:
            if isinstance(exc, _Temporary):
                status = exc.response.status_code
                return idempotent or status in NOT_ACTED_ON_STATUSES
            if isinstance(exc, httpx.TransportError):
                return idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            return False

        try:
            # The common case, without the retry machinery's cost: one attempt that works.
            return self._send_once(method, url, json, params)
        except _Permanent as exc:
            raise self._api_error(exc.response, method, path, address) from None
        except (_Temporary, httpx.HTTPError) as exc:
            if not worth_retrying(exc) or self.policy.attempts <= 1:
                return self._give_up(exc, method, path, address)
            delay = self._delay(exc, 1)
            self._log_failure(exc, method, path, 1, delay)
            self._sleep(delay)
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts - 1),
            wait=lambda state: self._delay(_exception(state), state.attempt_number + 1),
            retry=retry_if_exception(worth_retrying),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_failure(
                _exception(state), method, path, state.attempt_number + 1,
                state.next_action.sleep if state.next_action else 0.0),
            reraise=True,
        )
        try:
            return retrying(self._send_once, method, url, json, params)
        except (_Temporary, _Permanent, httpx.HTTPError) as exc:
            return self._give_up(exc, method, path, address)

    def _give_up(self, exc: Exception, method: str, path: str, address: str) -> NoReturn:
        if isinstance(exc, _Temporary | _Permanent):
            raise self._api_error(exc.response, method, path, address) from None
        kind = type(exc).__name__
        detail = secrets.redact(str(exc)) or kind
        raise TransportError(f"{address}: {method} {path} failed: {kind}: {detail}",
                             address=address, method=method, path=path) from None

    def _send_once(
        self, method: str, url: str, json: Any, params: Mapping[str, Any] | None
    ) -> Answer:
        started = time.perf_counter()
        STATS.add(self.provider, method)
        answer = self._read_directly(method, url, params) if json is None else None
        if answer is None:
            request = self._build(method, url, json, params)
            if greenio.in_task():
                response = green_send(self._transport, request)
            else:
                response = self._transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
            answer = Answer.of(response, request.url)
        finished = time.perf_counter()
        STATS.span(started, finished)
        elapsed_ms = (finished - started) * 1000
        # The URL is the server's to choose for a next page: it may quote a token.
        log.info(
            "%s %s %s -> %d (%.0f ms)",
            self.provider, method, secrets.redact(answer.url), answer.status_code, elapsed_ms,
        )
        if answer.status_code >= 400 and self._temporary(answer):
            raise _Temporary(answer)
        if answer.status_code >= 400:
            raise _Permanent(answer)
        return answer

    def _read_directly(self, method: str, url: str, params: Mapping[str, Any] | None
                       ) -> Answer | None:
        """A plan's read (from a task: other requests go on meanwhile) sent without httpx's
        objects, through the run's asyncio connections; None when that does not apply (not
        in a task, another transport, a URL :class:`RawRequests` leaves to httpx)."""
        transport = self._transport
        if not isinstance(transport, LeanTransport) or not greenio.in_task():
            return None
        raw = self._raw.head(method, url, params)
        if raw is None:
            return None
        origin, head, shown = raw
        pool = greenio.resource(transport, transport.async_pool)
        status, headers, content = greenio.await_(pool.exchange(origin, head, b""))
        return _answer(status, headers, content, shown)

    def _build(self, method: str, url: str, json: Any, params: Mapping[str, Any] | None
               ) -> httpx.Request:
        """The request, straight to the transport: calrecon needs none of httpx.Client's
        cookies, auth flows, redirects or hooks, and skipping them halves the CPU per request."""
        if not url.startswith(("http://", "https://")):  # absolute: Cronofy's next_page
            url = self._base_url + url
        headers, content = self._headers, None
        if json is not None:
            content = orjson.dumps(json)
            headers = self._headers.copy()
            headers["Content-Type"] = "application/json"
        return httpx.Request(method, url, params=params, headers=headers, content=content,
                             extensions={"timeout": self._timeout})

    def _delay(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds before the next try after failed try number ``attempt``: what the server
        asked for (capped), else exponential backoff with jitter."""
        if isinstance(exc, _Temporary):
            asked = retry_after_seconds(exc.response.headers)
            if asked is not None:
                return min(asked, self.policy.max_wait)
        backoff: float = self.policy.base_wait * 2.0 ** (attempt - 1)
        return min(backoff, self.policy.max_wait) * random.uniform(0.5, 1.0)

    def _log_failure(self, exc: BaseException | None, method: str, path: str, attempt: int,
                     wait: float) -> None:
        if isinstance(exc, _Temporary):
            what = f"{exc}: {self.error_detail(exc.response)}"
        else:
            what = f"{type(exc).__name__}: {exc}"
        # Redacted here, not only by the CLI's handler: the detail quotes the server's text,
        # and a library user's own handlers see the record as it is made.
        log.warning("%s %s %s: %s; retry %d/%d in %.2fs", self.provider, method, path,
                    secrets.redact(what), attempt, self.policy.attempts - 1, wait)

    def _api_error(
        self, response: Answer, method: str, path: str, address: str
    ) -> ApiError:
        detail = secrets.redact(self.error_detail(response))
        status = response.status_code
        return ApiError(
            f"{address}: {method} {path} failed with HTTP {status}: {detail}",
            address=address,
            method=method,
            path=path,
            status=status,
        )


def _exception(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


PIECEWISE_FROM = 512 * 1024  # bytes; a smaller answer decodes in one call of ~5 ms or less


def decode_json(response: Answer, address: str, method: str, path: str) -> Any:
    """The answer's JSON (orjson); a ResponseError naming the resource, the request and the
    status, with an excerpt of the body, when it is not JSON. In a task, an answer of
    ``PIECEWISE_FROM`` bytes or more is decoded in pieces (:mod:`reconciler.jsonpieces`),
    letting the other tasks' answers in between: in one call it would hold them all up."""
    content = response.content
    try:
        if len(content) >= PIECEWISE_FROM and greenio.in_task():
            return jsonpieces.loads(content, greenio.checkpoint)
        return orjson.loads(content)
    except ValueError:  # orjson's JSONDecodeError and jsonpieces' are both ValueErrors
        raise not_json(response, address, method, path) from None


def not_json(response: Answer, address: str, method: str, path: str) -> ResponseError:
    """The error for an answer whose body is not JSON: the resource, the request, the status
    and the body's first 120 characters, whitespace folded (an HTML error page, mostly)."""
    excerpt = " ".join(response.text.split())[:120]
    return ResponseError(
        f"{address}: {method} {path} answered HTTP {response.status_code} with a body "
        f"that is not JSON: {excerpt!r}",
        address=address, method=method, path=path, status=response.status_code,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds), else ``rateLimit-reset``."""
    for name in ("retry-after", "ratelimit-reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            continue  # an HTTP-date Retry-After: fall back to our own backoff
    return None


# Characters httpx leaves as they are in a path: with only these, the request line can be
# written here, byte for byte what httpx.Request would give, without its URL machinery.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@-]*")
_PLAIN_TARGET = re.compile(r"/[A-Za-z0-9/._~!$&'()*+,;=:@-]*(\?[A-Za-z0-9/._~!$&'()*+,;=:@?-]*)?")


class RawRequests:
    """Request heads for reads without a body, written directly: what
    :func:`~reconciler.aiotransport.request_head` of an :class:`httpx.Request` would give.
    Why: on a plan's hot path, building the httpx request and response cost the client more
    CPU than the rest of the exchange (~100 us of ~150 us per request, see ``benchmarks/``).
    ``head`` gives None when it cannot vouch for the bytes (a path that needs quoting,
    another origin), and the caller goes through httpx."""

    def __init__(self, base: httpx.URL, headers: httpx.Headers) -> None:
        self._origin = (base.scheme, base.host, base.port or (443 if base.scheme == "https"
                                                               else 80))
        self._prefix = base.raw_path.decode("ascii")
        self._shown = str(base.copy_with(raw_path=b"/")).rstrip("/")
        host = httpx.Request("GET", base).headers["Host"]
        self._lines = b"".join(b"%s: %s\r\n" % pair for pair in
                               [(b"Host", host.encode("ascii")), *headers.raw]) + b"\r\n"

    def head(self, method: str, url: str, params: Mapping[str, Any] | None
             ) -> tuple[tuple[str, str, int], bytes, str] | None:
        """(origin, head bytes, URL for logs), or None."""
        if url.startswith(("http://", "https://")):  # Cronofy's next_page
            parts = urllib.parse.urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            if (parts.scheme, parts.hostname, port) != self._origin or parts.fragment:
                return None
            path = parts.path + ("?" + parts.query if parts.query else "")
            if params or not _PLAIN_TARGET.fullmatch(path):
                return None
        else:
            path = self._prefix + url
            if not _PLAIN_PATH.fullmatch(path):
                return None
            if params:
                path += "?" + str(httpx.QueryParams(params))
        line = b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), path.encode("ascii"))
        return self._origin, line + self._lines, self._shown + path


def _answer(status: int, raw: list[tuple[bytes, bytes]], content: bytes, url: str) -> Answer:
    """An :class:`Answer` from an exchange's parts; an encoded body is undone by httpx.
    A repeated header is joined with ", ", as :meth:`Answer.of` gets it from httpx."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    if "content-encoding" in headers:
        content = httpx.Response(status, headers=raw, content=content).content
    return Answer(status, headers, content, url)
