"""Worker death is visible and bounded: the scope lease a running chunk holds is renewed while it
runs (so it can be short), stops being renewed when its worker dies, and the run view shows the
scope waiting for redelivery meanwhile, with the ETA saying so."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.engine.ports import Checkpoint, Claim, Phase
from shared.logs.writer import RunLogWriter
from shared.migrations.ports_cosmos import CosmosRunState, RunsRepository, heartbeat_s, lease_stalled
from shared.migrations.worker import LoggedRunState
from shared.tenancy.context import TenantContext

START = Checkpoint(phase=Phase.PROJECT)


def _ctx(stores: Any) -> TenantContext:
    return TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")


async def _started_run(ctx: TenantContext, scopes: list[str]) -> tuple[str, CosmosRunState]:
    run_id = f"run_{uuid.uuid4().hex[:12]}"
    await ctx.repo(RunsRepository).create({"id": run_id, "status": "queued", "counts": {}})
    state = CosmosRunState(ctx, "mig")
    await state.start(run_id, scopes)
    return run_id, state


async def _until_true(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


async def test_renew_extends_only_the_holders_lease(stores: Any) -> None:
    ctx = _ctx(stores)
    run_id, state = await _started_run(ctx, ["s"])
    now = datetime.now(UTC)
    assert (await state.claim(run_id, "s", START, "holder", now + timedelta(seconds=5))).outcome is Claim.CLAIMED
    later = now + timedelta(seconds=50)
    assert await state.renew(run_id, "s", "holder", later) is True
    assert await state.held_leases(run_id) == [("s", later)]
    assert await state.renew(run_id, "s", "someone-else", now + timedelta(seconds=500)) is False
    busy = await state.claim(run_id, "s", START, "redelivery", now + timedelta(seconds=5))
    assert busy.outcome is Claim.BUSY and busy.busy_until == later
    assert await state.advance(run_id, "s", START, Checkpoint(phase=Phase.SECTION)) is True
    assert await state.renew(run_id, "s", "holder", later) is False  # advancing cleared the lease
    assert await state.held_leases(run_id) == []


async def test_a_running_chunk_keeps_its_scope_and_a_dead_one_frees_it_within_a_lease(stores: Any) -> None:
    ctx = _ctx(stores)
    run_id, plain = await _started_run(ctx, ["alive", "dead"])
    lease_s = 3.0
    worker_state = LoggedRunState(ctx, "mig", RunLogWriter(ctx, run_id))
    first_until = datetime.now(UTC) + timedelta(seconds=lease_s)
    assert (await worker_state.claim(run_id, "alive", START, "live", first_until)).outcome is Claim.CLAIMED
    # The dead worker's claim: nobody renews it (the process that made it is gone).
    dead_until = datetime.now(UTC) + timedelta(seconds=lease_s)
    assert (await plain.claim(run_id, "dead", START, "gone", dead_until)).outcome is Claim.CLAIMED

    async def renewed_past_first_lease() -> bool:
        return dict(await plain.held_leases(run_id))["alive"] > first_until + timedelta(seconds=lease_s)

    async def redelivery_claims_dead_scope() -> bool:
        until = datetime.now(UTC) + timedelta(seconds=60)
        return (await plain.claim(run_id, "dead", START, "redelivery", until)).outcome is Claim.CLAIMED

    # The living chunk's heartbeat renews its lease beyond the first one; the dead chunk's lease
    # runs out and the redelivery takes the scope.
    await _until_true(renewed_past_first_lease)
    await _until_true(redelivery_claims_dead_scope)
    assert lease_stalled(dead_until, lease_s, datetime.now(UTC))
    # The chunk ends: no lease of it is renewed any more (a beat already sent lands first).
    worker_state.stop_heartbeats()
    await asyncio.sleep(heartbeat_s(lease_s))
    stopped_at = dict(await plain.held_leases(run_id))["alive"]
    await asyncio.sleep(heartbeat_s(lease_s) * 2)
    assert dict(await plain.held_leases(run_id))["alive"] == stopped_at


def test_stalled_means_two_missed_beats() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    lease_s = 60.0
    just_renewed = now + timedelta(seconds=lease_s)
    assert heartbeat_s(lease_s) == 5.0 and heartbeat_s(3.0) == 1.0
    assert not lease_stalled(just_renewed, lease_s, now)
    assert not lease_stalled(just_renewed - timedelta(seconds=11), lease_s, now)  # one beat late
    assert lease_stalled(just_renewed - timedelta(seconds=13), lease_s, now)
    assert lease_stalled(now - timedelta(seconds=1), lease_s, now)  # expired, still held


async def test_run_view_shows_chunks_waiting_for_redelivery(stores: Any) -> None:
    from shared.engine.eta import Eta
    from shared.migrations.service import redelivery_wait, run_view
    from shared.store.repository import iso

    ctx = _ctx(stores)
    run_id, state = await _started_run(ctx, ["running", "dead", "expired", "idle"])
    run = await ctx.repo(RunsRepository).get(run_id)
    assert run["status"] == "running"
    lease_s = ctx.stores.settings.chunk_lease_s
    now = datetime.now(UTC)
    # Just claimed (or renewed): a living chunk. Not waiting.
    await state.claim(run_id, "running", START, "t1", now + timedelta(seconds=lease_s))
    assert await redelivery_wait(ctx, "mig", run) is None
    # Last renewed long ago, lease not over yet: its worker died.
    dead_until = now + timedelta(seconds=lease_s - 2 * heartbeat_s(lease_s) - 3)
    assert dead_until > now
    await state.claim(run_id, "dead", START, "t2", dead_until)
    waiting = await redelivery_wait(ctx, "mig", run)
    assert waiting is not None and waiting["count"] == 1 and waiting["until"] == iso(dead_until)
    assert "stopped" in waiting["reason"] and iso(dead_until) in waiting["reason"]
    # A lease that ran out while still held counts too; `until` stays the latest lease end.
    await state.claim(run_id, "expired", START, "t3", now - timedelta(seconds=1))
    waiting = await redelivery_wait(ctx, "mig", run)
    assert waiting is not None and (waiting["count"], waiting["until"]) == (2, iso(dead_until))

    view = run_view(
        run,
        eta=Eta(seconds=None, itemsLeft=None, requestsLeft=None, requestsPerSecond=None, basis="unknown"),
        waiting=waiting,
    )
    assert view["waitingForRedelivery"] == waiting
    assert view["eta"]["basis"] == "unknown" and view["eta"]["reason"] == f"waiting for redelivery: {waiting['reason']}"
    quiet = run_view(run, eta=Eta(seconds=0.0, itemsLeft=0, requestsLeft=0.0, requestsPerSecond=1.0, basis="x"))
    assert "waitingForRedelivery" not in quiet and quiet["eta"]["reason"] is None

    # Once the redelivery has moved the scope on, nothing waits there any more.
    assert await state.advance(run_id, "dead", START, Checkpoint(phase=Phase.SECTION)) is True
    assert await state.advance(run_id, "expired", START, None) is True
    assert await redelivery_wait(ctx, "mig", run) is None
    # Only a running run waits: a paused one is not moving on purpose.
    await state.claim(run_id, "idle", START, "t4", now - timedelta(seconds=1))
    assert await redelivery_wait(ctx, "mig", {**run, "status": "paused"}) is None
    assert (await redelivery_wait(ctx, "mig", run) or {}).get("count") == 1
