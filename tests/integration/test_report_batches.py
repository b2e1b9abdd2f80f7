"""Report rows go to Cosmos in transactional batches: one request per 100 rows of a chunk
(they share the migration's partition) instead of one per item; a failed batch raises (the
chunk is delivered again and its upserts, being idempotent, write the same rows)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.contract.model import Kind
from shared.engine.ports import ItemReport, ItemStatus
from shared.migrations.ports_cosmos import CosmosRunState
from shared.tenancy.context import TenantContext


class _CountingContainer:
    """The container client, counting transactional batches and failing one on request."""

    def __init__(self, inner: Any, fail_batch: int | None = None) -> None:
        self.inner = inner
        self.batches = 0
        self.fail_batch = fail_batch

    async def execute_item_batch(self, ops: Any, **kwargs: Any) -> Any:
        self.batches += 1
        if self.batches == self.fail_batch:
            raise ConnectionResetError("the connection dropped")
        return await self.inner.execute_item_batch(ops, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _rows(n: int, status: ItemStatus = ItemStatus.CREATED) -> list[ItemReport]:
    return [ItemReport(kind=Kind.TASK, source_id=f"t/{i}", scope="p", status=status, dest_id=f"d{i}") for i in range(n)]


async def test_a_chunk_of_250_rows_is_three_requests(stores: Any) -> None:
    ctx = TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")
    state = CosmosRunState(ctx, "mig")
    counting = _CountingContainer(state.items._container)
    state.items._container = counting
    await state.add_items("r1", _rows(250))
    assert counting.batches == 3
    assert len(await state.item_keys("r1")) == 250
    await state.add_items("r1", _rows(250, ItemStatus.FAILED))  # a redelivered chunk overwrites
    docs = await state.items.query_all("c.runId = @run", {"run": "r1"})
    assert len(docs) == 250 and {d["status"] for d in docs} == {"failed"}
    assert all(d["tenantId"] == ctx.tenant_id for d in docs)


async def test_a_failed_batch_raises_and_the_retry_writes_every_row(stores: Any) -> None:
    ctx = TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")
    state = CosmosRunState(ctx, "mig")
    state.items._container = _CountingContainer(state.items._container, fail_batch=2)
    with pytest.raises(ConnectionResetError):
        await state.add_items("r1", _rows(150))
    assert len(await state.item_keys("r1")) == 100  # the first batch only
    await state.add_items("r1", _rows(150))  # the chunk again
    assert len(await state.item_keys("r1")) == 150
