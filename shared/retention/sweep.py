"""The daily retention sweep. THE ONLY CROSS-TENANT (UNSCOPED) READS OF FERRY LIVE HERE.

Every other module reaches data through a TenantContext bound to one org. Retention has to
find what nobody asked for, so it reads across tenants, and only for that:

* `sweep_inactive_orgs`: orgs whose `lastActivityAt` (and whose unfinished runs'
  `lastActivityAt`) is older than 90 days are marked deleting and get a deletion job;
  orgs stuck in `deleting` (a lost or poisoned message) get their job enqueued again;
* `sweep_run_logs`: a run's log whose newest segment was last modified more than 90 days
  ago is deleted (blob last-modified is the log's activity: every append updates it);
* `sweep_exports`: export archives past their `expiresAt` are deleted;
* request-budget ledgers idle for a day are deleted (`ledgers.py`: they carry no tenant id,
  so deleting an org cannot find them).

The clock is a parameter (`now`), so tests move time to 89 and 91 days. In Azure each
stamp sweeps its own region; the local runner plays every stamp and sweeps all regions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.config import BLOB_EXPORTS, BLOB_LOGS, QUEUE_DELETIONS
from shared.errors import ConflictError
from shared.logs.segments import delete_prefix
from shared.retention.batch import BATCH_SIZE, batch_message
from shared.retention.deletion import ensure_job, parse_time, prepare_deletion, utcnow
from shared.retention.jobs import DeletionMessage
from shared.retention.ledgers import sweep_idle_budgets
from shared.tenancy.context import TenantContext
from shared.tenancy.idempotency import sweep_expired

log = logging.getLogger("ferry.retention")
INACTIVITY = timedelta(days=90)
#: an org in `deleting` longer than this without a finished job gets its message again
STUCK_AFTER = timedelta(hours=1)
Now = Callable[[], datetime]
SWEEP_CONCURRENCY = 16


@dataclass
class SweepReport:
    orgs_scheduled: list[str] = field(default_factory=list)
    orgs_requeued: int = 0
    orgs_spared: int = 0
    run_logs_deleted: int = 0
    log_blobs_deleted: int = 0
    exports_deleted: int = 0
    idempotency_keys_deleted: int = 0
    budget_ledgers_deleted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "orgsScheduled": len(self.orgs_scheduled),
            "orgsRequeued": self.orgs_requeued,
            "orgsSpared": self.orgs_spared,
            "runLogsDeleted": self.run_logs_deleted,
            "logBlobsDeleted": self.log_blobs_deleted,
            "exportsDeleted": self.exports_deleted,
            "idempotencyKeysDeleted": self.idempotency_keys_deleted,
            "budgetLedgersDeleted": self.budget_ledgers_deleted,
        }


def sweep_regions(stores: Any) -> list[str]:
    settings = stores.settings
    return list(stores.regions) if settings.is_local else [settings.stamp_region]


async def run_retention(stores: Any, *, now: Now = utcnow, inactivity: timedelta = INACTIVITY) -> SweepReport:
    """The whole daily sweep over this stamp's region(s)."""
    report = SweepReport()
    for region in sweep_regions(stores):
        await sweep_inactive_orgs(stores, region, now=now, inactivity=inactivity, report=report)
        await sweep_run_logs(stores, region, now=now, inactivity=inactivity, report=report)
        await sweep_exports(stores, region, now=now, report=report)
        report.idempotency_keys_deleted += await sweep_expired(stores.cosmos(region), now=now())
        report.budget_ledgers_deleted += await sweep_idle_budgets(stores.cosmos(region), now=now())
    log.info("retention sweep: %s", report.as_dict())
    return report


async def sweep_inactive_orgs(
    stores: Any,
    region: str,
    *,
    now: Now = utcnow,
    inactivity: timedelta = INACTIVITY,
    report: SweepReport | None = None,
) -> SweepReport:
    """Schedule the deletion of every org of `region` inactive for `inactivity`."""
    report = report or SweepReport()
    at = now()
    cutoff = at - inactivity
    tenants = stores.cosmos(region).container("tenants")
    # Cross-tenant read (retention only): candidates by a coarse string filter, then exact checks.
    candidates = tenants.query_items(
        "SELECT c.id, c._etag, c.status, c.lastActivityAt, c.createdAt, c.deletionJobId, c.deletionRequestedAt "
        "FROM c "
        "WHERE (c.status = 'active' AND (NOT IS_DEFINED(c.lastActivityAt) OR c.lastActivityAt < @cutoff)) "
        "OR (c.status = 'deleting' AND c.deletionRequestedAt < @stuck)",
        parameters=[
            {"name": "@cutoff", "value": _iso_prefix(cutoff + timedelta(days=1))},
            {"name": "@stuck", "value": _iso_prefix(at - STUCK_AFTER + timedelta(days=1))},
        ],
        max_item_count=1000,
    )
    batch: list[dict[str, Any]] = []
    async for org in candidates:
        if org.get("status") == "deleting":
            requested = parse_time(org.get("deletionRequestedAt"))
            ctx = TenantContext.for_org(stores, org["id"])
            if requested is not None and requested <= at - STUCK_AFTER and await ensure_job(ctx, org, now=at):
                report.orgs_requeued += 1
            continue
        last = parse_time(org.get("lastActivityAt")) or parse_time(org.get("createdAt"))
        if last is None or last > cutoff:
            continue
        batch.append(org)
        if len(batch) >= BATCH_SIZE:
            await _schedule(stores, region, batch, at=at, cutoff=cutoff, report=report)
            batch = []
    if batch:
        await _schedule(stores, region, batch, at=at, cutoff=cutoff, report=report)
    return report


