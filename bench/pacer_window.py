"""Pacers against a vendor's sliding window, in virtual time: share of the limit, 429s.

N worker processes (each with its own pacer, 8 concurrent callers calling without pause,
50 ms per request) against the simulators' own limiters — Asana's ``CountingWindowLimiter``
(1,500 per 60 s per token, refused requests count too) and Trello's ``WindowLimiter``
(100 per 10 s per token) — under three policies:

- ``bucket``: each process's token bucket alone (``Pacer`` without a budget): burst + rate ×
  window can exceed the window, and N processes send N times the rate;
- ``own ledger``: a window-exact budget per process (what a ledger that is not shared gives);
- ``shared``: one window-exact budget for all processes (``InMemoryBudget``: the arithmetic
  of the Cosmos ledger, ``shared.store.budget_ledger``, without the round trips).

Time is virtual (``EventClock``): a 3-minute run takes seconds and nothing depends on the
machine's load. Figures only. Run: ``python -m bench.pacer_window [processes] [windows]``.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Callable

from shared.contract.budget import InMemoryBudget, SharedBudget, window_exact
from shared.contract.clock import EventClock
from shared.contract.limits import RateLimit
from shared.contract.pacer import DeferChunk, Pacer
from shared.errors import ThrottledError
from simulators.asana.gate import CountingWindowLimiter
from simulators.common import WindowLimiter

VENDORS: dict[str, tuple[RateLimit, int, float, type[WindowLimiter]]] = {
    # name: (Ferry's declared limit, the vendor's limit, its window, its limiter)
    "asana": (RateLimit(requests=1500, per_seconds=60, burst=25, concurrency=8), 1500, 60.0, CountingWindowLimiter),
    "trello": (RateLimit(requests=90, per_seconds=10, burst=9, concurrency=8), 100, 10.0, WindowLimiter),
}


class _Monotonic:
    def __init__(self, clock: EventClock) -> None:
        self.clock = clock

    def monotonic(self) -> float:
        return self.clock.monotonic()


async def simulate(
    limit: RateLimit,
    vendor: WindowLimiter,
    budgets: Callable[[], SharedBudget | None],
    processes: int,
    seconds: float,
) -> tuple[int, int, list[Pacer]]:
    """Requests served and refused by ``vendor`` in ``seconds`` of virtual time."""
    clock: EventClock = vendor.clock.clock  # type: ignore[attr-defined]
    served = refused = 0

    async def request() -> str:
        nonlocal refused
        await clock.sleep(0.05)
        wait = vendor.hit("token")
        if wait is not None:
            refused += 1
            raise ThrottledError(retry_after=max(1.0, wait))
        return "ok"

    async def caller(pacer: Pacer) -> None:
        nonlocal served
        while clock.monotonic() < seconds:
            try:
                await pacer.call(request)
                served += 1
            except DeferChunk as exc:
                await clock.sleep(exc.delay_s)  # the engine re-enqueues the chunk this long

    pacers = [Pacer(limit, clock=clock, rng=random.Random(n), budget=budgets()) for n in range(processes)]
    tasks = [asyncio.create_task(caller(p)) for p in pacers for _ in range(8)]
    await clock.run(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return served, refused, pacers


async def main(processes: int, windows: int) -> None:
    print(f"pacer_window: {processes} process(es) × 8 callers, 50 ms per request, {windows} windows, virtual time")
    print(
        f"{'vendor':<7} {'policy':<11} {'served':>7} {'share of limit':>15} {'429s':>6} "
        f"{'ledger calls/req':>17} {'slots dropped':>14}"
    )
    for name, (limit, vendor_limit, window, limiter) in VENDORS.items():
        for policy in ("bucket", "own ledger", "shared"):
            clock = EventClock()
            vendor = limiter(vendor_limit, window, _Monotonic(clock))  # type: ignore[arg-type]
            shared = InMemoryBudget(window_exact(limit))
            own: list[InMemoryBudget] = []

            def budgets(
                policy: str = policy,
                shared: InMemoryBudget = shared,
                limit: RateLimit = limit,
                own: list[InMemoryBudget] = own,
            ) -> SharedBudget | None:
                if policy == "bucket":
                    return None
                if policy == "shared":
                    return shared
                own.append(InMemoryBudget(window_exact(limit)))
                return own[-1]

            served, refused, pacers = await simulate(limit, vendor, budgets, processes, windows * window)
            ledgers = [shared] if policy == "shared" else own
            calls = sum(b.reservations for b in ledgers)
            dropped = sum(p.slots.dropped for p in pacers if p.slots is not None)
            share = served / (vendor_limit * windows)
            print(
                f"{name:<7} {policy:<11} {served:7d} {share:15.1%} {refused:6d} "
                f"{calls / max(served, 1):17.2f} {dropped:14d}"
            )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(args[0] if args else 4, args[1] if len(args) > 1 else 3))
