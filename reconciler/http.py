"""The one HTTP stack: an ``httpx.Client`` per provider, retries (tenacity), rate budgets,
timeouts, and status -> exception mapping. Every request of every provider goes through
:meth:`HttpClient.request`, reads and writes alike, from the plan's and apply's worker
threads (httpx's client and connection pool are thread-safe).

Contract of :meth:`HttpClient.request`:

- returns the response when its status is 2xx; any other status (a 3xx too: calrecon never
  follows redirects, since a redirected write would be reported applied) is an
  :class:`~reconciler.errors.ApiError` naming the provider's resource address, the method,
  the path, the status and the provider's own error text (``error_detail``), token redacted;
- paces itself to the provider's rate budgets (:mod:`reconciler.pacing`) before each
  attempt, and keeps in step with the server: ``rateLimit-remaining: 0`` holds the budget
  until ``rateLimit-reset`` (a reset of 0 means "within the second", not "now");
- a 429 that still comes is waited out as long as the server asks (``Retry-After``, else
  ``rateLimit-reset``, else backoff), bounded by the run's :class:`~reconciler.pacing.Deadline`,
  not by a number of tries;
- 5xx (what ``temporary`` says is temporary) and transport errors are retried up to
  ``RetryPolicy.attempts`` tries with exponential backoff and jitter; a timeout is retried
  once at most, so that a provider that never answers fails within about two read timeouts.
  A request marked non-idempotent (a create) is retried only when the server cannot have
  acted on it: 429, 503 and failures to connect. A 500 or an answer lost after sending is
  reported, and the next plan finds whatever was created;
- never puts a header or token in a log line or an exception message;
- sends nothing to a host outside ``CALRECON_ALLOWED_HOSTS`` when it is set
  (:mod:`reconciler.egress`): the check comes before a connection is opened.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, NoReturn

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception

from reconciler import egress, secrets
from reconciler.errors import ApiError, CredentialsError, ResponseError, TransportError
from reconciler.pacing import Budget, BudgetExhausted, BudgetSpec, Deadline

log = logging.getLogger("reconciler.http")
# httpx's and httpcore's own DEBUG records quote answers' headers, which a hostile or
# careless server may fill with the caller's token: masked on the loggers that make them
# (a filter on a parent logger would not see its children's records).
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2",
              "httpcore.proxy", "httpcore.socks"):
    logging.getLogger(_name).addFilter(secrets.RedactingFilter())

# The one response type: httpx's (status_code, headers, content, text, json(), url).
Answer = httpx.Response


class RequestStats:
    """Attempts sent (retries included) by provider and method, and answers by status;
    thread-safe. Read by the CLI's progress line and by ``benchmarks/``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.statuses: Counter[int] = Counter()

    def add(self, provider: str, method: str) -> None:
        with self._lock:
            self.counts[(provider, method)] += 1

    def answered(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def total(self, writes_only: bool = False, provider: str | None = None) -> int:
        with self._lock:
            return sum(n for (p, m), n in self.counts.items()
                       if (not writes_only or m not in ("GET", "HEAD"))
                       and (provider is None or p == provider))

    def by_provider(self) -> dict[str, int]:
        with self._lock:
            result: Counter[str] = Counter()
            for (provider, _), n in self.counts.items():
                result[provider] += n
            return dict(result)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.statuses.clear()


STATS = RequestStats()

DEFAULT_HEADERS = {"Accept": "application/json",
                   "User-Agent": f"calrecon/{version('calendar-reconciler')}"}
TEMPORARY_STATUSES = frozenset({500, 502, 503, 504})
NOT_ACTED_ON_STATUSES = frozenset({429, 503})
DEFAULT_DEADLINE_S = 3600.0  # a library caller's; the CLI sets its own (--deadline)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try, and how long to wait for an answer.

    ``attempts`` bounds the tries of one request after 5xx answers and transport errors
    (429s are waited out instead, see the module docstring); ``base_wait`` and ``max_wait``
    shape the backoff between them. ``timeout`` is the read timeout (seconds without a byte
    of the answer) and ``connect_timeout`` the time to set up a connection."""

    attempts: int = 4
    base_wait: float = 0.5
    max_wait: float = 20.0
    timeout: float = 15.0
    connect_timeout: float = 10.0


class _Answered(Exception):
    """A non-2xx answer, carried through tenacity."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


ErrorDetail = Callable[[httpx.Response], str]
ApiOf = Callable[[str, str], str]


def default_error_detail(response: httpx.Response) -> str:
    """A short, single-line excerpt of an error body."""
    return " ".join(response.text.split())[:300] or response.reason_phrase


class HttpClient:
    """A provider's connection: base URL, auth header, timeouts, budgets, retries."""

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
        budgets: Sequence[BudgetSpec] = (),
        api_of: ApiOf | None = None,
        deadline: Deadline | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        check_egress: bool = True,
    ) -> None:
        self.provider = provider
        # Off only for clients whose URL no YAML sets (GitHub's API, from the runner).
        self._check_egress = check_egress
        self.policy = policy or RetryPolicy()
        self.error_detail = error_detail
        self.deadline = deadline or Deadline(DEFAULT_DEADLINE_S)
        self._temporary = temporary or (lambda r: r.status_code in TEMPORARY_STATUSES)
        self._sleep = sleep
        self._specs = tuple(budgets)
        self._api_of = api_of or (lambda method, path: "")
        self._budgets: dict[tuple[int, str], Budget] = {}
        self._budgets_lock = threading.Lock()
        if secret:
            secrets.register(secret)
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={**DEFAULT_HEADERS, **headers},
            timeout=httpx.Timeout(self.policy.timeout,
                                  connect=min(self.policy.connect_timeout,
                                              self.policy.timeout)),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def budgets_for(self, method: str, path: str) -> list[Budget]:
        """The budgets one request spends (created on first use, per API where scoped so)."""
        if not self._specs:
            return []
        api = self._api_of(method, path)
        found = []
        with self._budgets_lock:
            for index, spec in enumerate(self._specs):
                key = (index, api if spec.scope == "api" else "")
                if key not in self._budgets:
                    name = f"{self.provider} {api}" if spec.scope == "api" else self.provider
                    self._budgets[key] = Budget(name, spec, sleep=self._sleep)
                found.append(self._budgets[key])
        return found

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
        """Send one request with pacing and retries; see the module docstring."""
        url = path if path.startswith(("http://", "https://")) else path.lstrip("/")
        budgets = self.budgets_for(method, path)
        tries = Counter[str]()  # failed tries that count against the policy, by kind
        decided: dict[str, float] = {}  # see decide()

        def worth_retrying(exc: BaseException) -> bool:
            if isinstance(exc, _Answered):
                status = exc.response.status_code
                if status == 429:
                    return True
                return self._temporary(exc.response) and (idempotent
                                                          or status in NOT_ACTED_ON_STATUSES)
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                return True  # nothing was sent
            return isinstance(exc, httpx.TransportError) and idempotent

        def decide(state: RetryCallState) -> tuple[float, bool]:
            """(the wait before the next try, whether to stop), once per failed try: tenacity
            asks for the wait and for the stop in an order that differs between versions."""
            if decided.get("attempt") != state.attempt_number:
                wait, counted = self._wait_after(_exception(state), tries)
                stop = False
                if counted:
                    tries[counted] += 1
                    limit = 2 if counted == "timeout" else self.policy.attempts
                    stop = sum(tries.values()) >= self.policy.attempts or tries[counted] >= limit
                if not stop and wait > self.deadline.left():
                    stop, decided["past_deadline"] = True, wait
                decided.update(attempt=state.attempt_number, wait=wait, stop=stop)
            return decided["wait"], bool(decided["stop"])

        def before_sleep(state: RetryCallState) -> None:
            exc = _exception(state)
            wait, _ = decide(state)
            if isinstance(exc, _Answered) and exc.response.status_code == 429:
                for budget in budgets:
                    budget.hold(wait)
            self._log_retry(exc, method, path, wait, tries)

        retrying = Retrying(stop=lambda state: decide(state)[1],
                            wait=lambda state: decide(state)[0],
                            retry=retry_if_exception(worth_retrying), sleep=self._sleep,
                            before_sleep=before_sleep, reraise=True)
        try:
            return retrying(self._send_once, method, url, json, params, address, budgets)
        except _Answered as exc:
            if "past_deadline" in decided:
                raise self._api_error(exc.response, method, path, address,
                                      f" (a wait of {decided['past_deadline']:.0f} s would "
                                      "pass the run's deadline; see --deadline)") from None
            raise self._api_error(exc.response, method, path, address) from None
        except httpx.HTTPError as exc:
            self._give_up(exc, method, path, address)

    def _send_once(self, method: str, url: str, json: Any, params: Mapping[str, Any] | None,
                   address: str, budgets: list[Budget]) -> httpx.Response:
        for budget in budgets:
            try:
                budget.acquire(self.deadline)
            except BudgetExhausted as exc:
                raise ApiError(f"{address}: {method} {url}: {exc}", address=address,
                               method=method, path=url, status=429) from None
        STATS.add(self.provider, method)
        started = time.perf_counter()
        request = self._client.build_request(method, url, json=json, params=params)
        if self._check_egress:
            egress.check(self.provider, request.url)  # before any connection is opened
        try:
            response = self._client.send(request)
        except BaseException:
            for budget in budgets:
                budget.sync(None, None)  # no headers to learn from: end a probe all the same
            raise
        STATS.answered(response.status_code)
        # The URL is the server's to choose for a next page: it may quote a token.
        log.info("%s %s %s -> %d (%.0f ms)", self.provider, method,
                 secrets.redact(str(response.url)), response.status_code,
                 (time.perf_counter() - started) * 1000)
        self._keep_in_step(response, budgets)
        if not 200 <= response.status_code < 300:
            raise _Answered(response)
        return response

    def _keep_in_step(self, response: httpx.Response, budgets: list[Budget]) -> None:
        """What the server counted (``rateLimit-remaining``, ``rateLimit-reset``) is counted
        by our budgets too (see :meth:`~reconciler.pacing.Budget.sync`)."""
        remaining = _seconds(response.headers.get("ratelimit-remaining"))
        reset = _seconds(response.headers.get("ratelimit-reset"))
        for budget in budgets:
            budget.sync(int(remaining) if remaining is not None else None, reset)

    def _wait_after(self, exc: BaseException | None, tries: Counter[str]
                    ) -> tuple[float, str]:
        """(seconds before the next try, the kind of try it counts as: "" for a 429)."""
        if isinstance(exc, _Answered) and exc.response.status_code == 429:
            headers = exc.response.headers
            after = _seconds(headers.get("retry-after"))
            if after is not None:
                return max(after, 1.0), ""  # "0" means soon, not now
            reset = _seconds(headers.get("ratelimit-reset"))
            if reset is not None:
                return reset + 1.0, ""  # whole seconds, rounded down: "0" is within the second
            return self._backoff(sum(tries.values()) + 1), ""
        if isinstance(exc, _Answered):
            asked = retry_after_seconds(exc.response.headers)
            if asked is not None:
                return min(asked, self.policy.max_wait), "status"
            return self._backoff(sum(tries.values()) + 1), "status"
        kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "transport"
        return self._backoff(sum(tries.values()) + 1), kind

    def _backoff(self, attempt: int) -> float:
        backoff: float = self.policy.base_wait * 2.0 ** (attempt - 1)
        return min(backoff, self.policy.max_wait) * random.uniform(0.5, 1.0)

    def _log_retry(self, exc: BaseException | None, method: str, path: str, wait: float,
                   tries: Counter[str]) -> None:
        if isinstance(exc, _Answered):
            what = f"{exc}: {self.error_detail(exc.response)}"
        else:
            what = f"{type(exc).__name__}: {exc}"
        count = sum(tries.values())
        attempt = f"retry {count}/{self.policy.attempts - 1}" if count else "rate limited"
        # Redacted here, not only by the CLI's handler: the detail quotes the server's text,
        # and a library user's own handlers see the record as it is made.
        log.warning("%s %s %s: %s; %s in %.2fs", self.provider, method, path,
                    secrets.redact(what), attempt, wait)

    def _give_up(self, exc: httpx.HTTPError, method: str, path: str, address: str) -> NoReturn:
        kind = type(exc).__name__
        detail = secrets.redact(str(exc)) or kind
        if isinstance(exc, httpx.TimeoutException):
            detail += (f" (no answer within {self.policy.timeout:g} s; set the provider's "
                       "'timeout' or --timeout)")
        raise TransportError(f"{address}: {method} {path} failed: {kind}: {detail}",
                             address=address, method=method, path=path) from None

    def _api_error(self, response: httpx.Response, method: str, path: str, address: str,
                   extra: str = "") -> ApiError:
        detail = secrets.redact(self.error_detail(response))
        status = response.status_code
        if 300 <= status < 400:
            detail += " (a redirect: calrecon does not follow them; check base_url)"
        kind = CredentialsError if status == 401 else ApiError
        return kind(f"{address}: {method} {path} failed with HTTP {status}: {detail}{extra}",
                    address=address, method=method, path=path, status=status)


