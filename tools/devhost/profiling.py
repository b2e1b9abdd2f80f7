"""CPU profile of a queue worker process, for finding where the worker's CPU goes.

``FERRY_PROFILE_DIR=DIR`` makes every queue worker of the local runner run under ``cProfile``
with a CPU-time clock (``time.process_time``, so time spent waiting for the network or for a
core on a busy machine is not charged to a function) and write ``DIR/queue-worker-<pid>.prof``
when it stops. Read one with ``python -m pstats`` or ``bench.profile_top``. Off by default:
cProfile slows a worker down several times over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROFILE_DIR_ENV = "FERRY_PROFILE_DIR"


@contextmanager
def profiled(name: str) -> Iterator[Path | None]:
    """Profile the block when ``FERRY_PROFILE_DIR`` is set; yields the file it will write."""
    directory = os.environ.get(PROFILE_DIR_ENV)
    if not directory:
        yield None
        return
    import cProfile
    import time

    target = Path(directory) / f"{name}-{os.getpid()}.prof"
    target.parent.mkdir(parents=True, exist_ok=True)
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    try:
        yield target
    finally:
        profile.disable()
        profile.dump_stats(target)
