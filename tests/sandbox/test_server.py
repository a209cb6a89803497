"""The sandbox's HTTP serving (reconciler.sandbox.serving), over loopback: latency held back
by timers, dropped answers, HEAD, the WSGI environ, and a stop() that always ends."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox.base import DELAY_KEY, Faults
from reconciler.sandbox.server import Sandbox
from reconciler.sandbox.serving import LoopServer

SLOW_ARRIVED = threading.Event()  # set when _echo is asked for /slow


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A WSGI app answering with what it was given; ``/slow`` asks for 0.3 s of delay,
    ``/busy`` works 0.3 s and asks for 1.0 s, ``/drop`` declares more than it sends."""
    body = environ["wsgi.input"].read()
    text = "|".join([environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"],
                     environ.get("HTTP_X_TWICE", ""), environ.get("CONTENT_TYPE", ""),
                     body.decode()]).encode()
    if environ["PATH_INFO"] == "/slow":
        environ[DELAY_KEY] = 0.3
        SLOW_ARRIVED.set()
    if environ["PATH_INFO"] == "/busy":  # an emulator that takes 0.3 s, asked for 1.0 s
        time.sleep(0.3)
        environ[DELAY_KEY] = 1.0
    if environ["PATH_INFO"] == "/drop":
        start_response("200 OK", [("Content-Length", "4096")])
        return [b"partial"]
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(text)))])
    return [text]


@pytest.fixture
def served() -> Any:
    server = LoopServer()
    ports = server.start({"echo": _echo})
    yield f"http://127.0.0.1:{ports['echo']}", server
    server.stop()


def test_the_environ_carries_method_path_query_headers_and_body(served: Any) -> None:
    base, _ = served
    answer = httpx.post(f"{base}/a%20b/c?x=1&y=%2F", content=b'{"k": 1}',
                        headers=[("X-Twice", "one"), ("X-Twice", "two"),
                                 ("Content-Type", "application/json")])
    assert answer.status_code == 200
    assert answer.text == 'POST|/a b/c|x=1&y=%2F|one,two|application/json|{"k": 1}'


def test_head_answers_headers_without_a_body(served: Any) -> None:
    base, _ = served
    with httpx.Client() as client:
        answer = client.head(f"{base}/x")
        assert answer.status_code == 200
        assert answer.headers["content-length"] == str(len("HEAD|/x||||"))
        assert answer.content == b""
        assert client.get(f"{base}/y").text == "GET|/y||||"  # the connection is still usable


def test_an_answer_short_of_its_length_is_a_dropped_connection(served: Any) -> None:
    base, _ = served
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{base}/drop")


def test_delays_are_timers_not_threads(served: Any) -> None:
    base, _ = served
    # One client with room for 40 connections, set up before the clock starts: 40 clients
    # of their own would spend the measured time building TLS contexts on a busy machine.
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
    with httpx.Client(limits=limits, timeout=10) as client, \
            concurrent.futures.ThreadPoolExecutor(40) as pool:
        started = time.perf_counter()
        answers = list(pool.map(lambda _: client.get(f"{base}/slow"), range(40)))
        elapsed = time.perf_counter() - started
    assert all(a.status_code == 200 for a in answers)
    # 40 answers each held 0.3 s: at once on the one loop, not one after another (12 s).
    assert 0.3 <= elapsed < 3.0
    assert threading.active_count() < 60


def test_a_delay_counts_from_the_request_arriving(served: Any) -> None:
    base, _ = served
    started = time.perf_counter()
    assert httpx.get(f"{base}/busy", timeout=5).status_code == 200
    # 1.0 s after arrival, not 0.3 s of work plus 1.0 s: the latency is the network's. The
    # two readings are 0.3 s apart, so a scheduler late by up to 0.25 s cannot confuse them.
    assert 1.0 <= time.perf_counter() - started < 1.25


def test_a_client_that_leaves_during_a_delay_does_not_break_the_server(served: Any) -> None:
    base, _ = served
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{base}/slow", timeout=0.05)
    time.sleep(0.4)  # the held answer is now written to a closed connection
    assert httpx.get(f"{base}/after").text == "GET|/after||||"


