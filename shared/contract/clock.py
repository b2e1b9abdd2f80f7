"""Injectable time: the pacer and the engine never call ``time``/``asyncio.sleep`` directly."""

from __future__ import annotations

import asyncio
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
