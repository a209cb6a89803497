"""Shared fixtures: a started sandbox, YAML written to disk, and a plan/apply driver.

Everything goes over real loopback HTTP to the emulators; nothing is mocked here.
"""

from __future__ import annotations

import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from reconciler import events
from reconciler.apply import ApplyReport, apply_plan
from reconciler.http import RetryPolicy
from reconciler.loader import load
from reconciler.plan import Plan
from reconciler.planner import make_plan
from reconciler.providers.onlyoffice import mapping as oo_mapping
from reconciler.providers.registry import build_providers
from reconciler.recurrence import normalize_rrule
from reconciler.sandbox.base import Faults
from reconciler.sandbox.server import Sandbox

# hypothesis profiles: "ci", the default, runs a fixed set of examples (derandomized: the
# same every run) of at least 200 per property; "thorough" searches wider, with new examples
# each run (pytest --hypothesis-profile thorough).
settings.register_profile("ci", max_examples=200, derandomize=True, deadline=None,
                          print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile("ci")

FAST_RETRIES = RetryPolicy(attempts=6, base_wait=0.01, max_wait=0.05, timeout=5.0)

PROVIDERS_YAML = """\
providers:
  works:
    type: lineworks
    token_env: LINEWORKS_TOKEN
  office:
    type: onlyoffice
    base_url: https://office.example.com
  people:
    type: cronofy
    profile_id: pro_test
"""


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """Empty the pure functions' caches before each test: a result cached by an earlier
    test would hide a changed function from this one (mutation testing forks workers from a
    process that has run the whole suite; see docs/testing.md)."""
    for cached in (normalize_rrule, events._utc_of, events._utc_text_of,
                   oo_mapping._utc_text, oo_mapping._api_time):
        cached.cache_clear()


@pytest.fixture
def listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback server that is not the sandbox: it accepts connections, keeps them, and
    never answers. Yields its ``host:port`` and the connections accepted so far."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}", accepted
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """An empty, started sandbox (no seed), stopped after the test."""
    with Sandbox(seed=False) as box:
        yield box


class Driver:
    """Loads YAML from a folder and runs plan/apply against one sandbox."""

    def __init__(self, box: Sandbox, folder: Path) -> None:
        self.box = box
        self.folder = folder
        self.policy = FAST_RETRIES  # a test may shorten the timeout, for slow answers

    def write(self, text: str, name: str = "calendars.yaml", with_providers: bool = True) -> Path:
        body = textwrap.dedent(text)
        if with_providers:
            body = PROVIDERS_YAML + body
        path = self.folder / name
        path.write_text(body)
        return path

    def providers(self, parallelism: int = 8) -> dict[str, Any]:
        loaded = load([self.folder])
        return build_providers(loaded.desired, sandbox=self.box.endpoints(),
                               policy=self.policy, parallelism=parallelism)

    def plan(self, parallelism: int = 8) -> Plan:
        loaded = load([self.folder])
        providers = self.providers(parallelism)
        try:
            return make_plan(loaded.desired, providers, parallelism)
        finally:
            for p in providers.values():
                p.close()

    def apply(self, plan: Plan | None = None, parallelism: int = 8) -> ApplyReport:
        plan = plan if plan is not None else self.plan(parallelism)
        providers = self.providers(parallelism)
        try:
            return apply_plan(plan, providers, parallelism)
        finally:
            for p in providers.values():
                p.close()

    def converge(self) -> ApplyReport:
        """Apply, then assert that the next plan is empty (the first law)."""
        report = self.apply()
        assert report.ok, [o.detail for o in report.outcomes if o.status != "applied"]
        again = self.plan()
        assert again.empty, again.to_dict()
        return report


@pytest.fixture
def driver(sandbox: Sandbox, tmp_path: Path) -> Driver:
    folder = tmp_path / "yaml"
    folder.mkdir()
    return Driver(sandbox, folder)


def lw_member(ident: str, kind: str, role: str) -> dict[str, str]:
    return {"id": ident, "type": kind, "role": role}


__all__ = ["FAST_RETRIES", "Driver", "Faults", "lw_member"]
