"""Rollback on the real Cosmos stand-in ports (id map pages, run state) over memory vendors:
the destination ends as it was before the run, a second rollback changes nothing, and a
later full run recreates everything."""

from __future__ import annotations

import uuid
from typing import Any

from shared.connectors.memory import MemoryReader, MemoryVendor, MemoryWriter, seed_project
from shared.contract.model import Kind
from shared.contract.runs import RunStatus
from shared.engine.chunk import ChunkRunner
from shared.engine.inmemory import InMemoryQueue, drain
from shared.engine.plan import RunSettings, begin
from shared.engine.ports import IdMapEntry, IdState
from shared.migrations.ports_cosmos import CosmosIdMap, CosmosRunState, RunsRepository
from shared.tenancy.context import TenantContext

KINDS = tuple(Kind)


class Setup:
    def __init__(self, stores: Any) -> None:
        self.ctx = TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")
        self.mig = f"mig_{uuid.uuid4().hex[:8]}"
        self.src, self.dst = MemoryVendor(name="src"), MemoryVendor(name="dst")
        self.dst.add_workspace("dws", "Destination")
        for scope in ("p1", "p2"):
            seed_project(self.src, project=scope, tasks=7)
        self.id_map = CosmosIdMap(self.ctx, self.mig)
        self.state = CosmosRunState(self.ctx, self.mig)
        self.queue = InMemoryQueue()
        self.n = 0

    async def run(self, mode: str) -> tuple[RunStatus, dict[str, int]]:
        self.n += 1
        run_id = f"run{self.n:03d}"
        await self.ctx.repo(RunsRepository).create(
            {"id": run_id, "migrationId": self.mig, "mode": mode, "status": "queued", "counts": {}}
        )
        settings = RunSettings(
            tenant_id=self.ctx.tenant_id,
            migration_id=self.mig,
            run_id=run_id,
            dest_workspace="dws",
            page_size=3,
            mode=mode,
        )  # type: ignore[arg-type]
        runner = ChunkRunner(
            reader=MemoryReader(self.src),
            writer=MemoryWriter(self.dst),
            id_map=self.id_map,
            run_state=self.state,
            queue=self.queue,
            settings=settings,
        )
        for msg in await begin(self.state, settings, ["p1", "p2"]):
            await self.queue.enqueue(msg)
        await drain(self.queue, runner.run)
        return await self.state.get_status(run_id), await self.state.get_counts(run_id)


async def test_rollback_on_cosmos_restores_the_destination(stores: Any) -> None:
    s = Setup(stores)
    before = {k: set(s.dst.items[k]) for k in KINDS}
    status, counts = await s.run("full")
    assert status is RunStatus.SUCCEEDED
    created = {k: s.dst.count(k) for k in KINDS}
    assert counts["task.created"] == created[Kind.TASK] == s.src.count(Kind.TASK)
    depths = {e.source_id: e.depth async for e in s.id_map.list(s.mig, scope="p1") if e.kind is Kind.TASK}
    assert depths["p1-t0-sub"] == 1 and depths["p1-t0"] == 0
    assert await s.id_map.max_depth(s.mig, scope="p1", kind=Kind.TASK) == 1

    status, counts = await s.run("rollback")
    assert status is RunStatus.SUCCEEDED, counts
    assert {k: set(s.dst.items[k]) for k in KINDS} == before
    assert {k: counts.get(f"{k}.deleted", 0) for k in KINDS} == created
    entries = [e async for e in s.id_map.list(s.mig)]
    assert entries and all(e.state is IdState.ROLLED_BACK and e.dest_id is None for e in entries)

    writes = s.dst.writes
    status, counts = await s.run("rollback")
    assert status is RunStatus.SUCCEEDED and counts == {} and s.dst.writes == writes

    status, counts = await s.run("full")
    assert status is RunStatus.SUCCEEDED and counts["task.created"] == s.src.count(Kind.TASK)
    assert {k: s.dst.count(k) for k in KINDS} == created


async def test_keyset_pages_by_depth_and_source_id(stores: Any) -> None:
    s = Setup(stores)
    for n, (sid, depth) in enumerate([("b", 0), ("a", 1), ("c", 0), ("d/e?", 2), ("e", 0)]):
        await s.id_map.put(
            IdMapEntry(
                migration_id=s.mig,
                kind=Kind.TASK,
                source_id=sid,
                scope="p",
                marker=f"m{n}",
                state=IdState.DONE,
                dest_id=f"d{n}",
                depth=depth,
                adopted=sid == "e",
            )
        )
    await s.id_map.put(
        IdMapEntry(
            migration_id=s.mig, kind=Kind.LABEL, source_id="l", scope="p", marker="ml", state=IdState.DONE, dest_id="dl"
        )
    )
    assert await s.id_map.max_depth(s.mig, scope="p", kind=Kind.TASK) == 2
    assert await s.id_map.max_depth(s.mig, scope="other", kind=Kind.TASK) == 0
    top = await s.id_map.page(s.mig, scope="p", kind=Kind.TASK, depth=0, after=None, limit=2)
    assert [e.source_id for e in top] == ["b", "c"]
    rest = await s.id_map.page(s.mig, scope="p", kind=Kind.TASK, depth=0, after="c", limit=2)
    assert [e.source_id for e in rest] == ["e"] and rest[0].adopted
    every = await s.id_map.page(s.mig, scope="p", kind=Kind.TASK, depth=None, after="a", limit=10)
    assert [e.source_id for e in every] == ["b", "c", "d/e?", "e"]
