"""Runs the emulators on 127.0.0.1 and keeps their state between commands.

:class:`Sandbox` is what ``--sandbox``, ``calrecon sandbox serve``, the tests and the
benchmarks use: each emulator gets its own threaded Werkzeug server on a free loopback port.
With a ``state_file``, the state is loaded on start (seeded when the file does not exist yet)
and written back by :meth:`Sandbox.save`, so plan -> apply -> plan converges across commands.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from waitress.server import BaseWSGIServer, create_server

from reconciler.sandbox.base import Emulator, Faults
from reconciler.sandbox.cronofy import CronofyEmulator
from reconciler.sandbox.lineworks import PREFIX as LINEWORKS_PREFIX
from reconciler.sandbox.lineworks import LineWorksEmulator
from reconciler.sandbox.onlyoffice import OnlyOfficeEmulator
from reconciler.sandbox.seed import seed_cronofy, seed_lineworks, seed_onlyoffice

TOKENS = {"lineworks": "sandbox-lineworks-token", "onlyoffice": "sandbox-onlyoffice-token",
          "cronofy": "sandbox-cronofy-token"}
STATE_VERSION = 1
THREADS = 64


@dataclass(frozen=True)
class Endpoint:
    """Where a provider type's emulator listens, and the token it accepts."""

    base_url: str
    token: str


def _close_all(server: BaseWSGIServer) -> None:
    for channel in list(server._map.values()):
        channel.close()


class SandboxStateError(Exception):
    """The state file cannot be used."""


class Sandbox:
    def __init__(
        self,
        state_file: Path | None = None,
        *,
        faults: Faults | None = None,
        seed: bool = True,
        rate_limit: int = 240,
    ) -> None:
        self.state_file = state_file
        self.lineworks = LineWorksEmulator(TOKENS["lineworks"], faults, rate_limit=rate_limit)
        self.onlyoffice = OnlyOfficeEmulator(TOKENS["onlyoffice"], faults)
        self.cronofy = CronofyEmulator(TOKENS["cronofy"], faults)
        self.emulators: dict[str, Emulator] = {"lineworks": self.lineworks,
                                               "onlyoffice": self.onlyoffice,
                                               "cronofy": self.cronofy}
        self._prefixes = {"lineworks": LINEWORKS_PREFIX, "onlyoffice": "", "cronofy": ""}
        self._servers: dict[str, BaseWSGIServer] = {}
        self._threads: list[threading.Thread] = []
        self._seeders: dict[str, Callable[[], None]] = {
            "lineworks": lambda: seed_lineworks(self.lineworks),
            "onlyoffice": lambda: seed_onlyoffice(self.onlyoffice),
            "cronofy": lambda: seed_cronofy(self.cronofy),
        }
        if state_file is not None and state_file.exists():
            self._load(state_file)
        elif seed:
            for seeder in self._seeders.values():
                seeder()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Sandbox:
        logging.getLogger("waitress").setLevel(logging.ERROR)  # no queue chatter on stderr
        for name, emulator in self.emulators.items():
            # Threads: enough for 64 requests in flight at once, each possibly sleeping
            # through an injected latency. stop() wakes the loop through its trigger.
            server = create_server(emulator, host="127.0.0.1", port=0, threads=THREADS,
                                   channel_timeout=30, ident="calrecon-sandbox")
            thread = threading.Thread(target=server.run, name=f"sandbox-{name}", daemon=True)
            thread.start()
            self._servers[name] = server
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            # Close every channel (listener, keep-alive connections, the trigger itself) from
            # inside the server's loop thread: closing them from here would pull file
            # descriptors out from under its select(). An empty map ends the loop.
            # pull_trigger queues the thunk, then writes a byte to wake the loop. If the loop
            # wakes for another reason in between (a worker thread finishing an answer pulls
            # the trigger too), it runs _close_all, which closes the trigger itself, and the
            # write fails (EBADF): the server is closing, as asked.
            with contextlib.suppress(OSError):
                server.trigger.pull_trigger(functools.partial(_close_all, server))
        for thread in self._threads:
            thread.join(timeout=5)
        for server in self._servers.values():
            server.task_dispatcher.shutdown()
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- endpoints ------------------------------------------------------------------------
    def endpoints(self) -> dict[str, Endpoint]:
        """Base URL and token for every provider type, once started."""
        result: dict[str, Endpoint] = {}
        for name, server in self._servers.items():
            port = server.effective_port
            url = f"http://127.0.0.1:{port}{self._prefixes[name]}"
            result[name] = Endpoint(url, TOKENS[name])
        return result

    def request_count(self) -> int:
        return sum(len(e.requests) for e in self.emulators.values())

    def write_count(self) -> int:
        return sum(len(e.writes()) for e in self.emulators.values())

    # -- state ----------------------------------------------------------------------------
    def save(self) -> None:
        if self.state_file is None:
            return
        data: dict[str, Any] = {}
        if self.state_file.exists():  # keep the sections of emulators not running here
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(self.state_file.read_text())
        data.update({"version": STATE_VERSION,
                     **{name: e.snapshot() for name, e in self.emulators.items()}})
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.state_file)  # atomic: an interrupted save loses nothing

    def _load(self, path: Path) -> None:
        try:
            data: Any = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SandboxStateError(
                f"{path}: cannot read the sandbox state ({exc}); delete it or run "
                "'calrecon sandbox reset'"
            ) from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise SandboxStateError(
                f"{path}: not a calrecon sandbox state file (version {STATE_VERSION}); delete it "
                "or run 'calrecon sandbox reset'"
            )
        for name, emulator in self.emulators.items():
            if isinstance(data.get(name), dict):
                emulator.restore(data[name])
            else:  # a state file from before this emulator existed: start it seeded
                self._seeders[name]()
