"""GreenPool: bounded concurrency on one thread, follow-up tasks, failures, the helpers
task code uses (sleep, blocking calls, locks held across a wait, per-run resources), and the
loop it runs on (uvloop where installed, else asyncio's)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import greenlet
import pytest

from reconciler import greenio
from tests.conftest import Driver


def test_runs_at_most_size_tasks_at_once_and_all_of_them() -> None:
    pool = greenio.GreenPool(3)
    active, most, done = [0], [0], []

    def task(n: int) -> None:
        active[0] += 1
        most[0] = max(most[0], active[0])
        greenio.sleep(0.01)
        active[0] -= 1
        done.append(n)

    for n in range(10):
        pool.submit(task, n)
    pool.run()
    assert sorted(done) == list(range(10))
    assert most[0] == 3


def test_tasks_overlap_their_waits_on_one_thread() -> None:
    pool = greenio.GreenPool(8)
    order: list[str] = []
    threads: set[int] = set()

    def task(name: str, wait: float) -> None:
        threads.add(threading.get_ident())
        greenio.sleep(wait)
        order.append(name)

    pool.submit(task, "slow", 0.2)
    pool.submit(task, "fast", 0.0)
    pool.run()
    assert order == ["fast", "slow"]  # the slow task's wait did not hold the fast one up
    assert threads == {threading.get_ident()}


def test_a_task_may_submit_follow_ups() -> None:
    pool = greenio.GreenPool(2)
    seen: list[int] = []

    def task(depth: int) -> None:
        seen.append(depth)
        if depth < 3:
            pool.submit(task, depth + 1)

    pool.submit(task, 0)
    pool.run()
    assert seen == [0, 1, 2, 3]


def test_freed_slots_serve_the_lanes_in_turn() -> None:
    pool = greenio.GreenPool(1)
    order: list[str] = []
    for name in ("a1", "a2", "a3"):
        pool.submit(order.append, name, lane="a")
    for name in ("b1", "b2"):
        pool.submit(order.append, name, lane="b")
    pool.run()
    assert order == ["a1", "b1", "a2", "b2", "a3"]


def test_each_slot_runs_its_tasks_on_one_greenlet() -> None:
    # One greenlet per slot, not per task: a plan runs hundreds of short tasks.
    pool = greenio.GreenPool(2)
    seen: list[greenlet.greenlet] = []  # kept alive, so that no two share an id()

    def task() -> None:
        seen.append(greenlet.getcurrent())
        greenio.checkpoint()

    for _ in range(10):
        pool.submit(task)
    pool.run()
    assert len(seen) == 10 and len({id(g) for g in seen}) == 2


def test_tasks_that_never_wait_do_not_hold_up_a_waiting_task() -> None:
    pool = greenio.GreenPool(2)
    order: list[str] = []

    def waits() -> None:
        greenio.checkpoint()
        order.append("resumed")

    pool.submit(waits)
    for n in range(20):
        pool.submit(order.append, f"cpu{n}")
    pool.run()
    # Without a turn of the loop between tasks, all twenty would run before the resume.
    assert order.index("resumed") < 3
    assert len(order) == 21


def test_the_first_failure_is_raised_and_queued_tasks_are_dropped() -> None:
    pool = greenio.GreenPool(1)
    ran: list[int] = []

    def fails() -> None:
        raise ValueError("first")

    pool.submit(fails)
    for n in range(3):
        pool.submit(ran.append, n)
    with pytest.raises(ValueError, match="first"):
        pool.run()
    assert ran == []


def test_a_task_can_handle_a_failure_it_awaited() -> None:
    async def broken() -> None:
        raise KeyError("inside")

    caught: list[str] = []

    def task() -> None:
        try:
            greenio.await_(broken())
        except KeyError as exc:
            caught.append(str(exc))

    pool = greenio.GreenPool(1)
    pool.submit(task)
    pool.run()
    assert caught == ["'inside'"]


def test_blocking_calls_run_on_worker_threads() -> None:
    pool = greenio.GreenPool(2)
    where: list[bool] = []
    main = threading.get_ident()
    pool.submit(lambda: where.append(greenio.blocking(threading.get_ident) != main))
    pool.run()
    assert where == [True]
    assert greenio.blocking(threading.get_ident) == main  # outside a task: a plain call


def test_lock_held_across_a_wait_does_not_stall_the_loop() -> None:
    lock = greenio.Lock()
    pool = greenio.GreenPool(2)
    order: list[str] = []

    def holder() -> None:
        with lock:
            order.append("held")
            greenio.sleep(0.05)  # a request made under the lock (e.g. a login)
            order.append("released")

    def waiter() -> None:
        with lock:
            order.append("waiter")

    pool.submit(holder)
    pool.submit(waiter)
    pool.run()
    assert order == ["held", "released", "waiter"]


def test_a_task_waiting_for_the_lock_is_woken_by_the_release_not_polling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lock = greenio.Lock()
    pool = greenio.GreenPool(2)
    waits: list[greenlet.greenlet] = []  # the task of each wait
    waiting: list[greenlet.greenlet] = []
    real_await = greenio.await_

    def counting_await(awaitable: Any) -> Any:
        waits.append(greenlet.getcurrent())
        return real_await(awaitable)

    monkeypatch.setattr(greenio, "await_", counting_await)

    def holder() -> None:
        with lock:
            greenio.sleep(0.1)

    def waiter() -> None:
        waiting.append(greenlet.getcurrent())
        with lock:
            pass

    pool.submit(holder)
    pool.submit(waiter)
    pool.run()
    # One wait for the release (a poll every millisecond would make a hundred).
    assert 1 <= waits.count(waiting[0]) <= 2


def test_a_release_from_another_thread_wakes_a_waiting_task() -> None:
    lock = greenio.Lock()
    got: list[float] = []
    lock.__enter__()  # held by this thread, outside any task
    released = time.monotonic() + 0.05
    threading.Timer(0.05, lock.__exit__, (None, None, None)).start()

    def waiter() -> None:
        with lock:
            got.append(time.monotonic())

    pool = greenio.GreenPool(1)
    pool.submit(waiter)
    pool.run()
    assert len(got) == 1 and got[0] >= released - 0.01


def test_resources_are_per_run_and_closed_at_its_end() -> None:
    closed: list[int] = []

    class Resource:
        def __init__(self, n: int) -> None:
            self.n = n

        async def aclose(self) -> None:
            closed.append(self.n)

    made: list[int] = []

    def task() -> None:
        first = greenio.resource("key", lambda: Resource(len(made)))
        again = greenio.resource("key", lambda: Resource(99))
        assert first is again
        made.append(first.n)

    for _ in range(2):
        pool = greenio.GreenPool(2)
        pool.submit(task)
        pool.submit(task)
        pool.run()
    assert made == [0, 0, 2, 2]
    assert closed == [0, 2]


def test_await_outside_a_task_is_an_error() -> None:
    async def nothing() -> None:
        return None

    awaitable = nothing()
    with pytest.raises(RuntimeError, match="outside a GreenPool task"):
        greenio.await_(awaitable)
    awaitable.close()


def test_checkpoint_lets_other_tasks_run_between_pieces_of_work() -> None:
    pool = greenio.GreenPool(2)
    order: list[str] = []

    def long_work() -> None:
        order.append("piece 1")
        greenio.checkpoint()
        order.append("piece 2")

    pool.submit(long_work)
    pool.submit(order.append, "other")
    pool.run()
    assert order == ["piece 1", "other", "piece 2"]
    greenio.checkpoint()  # outside a task: nothing to yield to, and no error


def loop_type_in_a_task() -> str:
    seen: list[str] = []

    def task() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)
    pool = greenio.GreenPool(1)
    pool.submit(task)
    pool.run()
    return seen[0]


def test_runs_on_uvloop_where_installed_else_on_the_standard_loop(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    if greenio.uvloop is not None:
        assert loop_type_in_a_task().startswith("uvloop")
    monkeypatch.setattr(greenio, "uvloop", None)
    assert loop_type_in_a_task().startswith("asyncio")


TWO_PROVIDERS_WITH_EVENTS = """\
calendars:
  team:
    provider: works
    name: Team
    events:
      standup:
        summary: Standup
        start: 2027-03-01T09:00:00
        end: 2027-03-01T09:15:00
        timezone: Asia/Tokyo
  board:
    provider: office
    name: Board
    events:
      review:
        summary: Review
        start: 2027-03-02T10:00:00
        end: 2027-03-02T11:00:00
        timezone: Europe/Berlin