def _exception(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


def decode_json(response: httpx.Response, address: str, method: str, path: str) -> Any:
    """The answer's JSON; a ResponseError naming the resource, the request and the status,
    with an excerpt of the body, when it is not JSON."""
    try:
        return jsonlib.loads(response.content, parse_constant=_not_a_json_constant)
    except ValueError:
        raise not_json(response, address, method, path) from None


def _not_a_json_constant(name: str) -> Any:
    """NaN and Infinity, which Python's json reads but JSON (RFC 8259) does not have."""
    raise ValueError(f"{name} is not JSON")


def not_json(response: httpx.Response, address: str, method: str, path: str) -> ResponseError:
    """The error for an answer whose body is not JSON: the resource, the request, the status
    and the body's first 120 characters, whitespace folded (an HTML error page, mostly)."""
    excerpt = " ".join(response.text.split())[:120]
    return ResponseError(
        f"{address}: {method} {path} answered HTTP {response.status_code} with a body "
        f"that is not JSON: {excerpt!r}",
        address=address, method=method, path=path, status=response.status_code,
    )


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date Retry-After: fall back to our own backoff


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After`` (seconds), else ``rateLimit-reset``."""
    for name in ("retry-after", "ratelimit-reset"):
        seconds = _seconds(headers.get(name))
        if seconds is not None:
            return seconds
    return None
