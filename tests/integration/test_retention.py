"""Retention against its own local stack (the sweep reads across tenants): 90-day clock,
whole-org destruction in every store, crash and redelivery, receipts, export archives."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.purge_seed import CANARY_NAME, drain_deletions, footprint, isolated_settings, seed_org
from shared.config import QUEUE_DELETIONS
from shared.logs.reader import Cursor, RunLogReader
from shared.logs.segments import list_segments, logs_container
from shared.retention.active import org_is_active
from shared.retention.deletion import begin_deletion, run_deletion_job
from shared.retention.export import export_org
from shared.retention.jobs import DeletionJobs, DeletionMessage, org_hash, public_job, read_status
from shared.retention.purge import register_purger, unregister_purger
from shared.retention.sweep import STUCK_AFTER, sweep_inactive_orgs, sweep_run_logs
from shared.store.stores import Stores
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from tools.stack import LocalStack, start_stack

BASE = datetime(2020, 1, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("retention-stack"), fresh=True)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
async def iso_stores(own_stack: LocalStack) -> AsyncIterator[Stores]:
    s = Stores(isolated_settings(own_stack))
    await s.start()
    try:
        yield s
    finally:
        await s.close()


def at(days: float) -> Any:
    return lambda: BASE + timedelta(days=days)


async def test_org_inactive_89_days_is_kept_and_91_days_is_destroyed(iso_stores: Stores) -> None:
    old = await seed_org(iso_stores, last_activity=BASE)
    recent = await seed_org(iso_stores, last_activity=BASE + timedelta(days=30))
    other_region = await seed_org(iso_stores, region="us", last_activity=BASE + timedelta(days=30))
    before_recent = await footprint(iso_stores, recent.id, "eu")
    before_us = await footprint(iso_stores, other_region.id, "us")
    assert set(before_recent) >= {
        "tenants",
        "members",
        "userOrgs",
        "apiKeys",
        "keyIndex",
        "audit",
        "connectors",
        "dataKeys",
        "migrations",
        "runs",
        "leases",
        "idMap",
        "runItems",
        "blob:logs",
        "blob:exports",
    }, before_recent

    kept = await sweep_inactive_orgs(iso_stores, "eu", now=at(89))
    assert old.id not in kept.orgs_scheduled and await drain_deletions(iso_stores, "eu") == []
    assert await org_is_active(TenantContext.for_org(iso_stores, old.id))

    report = await sweep_inactive_orgs(iso_stores, "eu", now=at(91))
    assert report.orgs_scheduled == [old.id]
    assert not await org_is_active(TenantContext.for_org(iso_stores, old.id))  # workers drop its chunks now
    outcomes = await drain_deletions(iso_stores, "eu", now=at(91))
    assert outcomes == ["succeeded"]

    assert await footprint(iso_stores, old.id, "eu") == {}
    assert await footprint(iso_stores, old.id, "us") == {}
    assert await footprint(iso_stores, recent.id, "eu") == before_recent
    assert await footprint(iso_stores, other_region.id, "us") == before_us

    receipts = await DeletionJobs(iso_stores.cosmos("eu")).receipts(old.id)
    assert len(receipts) == 1
    receipt = receipts[0]
    assert receipt["status"] == "succeeded" and receipt["reason"] == "inactivity" and receipt["pk"] == org_hash(old.id)
    counts = receipt["counts"]
    assert counts["cosmos-tenants"] == 1 and counts["cosmos-idMap"] == 2 and counts["cosmos-userOrgs"] == 1
    assert counts["blobs-logs"] == 1 and counts["blobs-exports"] == 1 and receipt["countsExact"] is True
    text = json.dumps(receipt)
    for personal in (old.id, old.email, CANARY_NAME, old.key_prefix):
        assert personal not in text


async def test_activity_since_the_scan_spares_the_org(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=BASE)
    ctx = TenantContext.for_org(iso_stores, org.id)
    from shared.errors import ConflictError
    from shared.tenancy.repositories import TenantsRepository

    seen = await ctx.repo(TenantsRepository).get(org.id)  # what the sweep read
    await ctx.repo(TenantsRepository).patch(
        org.id, [{"op": "set", "path": "/lastActivityAt", "value": "2020-03-01T00:00:00Z"}]
    )
    with pytest.raises(ConflictError):  # a sign-in since: the flip is refused
        await begin_deletion(ctx, reason="inactivity", now=at(91)(), with_token=False, etag=seen["_etag"])
    assert await org_is_active(ctx)


async def test_a_recently_active_run_keeps_its_org(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=BASE)
    await (
        iso_stores.cosmos("eu")
        .container("runs")
        .upsert_item(
            {
                "id": "run_long",
                "tenantId": org.id,
                "pk": org.id,
                "status": "running",
                "lastActivityAt": (BASE + timedelta(days=80)).isoformat(),
            }
        )
    )
    report = await sweep_inactive_orgs(iso_stores, "eu", now=at(91))
    assert org.id not in report.orgs_scheduled and report.orgs_spared >= 1
    await drain_deletions(iso_stores, "eu", now=at(91))
    assert "tenants" in await footprint(iso_stores, org.id, "eu")


async def test_run_logs_expire_after_90_days_without_writes(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=datetime.now(UTC))
    ctx = TenantContext.for_org(iso_stores, org.id)
    written = datetime.now(UTC)
    await sweep_run_logs(iso_stores, "eu", now=lambda: written + timedelta(days=89))
    assert len(await list_segments(logs_container(ctx.storage), org.id, org.run_id)) == 1
    report = await sweep_run_logs(iso_stores, "eu", now=lambda: written + timedelta(days=91))
    assert report.run_logs_deleted >= 1
    assert await list_segments(logs_container(ctx.storage), org.id, org.run_id) == []
    assert "tenants" in await footprint(iso_stores, org.id, "eu")  # only the log went


class Crash(Exception):
    pass


async def test_crash_mid_deletion_then_redelivery_finishes(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=BASE)
    ctx = TenantContext.for_org(iso_stores, org.id)
    started = await begin_deletion(ctx, reason="request", now=at(1)(), with_token=True)
    queue = iso_stores.storage("eu").queue(QUEUE_DELETIONS)

    async def crash_after(step: str) -> None:
        if step == "cosmos-idMap":
            raise Crash(step)

    first = [m async for m in queue.receive_messages(max_messages=32, visibility_timeout=60)]
    mine = [m for m in first if json.loads(m.content)["jobId"] == started.job["id"]]
    assert len(mine) == 1
    with pytest.raises(Crash):
        await run_deletion_job(iso_stores, DeletionMessage.parse(json.loads(mine[0].content)), on_step=crash_after)
    # The host makes a failed message visible again (host.json visibilityTimeout).
    for m in first:
        await queue.update_message(m, visibility_timeout=0)

    midway = await footprint(iso_stores, org.id, "eu")
    assert "idMap" not in midway and "blob:logs" not in midway and "dataKeys" not in midway
    assert {"tenants", "members", "runItems"} <= set(midway)
    job = await DeletionJobs(iso_stores.cosmos("eu")).get(started.job["id"], org.id)
    assert job is not None and job["status"] == "running" and job["attempts"] == 1
    status = await read_status(iso_stores.cosmos("eu"), started.job["id"], started.token)
    assert status["status"] == "running"  # readable while the org is half gone

    again = [m async for m in queue.receive_messages(max_messages=32, visibility_timeout=60)]
    redelivered = [m for m in again if json.loads(m.content)["jobId"] == started.job["id"]]
    assert redelivered and redelivered[0].dequeue_count == 2
    outcome = await run_deletion_job(iso_stores, DeletionMessage.parse(json.loads(redelivered[0].content)))
    for m in again:
        await queue.delete_message(m)
    assert outcome.status == "succeeded"
    assert await footprint(iso_stores, org.id, "eu") == {}
    counts = outcome.job["counts"]  # type: ignore[index]
    # Steps after the crash are counted exactly; the crashed attempt's unrecorded
    # deletions are not, and the receipt says so.
    assert counts["cosmos-members"] == 1 and counts["cosmos-tenants"] == 1 and counts["cosmos-runItems"] == 2
    status = await read_status(iso_stores.cosmos("eu"), started.job["id"], started.token)
    assert status["status"] == "succeeded" and status["countsExact"] is False
    # A further delivery (at-least-once) changes nothing.
    assert (await run_deletion_job(iso_stores, DeletionMessage(started.job["id"], org.id))).status == "succeeded"


async def test_registered_purger_runs_with_every_deletion_and_may_fail_once(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=BASE, log_lines=0, export_blob=False)
    calls: list[tuple[str, str]] = []

    async def search_purger(stores: Any, region: str, tenant_id: str) -> int:
        calls.append((region, tenant_id))
        if len(calls) == 1:
            raise ConnectionError("search service unavailable")
        return 7

    register_purger("search", search_purger)
    try:
        ctx = TenantContext.for_org(iso_stores, org.id)
        started = await begin_deletion(ctx, reason="request", now=at(1)(), with_token=False)
        message = DeletionMessage(started.job["id"], org.id)
        with pytest.raises(ConnectionError):
            await run_deletion_job(iso_stores, message)
        outcome = await run_deletion_job(iso_stores, message)
    finally:
        unregister_purger("search")
        await drain_deletions(iso_stores, "eu")
    assert calls == [("eu", org.id), ("eu", org.id)]
    assert outcome.job["counts"]["search-search"] == 7  # type: ignore[index]


async def test_sweep_batch_crashes_then_redelivery_finishes_every_org(iso_stores: Stores) -> None:
    """The sweep's batch job (many orgs, one query per container) survives a crash too."""
    olds = [await seed_org(iso_stores, region="us", last_activity=BASE) for _ in range(3)]
    keep = await seed_org(iso_stores, region="us", last_activity=BASE + timedelta(days=60))
    keep_before = await footprint(iso_stores, keep.id, "us")
    failures = []

    async def flaky(stores: Any, region: str, tenant_id: str) -> int:
        if not failures:
            failures.append(tenant_id)
            raise ConnectionError("search unavailable")
        return 0

    register_purger("search", flaky)
    try:
        report = await sweep_inactive_orgs(iso_stores, "us", now=at(91))
        assert sorted(report.orgs_scheduled) == sorted(o.id for o in olds)
        queue = iso_stores.storage("us").queue(QUEUE_DELETIONS)
        msgs = [m async for m in queue.receive_messages(max_messages=32, visibility_timeout=60)]
        assert len(msgs) == 1 and len(json.loads(msgs[0].content)["jobs"]) == 3  # one message for the batch
        from shared.retention.deletion import handle_deletion_message

        with pytest.raises(ConnectionError):
            await handle_deletion_message(iso_stores, json.loads(msgs[0].content), now=at(91))
        assert [await org_is_active(TenantContext.for_org(iso_stores, o.id)) for o in olds] == [False] * 3
        await queue.update_message(msgs[0], visibility_timeout=0)
        outcomes = await drain_deletions(iso_stores, "us", now=at(91))
    finally:
        unregister_purger("search")
    assert outcomes == ["succeeded"] * 3
    for org in olds:
        assert await footprint(iso_stores, org.id, "us") == {}
        receipt = (await DeletionJobs(iso_stores.cosmos("us")).receipts(org.id))[0]
        assert receipt["status"] == "succeeded" and receipt["countsExact"] is False
        assert receipt["counts"]["cosmos-tenants"] == 1  # the crash came before the org documents went
    assert await footprint(iso_stores, keep.id, "us") == keep_before


