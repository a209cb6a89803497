"""LeanTransport over real loopback HTTP, both ways it sends (blocking ``http.client`` and,
from a greenio task, asyncio connections): keep-alive reuse, connections the server closed,
framing and content-encoding, TLS (a loopback server with a test CA's certificate), and each
failure mapped to the httpx exception the retry rules expect."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import trustme

from reconciler import greenio
from reconciler.http import Answer, HttpClient, RetryPolicy
from reconciler.transport import LeanTransport, green_send, transport_for

T = TypeVar("T")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless a route says otherwise
    ports: set[int] = set()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, body: bytes, status: int = 200, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Handler.ports.add(self.client_address[1])
        if self.path == "/gzip":
            self._answer(gzip.compress(b'{"zipped": true}'), Content_Encoding="gzip")
        elif self.path == "/close":
            self._answer(b"{}", Connection="close")
            self.close_connection = True
        elif self.path == "/hang-up-after":  # keep-alive promised, then the server hangs up
            self._answer(b"{}")
            self.close_connection = True
        elif self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"cut')
            self.close_connection = True
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"chunked": ', b"true}"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/until-close":  # no length: the body ends when the server hangs up
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b'{"until": "close"}')
            self.close_connection = True
        elif self.path == "/no-content":  # no length and no body, yet the line stays open
            self.send_response(204)
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(0.6)
            self._answer(b"{}")
        else:
            self._answer(json.dumps({"path": self.path}).encode())

    def do_POST(self) -> None:
        Handler.ports.add(self.client_address[1])
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(json.dumps({"body": body.decode(),
                                 "type": self.headers["Content-Type"],
                                 "agent": self.headers["User-Agent"]}).encode(), status=201)


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Handler on a loopback port (over TLS with ``tls``) until the generator is closed."""
    Handler.ports = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server() -> Iterator[str]:
    yield from _serve()


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(tls_ca: trustme.CA) -> Iterator[str]:
    """The same handler over HTTPS, with a certificate for 127.0.0.1 from ``tls_ca``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    yield from _serve(context)


@pytest.fixture
def trusted(tls_ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust ``tls_ca`` the way a user behind a company CA does: SSL_CERT_FILE."""
    bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


@pytest.fixture(params=["blocking", "green"])
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], T]], T]:
    """Runs a test's steps as they are, or as one greenio task (asyncio connections)."""
    def in_task(steps: Callable[[], T]) -> T:
        result: list[T] = []
        pool = greenio.GreenPool(1)
        pool.submit(lambda: result.append(steps()))
        pool.run()
        return result[0]
    return in_task if request.param == "green" else (lambda steps: steps())


def get(transport: LeanTransport, url: str) -> httpx.Response:
    request = httpx.Request("GET", url)
    if greenio.in_task():
        response = green_send(transport, request)
    else:
        response = transport.handle_request(request)
    response.read()
    return response


def test_keeps_connections_alive(server: str, run: Callable[[Callable[[], None]], None]
                                 ) -> None:
    transport = LeanTransport(timeout=5)

    def steps() -> None:
        for n in range(5):
            answer = get(transport, f"{server}/item/{n}?a=1").json()
            assert answer == {"path": f"/item/{n}?a=1"}
    run(steps)
    assert len(Handler.ports) == 1
    transport.close()


def test_a_connection_the_server_closed_is_replaced(
        server: str, run: Callable[[Callable[[], int]], int]) -> None:
    transport = LeanTransport(timeout=5)

    def steps() -> int:
        get(transport, f"{server}/close")
        get(transport, f"{server}/hang-up-after")
        greenio.sleep(0.1)  # let the hang-up arrive: the idle connection then reads EOF
        return get(transport, f"{server}/ok").status_code
    assert run(steps) == 200
    assert len(Handler.ports) == 3


@pytest.mark.parametrize(("path", "body"), [
    ("/gzip", {"zipped": True}),
    ("/chunked", {"chunked": True}),
    ("/until-close", {"until": "close"}),
])
def test_decodes_framing_and_content_encoding(
        server: str, run: Callable[[Callable[[], object]], object], path: str,
        body: object) -> None:
    assert run(lambda: get(LeanTransport(timeout=5), server + path).json()) == body


def test_an_empty_answer_keeps_the_connection(server: str,
                                              run: Callable[[Callable[[], int]], int]) -> None:
    transport = LeanTransport(timeout=5)

    def steps() -> int:
        assert get(transport, f"{server}/no-content").status_code == 204
        return get(transport, f"{server}/ok").status_code
    assert run(steps) == 200
    assert len(Handler.ports) == 1


