"""Rate budgets in isolation (reconciler.pacing), on a fake clock: at most ``limit`` sends in
any ``per`` seconds, the server's hold obeyed, waits past the deadline refused, long waits
announced once."""

from __future__ import annotations

import logging
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.pacing import Budget, BudgetExhausted, BudgetSpec, Deadline


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def budget(limit: int, per: float, clock: Clock) -> Budget:
    return Budget("works", BudgetSpec(limit, per), clock=clock, sleep=clock.sleep)


def test_the_limit_goes_out_at_once_then_the_window_is_waited_for() -> None:
    clock = Clock()
    b = budget(3, 10.0, clock)
    assert [b.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.acquire() == 10.0 and clock.now == 1010.0
    clock.now += 4
    assert b.acquire() == 0.0 and b.acquire() == 0.0  # the sends of 1000 s have left it


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 8), per=st.floats(0.5, 60),
       gaps=st.lists(st.floats(0, 30), min_size=1, max_size=60))
def test_no_window_of_per_seconds_ever_holds_more_than_the_limit(
        limit: int, per: float, gaps: list[float]) -> None:
    clock = Clock()
    b = budget(limit, per, clock)
    sent = []
    for gap in gaps:
        clock.now += gap
        b.acquire()
        sent.append(clock.now)
    for i, start in enumerate(sent):
        inside = [t for t in sent[i:] if t < start + per]
        assert len(inside) <= limit, (start, inside)


def test_a_hold_from_the_server_stops_every_send_until_it_ends() -> None:
    clock = Clock()
    b = budget(100, 60.0, clock)
    b.acquire()
    b.hold(7.5)
    assert b.acquire() == 7.5


def test_a_wait_past_the_deadline_is_refused_without_waiting() -> None:
    clock = Clock()
    b = budget(1, 60.0, clock)
    b.acquire()
    with pytest.raises(BudgetExhausted, match=r"works rate budget \(1/min\) needs a wait of 60 s"):
        b.acquire(Deadline(30, clock=clock))
    assert clock.sleeps == []


def test_a_long_wait_is_announced_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    b = budget(1, 38.0, clock)
    b.acquire()
    caplog.set_level(logging.WARNING, "reconciler.pacing")
    b.acquire()
    assert [r.getMessage() for r in caplog.records] == [
        "waiting 38 s for the works rate budget (1/38 s)"]


def test_threads_share_one_budget() -> None:
    clock = Clock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.sleep(seconds)

    b = Budget("works", BudgetSpec(5, 60.0), clock=clock, sleep=sleep)
    threads = [threading.Thread(target=b.acquire) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.sleeps == []  # five fit; a sixth would wait
    assert b.acquire() == 60.0


def test_a_probe_goes_alone_and_the_answer_tells_what_is_left() -> None:
    clock = Clock()
    b = Budget("works", BudgetSpec(10, 60.0, probe=True), clock=clock, sleep=clock.sleep)
    b.acquire()  # the probe, at 1000 s
    others: list[float] = []
    waiter = threading.Thread(target=lambda: others.append(b.acquire()))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # held back until the probe's answer
    b.sync(remaining=2, reset=30)  # an earlier process spent 7 of this window
    waiter.join()
    assert others == [0.0]
    assert b.acquire() == 0.0  # the last one left
    assert b.acquire() == 31.0  # then the window's reset, and a second for its rounding


def test_an_answer_without_headers_ends_the_probe() -> None:
    clock = Clock()
    b = Budget("works", BudgetSpec(10, 60.0, probe=True), clock=clock, sleep=clock.sleep)
    b.acquire()
    b.sync(None, None)
    assert b.acquire() == 0.0