async def test_final_check_waits_for_chunks_in_flight(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=BASE, run_status="running")
    ctx = TenantContext.for_org(iso_stores, org.id)
    # The run's last activity was one minute before the request: a chunk may still write.
    started = await begin_deletion(ctx, reason="request", now=BASE + timedelta(minutes=1), with_token=False)
    message = DeletionMessage(started.job["id"], org.id)
    first = await run_deletion_job(iso_stores, message, now=lambda: BASE + timedelta(minutes=2))
    assert first.status == "deferred" and 8 * 60 < first.delay_s <= 10 * 60
    # ...and it did: a late id-map write after the first pass.
    await (
        iso_stores.cosmos("eu")
        .container("idMap")
        .upsert_item({"id": "task:late", "tenantId": org.id, "pk": f"{org.id}:{org.migration_id}"})
    )
    done = await run_deletion_job(iso_stores, message, now=lambda: BASE + timedelta(minutes=13))
    await drain_deletions(iso_stores, "eu")
    assert done.status == "succeeded" and done.job["counts"]["cosmos-idMap"] == 3  # type: ignore[index]
    assert done.job["countsExact"] is True  # type: ignore[index]  # a deferral is not a crash
    assert await footprint(iso_stores, org.id, "eu") == {}


async def test_org_stuck_in_deleting_is_enqueued_again(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=BASE)
    ctx = TenantContext.for_org(iso_stores, org.id)
    started = await begin_deletion(ctx, reason="request", now=BASE, with_token=False)
    await drain_deletions(iso_stores, "eu", now=lambda: BASE)  # …but suppose this message got lost:
    lost = await seed_org(iso_stores, last_activity=BASE)
    lost_ctx = TenantContext.for_org(iso_stores, lost.id)
    from shared.tenancy.repositories import TenantsRepository

    await lost_ctx.repo(TenantsRepository).patch(
        lost.id,
        [
            {"op": "set", "path": "/status", "value": "deleting"},
            {"op": "set", "path": "/deletionJobId", "value": "del_eu_" + "x" * 20},
            {"op": "set", "path": "/deletionRequestedAt", "value": "2020-01-06T12:00:00Z"},
        ],
    )
    report = await sweep_inactive_orgs(iso_stores, "eu", now=lambda: BASE + STUCK_AFTER + timedelta(minutes=5))
    assert report.orgs_requeued == 1 and started.job["id"]
    await drain_deletions(iso_stores, "eu")
    assert await footprint(iso_stores, lost.id, "eu") == {}


