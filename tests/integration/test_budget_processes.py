"""Four operating-system processes, one credential: their pacers draw on the credential's
ledger in the Cosmos stand-in and the Trello simulator (its own sliding-window limiter, over
real HTTP) answers no 429. The same four processes with a budget each — the ledger bypassed —
overrun it: this is the test that fails if the ledger is not shared.

The simulator's per-token limit is lowered (20 requests per 10 s) and the pacers declare the
same limit, so each process needs to send less than one request a second to overrun it
together: the outcome does not depend on how busy the machine is.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from collections.abc import Iterator
from threading import Event
from typing import Any

import httpx
import pytest

from simulators.common import serve
from simulators.trello import SeedConfig as TrelloSeed
from simulators.trello import create_app as trello_app

KEY, TOKEN = "ledgerkey0123456789abcd", "ledgertoken0123456789ab"
LIMIT, WINDOW_S = 20, 10.0
PROCESSES = 4
RUN_S = 25.0
#: how long a process may take to come up (imports, stores) before the run gives up on it
READY_TIMEOUT_S = 120.0


def _hammer(
    env: dict[str, str], url: str, shared: bool, credential: str, ready: queue.Queue[int], go: Event, start: Any
) -> dict[str, int]:
    """One process: once up, it says so on ``ready`` and waits for ``go``; then a pacer
    (8 callers) calls Trello without pause from ``start.value`` on (the same instant for all)."""
    from shared.config import settings_from_env
    from shared.contract.budget import InMemoryBudget, window_exact
    from shared.contract.limits import RateLimit
    from shared.contract.pacer import DeferChunk, Pacer
    from shared.store.budget_ledger import CosmosBudgetLedger
    from shared.store.stores import Stores

    async def main() -> dict[str, int]:
        stores = await Stores(settings_from_env(env)).start()
        limit = RateLimit(requests=LIMIT, per_seconds=WINDOW_S, burst=2, concurrency=8)
        params = window_exact(limit)
        budget = (
            CosmosBudgetLedger(stores.cosmos("eu")).budget(credential, params) if shared else InMemoryBudget(params)
        )
        pacer = Pacer(limit, budget=budget)
        served = 0
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            ready.put(1)
            if not await asyncio.to_thread(go.wait, READY_TIMEOUT_S):
                raise TimeoutError("the other processes did not come up")
            start_at = float(start.value)

            async def call() -> httpx.Response:
                return await client.get("/1/members/me", params={"key": KEY, "token": TOKEN})

            async def caller() -> None:
                nonlocal served
                while time.time() < start_at + RUN_S:
                    try:
                        await pacer.call(call)
                        served += 1
                    except DeferChunk as exc:  # the engine would re-enqueue the chunk
                        await asyncio.sleep(min(exc.delay_s, max(0.0, start_at + RUN_S - time.time())))

            await asyncio.sleep(max(0.0, start_at - time.time()))
            await asyncio.gather(*(caller() for _ in range(8)))
        await stores.close()
        return {"served": served, "throttled": pacer.throttled}

    return asyncio.run(main())


@pytest.fixture()
def trello() -> Iterator[str]:
    app = trello_app(TrelloSeed(boards=0, cards_per_board=0, members=1, api_key=KEY, extra_tokens={TOKEN: "owner"}))
    with serve(app) as url:
        httpx.post(
            f"{url}/_sim/limits",
            json={"limiters": {"token": {"limit": LIMIT, "window_s": WINDOW_S}}},
        ).raise_for_status()
        yield url


def _run(local_env: dict[str, str], url: str, *, shared: bool, credential: str) -> list[dict[str, int]]:
    httpx.post(f"{url}/_sim/stats/reset").raise_for_status()
    ctx = multiprocessing.get_context("spawn")
    # Every process is up (imports, stores) before any sends: each reports ready, then all
    # start at one instant (a fixed head start would wait longer than needed, or too little
    # on a busy machine).
    with ctx.Manager() as manager, ctx.Pool(PROCESSES) as pool:
        ready, go, start = manager.Queue(), manager.Event(), manager.Value("d", 0.0)
        pending = pool.starmap_async(_hammer, [(local_env, url, shared, credential, ready, go, start)] * PROCESSES)
        deadline, up = time.monotonic() + READY_TIMEOUT_S, 0
        while up < PROCESSES:
            if pending.ready():  # a process failed before it was up: raise its error
                return pending.get()
            assert time.monotonic() < deadline, f"{up} of {PROCESSES} processes up after {READY_TIMEOUT_S:.0f}s"
            try:
                up += ready.get(timeout=0.5)
            except queue.Empty:
                continue
        start.value = time.time() + 0.2
        go.set()
        return pending.get(timeout=READY_TIMEOUT_S + RUN_S)


def test_four_processes_on_one_ledger_get_no_429(local_env: dict[str, str], trello: str, stores: Any) -> None:
    results = _run(local_env, trello, shared=True, credential=f"trello:test-{time.time_ns()}")
    stats = httpx.get(f"{trello}/_sim/stats").json()
    assert stats["throttled"] == 0, (stats["by_status"], results)
    served = sum(r["served"] for r in results)
    # burst + rate × run: what the budget allows; a fair share of it was used by the four
    assert served <= LIMIT * (RUN_S / WINDOW_S + 1), served
    assert served >= 0.8 * (LIMIT - 1) * RUN_S / (WINDOW_S + 0.25), served


def test_four_processes_with_a_budget_each_overrun_the_vendor(
    local_env: dict[str, str], trello: str, stores: Any
) -> None:
    results = _run(local_env, trello, shared=False, credential="unused")
    stats = httpx.get(f"{trello}/_sim/stats").json()
    assert stats["throttled"] > 0, (stats["by_status"], results)
