"""CPU of the engine's own logic per record, with every port and vendor in memory.

What it measures: the chunk runner, item processor, adaptation and id-map decisions — the
code in ``shared.engine`` — with zero-latency memory vendors and in-memory id map, run state
and queue. What it does not measure: HTTP to vendors, the Azure SDK, Cosmos and Storage
round-trips, JSON on the wire, which are most of a real worker's CPU (issue 19 measured the
real worker at ~150× this figure). The real path is ``bench.e2e_budget``; this one is the
floor the engine itself adds, useful when changing engine code.

Run: ``python -m bench.engine_logic_cpu [tasks]``. Prints µs per migrated record (all
kinds) for a first run (everything created) and a re-run (everything unchanged). Figures
only, no assertions: machine load changes them.
"""

from __future__ import annotations

import asyncio
import sys
import time

from shared.connectors.memory import MemoryReader, MemoryVendor, MemoryWriter, seed_project
from shared.contract.clock import FakeClock
from shared.contract.model import Kind
from shared.engine.chunk import ChunkRunner
from shared.engine.inmemory import InMemoryIdMap, InMemoryQueue, InMemoryRunState, drain
from shared.engine.plan import RunSettings, first_messages


async def one_run(
    src: MemoryVendor, dst: MemoryVendor, id_map: InMemoryIdMap, run_id: str, scopes: list[str]
) -> tuple[float, float, int]:
    clock = FakeClock()
    state, queue = InMemoryRunState(), InMemoryQueue()
    settings = RunSettings(
        tenant_id="t", migration_id="bench", run_id=run_id, dest_workspace="dws", page_size=100, item_concurrency=16
    )
    runner = ChunkRunner(
        reader=MemoryReader(src),
        writer=MemoryWriter(dst),
        id_map=id_map,
        run_state=state,
        queue=queue,
        settings=settings,
        clock=clock,
    )
    await state.start(run_id, scopes)
    for msg in first_messages(settings, scopes):
        await queue.enqueue(msg)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await drain(queue, runner.run)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    items = sum(
        v
        for k, v in state.counts[run_id].items()
        if k.split(".")[0] in {x.value for x in Kind}
        and k.endswith((".created", ".updated", ".unchanged", ".reconciled"))
    )
    return wall, cpu, items


async def main(tasks: int) -> None:
    src, dst = MemoryVendor(name="src"), MemoryVendor(name="dst")
    dst.add_workspace("dws", "Destination")
    scopes = [f"p{i}" for i in range(4)]
    for scope in scopes:
        seed_project(src, project=scope, tasks=tasks // len(scopes), attachment_size=2048)
    id_map = InMemoryIdMap()
    print(
        f"engine_logic_cpu: {len(scopes)} projects, {sum(src.count(k) for k in Kind)} records "
        "(tasks, subtasks, comments, labels, sections, attachments), zero latency"
    )
    for label, run_id in (("first run (create)", "r1"), ("re-run (unchanged)", "r2")):
        wall, cpu, items = await one_run(src, dst, id_map, run_id, scopes)
        us = cpu / max(items, 1) * 1e6
        print(
            f"  {label:20s} items={items:6d} wall={wall:6.2f}s cpu={cpu:6.2f}s "
            f"cpu/item={us:7.1f} µs (engine logic only)"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