async def _schedule(
    stores: Any, region: str, orgs: list[dict[str, Any]], *, at: datetime, cutoff: datetime, report: SweepReport
) -> None:
    """Flip a batch of inactive orgs to deleting and queue one batch job for them."""
    busy = await _runs_active_since(stores, region, [o["id"] for o in orgs], cutoff)
    report.orgs_spared += len(busy)

    async def prepare(org: dict[str, Any]) -> DeletionMessage | None:
        ctx = TenantContext.for_org(stores, org["id"])
        try:
            started = await prepare_deletion(
                ctx, reason="inactivity", now=at, with_token=False, etag=org["_etag"], runs_may_be_in_flight=False
            )
        except ConflictError:
            report.orgs_spared += 1  # activity (or a deletion request) came in meanwhile
            return None
        return DeletionMessage(started.job["id"], org["id"])

    semaphore = asyncio.Semaphore(SWEEP_CONCURRENCY)

    async def bounded(org: dict[str, Any]) -> DeletionMessage | None:
        async with semaphore:
            return await prepare(org)

    prepared = await asyncio.gather(*(bounded(o) for o in orgs if o["id"] not in busy))
    messages = [m for m in prepared if m is not None]
    if messages:
        await stores.storage(region).send(QUEUE_DELETIONS, batch_message(messages))
        report.orgs_scheduled += [m.tenant_id for m in messages]


async def _runs_active_since(stores: Any, region: str, tenant_ids: list[str], cutoff: datetime) -> set[str]:
    """Orgs of the batch with a run active after the cutoff (a long migration without API
    calls is still activity): one cross-partition query for the batch."""
    items = (
        stores.cosmos(region)
        .container("runs")
        .query_items(
            "SELECT c.tenantId, c.lastActivityAt FROM c WHERE ARRAY_CONTAINS(@ids, c.tenantId)",
            parameters=[{"name": "@ids", "value": tenant_ids}],
            max_item_count=1000,
        )
    )
    busy: set[str] = set()
    async for run in items:
        last = parse_time(run.get("lastActivityAt")) if isinstance(run.get("lastActivityAt"), str) else None
        if last is not None and last > cutoff:
            busy.add(run["tenantId"])
    return busy


async def sweep_run_logs(
    stores: Any,
    region: str,
    *,
    now: Now = utcnow,
    inactivity: timedelta = INACTIVITY,
    report: SweepReport | None = None,
) -> SweepReport:
    """Delete the logs of runs whose newest log write is older than `inactivity`."""
    report = report or SweepReport()
    cutoff = now() - inactivity
    container = stores.storage(region).container(BLOB_LOGS)
    newest: dict[str, datetime] = {}
    # Cross-tenant listing (retention only): `{tenantId}/{runId}/{segment}` → per-run newest write.
    async for blob in container.list_blobs():
        parts = blob.name.split("/")
        if len(parts) < 3:
            continue
        prefix = f"{parts[0]}/{parts[1]}/"
        modified = blob.last_modified
        if prefix not in newest or modified > newest[prefix]:
            newest[prefix] = modified
    for prefix, modified in newest.items():
        if modified <= cutoff:
            report.log_blobs_deleted += await delete_prefix(container, prefix)
            report.run_logs_deleted += 1
    return report


async def sweep_exports(
    stores: Any, region: str, *, now: Now = utcnow, report: SweepReport | None = None
) -> SweepReport:
    """Delete export archives whose download window has closed."""
    from azure.core.exceptions import ResourceNotFoundError

    from shared.retention.export import EXPORT_TTL

    report = report or SweepReport()
    at = now()
    container = stores.storage(region).container(BLOB_EXPORTS)
    async for blob in container.list_blobs(include=["metadata"]):
        expires = parse_time((blob.metadata or {}).get("expiresAt")) or (blob.last_modified + EXPORT_TTL)
        if expires <= at:
            try:
                await container.delete_blob(blob.name)
                report.exports_deleted += 1
            except ResourceNotFoundError:
                pass
    return report


def _iso_prefix(ts: datetime) -> str:
    """A string bound for the coarse Cosmos filter (ISO strings sort by time to the day);
    exact comparisons happen in Python on parsed times."""
    return ts.strftime("%Y-%m-%d")
