"""What every emulator shares: routing, the request log, seeded faults, persistence.

An emulator is a WSGI application (Werkzeug) holding its state in memory behind a lock. It is
written from shared/providers.md, never from our clients, so that it checks them.

- Every request is recorded (method, path, query, JSON body) *before* any fault is injected,
  so tests can count what a client sent; a long-lived emulator that nobody asks
  (``calrecon sandbox serve``) turns this off with ``record_requests``, so that its memory
  does not grow with every request served.
- ``cache_reads`` keeps GET answers until the next write, to answer repeated reads cheaply;
  a cached answer still checks the token, counts against the rate budget and carries fresh
  rate-limit headers, as an uncached one does.
- :class:`Faults` injects, from a seed, latency, 429 with ``Retry-After``, 500, 503 and
  dropped connections (the answer stops short of its Content-Length and the server closes
  the connection, as a crashed proxy does). Those come *before* the emulator acts. ``lost``
  faults come *after*: the request is carried out and its answer is lost on the way back
  (a dropped connection, or a proxy's 502), the case in which a client that retries a
  create makes a twin. Latency and slow answers are asked of the server
  (``environ[DELAY_KEY]``, see :mod:`reconciler.sandbox.serving`): called directly as a
  WSGI application, an emulator answers at once; a slow answer is also a fault after the
  act, since the work is done before the answer is held back.
- :meth:`Emulator.script` injects one fault into the requests that match a method and a
  path fragment (a given number of times, before or after the emulator acts): for tests
  that need one exact failure, such as the second page of a listing.
- :meth:`Emulator.snapshot` / :meth:`Emulator.restore` give the state as JSON-able data.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


@dataclass
class Faults:
    """Seeded fault injection. Rates are probabilities per request, drawn in this order."""

    seed: int = 0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    latency: float = 0.0  # seconds from a request's arrival to its answer
    slow_rate: float = 0.0  # probability of an extra ``slow_seconds`` delay
    slow_seconds: float = 0.0
    retry_after: int = 0  # the Retry-After value sent with injected 429s
    rate_lost: float = 0.0  # carried out, then the answer is lost (dropped or a proxy's 502)
    injected: Counter[str] = field(init=False, default_factory=Counter)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self) -> tuple[str | None, float]:
        """The fault for the next request ("429", "500", "503", "drop", "lost", or None) and
        the seconds to hold its answer back. The delay is the server's to apply, after the
        request is handled: a slow network, not a slow emulator, so a client that gives up
        on a slow write finds it done when it looks again."""
        with self._lock:
            roll = self._rng.random()
            slow = self._rng.random() < self.slow_rate
        if slow:
            self.injected["slow"] += 1
        delay = self.latency + (self.slow_seconds if slow else 0.0)
        for name, rate in (("429", self.rate_429), ("500", self.rate_500),
                           ("503", self.rate_503), ("drop", self.rate_drop),
                           ("lost", self.rate_lost)):
            if roll < rate:
                self.injected[name] += 1
                return name, delay
            roll -= rate
        return None, delay

    def lost_as(self) -> str:
        """How a "lost" answer is lost: "drop" (the connection closes mid-body) or "502"
        (a proxy's answer in place of the emulator's), one or the other at random."""
        with self._lock:
            return "drop" if self._rng.random() < 0.5 else "502"


@dataclass
class ScriptedFault:
    """One fault for the requests matching ``method`` and ``fragment`` (a substring of
    ``path?query``), ``times`` times (None: always).

    ``fault`` is "429", "500", "502", "503" or "drop" (the answer in place of the emulator's,
    which never acts) when ``after`` is false; with ``after`` the emulator acts first and then
    the answer is replaced: "drop" loses it mid-body, a status sends that error instead,
    "slow" holds it back ``seconds`` (longer than the client's timeout, typically)."""

    method: str
    fragment: str
    fault: str
    after: bool = False
    times: int | None = 1
    seconds: float = 0.0
    hits: int = 0

    def matches(self, request: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if request.method != self.method:
            return False
        target = request.path
        if request.query_string:
            target += "?" + request.query_string.decode("latin-1")
        return self.fragment in target


class ApiFailure(Exception):
    """Raised by a handler to answer with the provider's error shape."""

    def __init__(self, status: int, message: str, code: str = "") -> None:
        self.status = status
        self.message = message
        self.code = code
        super().__init__(message)


Handler = Callable[..., Response]
# environ key an emulator sets: seconds its server holds the answer back (latency, slow faults)
DELAY_KEY = "calrecon.delay"
RECORD_KEY = "calrecon.record"  # environ key: this request's RecordedRequest, once recorded
DROP = Response(status=599)  # a marker: answer with a connection dropped mid-body


class Emulator:
    """Base WSGI emulator. Subclasses set ``name``, ``rules`` and the error shape."""

    name = "emulator"

    def __init__(self, token: str, faults: Faults | None = None) -> None:
        self.token = token
        self.faults = faults or Faults()
        self.lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.record_requests = True  # False: self.requests stays empty (see the module doc)
        self.denied: list[tuple[str, int]] = []
        self.corrupted: list[tuple[str, Response]] = []
        self.scripted: list[ScriptedFault] = []
        # Writes a handler carried out, with its status: what the service *did*, whatever
        # the client heard (an answer lost afterwards still counts here).
        self.acted: list[tuple[RecordedRequest, int]] = []
        # Opt-in (sandbox serve --cache-reads): GET answers are kept until the next write.
        # Only safe when all changes come over HTTP; tests that edit state directly leave it off.
        self.cache_reads = False
        self._cache: dict[tuple[str, bytes], tuple[str, Rendered]] = {}  # -> endpoint, answer
        self.url_map = Map(list(self.rules()), strict_slashes=False)

    # -- for subclasses -------------------------------------------------------------------
    def rules(self) -> Iterable[Rule]:
        raise NotImplementedError

    def authorized(self, request: Request, endpoint: str) -> bool:
        raise NotImplementedError

    def error(self, status: int, message: str, code: str = "") -> Response:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def failure(self, exc: ApiFailure) -> Response:
        """The answer to a handler's ApiFailure: by default the provider's error shape."""
        return self.error(exc.status, exc.message, exc.code)

    def injected(self, status: int) -> Response:
        """The answer of an injected 429/500/503: by default the provider's error shape."""
        return self.error(status, "injected fault")

    def route_path(self, path: str) -> str:
        """The path to route (a subclass may strip a suffix the API allows)."""
        return path

    def extra_headers(self, request: Request, endpoint: str) -> dict[str, str]:
        """Headers added to every routed answer (e.g. rate-limit counters)."""
        return {}

    def throttled(self, request: Request, endpoint: str) -> Response | None:
        """A 429 answer when the emulated rate budget is spent, else None."""
        return None

    # -- request log ----------------------------------------------------------------------
    def writes(self) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.is_write]

    def deny(self, path_fragment: str, status: int = 403) -> None:
        """Refuse every write whose path contains ``path_fragment`` (a permission problem)."""
        with self.lock:
            self.denied.append((path_fragment, status))

    def corrupt(self, path_fragment: str, body: bytes, status: int = 200,
                mimetype: str = "application/json") -> None:
        """Answer every GET whose path contains ``path_fragment`` with ``body`` as it is:
        for tests of malformed answers (truncated JSON, HTML pages, wrong shapes)."""
        with self.lock:
            self.corrupted.append((path_fragment, Response(body, status=status,
                                                           mimetype=mimetype)))

    def script(self, method: str, fragment: str, fault: str, *, after: bool = False,
               times: int | None = 1, seconds: float = 0.0) -> ScriptedFault:
        """Inject ``fault`` into matching requests (see :class:`ScriptedFault`); the returned
        rule counts its ``hits``."""
        rule = ScriptedFault(method, fragment, fault, after, times, seconds)
        with self.lock:
            self.scripted.append(rule)
        return rule

    def acted_writes(self, method: str | None = None) -> list[RecordedRequest]:
        """Writes carried out with a 2xx answer (``method`` only, when given)."""
        with self.lock:
            return [r for r, status in self.acted if 200 <= status < 300
                    and (method is None or r.method == method)]

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()
            self.acted.clear()

    # -- WSGI -----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request, environ)
        if response is DROP:
            # Promise more than is sent: the server then closes the connection mid-answer.
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", "4096")])
            return [b'{"partial": ']
        if isinstance(response, Rendered):
            start_response(response.status, list(response.headers))
            return [response.body]
        return response(environ, start_response)

    def dispatch(self, request: Request, environ: dict[str, Any]) -> Response | Rendered:
        self._record(request)
        rule = self._scripted_for(request)
        if rule is not None and not rule.after:
            return DROP if rule.fault == "drop" else self.injected(int(rule.fault))
        fault, delay = self.faults.draw()
        if delay:
            environ[DELAY_KEY] = delay
        if fault == "drop":
            return DROP
        if fault == "lost" or (rule is not None and rule.after):
            # Carried out first: the answer is lost (or late) on its way back.
            answer = self._act(request, environ)
            if rule is None:
                return DROP if self.faults.lost_as() == "drop" else self.injected(502)
            if rule.fault == "slow":
                environ[DELAY_KEY] = environ.get(DELAY_KEY, 0.0) + rule.seconds
                return answer
            return DROP if rule.fault == "drop" else self.injected(int(rule.fault))
        if fault is not None:
            failure = self.injected(int(fault))
            if fault in ("429", "503"):
                failure.headers["Retry-After"] = str(self.faults.retry_after)
            return failure
        return self._act(request, environ)

    def _act(self, request: Request, environ: dict[str, Any]) -> Response | Rendered:
        """The emulator's own answer: corrupted and denied paths, the read cache, routing,
        the token and rate-budget checks, then the handler."""
        if request.method == "GET":
            for fragment, answer in self.corrupted:
                if fragment in request.path:
                    return answer
        if request.method not in ("GET", "HEAD"):
            for fragment, status in self.denied:
                if fragment in request.path:
                    return self.error(status, "Access Denied", "FORBIDDEN")
        cache_key = (request.path, request.query_string)
        if self.cache_reads:
            if request.method != "GET":
                with self.lock:
                    self._cache.clear()
            elif cache_key in self._cache:
                endpoint, kept = self._cache[cache_key]
                refused = self._refused(request, endpoint)  # a cached read is checked too
                if refused is not None:
                    return refused
                return kept.with_headers(self.extra_headers(request, endpoint))
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match(self.route_path(request.path))
        except NotFound:
            return self.error(404, "Method not found", "NOT_FOUND")
        except MethodNotAllowed:
            return self.error(405, "Method not allowed", "METHOD_NOT_ALLOWED")
        except HTTPException as exc:
            return self.error(exc.code or 400, exc.description or "bad request", "BAD_REQUEST")
        refused = self._refused(request, str(endpoint))
        if refused is not None:
            return refused
        handler: Handler = getattr(self, f"on_{endpoint}")
        try:
            with self.lock:
                response = handler(request, **args)
        except ApiFailure as exc:
            response = self.failure(exc)
        record = environ.get(RECORD_KEY)
        if record is not None and record.is_write:
            with self.lock:
                self.acted.append((record, response.status_code))
        extra = self.extra_headers(request, str(endpoint))
        if self.cache_reads and request.method == "GET" and response.status_code == 200 \
                and not response.is_streamed:
            # Kept without the per-request headers (rate-limit counters): each hit adds fresh
            # ones.
            rendered = Rendered.of(response, environ)
            with self.lock:
                self._cache[cache_key] = (str(endpoint), rendered)
            return rendered.with_headers(extra)
        response.headers.update(extra)
        return response

    def _scripted_for(self, request: Request) -> ScriptedFault | None:
        if not self.scripted:
            return None
        with self.lock:
            for rule in self.scripted:
                if rule.matches(request):
                    rule.hits += 1
                    return rule
        return None

    def _refused(self, request: Request, endpoint: str) -> Response | None:
        """The answer to a routed request that may not go on: 401 without the token, 429 over
        the rate budget (which this spends); None when it may."""
        if not self.authorized(request, endpoint):
            return self.error(401, "Authentication failed", "UNAUTHORIZED")
        return self.throttled(request, endpoint)

    def _record(self, request: Request) -> None:
        if not self.record_requests:
            return
        body: Any = None
        raw = request.get_data(cache=True)
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        entry = RecordedRequest(
            request.method,
            request.path,
            {k: request.args.getlist(k) for k in request.args},
            body,
            _headers_of(request.environ),
        )
        request.environ[RECORD_KEY] = entry
        with self.lock:
            self.requests.append(entry)


def _headers_of(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers, names in lower case: what ``request.headers`` lists, read
    straight from the environ (Werkzeug's header view costs several times more, and every
    request is recorded)."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
               if key.startswith("HTTP_")
               and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")}
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            headers[name] = environ[key]
    return headers


@dataclass(frozen=True)
class Rendered:
    """A GET answer kept by ``cache_reads``, as WSGI status line, headers and body: served
    again without Werkzeug's per-answer header work (a third of an emulator's CPU for a
    cached read)."""

    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def of(cls, response: Response, environ: dict[str, Any]) -> Rendered:
        chunks, status, headers = response.get_wsgi_response(environ)
        return cls(status, tuple(headers), b"".join(chunks))

    def with_headers(self, extra: dict[str, str]) -> Rendered:
        """The same answer with ``extra`` headers after its own (none of which they name)."""
        if not extra:
            return self
        return Rendered(self.status, self.headers + tuple(extra.items()), self.body)


def json_body(request: Request) -> Any:
    """The request's JSON body; a body that is not JSON is the caller's 400."""
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiFailure(400, "request body is not valid JSON", "INVALID_PARAMETER") from None


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")
