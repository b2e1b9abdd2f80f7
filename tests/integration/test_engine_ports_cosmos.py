"""The engine's ports on the Cosmos stand-in and Azurite: the semantics the chunk runner relies on."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contract.model import Kind
from shared.contract.runs import RunStatus
from shared.engine.ports import (
    Checkpoint,
    ChunkMessage,
    Claim,
    IdMapEntry,
    IdState,
    ItemReport,
    ItemStatus,
    Phase,
)
from shared.migrations.ports_cosmos import CosmosIdMap, CosmosRunState, RunItemsRepository, RunsRepository
from shared.tenancy.context import TenantContext


def _ctx(stores: Any) -> TenantContext:
    return TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")


async def _new_run(ctx: TenantContext, run_id: str) -> None:
    await ctx.repo(RunsRepository).create({"id": run_id, "status": "queued", "counts": {}})


async def test_id_map_round_trip_with_awkward_ids(stores: Any) -> None:
    ctx = _ctx(stores)
    ids = CosmosIdMap(ctx, "mig1")
    awkward = ["a/b?c#d", "ünï", "x" * 300, "plain"]
    for n, sid in enumerate(awkward):
        await ids.put(
            IdMapEntry(
                migration_id="mig1",
                kind=Kind.TASK,
                source_id=sid,
                scope="p1",
                marker=f"m{n}",
                state=IdState.DONE,
                dest_id=f"d{n}",
                source_version="v1",
            )
        )
    got = await ids.get_many("mig1", Kind.TASK, awkward + ["absent"])
    assert set(got) == set(awkward) and got["a/b?c#d"].dest_id == "d0"
    assert await ids.get_many("mig1", Kind.COMMENT, awkward) == {}
    await ids.mark_seen("mig1", Kind.TASK, ["plain", "absent"], "run9")
    assert (await ids.get_many("mig1", Kind.TASK, ["plain"]))["plain"].last_run_id == "run9"
    listed = [e async for e in ids.list("mig1", scope="p1")]
    assert len(listed) == 4
    other = CosmosIdMap(ctx, "mig2")
    assert await other.get_many("mig2", Kind.TASK, awkward) == {}


async def test_checkpoint_claim_advance_and_stale(stores: Any) -> None:
    ctx = _ctx(stores)
    state = CosmosRunState(ctx, "mig")
    await _new_run(ctx, "r1")
    await state.start("r1", ["s1", "s2"])
    await state.start("r1", ["s1", "s2"])  # idempotent
    assert await state.get_status("r1") is RunStatus.RUNNING
    start = Checkpoint(phase=Phase.PROJECT)
    until = datetime.now(UTC) + timedelta(seconds=30)
    assert (await state.claim("r1", "s1", start, "t1", until)).outcome is Claim.CLAIMED
    busy = await state.claim("r1", "s1", start, "t2", until)
    assert busy.outcome is Claim.BUSY and busy.busy_until is not None
    nxt = Checkpoint(phase=Phase.SECTION, cursor="c1")
    assert await state.advance("r1", "s1", start, nxt) is True
    assert await state.advance("r1", "s1", start, nxt) is False  # a duplicate delivery
    assert (await state.claim("r1", "s1", start, "t3", until)).outcome is Claim.STALE
    assert (await state.claim("r1", "s1", nxt, "t3", until)).outcome is Claim.CLAIMED  # lease cleared by advance
    await state.release("r1", "s1", "t3")
    assert (await state.claim("r1", "s1", nxt, "t4", until)).outcome is Claim.CLAIMED
    assert await state.checkpoints("r1") == {"s1": nxt, "s2": start}
    assert await state.advance("r1", "s2", start, None) is True
    assert await state.open_scopes("r1") == 1


async def test_an_expired_lease_can_be_taken_over(stores: Any) -> None:
    ctx = _ctx(stores)
    state = CosmosRunState(ctx, "mig")
    await _new_run(ctx, "r1")
    await state.start("r1", ["s"])
    cp = Checkpoint(phase=Phase.PROJECT)
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert (await state.claim("r1", "s", cp, "dead-worker", past)).outcome is Claim.CLAIMED
    assert (await state.claim("r1", "s", cp, "new", datetime.now(UTC) + timedelta(seconds=30))).outcome is Claim.CLAIMED


async def test_concurrent_counters_and_final_status_exactly_once(stores: Any) -> None:
    ctx = _ctx(stores)
    finals: list[RunStatus] = []

    async def on_final(run_id: str, status: RunStatus, reason: str | None) -> None:
        finals.append(status)

    state = CosmosRunState(ctx, "mig", on_final=on_final)
    await _new_run(ctx, "r1")
    await state.start("r1", ["s"])
    await asyncio.gather(*(state.add_counts("r1", {"task.created": 1, "comment.created": 2}) for _ in range(20)))
    many = {f"k{i}": 1 for i in range(25)}  # more than one patch request's worth of operations
    await state.add_counts("r1", many)
    counts = await state.get_counts("r1")
    assert counts["task.created"] == 20 and counts["comment.created"] == 40 and counts["k24"] == 1
    await asyncio.gather(*(state.set_status("r1", RunStatus.SUCCEEDED) for _ in range(8)))
    await state.set_status("r1", RunStatus.RUNNING)  # a final status is final
    assert finals == [RunStatus.SUCCEEDED]
    assert await state.get_status("r1") is RunStatus.SUCCEEDED


async def test_report_rows_are_upserted_per_item(stores: Any) -> None:
    ctx = _ctx(stores)
    state = CosmosRunState(ctx, "mig")
    row = ItemReport(kind=Kind.TASK, source_id="t/1", scope="s", status=ItemStatus.FAILED, reason="boom")
    await state.add_items("r1", [row])
    await state.add_items("r1", [row.model_copy(update={"status": ItemStatus.CREATED, "dest_id": "d1"})])
    rows = await ctx.repo(RunItemsRepository, "mig").query_all("c.runId = @r", {"r": "r1"})
    assert len(rows) == 1 and rows[0]["status"] == "created"


async def test_queue_delay_keeps_message_invisible(stores: Any) -> None:
    from shared.migrations.ports_cosmos import StorageChunkQueue

    ctx = _ctx(stores)
    q = StorageChunkQueue(ctx)
    client = ctx.storage.queue("migration-chunks")
    before = (await client.get_queue_properties()).approximate_message_count
    msg = ChunkMessage(tenant_id=ctx.tenant_id, migration_id="m", run_id="r", scope="s", phase=Phase.TASK, cursor="c")
    await q.enqueue(msg, delay_s=60)
    assert (await client.get_queue_properties()).approximate_message_count == before + 1
    visible = await client.peek_messages(max_messages=32)
    assert not [m for m in visible if ctx.tenant_id in m.content], "a deferred chunk must stay invisible"


async def test_a_lost_hand_off_is_resumed_by_the_step_that_advanced(stores: Any) -> None:
    ctx = _ctx(stores)
    state = CosmosRunState(ctx, "mig")
    await _new_run(ctx, "r1")
    await state.start("r1", ["s"])
    first, second = Checkpoint(phase=Phase.PROJECT), Checkpoint(phase=Phase.TASK, cursor="c2")
    until = datetime.now(UTC) + timedelta(seconds=30)
    assert (await state.claim("r1", "s", first, "t1", until)).outcome is Claim.CLAIMED
    assert await state.advance("r1", "s", first, second)
    # The delivery dies before sending the next message: its redelivery learns where to resume.
    again = await state.claim("r1", "s", first, "t2", until)
    assert again.outcome is Claim.STALE and again.resume == second
    await state.handed_off("r1", "s", second)
    dup = await state.claim("r1", "s", first, "t3", until)
    assert dup.outcome is Claim.STALE and dup.resume is None  # sent: a duplicate is only dropped
    older = await state.claim("r1", "s", Checkpoint(phase=Phase.SECTION), "t4", until)
    assert older.outcome is Claim.STALE and older.resume is None and not older.closed_by_it
    assert await state.advance("r1", "s", second, None)
    closing = await state.claim("r1", "s", second, "t5", until)
    assert closing.outcome is Claim.STALE and closing.closed_by_it


async def test_worker_state_answers_the_first_status_look_from_the_run_it_just_read(stores: Any) -> None:
    # the delivery read the run document a moment ago: the chunk's first look needs no read
    from shared.logs.writer import RunLogWriter
    from shared.migrations.worker import LoggedRunState

    ctx = _ctx(stores)
    await _new_run(ctx, "r1")
    state = LoggedRunState(ctx, "mig", RunLogWriter(ctx, "r1"))
    state.read_just_now({"id": "r1", "status": "queued"})
    await ctx.repo(RunsRepository).patch("r1", [{"op": "set", "path": "/status", "value": "running"}])
    assert await state.get_status("r1") is RunStatus.QUEUED  # as read, not read again
    assert await state.get_status("r1") is RunStatus.RUNNING  # later looks read the store
    state.read_just_now({"id": "r1", "status": "paused"})
    assert await state.get_status("other-run") is RunStatus.QUEUED  # absent run: read, not taken from r1


async def test_marking_entries_seen_goes_in_batches_and_survives_a_missing_entry(stores: Any) -> None:
    """An unchanged delta marks every entry it saw: one batch of patches per 100 entries (the
    Cosmos stand-in serves patches in a batch, tools/cosmos/launcher.js (9)); a batch that
    names an entry gone meanwhile is marked entry by entry, the missing one skipped."""
    ctx = _ctx(stores)
    ids = CosmosIdMap(ctx, "mig1")
    sids = [f"t{n:03d}" for n in range(250)]
    entries = [
        IdMapEntry(
            migration_id="mig1", kind=Kind.TASK, source_id=s, scope="p1", marker=f"m{s}",
            state=IdState.DONE, dest_id=f"d{s}", source_version="v1", last_run_id="run1",
        )
        for s in sids
    ]  # fmt: skip
    assert await ids.put_many(entries) == [None] * 250
    calls = {"batches": 0, "alone": 0}
    real_many, real_one = ids.repo.patch_many, ids.repo.patch

    async def patch_many(patches):  # type: ignore[no-untyped-def]
        calls["batches"] += 1
        return await real_many(patches)

    async def patch(item_id, operations, **kw):  # type: ignore[no-untyped-def]
        calls["alone"] += 1
        return await real_one(item_id, operations, **kw)

    ids.repo.patch_many, ids.repo.patch = patch_many, patch  # type: ignore[method-assign]
    await ids.mark_seen("mig1", Kind.TASK, sids, "run2")
    assert calls == {"batches": 3, "alone": 0}
    got = await ids.get_many("mig1", Kind.TASK, sids)
    assert {e.last_run_id for e in got.values()} == {"run2"} and len(got) == 250

    calls.update(batches=0, alone=0)
    await ids.mark_seen("mig1", Kind.TASK, [*sids[:10], "gone"], "run3")  # "gone" has no entry
    assert calls == {"batches": 1, "alone": 11}
    got = await ids.get_many("mig1", Kind.TASK, sids[:12])
    assert [e.last_run_id for e in (got[s] for s in sids[:12])] == ["run3"] * 10 + ["run2"] * 2