def test_truncated_body_is_a_protocol_error(server: str,
                                            run: Callable[[Callable[[], object]], object]
                                            ) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        run(lambda: get(LeanTransport(timeout=5), f"{server}/truncated"))


def test_slow_answer_is_a_read_timeout(server: str,
                                       run: Callable[[Callable[[], object]], object]) -> None:
    with pytest.raises(httpx.ReadTimeout):
        run(lambda: get(LeanTransport(timeout=0.2), f"{server}/slow"))


def test_refused_connection_is_a_connect_error(run: Callable[[Callable[[], object]], object]
                                               ) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        run(lambda: get(LeanTransport(timeout=5), f"http://127.0.0.1:{port}/"))


def test_tls_handshake_failure_is_a_connect_error(
        server: str, run: Callable[[Callable[[], object]], object]) -> None:
    # https to a plain-HTTP server: the TLS handshake fails before anything is sent.
    with pytest.raises(httpx.ConnectError):
        run(lambda: get(LeanTransport(timeout=5), server.replace("http://", "https://") + "/ok"))


def test_http_client_sends_json_and_identifies_itself(
        server: str, run: Callable[[Callable[[], Answer]], Answer]) -> None:
    http = HttpClient(provider="test", base_url=server + "/base", headers={},
                      policy=RetryPolicy(attempts=1))
    response = run(lambda: http.request("POST", "/things", address="test.x",
                                        json={"name": "Ünïcode"}))
    answer = response.json()
    assert response.status_code == 201
    assert json.loads(answer["body"]) == {"name": "Ünïcode"}
    assert answer["type"] == "application/json"
    assert answer["agent"].startswith("calrecon/")
    http.close()


def test_http_client_reads_alike_either_way(
        server: str, run: Callable[[Callable[[], list[object]]], list[object]]) -> None:
    """From a task, reads are written out directly rather than through httpx.Request; the
    server must see the same request, and the answer read the same (gzip undone)."""
    http = HttpClient(provider="test", base_url=server + "/base", headers={},
                      policy=RetryPolicy(attempts=1))
    plain = HttpClient(provider="test", base_url=server, headers={},
                       policy=RetryPolicy(attempts=1))
    params = {"q": ["x y", "ü"], "n": 2}

    def steps() -> list[object]:
        return [http.request("GET", "/things/1", address="t", params=params).json(),
                http.request("GET", "/things/a b", address="t").json(),
                http.request("GET", server + "/base/next?page=2", address="t").json(),
                plain.request("GET", "/gzip", address="t").json()]
    expected = [{"path": httpx.URL(server + "/base/things/1", params=params).raw_path.decode()},
                {"path": "/base/things/a%20b"}, {"path": "/base/next?page=2"},
                {"zipped": True}]
    assert run(steps) == expected
    assert len(Handler.ports) == 2  # one keep-alive connection per client
    http.close()
    plain.close()


def test_proxy_from_the_environment_uses_httpx_transport(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "bypass.example.com")
    proxied = transport_for(httpx.URL("https://api.example.com/"), timeout=5, max_connections=4)
    direct = transport_for(httpx.URL("https://bypass.example.com/"), timeout=5,
                           max_connections=4)
    assert isinstance(proxied, httpx.HTTPTransport)
    assert isinstance(direct, LeanTransport)


@pytest.mark.usefixtures("trusted")
def test_https_requests_verify_the_server_and_keep_the_connection(
        tls_server: str, run: Callable[[Callable[[], list[object]]], list[object]]) -> None:
    http = HttpClient(provider="test", base_url=tls_server + "/base", headers={},
                      policy=RetryPolicy(attempts=1))

    def steps() -> list[object]:
        return [http.request("GET", "/things/1", address="t", params={"q": "x y"}).json(),
                http.request("POST", "/things", address="t", json={"n": 1}).status_code,
                http.request("GET", "/things/2", address="t").json()]

    assert run(steps) == [{"path": "/base/things/1?q=x+y"}, 201, {"path": "/base/things/2"}]
    assert len(Handler.ports) == 1  # one TLS connection, kept alive
    http.close()


def test_https_to_a_server_nobody_vouches_for_is_a_connect_error(
        tls_server: str, run: Callable[[Callable[[], object]], object],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the default trust store only
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        run(lambda: get(LeanTransport(timeout=5), tls_server + "/ok"))
    assert not Handler.ports  # nothing was sent
