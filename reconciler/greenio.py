"""Blocking-style code, run concurrently on one asyncio loop in the calling thread.

Why: a plan's reads are hundreds of small requests, and with one thread per request in flight
the threads spend much of their CPU handing the GIL to each other (about a third of a large
plan's CPU, measured in ``benchmarks/``). Here every task is a greenlet on one thread; when it
sends a request it hands its coroutine to the loop (:func:`await_`) and the loop runs other
tasks until the answer is in. The providers keep their plain, blocking-style read code.

Contract of :class:`GreenPool`:

- :meth:`~GreenPool.submit` queues ``fn(*args)`` in a lane; it may be called before
  :meth:`~GreenPool.run` and from inside a running task (follow-up work); freed slots serve
  the lanes in turn, each lane first in, first out;
- :meth:`~GreenPool.run` runs at most ``size`` tasks at a time on a new event loop in the calling
  thread and returns when all are done; the first failure is re-raised there, and tasks still
  queued after a failure are dropped (running ones finish). Called from a thread that already
  runs an event loop (an async application, a notebook), where a second loop cannot run, it
  runs them on a thread of its own and blocks the caller until they are done, as any blocking
  call does;
- code in a task may call :func:`await_` (wait for a coroutine), :func:`sleep`,
  :func:`checkpoint` (let the others run a moment, between pieces of long CPU work) and
  :func:`blocking` (a blocking call on a worker thread, so that other tasks go on);
- :func:`resource` gives a task the loop-bound object stored under a key for this run (e.g. a
  connection pool), closed with ``aclose()`` when the run ends.

Rule for task code: never hold a ``threading.Lock`` across a request. Another task of the same
thread that waits for it would block the loop, and so the task holding it, for ever. Where a lock
must be held across a request, use :class:`Lock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import greenlet

try:
    import uvloop
except ImportError:  # not built for every platform (Windows): the standard loop does the same
    uvloop = None  # type: ignore[assignment]  # tested before use

T = TypeVar("T")


class AsyncClosable(Protocol):
    async def aclose(self) -> None: ...


R = TypeVar("R", bound=AsyncClosable)


class _Worker(greenlet.greenlet):
    """One slot of a pool: a greenlet that runs queued tasks one after another (one greenlet
    per slot, not per task: making and entering a greenlet, and the loop's turn between, cost
    a read about a sixth of its CPU). ``driver`` is the loop's greenlet, which awaits on its
    behalf; ``waited`` tells whether the current task has waited yet."""

    def __init__(self, pool: GreenPool, driver: greenlet.greenlet) -> None:
        super().__init__(pool._run_tasks, driver)
        self.driver = driver
        self.pool = pool
        self.waited = False


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop: uvloop's where it is installed, else asyncio's, which does the same.
    Why uvloop: a plan's loop turns once or twice per answer, and with it a large no-op plan
    takes ~5% less CPU (benchmarks/, org-large); the sandbox's server loop gains alike."""
    return uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()


def _current() -> _Worker | None:
    current = greenlet.getcurrent()
    return current if isinstance(current, _Worker) else None


def in_task() -> bool:
    """Whether the caller runs in a :class:`GreenPool` task (so must not block the loop)."""
    return _current() is not None


def await_(awaitable: Awaitable[T]) -> T:
    """The result of ``awaitable``, from a task: the loop runs other tasks meanwhile."""
    task = _current()
    if task is None:
        raise RuntimeError("greenio.await_ called outside a GreenPool task")
    task.waited = True
    result: T = task.driver.switch(awaitable)
    return result


def sleep(seconds: float) -> None:
    """``time.sleep`` that lets other tasks run when called from a task."""
    if in_task():
        await_(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


def checkpoint() -> None:
    """From a task: let the loop handle what is ready (answers in, requests to send) before
    going on; elsewhere, nothing. Long CPU work calls it between pieces, so that it does not
    hold up the requests in flight."""
    if in_task():
        await_(asyncio.sleep(0))


def blocking(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``; from a task, on the run's worker threads so that other tasks go on
    (for code with no loop-friendly form, e.g. a transport given by a caller)."""
    task = _current()
    if task is None:
        return fn(*args)
    loop = task.pool.loop
    assert loop is not None
    return await_(loop.run_in_executor(task.pool.executor, fn, *args))


def resource(key: Hashable, make: Callable[[], R]) -> R:
    """The object stored under ``key`` for the current run, made by ``make()`` at first use;
    the run calls its ``aclose()`` when it ends."""
    task = _current()
    if task is None:
        raise RuntimeError("greenio.resource called outside a GreenPool task")
    found = task.pool.resources.get(key)
    if found is None:
        found = task.pool.resources[key] = make()
    return found  # type: ignore[return-value]  # stored under its key by this function


class Lock:
    """A lock that may be held across a request: from a task, waiting for it lets the loop
    run (the holder among them), and the release wakes the waiting tasks; elsewhere it blocks
    like ``threading.Lock``. Waiters are not served in order: each woken task tries again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Makes a task's failed try and its joining the waiters one step against a release,
        # so that no release can slip between them and leave the task asleep.
        self._guard = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def __enter__(self) -> Lock:
        if not in_task():
            self._lock.acquire()
            return self
        loop = asyncio.get_running_loop()
        while True:
            with self._guard:
                if self._lock.acquire(blocking=False):
                    return self
                woken: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, woken))
            await_(woken)

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            self._lock.release()
            waiters, self._waiters = self._waiters, []
        for loop, woken in waiters:
            # The holder may be another thread's task, or no task at all: wake through the
            # waiter's own loop. A loop already closed has no task left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake, woken)


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():  # a waiter cancelled meanwhile (its run failed) is left alone
        woken.set_result(None)


