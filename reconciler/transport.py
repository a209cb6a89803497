"""A lean HTTP/1.1 transport for httpx: keep-alive connections of the standard library's
``http.client``, and the choice between it and httpx's own transport.

Why: a plan reads hundreds of small answers (one per LINE WORKS calendar, one per page of
Cronofy events), so the client's CPU per request bounds how fast a plan can be. httpx's
default stack (httpcore + h11, pure Python) spends about twice the CPU per request of
``http.client``, whose header parsing and buffered reads run largely in C (on the sandbox:
~580 us vs ~300 us per GET, request and response objects included; see ``benchmarks/``).
httpx stays the interface: callers build :class:`httpx.Request`, get :class:`httpx.Response`
(content-encoding decoded by httpx) and see only httpx's exceptions, and tests substitute
``httpx.MockTransport``. (A plan's reads go one step lower, to
:meth:`~reconciler.aiotransport.AsyncPool.exchange`: see :mod:`reconciler.http`.)

Contract of :meth:`LeanTransport.handle_request`:

- sends on an idle keep-alive connection to the same origin (one the server has closed is
  dropped first), else on a new one; keeps at most ``max_idle`` idle connections per origin;
- reads the whole body before returning;
- fails with httpx's exceptions, so that retry rules do not depend on the transport:
  ``ConnectError``/``ConnectTimeout`` when no connection was made (nothing was sent),
  ``WriteError``/``WriteTimeout`` while sending, ``ReadTimeout``/``ReadError``/
  ``RemoteProtocolError`` once the request may have arrived;
- verifies TLS with httpx's default context (the same trust store as httpx).

:func:`transport_for` picks httpx's own transport when the environment names a proxy for the
URL, since ``http.client`` speaks to proxies only through explicit tunnelling.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import httpx

from reconciler import greenio
from reconciler.aiotransport import AsyncPool

T = TypeVar("T")

Origin = tuple[str, str, int]


class LeanTransport(httpx.BaseTransport):
    """See the module docstring. Thread-safe: connections are checked out, never shared."""

    def __init__(self, *, timeout: float, max_idle: int = 16) -> None:
        self._timeout = timeout
        self._max_idle = max_idle
        self._ssl_context: ssl.SSLContext | None = None  # made at the first https connection
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        conn = self._checkout(origin)
        target = url.raw_path.decode("ascii")
        body = request.read() or None
        try:
            _step(httpx.WriteTimeout, httpx.WriteError, request,
                  lambda: _send(conn, request, target, body))
            answer = _step(httpx.ReadTimeout, httpx.ReadError, request, conn.getresponse)
            content = _step(httpx.ReadTimeout, httpx.ReadError, request, answer.read)
        except BaseException:
            conn.close()  # its state is unknown: never reuse it
            raise
        if answer.will_close:
            conn.close()
        else:
            self._checkin(origin, conn)
        return httpx.Response(
            answer.status, headers=answer.getheaders(), stream=httpx.ByteStream(content),
            request=request,
            extensions={"http_version": b"HTTP/1.1",
                        "reason_phrase": answer.reason.encode("ascii", "replace")},
        )

    def async_pool(self) -> AsyncPool:
        """Connections of the same kind on the running event loop (see :func:`green_send`)."""
        return AsyncPool(timeout=self._timeout, max_idle=self._max_idle,
                         ssl_context=self._context)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [c for conns in self._idle.values() for c in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()

    def _checkout(self, origin: Origin) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conns = self._idle.get(origin)
                conn = conns.pop() if conns else None
            if conn is None:
                return self._connect(origin)
            if not _closed_by_peer(conn):
                return conn
            conn.close()

    def _checkin(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(origin, [])
            if not self._closed and len(conns) < self._max_idle:
                conns.append(conn)
                return
        conn.close()

    def _connect(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=self._timeout,
                                               context=self._context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self._timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(f"connect to {host}:{port} timed out") from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake
            conn.close()
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        if conn.sock is not None:  # small requests: send each at once (no Nagle delay)
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _context(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl_context is None:  # once: loading the trust store takes milliseconds
                self._ssl_context = httpx.create_ssl_context()
            return self._ssl_context


def green_send(transport: httpx.BaseTransport, request: httpx.Request) -> httpx.Response:
    """Send from a :mod:`reconciler.greenio` task without blocking the other tasks: through
    the run's asyncio connections for a :class:`LeanTransport`, else (httpx's own transport
    with a proxy, a test's ``MockTransport``) on one of the run's worker threads."""
    if isinstance(transport, LeanTransport):
        pool = greenio.resource(transport, transport.async_pool)
        return greenio.await_(pool.handle_async_request(request))
    return greenio.blocking(transport.handle_request, request)


def _send(conn: http.client.HTTPConnection, request: httpx.Request, target: str,
          body: bytes | None) -> None:
    # httpx.Request carries Host (and Content-Length when there is a body); skip http.client's
    conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in request.headers.raw:
        conn.putheader(name.decode("latin-1"), value)
    conn.endheaders(body)


def _step(timeout: type[httpx.TimeoutException], failure: type[httpx.TransportError],
          request: httpx.Request, action: Callable[[], T]) -> T:
    """Run one phase of an exchange, mapping the standard library's failures to httpx's."""
    try:
        return action()
    except TimeoutError as exc:
        raise timeout(f"timed out: {exc}", request=request) from exc
    except http.client.HTTPException as exc:  # truncated body, no status line, bad headers
        raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}",
                                        request=request) from exc
    except OSError as exc:  # reset, broken pipe
        raise failure(f"{type(exc).__name__}: {exc}", request=request) from exc


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle connection with something to read has been closed (or spoiled) by the server."""
    sock = conn.sock
    if sock is None:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


def transport_for(url: httpx.URL, *, timeout: float, max_connections: int
                  ) -> httpx.BaseTransport:
    """The transport for a provider's base URL: httpx's own (with the proxy) when the
    environment's ``*_PROXY`` variables apply to it, else :class:`LeanTransport`."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(url.host):
        return httpx.HTTPTransport(proxy=proxy, limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections))
    return LeanTransport(timeout=timeout, max_idle=max_connections)
