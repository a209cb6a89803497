"""Runs the emulators on 127.0.0.1 and keeps their state between commands.

:class:`Sandbox` is what ``--sandbox``, ``calrecon sandbox serve``, the tests and the
benchmarks use: each emulator gets a free loopback port, all served from one background
thread (:mod:`reconciler.sandbox.serving`).
With a ``state_file``, the state is loaded on start (seeded when the file does not exist yet)
and written back by :meth:`Sandbox.save`, so plan -> apply -> plan converges across commands.

One emulator per provider type serves the first provider of that type; ``tenants`` adds one
emulator for each further provider (two LINE WORKS tenants in one YAML are two
organisations, not one). A tenant starts empty and is saved in the state file under its key.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from reconciler.sandbox.base import Emulator, Faults
from reconciler.sandbox.cronofy import CronofyEmulator
from reconciler.sandbox.lineworks import PREFIX as LINEWORKS_PREFIX
from reconciler.sandbox.lineworks import LineWorksEmulator
from reconciler.sandbox.onlyoffice import OnlyOfficeEmulator
from reconciler.sandbox.seed import seed_cronofy, seed_lineworks, seed_onlyoffice

if TYPE_CHECKING:
    from reconciler.sandbox.serving import LoopServer

TOKENS = {"lineworks": "sandbox-lineworks-token", "onlyoffice": "sandbox-onlyoffice-token",
          "cronofy": "sandbox-cronofy-token"}
STATE_VERSION = 1


@dataclass(frozen=True)
class Endpoint:
    """Where a provider type's emulator listens, and the token it accepts."""

    base_url: str
    token: str


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
        record_requests: bool = True,
        exclusive: bool = True,
        tenants: Mapping[str, str] | None = None,
    ) -> None:
        """``record_requests=False`` when nobody will read the emulators' request logs (a
        command's own sandbox, ``sandbox serve``): they then stay empty instead of growing
        with every request, and :meth:`request_count` and :meth:`write_count` say 0.
        ``exclusive=False`` for a sandbox that never saves (``sandbox serve --no-save``): it
        cannot discard another process's writes, so it does not hold the state file.
        ``tenants`` maps a key (not a type name) to a provider type: an emulator each, keyed
        so in :meth:`endpoints` and in the state file."""
        self.state_file = state_file
        self.lineworks = LineWorksEmulator(TOKENS["lineworks"], faults, rate_limit=rate_limit)
        self.onlyoffice = OnlyOfficeEmulator(TOKENS["onlyoffice"], faults)
        self.cronofy = CronofyEmulator(TOKENS["cronofy"], faults)
        self.emulators: dict[str, Emulator] = {"lineworks": self.lineworks,
                                               "onlyoffice": self.onlyoffice,
                                               "cronofy": self.cronofy}
        self._types = {name: name for name in self.emulators}  # emulator key -> its type
        self._seeders: dict[str, Callable[[], None]] = {
            "lineworks": lambda: seed_lineworks(self.lineworks),
            "onlyoffice": lambda: seed_onlyoffice(self.onlyoffice),
            "cronofy": lambda: seed_cronofy(self.cronofy),
        }
        makers: dict[str, Callable[[], Emulator]] = {
            "lineworks": lambda: LineWorksEmulator(TOKENS["lineworks"], faults,
                                                   rate_limit=rate_limit),
            "onlyoffice": lambda: OnlyOfficeEmulator(TOKENS["onlyoffice"], faults),
            "cronofy": lambda: CronofyEmulator(TOKENS["cronofy"], faults),
        }
        for key, provider_type in (tenants or {}).items():
            if key in self.emulators:
                raise ValueError(f"tenant key {key!r} is taken by a provider type")
            self.emulators[key] = makers[provider_type]()
            self._types[key] = provider_type
            self._seeders[key] = lambda: None  # a further tenant starts as an empty one
        for emulator in self.emulators.values():
            emulator.record_requests = record_requests
        self._prefixes = {"lineworks": LINEWORKS_PREFIX, "onlyoffice": "", "cronofy": ""}
        self._server: LoopServer | None = None
        self._ports: dict[str, int] = {}
        self._lock: IO[str] | None = None
        self._exclusive = exclusive
        self._loaded: float | None = None  # the state file's mtime when it was read
        if state_file is not None and state_file.exists():
            self._load(state_file)
        elif seed:
            for seeder in self._seeders.values():
                seeder()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Sandbox:
        # Imported here, not at the top: aiohttp takes ~0.1 s to import, which commands run
        # against real APIs (they import this module for --sandbox) should not pay.
        from reconciler.sandbox.serving import LoopServer

        self.stop()
        if self.state_file is not None and self._exclusive and self._lock is None:
            self._lock = _lock_state(self.state_file)
            if self.state_file.exists() and self.state_file.stat().st_mtime != self._loaded:
                self._load(self.state_file)  # saved by another process since it was read
        self._server = LoopServer()
        self._ports = self._server.start(dict(self.emulators))
        return self

    def stop(self) -> None:
        """Stop serving and release the state file to other processes (call :meth:`save`
        first). While it serves, a sandbox holds its state file (see :func:`_lock_state`)."""
        if self._server is not None:
            self._server.stop()
            self.release()
        self._server, self._ports = None, {}

    def release(self) -> None:
        """Let another process use the state file (see :func:`_lock_state`)."""
        if self._lock is not None:
            self._lock.close()  # closing the descriptor drops the lock
            self._lock = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- endpoints ------------------------------------------------------------------------
    def endpoints(self) -> dict[str, Endpoint]:
        """Base URL and token of every emulator, once started: by provider type, and by
        their keys for the tenants."""
        result: dict[str, Endpoint] = {}
        for name, port in self._ports.items():
            kind = self._types[name]
            result[name] = Endpoint(f"http://127.0.0.1:{port}{self._prefixes[kind]}",
                                    TOKENS[kind])
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
            self._loaded = path.stat().st_mtime
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


def _lock_state(state_file: Path) -> IO[str] | None:
    """An exclusive lock on ``state_file`` for this process, held until released: two
    processes on one state file (``sandbox serve`` and a ``--sandbox`` command) would each
    save their own copy on exit, and the later save would discard the other's writes. So
    the second one is refused, naming the first. None where locks are not available."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; the risk is as before
        return None
    path = state_file.with_name(state_file.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise SandboxStateError(
            f"{state_file}: the sandbox state is in use by {holder}; its changes would be "
            "lost when both save. Stop it first, or give this command another state file "
            "(--sandbox-state, or --state for 'sandbox serve')") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"calrecon (pid {os.getpid()}: {' '.join(sys.argv[1:3]) or 'python'})")
    handle.flush()
    return handle
