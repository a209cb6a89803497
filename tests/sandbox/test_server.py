"""Sandbox lifecycle: stop() ends every server, even when a server's loop wakes up and closes
itself before stop() has finished waking it."""

from __future__ import annotations

import time

import pytest

from reconciler.sandbox.server import Sandbox


def test_stop_survives_the_loop_closing_the_trigger_first(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    box = Sandbox(seed=False).start()
    trigger = box._servers["lineworks"].trigger
    wake = trigger._physical_pull

    def racing_pull() -> None:
        # As if a worker thread's pull woke the loop between stop() queueing its thunk and
        # writing its own byte: the loop runs the thunk, which closes the trigger.
        wake()
        deadline = time.monotonic() + 5
        while trigger._fds and time.monotonic() < deadline:
            time.sleep(0.01)
        wake()  # the trigger is closed now: this write fails

    monkeypatch.setattr(trigger, "_physical_pull", racing_pull)
    threads = list(box._threads)
    box.stop()
    assert not any(thread.is_alive() for thread in threads)
