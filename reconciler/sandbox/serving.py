"""Serves the emulators (WSGI applications) on loopback HTTP from one asyncio loop on a
background thread, with aiohttp's low-level server.

Why not a threaded WSGI server: an injected latency then held a thread asleep for every
request in flight, and each request crossed threads (and the GIL) three times. Here the
latency is a timer on the loop, and a request costs the emulator process half to two thirds
of the CPU it cost through waitress's threads (see the README's benchmark section).

Contract of :class:`LoopServer`:

- :meth:`LoopServer.start` binds each application to a free port on 127.0.0.1 and returns
  the ports; the applications are then served until :meth:`LoopServer.stop`;
- a request's body is read whole, then the application is called on the loop's thread (the
  emulators answer from memory, behind their own lock, in well under a millisecond);
- the answer is held back until ``environ[DELAY_KEY]`` seconds after the request arrived,
  when the application set it (:class:`~reconciler.sandbox.base.Faults` latency and slow
  answers), then sent;
- an answer shorter than the Content-Length its application declared is sent as it is and
  the connection closed (a dropped connection, as :data:`~reconciler.sandbox.base.DROP`
  asks for);
- HTTP/1.1 keep-alive; no TLS;
- :meth:`LoopServer.stop` closes the listeners and every connection, and ends the thread;
  it may be called more than once.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from reconciler.sandbox.base import DELAY_KEY

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

# aiohttp logs every failed connection (a client that timed out and left, a dropped answer) at
# ERROR: in the sandbox that is the faults doing their work, not news. Its servers log here,
# not to "aiohttp.server", so that other aiohttp servers in the process keep their logging.
CONNECTION_LOG = logging.getLogger("reconciler.sandbox.connections")
CONNECTION_LOG.setLevel(logging.CRITICAL)


def environ_of(request: web.BaseRequest, body: bytes, port: int) -> dict[str, Any]:
    """The PEP 3333 environ of ``request``: the path percent-decoded (as latin-1 text, which
    is what WSGI servers hand over), the query as sent, headers as ``HTTP_*``."""
    path, _, query = request.raw_path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, "latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": f"HTTP/{request.version.major}.{request.version.minor}",
        "REMOTE_ADDR": request.remote or "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        # Repeated headers are joined with commas, as RFC 9110 allows.
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _call(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run a WSGI application to the end: (status, headers, body)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [int(status.split(" ", 1)[0]), headers]
        return _no_write

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return started[0], started[1], body


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the emulators return their bodies; write() is not supported")


class LoopServer:
    """See the module docstring."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.ServerRunner] = []

    def start(self, apps: dict[str, WsgiApp]) -> dict[str, int]:
        """Serve each application on a port of its own; name -> port."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(target=_run_loop, args=(loop, ready),
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        ready.wait()
        ports: dict[str, int] = {}
        try:
            for name, app in apps.items():
                ports[name] = asyncio.run_coroutine_threadsafe(self._serve(app), loop).result()
        except BaseException:
            self.stop()  # no half-started server left behind
            raise
        return ports

    async def _serve(self, app: WsgiApp) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            loop = asyncio.get_running_loop()
            arrived = loop.time()
            body = await request.read()
            environ = environ_of(request, body, port)
            status, headers, content = _call(app, environ)
            # Counted from the request's arrival: an answer leaves ``delay`` after it, however
            # long the emulator took (unless longer), so the latency a benchmark injects does
            # not grow with the emulator's own CPU.
            delay = arrived + environ.get(DELAY_KEY, 0.0) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # A Response, not a StreamResponse: it sends headers and body in one write, so an
            # answer is one send and, mostly, one segment (a StreamResponse sends its headers
            # first, at prepare(): twice the syscalls, and the client often wakes twice).
            # HEAD answers get no body from it.
            answer = web.Response(status=status, headers=headers, body=content)
            declared = answer.content_length
            if declared is not None and len(content) < declared and request.method != "HEAD":
                request.protocol.force_close()  # a dropped connection: the rest never comes
            try:
                await answer.prepare(request)
                await answer.write_eof()
            except ConnectionError:
                pass  # the client left first (it timed out on a slow answer): nobody to tell
            return answer

        # access_log=None on the Server, whose request handlers take it (a ServerRunner's is
        # not passed on): no access line per request, at any logging level.
        server = web.Server(handle, logger=CONNECTION_LOG, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=0)
        await runner.setup()
        self._runners.append(runner)  # stop() cleans it up, even if it never listens
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            raise
        return port

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = self._thread = None
        runners, self._runners = self._runners, []

        async def close() -> None:
            for runner in runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()