async def test_export_archive_is_streamed_in_blocks_without_secrets(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=datetime.now(UTC), export_blob=False)
    ctx = TenantContext.for_org(iso_stores, org.id)
    for i in range(40):
        await (
            iso_stores.cosmos("eu")
            .container("audit")
            .upsert_item(
                {"id": f"aud_{i:03d}", "tenantId": org.id, "pk": org.id, "action": "signin", "detail": {"n": "x" * 400}}
            )
        )
    done = await export_org(
        ctx, actor="user:mem_1", request=RequestInfo(ip="203.0.113.1"), now=datetime.now(UTC), block_bytes=2048
    )
    blob = ctx.storage.container("exports").get_blob_client(f"{org.id}/{done['id']}.zip")
    committed, _ = await blob.get_block_list("committed")
    assert len(committed) > 1  # staged in several blocks, not uploaded in one piece
    data = await (await blob.download_blob()).readall()
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    assert {
        "manifest.json",
        "organisation.json",
        "members.jsonl",
        "connectors.jsonl",
        "migrations.jsonl",
        "runs.jsonl",
        "reports.jsonl",
        "audit.jsonl",
        "api-keys.jsonl",
    } <= names
    members = [json.loads(line) for line in archive.read("members.jsonl").splitlines()]
    assert members[0]["email"] == org.email
    assert len(archive.read("reports.jsonl").splitlines()) == 2
    audit = [json.loads(line) for line in archive.read("audit.jsonl").splitlines()]
    assert any(e["action"] == "export.requested" for e in audit)
    everything = b"".join(archive.read(n) for n in names)
    assert b"sealed-ciphertext" not in everything and b"d" * 64 not in everything and b"wrapped" not in everything
    assert json.loads(archive.read("manifest.json"))["files"]["audit.jsonl"] == len(audit)