"""


def test_plans_over_the_wire_on_the_standard_loop_too(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver.write(TWO_PROVIDERS_WITH_EVENTS)
    on_default = driver.plan()
    monkeypatch.setattr(greenio, "uvloop", None)
    assert driver.plan().addresses == on_default.addresses
    driver.converge()  # apply, then an empty plan: both on the standard loop


def test_runs_from_inside_a_running_loop_on_a_thread_of_its_own() -> None:
    # An async application (or a notebook) calling calrecon: its loop already runs in this
    # thread, where a second loop cannot; the pool must still run, and block like a call.
    seen: list[tuple[bool, int]] = []

    def task() -> None:
        greenio.sleep(0.01)
        seen.append((greenio.in_task(), threading.get_ident()))

    def failing() -> None:
        raise ValueError("inside")

    async def caller() -> int:
        pool = greenio.GreenPool(2)
        for _ in range(3):
            pool.submit(task)
        pool.run()
        bad = greenio.GreenPool(2)
        bad.submit(failing)
        with pytest.raises(ValueError, match="inside"):
            bad.run()
        return threading.get_ident()

    caller_thread = asyncio.run(caller())
    assert len(seen) == 3 and all(in_task for in_task, _ in seen)
    assert {ident for _, ident in seen} != {caller_thread}


def test_plans_over_the_wire_from_inside_a_running_loop(driver: Driver) -> None:
    driver.write(TWO_PROVIDERS_WITH_EVENTS)
    expected = driver.plan().addresses

    async def caller() -> list[str]:
        addresses = driver.plan().addresses
        driver.converge()  # apply, then an empty plan, all from inside the loop
        return addresses

    assert expected and asyncio.run(caller()) == expected
