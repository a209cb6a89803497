"""The plan's task pool (reconciler.tasks): bounded, follow-up work, lanes in turn, the first
failure re-raised and the queue dropped after it."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.tasks import TaskPool


def test_at_most_size_tasks_run_at_once_and_follow_ups_run_too() -> None:
    pool = TaskPool(3)
    lock = threading.Lock()
    running = {"now": 0, "most": 0}
    done: list[int] = []

    def task(n: int) -> None:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.01)
        with lock:
            running["now"] -= 1
            done.append(n)
        if n < 10:
            pool.submit(task, n + 10)  # follow-up work from inside a task

    for n in range(10):
        pool.submit(task, n)
    pool.run()
    assert sorted(done) == list(range(20))
    assert running["most"] == 3


def test_lanes_take_turns() -> None:
    pool = TaskPool(1)
    order: list[str] = []
    for n in range(3):
        pool.submit(order.append, f"a{n}", lane="a")
    for n in range(3):
        pool.submit(order.append, f"b{n}", lane="b")
    pool.run()
    assert order == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_the_first_failure_is_raised_and_the_queue_dropped() -> None:
    pool = TaskPool(1)
    ran: list[int] = []

    def fail() -> None:
        raise ValueError("read failed")

    pool.submit(fail)
    for n in range(5):
        pool.submit(ran.append, n)
    with pytest.raises(ValueError, match="read failed"):
        pool.run()
    assert ran == []
