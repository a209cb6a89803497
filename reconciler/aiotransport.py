"""The asyncio side of :class:`~reconciler.transport.LeanTransport`: HTTP/1.1 keep-alive
connections on one event loop, for requests sent from :mod:`reconciler.greenio` tasks.

Why: one thread then drives every request in flight (no GIL hand-offs between reader threads),
and responses are parsed by ``httptools`` (llhttp, in C), so that a request costs the client
about a fifth of the CPU it costs through ``http.client`` on threads (see ``benchmarks/``).

Contract of :meth:`AsyncPool.handle_async_request`, the same as the blocking transport's:

- sends on an idle keep-alive connection to the same origin (one the server has closed is
  dropped first), else on a new one; keeps at most ``max_idle`` idle connections per origin;
- reads the whole body before returning; content-encoding is left to httpx's ``Response``;
- fails with httpx's exceptions: ``ConnectError``/``ConnectTimeout`` when no connection was
  made (nothing was sent), ``ReadTimeout``/``ReadError``/``RemoteProtocolError`` once the
  request may have arrived;
- a pool belongs to one event loop; :meth:`AsyncPool.aclose` closes its idle connections.

:meth:`AsyncPool.exchange` is the same without httpx's objects: a request already written out
in, (status, headers, body) out.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any, cast

import httptools
import httpx

Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One connection; answers one request at a time (no pipelining)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._answer: asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._until_close = False  # the body ends when the server closes (no length given)
        self.keep_alive = False

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A socket transport; uvloop's do not subclass asyncio.Transport, hence no check.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            # Bytes nobody asked for: the connection can no longer be trusted.
            self._fail(httpx.RemoteProtocolError("unexpected data from the server"))
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}"))

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost settles the answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is None or self._answer.done():
            return
        if self._headers_done and self._until_close and exc is None:
            self.on_message_complete()
        elif exc is not None:
            self._fail(httpx.ReadError(f"{type(exc).__name__}: {exc}"))
        else:
            self._fail(httpx.RemoteProtocolError(
                "the server closed the connection before a complete answer"))

    # -- httptools callbacks --------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        names = {name.lower() for name, _ in self._headers}
        self._until_close = b"content-length" not in names \
            and b"transfer-encoding" not in names

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer = self._answer
        if answer is not None and not answer.done():
            # A body that ended by the server hanging up arrives here from connection_lost
            # (closed already); one llhttp knows to be empty (204, 304) can keep the line.
            self.keep_alive = self._parser.should_keep_alive() and not self.closed
            answer.set_result((self._parser.get_status_code(), self._headers,
                               b"".join(self._body)))
        self._release()

    def _release(self) -> None:
        # The connection is in reference cycles (transport, parser) that only a full
        # collection frees: it must not keep an answer (megabytes, for a big listing) alive.
        self._answer, self._headers, self._body = None, [], []

    # -- use --------------------------------------------------------------------------------
    def send(self, head: bytes, body: bytes
             ) -> asyncio.Future[tuple[int, list[tuple[bytes, bytes]], bytes]]:
        """Write a request; the future is its answer: (status, headers, body)."""
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._headers, self._body = [], []
        self._headers_done = self._until_close = False
        self.keep_alive = False
        self.transport.write(head + body if body else head)
        return self._answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)
        self._release()
        self.close()


class AsyncPool(httpx.AsyncBaseTransport):
    """See the module docstring. ``ssl_context`` is called at the first https connection."""

    def __init__(self, *, timeout: float, max_idle: int,
                 ssl_context: Callable[[], ssl.SSLContext]) -> None:
        self._timeout = timeout
        self._max_idle = max_idle
        self._ssl_context = ssl_context
        self._idle: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        try:
            status, headers, content = await self.exchange(origin, request_head(request),
                                                           await request.aread())
        except httpx.TransportError as exc:
            exc.request = request
            raise
        return httpx.Response(status, headers=headers, content=content, request=request,
                              extensions={"http_version": b"HTTP/1.1"})

    async def exchange(self, origin: Origin, head: bytes, body: bytes
                       ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send a request already written out (``head``: request line and headers, Host
        among them) to ``origin``; (status, headers, body) of its answer, the body as sent
        (content-encoding not undone). Fails as :meth:`handle_async_request` does."""
        conn = await self._checkout(origin)
        answer = conn.send(head, body)
        # A timer, not asyncio.wait_for: that wraps every request in a task of its own.
        timer = asyncio.get_running_loop().call_later(self._timeout, _expire, answer,
                                                      self._timeout)
        try:
            result = await answer
        except BaseException:  # failed or cancelled: the answer may still come, never reuse
            conn.close()
            raise
        finally:
            timer.cancel()
        if conn.keep_alive and not conn.closed:
            self._checkin(origin, conn)
        else:
            conn.close()
        return result

    async def aclose(self) -> None:
        idle = [c for conns in self._idle.values() for c in conns]
        self._idle.clear()
        for conn in idle:
            conn.close()
        if idle:
            await asyncio.sleep(0)  # let the loop run the transports' close callbacks

    async def _checkout(self, origin: Origin) -> _Connection:
        conns = self._idle.get(origin)
        while conns:
            conn = conns.pop()
            if not conn.closed:
                return conn
        return await self._connect(origin)

    def _checkin(self, origin: Origin, conn: _Connection) -> None:
        conns = self._idle.setdefault(origin, [])
        if len(conns) < self._max_idle:
            conns.append(conn)
        else:
            conn.close()

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            # asyncio sets TCP_NODELAY on TCP connections: small requests leave at once.
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, host, port, ssl=context,
                                       server_hostname=host if context else None),
                self._timeout)
        except asyncio.TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {host}:{port} timed out") from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS handshake
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return conn


def _expire(answer: asyncio.Future[Any], timeout: float) -> None:
    if not answer.done():
        answer.set_exception(httpx.ReadTimeout(f"no complete answer within {timeout:g} s"))


def request_head(request: httpx.Request) -> bytes:
    """The request line and headers (httpx.Request carries Host and Content-Length)."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines.extend(name + b": " + value for name, value in request.headers.raw)
    return b"\r\n".join(lines) + b"\r\n\r\n"