class GreenPool:
    """See the module docstring."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.executor: ThreadPoolExecutor | None = None
        self.resources: dict[Hashable, AsyncClosable] = {}
        self.error: BaseException | None = None
        self._lanes: dict[Hashable, deque[tuple[Callable[..., Any], tuple[Any, ...]]]] = {}
        self._turns: deque[Hashable] = deque()  # lanes with queued tasks, next first
        self._running = 0
        self._wake: asyncio.Event | None = None

    def submit(self, fn: Callable[..., Any], *args: Any, lane: Hashable = None) -> None:
        """Queue ``fn(*args)`` in ``lane``. A freed slot takes the oldest task of the next
        lane in turn, so that one lane's long queue does not hold back the others' tasks
        (the planner gives each provider a lane: one provider's CPU-only tasks then run
        between another's requests, not after all of them)."""
        queue = self._lanes.setdefault(lane, deque())
        if not queue:
            self._turns.append(lane)
        queue.append((fn, args))
        if self._wake is not None:
            self._wake.set()

    def _next(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        lane = self._turns.popleft()
        queue = self._lanes[lane]
        item = queue.popleft()
        if queue:
            self._turns.append(lane)
        return item

    def run(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: no loop runs in this thread
            self._run_here()
        else:
            crashed: list[BaseException] = []  # the loop's own failure, not a task's

            def run_there() -> None:
                try:
                    self._run_here()
                except BaseException as exc:
                    crashed.append(exc)

            thread = threading.Thread(target=run_there, name="greenio-run")
            thread.start()
            thread.join()
            if crashed:
                raise crashed[0]
        if self.error is not None:
            raise self.error

    def _run_here(self) -> None:
        """Run every task on a new loop in this thread; failures are left in ``error``."""
        loop = new_event_loop()
        self.loop = loop
        # Only for blocking(): a caller's own transport (a proxy's, a test's).
        self.executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="read")
        try:
            loop.run_until_complete(self._main())
        finally:
            try:
                loop.run_until_complete(self._close_resources())
            finally:
                self.executor.shutdown(wait=True)
                loop.close()
                self.loop = None

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        workers = [asyncio.ensure_future(self._worker()) for _ in range(self.size)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._wake = None

    async def _worker(self) -> None:
        """Drive one slot's greenlet: await each awaitable it hands over, until it ends."""
        slot = _Worker(self, greenlet.getcurrent())
        handed = slot.switch()
        while not slot.dead:
            try:
                value = await handed
            except BaseException:  # thrown into the task, where its own code may handle it
                handed = slot.throw(*sys.exc_info())
            else:
                handed = slot.switch(value)

    def _run_tasks(self) -> None:
        """A slot's greenlet: run queued tasks until none is queued and none is running (a
        running one may still submit more)."""
        slot = _current()
        assert slot is not None and self._wake is not None
        wake = self._wake
        while True:
            if not self._turns:
                if not self._running:
                    wake.set()  # all done: the waiting slots end as well
                    return
                wake.clear()
                await_(wake.wait())
                continue
            fn, args = self._next()
            self._running += 1
            slot.waited = False
            try:
                if self.error is None:
                    fn(*args)
            except greenlet.GreenletExit:
                raise
            except BaseException as exc:  # re-raised by run(), in the caller's frame
                self.error = self.error or exc
            finally:
                self._running -= 1
            if not slot.waited:
                # Taking the next task does not wait, so without this a run of tasks that
                # send nothing (CPU only) would hold the loop, and the answers in, until it
                # ends. A task that waited has let the loop run already: the next one goes
                # straight on, and its request leaves the sooner.
                await_(asyncio.sleep(0))

    async def _close_resources(self) -> None:
        resources, self.resources = list(self.resources.values()), {}
        for item in resources:
            await item.aclose()