async def test_log_reader_sees_nothing_after_deletion(iso_stores: Stores) -> None:
    org = await seed_org(iso_stores, last_activity=BASE)
    reader = RunLogReader(TenantContext.for_org(iso_stores, org.id), org.run_id)
    assert len((await reader.page(Cursor(0, 0))).items) == 3
    ctx = TenantContext.for_org(iso_stores, org.id)
    started = await begin_deletion(ctx, reason="request", now=BASE, with_token=True)
    await drain_deletions(iso_stores, "eu", now=lambda: BASE)
    assert (await reader.page(Cursor(0, 0))).items == []
    shown = public_job((await DeletionJobs(iso_stores.cosmos("eu")).find(started.job["id"])) or {})
    assert shown["status"] == "succeeded" and "tokenDigest" not in shown


async def test_exports_expire_after_their_download_window(iso_stores: Stores) -> None:
    from shared.retention.sweep import sweep_exports

    org = await seed_org(iso_stores, last_activity=datetime.now(UTC), export_blob=False, log_lines=0)
    ctx = TenantContext.for_org(iso_stores, org.id)
    made = datetime.now(UTC)
    done = await export_org(ctx, actor="user:mem_1", request=RequestInfo(), now=made)
    blobs = ctx.storage.container("exports")

    async def names() -> list[str]:
        return [b.name async for b in blobs.list_blobs(name_starts_with=f"{org.id}/")]

    await sweep_exports(iso_stores, "eu", now=lambda: made + timedelta(hours=23))
    assert await names() == [f"{org.id}/{done['id']}.zip"]
    await sweep_exports(iso_stores, "eu", now=lambda: made + timedelta(hours=25))
    assert await names() == []
