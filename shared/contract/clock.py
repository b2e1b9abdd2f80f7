"""Injectable time: the pacer and the engine never call ``time``/``asyncio.sleep`` directly."""

from __future__ import annotations

import asyncio
import heapq
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a monotonic scale (for intervals)."""
        ...

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware UTC (for HTTP dates and timestamps)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock for tests: ``sleep`` advances time at once and records the request.

    Concurrent sleepers started at the same instant end at ``start + max(delays)``, not at
    the sum, so it models parallel waits well enough for pacer tests.
    """

    def __init__(self, start: float = 1000.0, wall: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self._t = start
        self._start = start
        self._wall = wall
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._t

    def now(self) -> datetime:
        return self._wall + timedelta(seconds=self._t - self._start)

    def advance(self, seconds: float) -> None:
        self._t += seconds

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        target = self._t + seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would
        self._t = max(self._t, target)


class EventClock:
    """Virtual time for simulations of many concurrent callers (pacers sharing a budget).

    ``sleep`` parks the caller until ``run`` advances time to its wake-up; ``run`` lets every
    ready task go first, then jumps to the earliest wake-up, so concurrent sleepers wake in
    time order at their own instants (``FakeClock`` ends them all at the longest delay).
    """

    def __init__(self, wall: datetime = datetime(2026, 1, 1, tzinfo=UTC), *, settle_steps: int = 64) -> None:
        self._t = 0.0
        self._wall = wall
        self._settle = settle_steps
        self._seq = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self._t

    def now(self) -> datetime:
        return self._wall + timedelta(seconds=self._t)

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._t + max(0.0, seconds), self._seq, future))
        await future

    async def run(self, until: float) -> None:
        """Advance virtual time to ``until``, waking sleepers in order (ready tasks run between)."""
        while True:
            for _ in range(self._settle):
                await asyncio.sleep(0)
            if not self._sleepers or self._sleepers[0][0] > until:
                self._t = until
                return
            wake, _, future = heapq.heappop(self._sleepers)
            self._t = max(self._t, wake)
            if not future.done():
                future.set_result(None)
