"""Deletion of many orgs in one job: the daily sweep's path.

The sweep may find thousands of inactive orgs. Deleting them one job each costs one query
per container per org; a batch job finds the documents of up to `BATCH_SIZE` orgs with
one query per container (`ARRAY_CONTAINS(@ids, c.tenantId)`, one fan-out instead of
hundreds) and deletes them by point operations. Each org keeps its own job document and
receipt; the queue message lists the (job id, tenant id) pairs:

    {"type": "orgs.delete", "v": 1, "jobs": [{"jobId": "del_eu_…", "tenantId": "org_eu_…"}, …]}

Steps run in the same order as a single deletion (keys first, org documents last). A
batch writes no intermediate progress: a crash is followed by a full, idempotent rerun on
redelivery, and the receipts then say `countsExact: false`. Orgs whose deletion must wait
for chunks in flight (`verifyAfter`) are handed to the single-org path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import ConflictError, NotFoundError
from shared.logs.segments import delete_prefix, tenant_prefix
from shared.retention.jobs import DeletionJobs, DeletionMessage
from shared.retention.purge import _PURGERS, step_names
from shared.store.repository import iso
from shared.tenancy.ids import region_of

log = logging.getLogger("ferry.retention")
BATCH_MESSAGE_TYPE = "orgs.delete"
#: orgs per batch job: ~33 KiB of ids, below the 48 KiB a queue message can carry
BATCH_SIZE = 500
CONCURRENCY = 32
Now = Callable[[], datetime]


def batch_message(messages: list[DeletionMessage]) -> dict[str, Any]:
    if not 0 < len(messages) <= BATCH_SIZE:
        raise ValueError(f"a batch holds 1..{BATCH_SIZE} deletions")
    return {
        "type": BATCH_MESSAGE_TYPE,
        "v": 1,
        "jobs": [{"jobId": m.job_id, "tenantId": m.tenant_id} for m in messages],
    }


def parse_batch(body: dict[str, Any]) -> list[DeletionMessage]:
    if body.get("type") != BATCH_MESSAGE_TYPE or not isinstance(body.get("jobs"), list):
        raise ValueError("not a batch deletion message")
    out = [DeletionMessage.parse({"type": "org.delete", **j}) for j in body["jobs"]]
    if len({region_of(m.tenant_id) for m in out}) > 1:
        raise ValueError("a batch deletion stays in one region")
    return out


async def _bounded(coros: list[Any], limit: int = CONCURRENCY) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with semaphore:
            return await coro

    return await asyncio.gather(*(one(c) for c in coros))


@dataclass
class BatchPurger:
    """The steps of purge.py for many orgs of one region at once; counts per org."""

    stores: Any
    region: str
    tenant_ids: list[str]

    async def run_step(self, step: str) -> Counter[str]:
        kind, _, name = step.partition("-")
        if kind == "cosmos":
            return await self._purge_container(name)
        counts: Counter[str] = Counter()
        if kind == "blobs":
            container = self.stores.storage(self.region).container(name)
            results = await _bounded([delete_prefix(container, tenant_prefix(t)) for t in self.tenant_ids])
        elif kind == "search" and name in _PURGERS:
            results = await _bounded([_PURGERS[name](self.stores, self.region, t) for t in self.tenant_ids])
        else:
            results = [0] * len(self.tenant_ids)
        counts.update(dict(zip(self.tenant_ids, results, strict=False)))
        return counts

    async def _purge_container(self, name: str) -> Counter[str]:
        container = self.stores.cosmos(self.region).container(name)
        refs: list[tuple[str, Any, str]] = []
        # One cross-partition query for the whole batch (retention's own read).
        items = container.query_items(
            "SELECT c.id, c.pk, c.tenantId FROM c WHERE ARRAY_CONTAINS(@ids, c.tenantId)",
            parameters=[{"name": "@ids", "value": self.tenant_ids}],
            max_item_count=1000,
        )
        async for item in items:
            refs.append((item["id"], item.get("pk"), item["tenantId"]))

        async def delete(item_id: str, pk: Any) -> int:
            try:
                await container.delete_item(item_id, partition_key=pk)
                return 1
            except Exception as exc:
                if getattr(exc, "status_code", None) == 404:
                    return 0
                raise

        deleted = await _bounded([delete(i, pk) for i, pk, _ in refs])
        counts: Counter[str] = Counter()
        for (_, _, tenant), n in zip(refs, deleted, strict=False):
            counts[tenant] += n
        return counts


async def run_deletion_batch(stores: Any, messages: list[DeletionMessage], *, now: Now) -> dict[str, str]:
    """Run a batch job; returns job id → outcome (`succeeded`, `unknown`, `single`: left
    to the single-org path because chunks may still be in flight)."""
    from shared.retention.deletion import run_deletion_job

    region = region_of(messages[0].tenant_id)
    jobs = DeletionJobs(stores.cosmos(region))
    outcome: dict[str, str] = {}

    async def start(m: DeletionMessage) -> dict[str, Any] | None:
        try:
            return await jobs.start_attempt(m.job_id, m.tenant_id, now=iso(now()))
        except NotFoundError:
            outcome[m.job_id] = "unknown"
        except ConflictError:
            outcome[m.job_id] = "succeeded"
        return None

    started = await _bounded([start(m) for m in messages])
    live: list[tuple[DeletionMessage, dict[str, Any]]] = []
    for m, job in zip(messages, started, strict=False):
        if job is None:
            continue
        if job.get("verifyAfter"):
            outcome[m.job_id] = "single"
            await run_deletion_job(stores, m, now=now)
            continue
        live.append((m, job))
    if not live:
        return outcome
    purger = BatchPurger(stores, region, [m.tenant_id for m, _ in live])
    totals: dict[str, dict[str, int]] = {m.tenant_id: {} for m, _ in live}
    for step in step_names():
        counts = await purger.run_step(step)
        for tenant, per_step in totals.items():
            per_step[step] = counts.get(tenant, 0)

    async def finish(m: DeletionMessage, job: dict[str, Any]) -> None:
        counts = totals[m.tenant_id]
        await jobs.patch(
            job,
            [
                {"op": "set", "path": "/steps", "value": {k: {"done": True, "deleted": v} for k, v in counts.items()}},
                {"op": "set", "path": "/counts", "value": counts},
                {"op": "set", "path": "/countsExact", "value": int(job.get("attempts", 1)) <= 1},
                {"op": "set", "path": "/status", "value": "succeeded"},
                {"op": "set", "path": "/startedAt", "value": job.get("startedAt") or job.get("attemptAt")},
                {"op": "set", "path": "/finishedAt", "value": iso(now())},
            ],
        )
        outcome[m.job_id] = "succeeded"

    await _bounded([finish(m, job) for m, job in live])
    log.info("batch deletion of %d orgs finished", len(live))
    return outcome
