"""A bounded pool of worker threads for a plan's reads, with follow-up work and lanes.

Why threads: every read is a blocking ``httpx.Client`` call of a provider that is tens or
hundreds of milliseconds away; a thread per request in flight keeps the providers' code plain
and costs nothing a user waits for (docs/performance.md has the measurement that chose it).

Contract of :class:`TaskPool`:

- :meth:`~TaskPool.submit` queues ``fn(*args)`` in a lane; it may be called before
  :meth:`~TaskPool.run` and from inside a running task (follow-up work); a freed worker takes
  the oldest task of the next lane in turn, so one provider's long queue does not hold back
  another's reads;
- :meth:`~TaskPool.run` runs at most ``size`` tasks at a time and returns when all are done,
  the follow-ups included; the first failure is re-raised there, and tasks still queued after
  a failure are dropped (running ones finish first, so that no request is cut off midway).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Task = tuple[Callable[..., Any], tuple[Any, ...]]


class TaskPool:
    """See the module docstring."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._lanes: dict[Hashable, deque[Task]] = {}
        self._turns: deque[Hashable] = deque()  # lanes with queued tasks, next first
        self._running = 0
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., Any], *args: Any, lane: Hashable = None) -> None:
        """Queue ``fn(*args)`` in ``lane`` (see the module docstring)."""
        with self._changed:
            queue = self._lanes.setdefault(lane, deque())
            if not queue:
                self._turns.append(lane)
            queue.append((fn, args))
            self._start_queued()

    def run(self) -> None:
        """Run every task, follow-ups included; re-raise the first failure."""
        with ThreadPoolExecutor(self.size, thread_name_prefix="read") as executor, \
                self._changed:
            self._executor = executor
            self._start_queued()
            while self._running or (self._turns and self._error is None):
                self._changed.wait()
            self._executor = None
        if self._error is not None:
            raise self._error

    def _start_queued(self) -> None:
        """Hand queued tasks to free workers (the caller holds ``_changed``)."""
        while (self._executor is not None and self._error is None and self._turns
               and self._running < self.size):
            lane = self._turns.popleft()
            queue = self._lanes[lane]
            fn, args = queue.popleft()
            if queue:
                self._turns.append(lane)
            self._running += 1
            self._executor.submit(self._work, fn, args)

    def _work(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # re-raised by run(), in the caller's thread
            with self._changed:
                if self._error is None:
                    self._error = exc
        finally:
            with self._changed:
                self._running -= 1
                self._start_queued()
                self._changed.notify_all()
