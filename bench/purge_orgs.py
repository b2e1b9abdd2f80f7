"""Purge benchmark: destroy N inactive orgs (each with documents in every container, a run
log and an export blob) through the local stack; goal: 10,000 orgs in < 10 min, 0 left.

    .venv/bin/python bench/purge_orgs.py               # 10,000 orgs
    .venv/bin/python bench/purge_orgs.py --orgs 500    # a quick run

What runs is production code: the daily sweep (`sweep_inactive_orgs`) schedules a deletion
job per inactive org on the `deletions` queue, then `--consumers` queue consumers (as
Functions instances would, `batchSize` messages each) receive the jobs and run
`run_deletion_job`. A tenth as many active orgs are seeded alongside and must survive.
Leftovers are counted by one scan of every container and blob prefix. Prints figures and
ratios; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.purge_seed import isolated_settings, seed_org
from shared.config import QUEUE_DELETIONS
from shared.retention.deletion import handle_deletion_message
from shared.retention.purge import cosmos_order
from shared.retention.sweep import sweep_inactive_orgs
from shared.store.stores import Stores
from tools.stack import start_stack

BASE = datetime(2020, 1, 6, tzinfo=UTC)
GOAL_S = 600.0


def _env(stack: object) -> dict[str, str]:
    import os

    return {
        **stack.values(),
        "FERRY_OIDC_ISSUERS": "http://127.0.0.1:9",  # type: ignore[attr-defined]
        "FERRY_OIDC_AUDIENCE": "api://ferry-local",
        "FERRY_SETTINGS_FILE": os.devnull,
    }


async def _seed(stores: Stores, n: int, *, last_activity: datetime, concurrency: int) -> list[str]:
    semaphore = asyncio.Semaphore(concurrency)
    ids: list[str] = []

    async def one() -> None:
        async with semaphore:
            ids.append((await seed_org(stores, last_activity=last_activity, log_lines=5)).id)

    await asyncio.gather(*(one() for _ in range(n)))
    return ids


async def _consume(stores: Stores, *, consumers: int, batch: int, now: datetime) -> tuple[int, int]:
    """Receive and run deletion jobs like the host: a failed message becomes visible again
    after host.json's visibilityTimeout (5 s) and is retried; stop when the queue holds
    nothing, visible or not."""
    queue = stores.storage("eu").queue(QUEUE_DELETIONS)
    done = failed = 0
    in_flight = 0

    async def consumer() -> None:
        nonlocal done, failed, in_flight
        while True:
            msgs = [m async for m in queue.receive_messages(max_messages=batch, visibility_timeout=600)]
            if not msgs:
                props = await queue.get_queue_properties()
                if not props.approximate_message_count and not in_flight:
                    return
                await asyncio.sleep(0.5)
                continue

            async def handle(msg: object) -> None:
                nonlocal done, failed, in_flight
                in_flight += 1
                try:
                    outcomes = await handle_deletion_message(
                        stores,
                        json.loads(msg.content),  # type: ignore[attr-defined]
                        now=lambda: now,
                    )
                    done += outcomes.count("succeeded")
                    await queue.delete_message(msg)
                except Exception as exc:
                    failed += 1
                    print(f"  job failed (retried in 5 s): {type(exc).__name__}", file=sys.stderr, flush=True)
                    await queue.update_message(msg, visibility_timeout=5)
                finally:
                    in_flight -= 1

            await asyncio.gather(*(handle(m) for m in msgs))

    await asyncio.gather(*(consumer() for _ in range(consumers)))
    return done, failed


def _consumer_process(values: dict[str, str], consumers: int, batch: int, now_iso: str, out: object) -> None:
    """One Functions instance: its own process, stores and event loop."""
    from shared.config import settings_from_env

    async def run() -> tuple[int, int]:
        stores = Stores(settings_from_env(values))
        await stores.start()
        try:
            return await _consume(stores, consumers=consumers, batch=batch, now=datetime.fromisoformat(now_iso))
        finally:
            await stores.close()

    out.put(asyncio.run(run()))  # type: ignore[attr-defined]


async def _consume_in_processes(
    values: dict[str, str], processes: int, consumers: int, batch: int, now: datetime
) -> tuple[int, int]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_consumer_process, args=(values, consumers, batch, now.isoformat(), results))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    totals = [await asyncio.to_thread(results.get) for _ in procs]
    for p in procs:
        await asyncio.to_thread(p.join)
    return sum(t[0] for t in totals), sum(t[1] for t in totals)


async def _remaining(stores: Stores, tenant_ids: set[str]) -> dict[str, int]:
    """One scan of every container and blob prefix: how many items name these tenants."""
    found: dict[str, int] = {}
    for name in [*cosmos_order(), "deletions"]:
        items = stores.cosmos("eu").container(name).query_items("SELECT c.tenantId FROM c", max_item_count=1_000_000)
        count = sum([1 async for i in items if i.get("tenantId") in tenant_ids])
        if count:
            found[name] = count
    for container in ("logs", "exports"):
        count = sum(
            [
                1
                async for b in stores.storage("eu").container(container).list_blobs()
                if b.name.split("/", 1)[0] in tenant_ids
            ]
        )
        if count:
            found[f"blob:{container}"] = count
    return found


async def main(orgs: int, processes: int, consumers: int, batch: int, seed_concurrency: int) -> None:
    stack = start_stack(Path(tempfile.mkdtemp(prefix="ferry-purge-")) / "stack", fresh=True)
    try:
        stores = Stores(isolated_settings(stack))
        await stores.start()
        active_n = max(1, orgs // 10)
        t = time.perf_counter()
        inactive = await _seed(stores, orgs, last_activity=BASE, concurrency=seed_concurrency)
        active = await _seed(stores, active_n, last_activity=BASE + timedelta(days=60), concurrency=seed_concurrency)
        seed_s = time.perf_counter() - t
        active_before = await _remaining(stores, set(active))
        print(
            f"seeded {orgs} inactive + {active_n} active orgs in {seed_s:.1f} s "
            f"(each: ~17 documents in 14 containers, 1 log segment, 1 export blob)"
        )

        now = BASE + timedelta(days=91)
        t0 = time.perf_counter()
        report = await sweep_inactive_orgs(stores, "eu", now=lambda: now)
        t1 = time.perf_counter()
        if processes > 1:
            done, failed = await _consume_in_processes(_env(stack), processes, consumers, batch, now)
        else:
            done, failed = await _consume(stores, consumers=consumers, batch=batch, now=now)
        t2 = time.perf_counter()
        left = await _remaining(stores, set(inactive))
        active_after = await _remaining(stores, set(active))
        wall = t2 - t0
        print(f"sweep: {len(report.orgs_scheduled)} orgs scheduled in {t1 - t0:.1f} s")
        print(
            f"jobs: {done} succeeded, {failed} failed attempts, {processes} process(es) x {consumers} consumers"
            f" x batch {batch}, "
            f"{t2 - t1:.1f} s"
        )
        print(
            f"purge wall time (sweep + jobs): {wall:.1f} s for {orgs} orgs = {orgs / wall:.1f} orgs/s, "
            f"{wall / orgs * 1000:.1f} ms per org"
        )
        projected = wall / orgs * 10_000
        print(f"projected for 10,000 orgs: {projected:.0f} s; ratio to the 10-min goal: {projected / GOAL_S:.2f}")
        print(f"leftovers of purged orgs: {sum(left.values())} {left or ''} (goal 0)")
        print(f"active orgs untouched: {active_after == active_before} ({sum(active_after.values())} items)")
        await stores.close()
    finally:
        stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=1, help="worker processes (Functions instances)")
    parser.add_argument(
        "--consumers",
        type=int,
        default=2,
        help="queue consumers per process (the single-threaded Cosmos stand-in times out above ~4)",
    )
    parser.add_argument("--batch", type=int, default=1, help="messages per receive (a sweep message holds 500 orgs)")
    parser.add_argument("--seed-concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.orgs, args.processes, args.consumers, args.batch, args.seed_concurrency))
