"""Rate budgets, spent and never overdrawn: a client paces itself instead of meeting 429s.

A :class:`Budget` allows at most ``limit`` requests in *any* ``per`` seconds (a sliding
window over the times of the last ``limit`` sends), which keeps every fixed window a server
counts in within the limit too, wherever that window starts. The server's own word wins
over the local count: :meth:`Budget.hold` stops every send until a time the server named
(``rateLimit-remaining: 0`` with ``rateLimit-reset``, or a 429's ``Retry-After``), since
other applications of the same tenant may share the budget (providers.md L5).

Thread-safe: the plan's and apply's worker threads share one budget per provider and API.
A wait is spent outside the lock, so that one waiting thread never blocks the others'
bookkeeping. Waits longer than ``ANNOUNCE_FROM`` seconds are logged once ("waiting 38 s for
the lineworks rate budget").
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("reconciler.pacing")

ANNOUNCE_FROM = 3.0  # seconds: shorter waits are routine pacing, not news


@dataclass(frozen=True)
class BudgetSpec:
    """``limit`` requests per ``per`` seconds, counted per ``scope``: "api" (one budget per
    method and route, as LINE WORKS counts) or "provider" (one for all requests). With
    ``probe``, each budget's first request goes alone (see :class:`Budget`)."""

    limit: int
    per: float
    scope: str = "provider"
    probe: bool = False  # the server answers with rateLimit-* headers worth waiting for

    def describe(self) -> str:
        unit = {1.0: "s", 60.0: "min"}.get(self.per, f"{self.per:g} s")
        return f"{self.limit}/{unit}" + (" per API" if self.scope == "api" else "")


class Deadline:
    """One end for a whole run: no wait for a rate budget goes past it."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = None if seconds is None else clock() + seconds

    def left(self) -> float:
        """Seconds until the deadline (infinite without one)."""
        return float("inf") if self._end is None else self._end - self._clock()


class BudgetExhausted(Exception):
    """A wait for the budget would end past the run's deadline."""


class Budget:
    """See the module docstring."""

    def __init__(self, name: str, spec: BudgetSpec, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.spec = spec
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Condition()
        self._sent: list[float] = []  # send times within the last ``per`` seconds, sorted
        self._held_until = 0.0
        self._announced_until = 0.0
        # With ``spec.probe``, the first send goes alone and the others wait for its answer's
        # rate headers (:meth:`sync`): a new process does not know what earlier ones, or
        # other applications of the tenant, spent of the window.
        self._synced = not spec.probe
        self._probing = False

    def acquire(self, deadline: Deadline | None = None) -> float:
        """Block until a send is allowed, then count it; the seconds waited.
        :class:`BudgetExhausted` when the wait would end past ``deadline``."""
        waited = 0.0
        while True:
            with self._lock:
                while self._probing:  # the probe's answer tells how much is left
                    self._lock.wait(1.0)
                now = self._clock()
                self._forget(now)
                ready = self._held_until
                if len(self._sent) >= self.spec.limit:
                    # when only limit - 1 of the counted sends are still in the window
                    ready = max(ready, self._sent[-self.spec.limit] + self.spec.per)
                if ready <= now:
                    bisect.insort(self._sent, now)
                    if not self._synced:
                        self._probing = True
                    return waited
                wait = ready - now
                announce = wait >= ANNOUNCE_FROM and ready > self._announced_until + 1.0
                if announce:
                    self._announced_until = ready
            if deadline is not None and wait > deadline.left():
                raise BudgetExhausted(
                    f"the {self.name} rate budget ({self.spec.describe()}) needs a wait of "
                    f"{wait:.0f} s, past the run's deadline ({deadline.seconds:.0f} s; "
                    "see --deadline)")
            if announce:
                log.warning("waiting %.0f s for the %s rate budget (%s)", wait, self.name,
                            self.spec.describe())
            self._sleep(wait)
            waited += wait

    def hold(self, seconds: float) -> None:
        """The server says: nothing more for ``seconds``."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)

    def sync(self, remaining: int | None, reset: float | None) -> None:
        """An answer's ``rateLimit-remaining`` and ``rateLimit-reset`` (either None when it
        had none): sends the server counted that this budget did not (an earlier process's,
        another application's) are counted too, until the reset; none left holds every send
        until then. Ends a probe."""
        with self._lock:
            if remaining is not None and reset is not None:
                now = self._clock()
                # The server's reset is whole seconds, rounded down: a second more is safe.
                expires = now + reset + 1.0
                self._forget(now)
                missing = (self.spec.limit - remaining) - len(self._sent)
                for _ in range(max(0, missing)):
                    bisect.insort(self._sent, expires - self.spec.per)
                if remaining <= 0:
                    self._held_until = max(self._held_until, expires)
            self._synced = True
            self._probing = False
            self._lock.notify_all()

    def _forget(self, now: float) -> None:
        """Drop the sends that have left the window (the caller holds the lock)."""
        while self._sent and self._sent[0] + self.spec.per <= now:
            self._sent.pop(0)
