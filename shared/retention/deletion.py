"""Org deletion: begin (on request or for inactivity) and run the job from the queue.

Begin: the org document flips `active → deleting` under a condition (two concurrent
requests cannot both win; an inactive org that came back to life in the meantime is
spared), the job document is created, and the job message goes to the region's
`deletions` queue. From that moment the API answers 404 for the org and workers drop its
chunks. Run: `run_deletion_job` executes purge.py's steps with per-step progress in the
job document; redelivery after a crash resumes; a finished job is a no-op.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import QUEUE_DELETIONS
from shared.contract.runs import FINAL_STATUSES
from shared.errors import ConflictError, NotFoundError
from shared.retention.jobs import DeletionJobs, DeletionMessage, new_job_id
from shared.retention.purge import OrgPurger, step_names
from shared.store.repository import iso
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import region_of
from shared.tenancy.repositories import TenantsRepository

log = logging.getLogger("ferry.retention")
Now = Callable[[], datetime]
#: A chunk already running when deletion begins may write for up to the function timeout
#: (host.json functionTimeout 10 min); the final verification waits that long after the
#: last activity of an unfinished run.
CHUNK_GRACE = timedelta(minutes=11)
#: a queue message may stay invisible at most 7 days
MAX_DELAY_S = 7 * 24 * 3600 - 60
#: progress is written to the job document at most this often (and at the end)
PROGRESS_EVERY_S = 1.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DeletionStarted:
    job: dict[str, Any]
    token: str | None


async def begin_deletion(
    ctx: TenantContext,
    *,
    reason: str,
    now: datetime,
    with_token: bool,
    etag: str | None = None,
    runs_may_be_in_flight: bool = True,
) -> DeletionStarted:
    """Mark the org deleting, create its job and enqueue it (see `prepare_deletion`)."""
    started = await prepare_deletion(
        ctx, reason=reason, now=now, with_token=with_token, etag=etag, runs_may_be_in_flight=runs_may_be_in_flight
    )
    await enqueue(ctx, started.job["id"])
    log.info("deletion %s of an org begun (%s)", started.job["id"], reason)
    return started


async def prepare_deletion(
    ctx: TenantContext,
    *,
    reason: str,
    now: datetime,
    with_token: bool,
    etag: str | None = None,
    runs_may_be_in_flight: bool = True,
) -> DeletionStarted:
    """Mark the org deleting and create its job document (not enqueued yet). With `etag`
    (the sweep's view of the org document) the flip happens only if the org did not
    change since, e.g. no sign-in touched `lastActivityAt`. `runs_may_be_in_flight=False`
    (the sweep found no run activity for 90 days) skips looking for chunks still running.
    Raises ConflictError when the org is no longer active (or changed). An org left in
    `deleting` without a queued job (a crash right here) is found by the daily sweep."""
    job_id = new_job_id(ctx.region)
    ops = [
        {"op": "set", "path": "/status", "value": "deleting"},
        {"op": "set", "path": "/deletionJobId", "value": job_id},
        {"op": "set", "path": "/deletionRequestedAt", "value": iso(now)},
    ]
    if etag is None:
        await ctx.repo(TenantsRepository).patch(ctx.tenant_id, ops, condition="from c where c.status = 'active'")
    else:
        await _patch_if_unchanged(ctx, ops, etag)
    verify_after = await in_flight_until(ctx, now) if runs_may_be_in_flight else None
    job, token = await DeletionJobs(ctx.cosmos).create(
        ctx.tenant_id,
        region=ctx.region,
        reason=reason,
        now=now,
        with_token=with_token,
        job_id=job_id,
        verify_after=verify_after,
    )
    return DeletionStarted(job, token)


async def _patch_if_unchanged(ctx: TenantContext, ops: list[dict[str, Any]], etag: str) -> None:
    from azure.core import MatchConditions

    try:
        await ctx.cosmos.container("tenants").patch_item(
            ctx.tenant_id,
            partition_key=ctx.tenant_id,
            patch_operations=ops,
            etag=etag,
            match_condition=MatchConditions.IfNotModified,
        )
    except Exception as exc:
        if getattr(exc, "status_code", None) in (404, 412):
            raise ConflictError("the organisation changed or is gone") from exc
        raise


async def in_flight_until(ctx: TenantContext, now: datetime) -> datetime | None:
    """The latest `lastActivityAt + CHUNK_GRACE` over the org's unfinished runs, if later
    than `now`: until then a chunk that began before the deletion may still be writing."""
    latest: datetime | None = None
    items = ctx.cosmos.container("runs").query_items(
        "SELECT c.status, c.lastActivityAt FROM c WHERE c.tenantId = @t AND c.pk = @t",
        parameters=[{"name": "@t", "value": ctx.tenant_id}],
        partition_key=ctx.tenant_id,
    )
    async for run in items:
        at = parse_time(run.get("lastActivityAt"))
        if run.get("status") in FINAL_STATUSES or at is None:
            continue
        latest = at if latest is None or at > latest else latest
    if latest is None or latest + CHUNK_GRACE <= now:
        return None
    return latest + CHUNK_GRACE


async def enqueue(ctx: TenantContext, job_id: str, *, delay_s: int | None = None) -> None:
    message = DeletionMessage(job_id, ctx.tenant_id).to_json()
    await ctx.storage.send(QUEUE_DELETIONS, message, visibility_timeout=delay_s)


@dataclass
class DeletionOutcome:
    """`succeeded`, `deferred` (retry after `delay_s`: in-flight chunks) or `unknown`."""

    status: str
    delay_s: int = 0
    job: dict[str, Any] | None = None
    leftovers: dict[str, int] = field(default_factory=dict)


async def run_deletion_job(
    stores: Any, message: DeletionMessage, *, now: Now = utcnow, on_step: Callable[[str], Awaitable[None]] | None = None
) -> DeletionOutcome:
    """Run (or resume) one deletion job. Idempotent: safe on every redelivery."""
    region = region_of(message.tenant_id)
    jobs = DeletionJobs(stores.cosmos(region))
    try:  # one conditional write claims the attempt: a finished job is not touched again
        job = await jobs.start_attempt(message.job_id, message.tenant_id, now=iso(now()))
    except NotFoundError:
        log.warning("deletion message for an unknown job %s dropped", message.job_id)
        return DeletionOutcome("unknown")
    except ConflictError:
        return DeletionOutcome("succeeded", job=await jobs.get(message.job_id, message.tenant_id))
    if not job.get("startedAt"):
        job = await jobs.patch(job, [{"op": "set", "path": "/startedAt", "value": job["attemptAt"]}])
    purger = OrgPurger(stores, region, message.tenant_id)
    steps: dict[str, dict[str, Any]] = dict(job.get("steps") or {})
    flushed_at = time.monotonic()
    for step in step_names():
        if (steps.get(step) or {}).get("done"):
            continue
        deleted = await purger.run_step(step)
        steps[step] = {"done": True, "deleted": int((steps.get(step) or {}).get("deleted", 0)) + deleted}
        if deleted and time.monotonic() - flushed_at >= PROGRESS_EVERY_S:
            job = await jobs.patch(job, [{"op": "set", "path": "/steps", "value": steps}])
            flushed_at = time.monotonic()
        if on_step is not None:
            await on_step(step)
    verify_after = parse_time(job.get("verifyAfter"))
    if verify_after is not None:
        if now() < verify_after:
            delay = int((verify_after - now()).total_seconds()) + 1
            job = await jobs.patch(
                job,
                [
                    {"op": "set", "path": "/steps", "value": steps},
                    {"op": "set", "path": "/deferrals", "value": int(job.get("deferrals", 0)) + 1},
                ],
            )
            return DeletionOutcome("deferred", delay_s=delay, job=job)
        # Chunks that were running when deletion began have ended: sweep what they wrote.
        await _final_check(purger, job, steps)
    counts = {step: int(s.get("deleted", 0)) for step, s in steps.items()}
    job = await jobs.patch(
        job,
        [
            {"op": "set", "path": "/steps", "value": {k: {"done": True, "deleted": v} for k, v in counts.items()}},
            {"op": "set", "path": "/counts", "value": counts},
            # After a crash, what the failed attempt deleted since its last progress write is
            # not counted: the receipt says so rather than guess.
            {
                "op": "set",
                "path": "/countsExact",
                "value": int(job.get("attempts", 1)) - int(job.get("deferrals", 0)) <= 1,
            },
            {"op": "set", "path": "/status", "value": "succeeded"},
            {"op": "set", "path": "/finishedAt", "value": iso(now())},
        ],
    )
    log.info("deletion %s finished: %d documents and blobs", job["id"], sum(counts.values()))
    return DeletionOutcome("succeeded", job=job)


async def handle_deletion_message(stores: Any, body: dict[str, Any], *, now: Now = utcnow) -> list[str]:
    """What the `deletions` queue trigger does with one message (single or batch job);
    a deferred job is enqueued again with a delay. Returns the outcomes."""
    from shared.retention.batch import BATCH_MESSAGE_TYPE, parse_batch, run_deletion_batch

    if body.get("type") == BATCH_MESSAGE_TYPE:
        return list((await run_deletion_batch(stores, parse_batch(body), now=now)).values())
    message = DeletionMessage.parse(body)
    outcome = await run_deletion_job(stores, message, now=now)
    if outcome.status == "deferred":
        # Chunks that were running when deletion began may still write: look again later.
        ctx = TenantContext.for_org(stores, message.tenant_id)
        await enqueue(ctx, message.job_id, delay_s=min(outcome.delay_s, MAX_DELAY_S))
    return [outcome.status]


async def _final_check(purger: OrgPurger, job: dict[str, Any], steps: dict[str, dict[str, Any]]) -> None:
    leftovers = await purger.leftovers()
    for _round in range(3):
        if not leftovers:
            return
        log.warning("deletion %s found leftovers %s; purging again", job["id"], sorted(leftovers))
        for step in leftovers:
            steps.setdefault(step, {"done": True, "deleted": 0})
            steps[step]["deleted"] = int(steps[step].get("deleted", 0)) + await purger.run_step(step)
        leftovers = await purger.leftovers()
    if leftovers:
        raise ConflictError(f"deletion {job['id']} still finds data: {sorted(leftovers)}")


async def ensure_job(ctx: TenantContext, org: dict[str, Any], *, now: datetime) -> bool:
    """For an org stuck in `deleting` (its message lost or poisoned): make sure its job
    exists and enqueue it again. Returns True when a message was sent."""
    job_id = org.get("deletionJobId")
    if not job_id:
        raise NotFoundError("org has no deletion job id")
    jobs = DeletionJobs(ctx.cosmos)
    job = await jobs.get(job_id, ctx.tenant_id)
    if job is not None and job.get("status") == "succeeded":
        return False
    if job is None:
        await jobs.create(ctx.tenant_id, region=ctx.region, reason="request", now=now, with_token=False, job_id=job_id)
    await enqueue(ctx, job_id)
    return True
