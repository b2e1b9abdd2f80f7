"""Session fixtures: the three simulators, and each pair's first run computed once."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator

import pytest

from tests.pairs.scenario import Outcome, first_run, pair_id
from tests.pairs.world import Sim, running_sims


class Outcomes:
    """First run of each pair, computed on first use and kept for the session."""

    def __init__(self, sims: dict[str, Sim]) -> None:
        self.sims = sims
        self._done: dict[str, Outcome] = {}
        self._lock = asyncio.Lock()

    async def get(self, pair: tuple[str, str]) -> Outcome:
        async with self._lock:
            key = pair_id(pair)
            if key not in self._done:
                self._done[key] = await first_run(self.sims[pair[0]], self.sims[pair[1]])
            return self._done[key]


@pytest.fixture(scope="session")
def sims() -> Iterator[dict[str, Sim]]:
    # The simulators run in threads of this process: hand the GIL over sooner than the
    # 5 ms default, or every request waits for the switch interval.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        with running_sims() as running:
            yield running
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture(scope="session")
def outcomes(sims: dict[str, Sim]) -> Outcomes:
    return Outcomes(sims)