def test_serving_logs_no_access_lines_and_leaves_aiohttp_logging_alone(
    caplog: pytest.LogCaptureFixture
) -> None:
    aiohttp_level = logging.getLogger("aiohttp.server").level
    server = LoopServer()
    base = f"http://127.0.0.1:{server.start({'echo': _echo})['echo']}"
    try:
        with caplog.at_level(logging.DEBUG):
            httpx.get(f"{base}/x")
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.get(f"{base}/drop")
    finally:
        server.stop()
    assert not [r for r in caplog.records if r.name.startswith("aiohttp")]
    # Other aiohttp servers in the process (an application's) keep their logging.
    assert logging.getLogger("aiohttp.server").level == aiohttp_level


def test_stop_ends_the_thread_and_closes_kept_alive_connections() -> None:
    server = LoopServer()
    port = server.start({"echo": _echo})["echo"]
    client = httpx.Client()
    assert client.get(f"http://127.0.0.1:{port}/x").status_code == 200  # now kept alive
    thread = server._thread
    assert thread is not None
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 2
    assert not thread.is_alive()
    server.stop()  # twice is fine
    with pytest.raises(httpx.TransportError):
        client.get(f"http://127.0.0.1:{port}/x")
    client.close()
    probe = socket.socket()
    with pytest.raises(OSError):
        probe.connect(("127.0.0.1", port))
    probe.close()


def test_stop_does_not_wait_for_answers_held_back() -> None:
    server = LoopServer()
    port = server.start({"echo": _echo})["echo"]
    SLOW_ARRIVED.clear()
    pending = threading.Thread(target=lambda: _quietly(f"http://127.0.0.1:{port}/slow"))
    pending.start()
    # Stop once the answer is being held back, not before: a request still being set up
    # when the server stops is another case (see the closing note of issue 7).
    assert SLOW_ARRIVED.wait(timeout=5)
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 2
    pending.join(timeout=5)
    assert not pending.is_alive()


def _quietly(url: str) -> None:
    with contextlib.suppress(httpx.TransportError):  # the server may close it on stopping
        httpx.get(url, timeout=5)


def test_a_sandbox_latency_holds_each_answer_back() -> None:
    with Sandbox(faults=Faults(latency=0.1)) as box:
        url = box.endpoints()["cronofy"].base_url + "/v1/calendars"
        token = box.endpoints()["cronofy"].token
        started = time.perf_counter()
        answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert time.perf_counter() - started >= 0.1


def test_a_sandbox_restarts_on_new_ports() -> None:
    box = Sandbox(seed=False).start()
    first = box.endpoints()
    box.stop()
    assert box.endpoints() == {}
    box.start()
    try:
        url = box.endpoints()["cronofy"].base_url + "/v1/calendars"
        assert httpx.get(url).status_code == 401  # served again (no token: refused)
    finally:
        box.stop()
    assert set(first) == {"lineworks", "onlyoffice", "cronofy"}


def test_a_failed_start_leaves_no_thread_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    server = LoopServer()

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("no port for you")

    monkeypatch.setattr("reconciler.sandbox.serving.web.SockSite.start", refuse)
    with pytest.raises(OSError, match="no port"):
        server.start({"echo": _echo})
    assert server._thread is None
    assert not any(t.name == "sandbox-http" for t in threading.enumerate())


def test_two_processes_on_one_state_file_are_refused_not_lost(tmp_path: Path) -> None:
    """A served sandbox holds its state file: a --sandbox command on the same file would
    save its own copy, and whichever saved last would discard the other's writes."""
    from click.testing import CliRunner

    from reconciler.cli import cli

    state = tmp_path / "state.json"
    examples = Path(__file__).resolve().parents[2] / "examples"
    with Sandbox(state):
        result = CliRunner().invoke(cli, ["plan", str(examples), "--sandbox",
                                          "--sandbox-state", str(state)])
        assert result.exit_code == 1
        assert "the sandbox state is in use by calrecon (pid" in result.stderr
        assert not state.exists()  # the refused command wrote nothing
    result = CliRunner().invoke(cli, ["plan", str(examples), "--sandbox", "--sandbox-state",
                                      str(state)])
    assert result.exit_code == 0, result.stderr  # released once the first one stopped


def test_a_sandbox_that_never_saves_does_not_hold_the_state_file(tmp_path: Path) -> None:
    """``sandbox serve --no-save`` cannot discard anyone's writes (the benchmark serves one
    state file from three such processes)."""
    state = tmp_path / "state.json"
    Sandbox(state).save()
    with Sandbox(state, exclusive=False), Sandbox(state, exclusive=False), Sandbox(state):
        pass  # all three serve: only the last one holds the file
