"""Pacer sustain: how much of a vendor limit one pacer uses, and how many 429s it gets.

The destination is the memory vendor enforcing a fixed-window limit with 50–200 ms latency
per request (real clock). The documented limit is 1,500 requests/min (Asana's standard
plan); for speed the window is scaled to 150 requests / 6 s (same rate, 25 req/s) and the
run lasts a few windows. Goals: ≥ 95 % of the limit sustained, ≤ 0.5 % of requests
answered 429. Run: ``python -m bench.pacer_sustain [windows] [workers]``. No assertions.
"""
from __future__ import annotations

import asyncio
import random
import sys
import time

from shared.connectors.memory import MemoryVendor, VendorLimits
from shared.engine.clock import SystemClock
from shared.engine.limits import RateLimit
from shared.engine.pacer import DeferChunk, Pacer

LIMIT, WINDOW_S = 150, 6.0  # 1,500/min scaled to a 6 s window


async def main(windows: int, workers: int) -> None:
    rng = random.Random(5)
    clock = SystemClock()
    vendor = MemoryVendor(clock=clock, limits=VendorLimits(
        latency_s=0.05, latency_jitter_s=0.15, requests_per_window=LIMIT, window_s=WINDOW_S),
        rng_jitter=rng.random)
    pacer = Pacer(RateLimit(requests=LIMIT, per_seconds=WINDOW_S, burst=2, concurrency=8),
                  clock=clock, rng=rng)
    duration = windows * WINDOW_S
    stop_at = time.monotonic() + duration
    ok = deferred = 0

    async def request() -> None:
        await vendor.enter("read")

    async def worker() -> None:
        nonlocal ok, deferred
        while time.monotonic() < stop_at:
            try:
                await pacer.call(request)
                ok += 1
            except DeferChunk as exc:  # in the engine: chunk back on the queue
                deferred += 1
                await asyncio.sleep(min(exc.delay_s, max(0.0, stop_at - time.monotonic())))

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.monotonic() - t0
    allowed = LIMIT / WINDOW_S * elapsed
    attempts = ok + vendor.throttled
    print(f"pacer_sustain: limit {LIMIT}/{WINDOW_S:.0f}s (1,500/min scaled x0.1 in time), "
          f"latency 50-200 ms, {workers} workers, {elapsed:.1f}s ({windows} windows)")
    print(f"  served={ok}  allowed≈{allowed:.0f}  sustained={ok / allowed:6.1%} (goal ≥ 95%)  "
          f"429s={vendor.throttled} share={vendor.throttled / max(attempts, 1):6.2%} "
          f"(goal ≤ 0.5%)  defers={deferred}  final rate factor={pacer.rate_factor:.2f}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(args[0] if args else 3, args[1] if len(args) > 1 else 16))
