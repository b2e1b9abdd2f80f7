"""Pacer sustain: how much of a vendor limit one pacer uses, and how many 429s it gets.

The destination is the memory vendor enforcing a fixed-window limit with 50–200 ms latency
per request (real clock). The documented limit is 1,500 requests/min (Asana's standard
plan); for speed the window is scaled to 150 requests / 6 s (same rate, 25 req/s) and the
run lasts a few windows. Goals: ≥ 95 % of the limit sustained, ≤ 0.5 % of requests
answered 429. Run: ``python -m bench.pacer_sustain [windows] [workers] [--http]``.
``--http`` puts a loopback HTTP server (uvicorn + Starlette, 429 with a ``Retry-After``
header) between the pacer and the limiter, so the httpx → ``raise_for_response`` path is
measured too. No assertions.
"""
from __future__ import annotations

import asyncio
import random
import sys
import time

from shared.connectors.memory import MemoryVendor, VendorLimits
from shared.contract.clock import SystemClock
from shared.contract.limits import RateLimit
from shared.contract.pacer import DeferChunk, Pacer

LIMIT, WINDOW_S = 150, 6.0  # 1,500/min scaled to a 6 s window


class LoopbackServer:
    """A tiny HTTP API in front of the vendor limiter, on a free loopback port."""

    def __init__(self, vendor: MemoryVendor) -> None:
        import socket

        import uvicorn
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from shared.errors import ThrottledError

        async def item(request: Request) -> JSONResponse:
            try:
                await vendor.enter("read")
            except ThrottledError as exc:
                return JSONResponse({"error": "RATE_LIMIT"}, status_code=429,
                                    headers={"Retry-After": f"{exc.retry_after or 1:.0f}"})
            return JSONResponse({"ok": True})

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/item", item)])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


async def main(windows: int, workers: int, http: bool = False) -> None:
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

    async def request() -> object:
        if client is not None:
            return await client.get(f"{base}/item")  # the pacer checks the response
        await vendor.enter("read")
        return None

    client = None
    base = ""
    server = LoopbackServer(vendor) if http else None
    if server is not None:
        import httpx

        base = await server.__aenter__()
        client = httpx.AsyncClient(timeout=10)
        stop_at = time.monotonic() + duration

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
    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        if client is not None and server is not None:
            await client.aclose()
            await server.__aexit__()
    elapsed = time.monotonic() - t0
    allowed = LIMIT / WINDOW_S * elapsed
    attempts = ok + vendor.throttled
    print(f"pacer_sustain: limit {LIMIT}/{WINDOW_S:.0f}s (1,500/min scaled x0.1 in time), "
          f"latency 50-200 ms, {workers} workers, {elapsed:.1f}s ({windows} windows), "
          f"{'loopback HTTP' if http else 'in-process'}")
    print(f"  served={ok}  allowed≈{allowed:.0f}  sustained={ok / allowed:6.1%} (goal ≥ 95%)  "
          f"429s={vendor.throttled} share={vendor.throttled / max(attempts, 1):6.2%} "
          f"(goal ≤ 0.5%)  defers={deferred}  final rate factor={pacer.rate_factor:.2f}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(args[0] if args else 3, args[1] if len(args) > 1 else 16,
                     http="--http" in sys.argv))
