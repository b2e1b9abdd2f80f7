"""Destroy one organisation in its region: every store, step by step, resumable.

A deletion job (jobs.py) runs these steps in order; each is idempotent and records its count
in the job document, so a crash anywhere followed by the queue's redelivery simply runs the
remaining (and re-checks the finished) steps:

1. `cosmos-dataKeys` first: the data keys go, so every connector secret is unreadable at once
   (crypto-shredding, as `Vault.shred` does; the ciphertext goes with `connectors` below);
2. `blobs-logs`, `blobs-exports`: the org's blob prefixes `{tenantId}/…`;
3. `search-<name>`: purgers registered by other parts (the assistant's search index);
4. `cosmos-<container>` for every container of shared/store/cosmos.py CONTAINERS, including
   the cross-tenant indexes (userOrgs, keyIndex) and the synthetic-partition containers
   (idMap, runItems), found by their `tenantId` field; `tenants` goes last, so until the very
   end the org is visibly "deleting" (the API answers 404, workers drop its messages);
5. `verify`: after `verifyAfter` (chunks in flight when deletion began have ended by then),
   every container and prefix is scanned once more and leftovers are purged.

Queue messages of the org still waiting in `migration-chunks` cannot be removed selectively;
the worker drops them when dequeued because `org_is_active` is false (see active.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from shared.config import BLOB_EXPORTS, BLOB_LOGS
from shared.logs.segments import delete_prefix, tenant_prefix
from shared.store.cosmos import CONTAINERS

log = logging.getLogger("ferry.retention")

#: A purger removes the org's data from one external store and returns how much it removed.
#: It receives the process Stores, the org's region and the tenant id; it must be idempotent.
Purger = Callable[[Any, str, str], Awaitable[int]]
#: Counts what a purger's store still holds of an org (same arguments), for the final check.
PurgeCounter = Callable[[Any, str, str], Awaitable[int]]
_PURGERS: dict[str, Purger] = {}
_COUNTERS: dict[str, PurgeCounter] = {}

#: Cosmos containers in deletion order: keys first, the org document last. Containers added
#: to CONTAINERS later are purged too (before `tenants`), without a change here.
_FIRST = ("dataKeys", "connectors", "idMap", "runItems", "runs", "migrations", "apiKeys", "keyIndex")
_LAST = ("members", "userOrgs", "audit", "tenants")
NOT_TENANT_DATA = frozenset({"deletions"})  # receipts: hashed ids only, kept
#: containers whose partition key is the tenant id itself (single-partition queries)
TENANT_PARTITIONED = frozenset(
    {"tenants", "members", "apiKeys", "audit", "connectors", "dataKeys", "migrations", "runs", "leases", "idempotency"}
)
BLOB_PREFIXES = (BLOB_LOGS, BLOB_EXPORTS)
DELETE_CONCURRENCY = 16
MAX_REFS = 5000  # ids fetched per query round


def register_purger(name: str, purger: Purger, counter: PurgeCounter | None = None) -> None:
    """Register an external store to purge with every org (e.g. the assistant's search
    index: `register_purger("search", purge_search_documents)`). Names are step names.
    With `counter`, the job's final check also looks for the org's leftovers there."""
    if not name.replace("-", "").isalnum():
        raise ValueError("purger names are alphanumeric")
    _PURGERS[name] = purger
    if counter is not None:
        _COUNTERS[name] = counter


def unregister_purger(name: str) -> None:
    _PURGERS.pop(name, None)
    _COUNTERS.pop(name, None)


def registered_purgers() -> dict[str, Purger]:
    return dict(_PURGERS)


def cosmos_order() -> list[str]:
    names = [c for c in CONTAINERS if c not in NOT_TENANT_DATA]
    middle = [c for c in names if c not in _FIRST and c not in _LAST]
    return [c for c in _FIRST if c in names] + middle + [c for c in _LAST if c in names]


def step_names() -> list[str]:
    """Every step of a deletion, in order (the receipt lists each with its count)."""
    cosmos = cosmos_order()
    return (
        ["cosmos-dataKeys"]
        + [f"blobs-{b}" for b in BLOB_PREFIXES]
        + [f"search-{n}" for n in _PURGERS]
        + [f"cosmos-{c}" for c in cosmos if c != "dataKeys"]
    )


@dataclass
class OrgPurger:
    """The steps of one org's destruction in one region (no job bookkeeping here)."""

    stores: Any
    region: str
    tenant_id: str

    async def run_step(self, step: str) -> int:
        kind, _, name = step.partition("-")
        if kind == "cosmos":
            return await self.purge_container(name)
        if kind == "blobs":
            return await delete_prefix(self.stores.storage(self.region).container(name), tenant_prefix(self.tenant_id))
        if kind == "search":
            purger = _PURGERS.get(name)
            return await purger(self.stores, self.region, self.tenant_id) if purger else 0
        raise ValueError(f"unknown deletion step {step!r}")

    async def purge_container(self, name: str) -> int:
        """Delete every document of the org in `name`. A query that came back short of
        its cap found everything: no writer adds to a deleting org (the API refuses it,
        workers drop its chunks, and chunks already running are covered by the job's
        final check), so no confirming query is needed."""
        container = self.stores.cosmos(self.region).container(name)
        total = 0
        while True:
            refs = await self._refs(container, name)
            total += await _delete_all(container, refs) if refs else 0
            if len(refs) < MAX_REFS:
                return total

    async def _refs(self, container: Any, name: str) -> list[tuple[str, Any]]:
        params = [{"name": "@t", "value": self.tenant_id}]
        sql = "SELECT c.id, c.pk FROM c WHERE c.tenantId = @t"
        if name not in TENANT_PARTITIONED:
            # Synthetic (`tenantId:migrationId`), lookup-keyed (userOrgs, keyIndex) or
            # unknown partitioning: a cross-partition query, filtered by tenantId.
            items = container.query_items(sql, parameters=params, max_item_count=1000)
        else:
            items = container.query_items(
                sql + " AND c.pk = @t", parameters=params, partition_key=self.tenant_id, max_item_count=1000
            )
        out: list[tuple[str, Any]] = []
        async for item in items:
            out.append((item["id"], item.get("pk")))
            if len(out) >= MAX_REFS:
                break
        return out

    async def leftovers(self) -> dict[str, int]:
        """What is still stored of the org, per store (empty when the org is gone)."""
        found: dict[str, int] = {}
        for name in cosmos_order():
            refs = await self._refs(self.stores.cosmos(self.region).container(name), name)
            if refs:
                found[f"cosmos-{name}"] = len(refs)
        for blob_container in BLOB_PREFIXES:
            container = self.stores.storage(self.region).container(blob_container)
            count = 0
            async for _ in container.list_blobs(name_starts_with=tenant_prefix(self.tenant_id)):
                count += 1
            if count:
                found[f"blobs-{blob_container}"] = count
        for name, counter in list(_COUNTERS.items()):
            left = await counter(self.stores, self.region, self.tenant_id)
            if left:
                found[f"search-{name}"] = left
        return found


async def _delete_all(container: Any, refs: list[tuple[str, Any]]) -> int:
    semaphore = asyncio.Semaphore(DELETE_CONCURRENCY)

    async def one(item_id: str, pk: Any) -> int:
        async with semaphore:
            try:
                await container.delete_item(item_id, partition_key=pk)
                return 1
            except Exception as exc:
                if getattr(exc, "status_code", None) == 404:
                    return 0
                raise

    return sum(await asyncio.gather(*(one(i, pk) for i, pk in refs)))
