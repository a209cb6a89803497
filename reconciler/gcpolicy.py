"""Fewer passes of the cyclic garbage collector while a plan reads and compares.

Why: reading a large organisation allocates hundreds of thousands of short-lived containers
(the decoded JSON of every answer). With CPython's default threshold (a pass every 700 net
allocations) the collector runs thousands of times during one plan, and each pass that reaches
the older generations walks the long-lived desired state too: about a fifth of a no-op plan's
CPU on ``benchmarks/run.py --scenario org-large``. These values hold no reference cycles, so
reference counting frees them the moment they are dropped; collecting rarely costs no memory.
(mypy raises its thresholds the same way for the same reason.)
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

THRESHOLD = (200_000, 20, 20)

_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Within the block: objects that exist at entry are frozen (never walked again) and
    collections are rare. Nested blocks are no-ops; the previous settings come back at exit,
    with the block's survivors moved to the oldest generation (as if they had survived the
    collections the default thresholds would have made), not left young."""
    global _depth
    with _lock:
        _depth += 1
        outer = _depth == 1
        if outer:
            previous = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if outer:
                # Left young, the survivors (e.g. a provider's decoded listing, kept for the
                # apply) would be walked by the very next collection: ~35 ms after a large
                # plan. freeze() then unfreeze() moves every generation to the oldest one.
                gc.freeze()
                gc.unfreeze()
                gc.set_threshold(*previous)
