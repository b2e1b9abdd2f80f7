"""``bounded`` frees garbage cycles while a large attachment streams (see its docstring)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator

from shared.engine.streams import bounded


class _Fragment:
    """Stands for an httpx Request/Response pair: a reference cycle holding a sent body."""

    def __init__(self) -> None:
        self.body = b"x" * 1024
        self.me = self


async def test_cycles_are_collected_every_few_megabytes_not_at_the_end() -> None:
    refs: list[weakref.ref[_Fragment]] = []
    alive_seen: list[int] = []

    async def source() -> AsyncIterator[bytes]:
        for _ in range(40):
            refs.append(weakref.ref(_Fragment()))  # garbage at once, but only a GC frees it
            alive_seen.append(sum(1 for r in refs if r() is not None))
            yield b"\0" * (1024 * 1024)

    enabled = gc.isenabled()
    gc.disable()  # only the collections `bounded` asks for
    try:
        sizes = [len(p) async for p in bounded(source(), 512 * 1024, collect_every=8 * 1024 * 1024)]
    finally:
        if enabled:
            gc.enable()
    assert sizes == [512 * 1024] * 80
    assert max(alive_seen) <= 9  # at most one collection window of dead fragments
    assert alive_seen[-1] < 40
