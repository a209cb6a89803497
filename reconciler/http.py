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
e.g. ``httpx.MockTransport`` in tests), without ``httpx.Client``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, NoReturn

import httpx
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from reconciler import greenio, secrets
from reconciler.errors import ApiError, ResponseError, TransportError
from reconciler.transport import green_send, transport_for

log = logging.getLogger("reconciler.http")


class RequestStats:
    """Requests sent (attempts, retries included), by provider and method; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, provider: str, method: str) -> None:
        with self._lock:
            self.counts[(provider, method)] += 1

    def total(self, writes_only: bool = False) -> int:
        with self._lock:
            return sum(n for (_, m), n in self.counts.items()
                       if not writes_only or m not in ("GET", "HEAD"))

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()


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


class _Temporary(Exception):
    """A response worth retrying, carried through tenacity."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class _Permanent(Exception):
    """An error response not worth retrying; mapped to ApiError by request()."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


ErrorDetail = Callable[[httpx.Response], str]


def default_error_detail(response: httpx.Response) -> str:
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
        temporary: Callable[[httpx.Response], bool] | None = None,
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
        self._transport = transport or transport_for(
            httpx.URL(self._base_url), timeout=self.policy.timeout,
            max_connections=max_connections)

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
    ) -> httpx.Response:
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
    ) -> httpx.Response:
        started = time.perf_counter()
        STATS.add(self.provider, method)
        request = self._build(method, url, json, params)
        if greenio.in_task():  # a plan's reads: other requests go on meanwhile
            response = green_send(self._transport, request)
        else:
            response = self._transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        response.request = request
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s -> %d (%.0f ms)",
            self.provider, method, request.url, response.status_code, elapsed_ms,
        )
        if response.status_code >= 400 and self._temporary(response):
            raise _Temporary(response)
        if response.status_code >= 400:
            raise _Permanent(response)
        return response

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
        what = str(exc) if isinstance(exc, _Temporary) else type(exc).__name__
        log.warning("%s %s %s: %s; retry %d/%d in %.2fs", self.provider, method, path, what,
                    attempt, self.policy.attempts - 1, wait)

    def _api_error(
        self, response: httpx.Response, method: str, path: str, address: str
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


def decode_json(response: httpx.Response, address: str, method: str, path: str) -> Any:
    """The answer's JSON (orjson); a ResponseError naming the resource, the request and the
    status, with an excerpt of the body, when it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        excerpt = " ".join(response.text.split())[:120]
        raise ResponseError(
            f"{address}: {method} {path} answered HTTP {response.status_code} with a body "
            f"that is not JSON: {excerpt!r}",
            address=address, method=method, path=path, status=response.status_code,
        ) from None


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds), else ``rateLimit-reset``."""
    for name in ("retry-after", "ratelimit-reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(str(value)))
        except ValueError:
            continue  # an HTTP-date Retry-After: fall back to our own backoff
    return None

