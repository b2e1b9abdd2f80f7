"""The project's Cosmos stand-in launcher fixes what bites in the stock CLI, and keeps data."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from shared.config import settings_from_env
from shared.store.repository import TenantRepository
from shared.store.stores import Stores
from tools.stack import start_stack


class Things(TenantRepository):
    container_name = "tenants"


def _settings(stack: Any) -> Any:
    return settings_from_env({**stack.values(), "FERRY_OIDC_ISSUERS": "http://127.0.0.1:9", "FERRY_OIDC_AUDIENCE": "a"})


async def _roundtrip(stack: Any, write: bool) -> dict[str, Any] | None:
    stores = Stores(_settings(stack))
    await stores.start()
    try:
        repo = Things(stores.cosmos("eu"), "t1")
        if write:
            await repo.create({"id": "kept", "n": 1})
            await asyncio.sleep(0)  # the launcher also saves on shutdown; no wait is needed
        return await repo.find("kept")
    finally:
        await stores.close()


def test_data_survives_a_restart_and_fresh_wipes_it(tmp_path: Path) -> None:
    data = tmp_path / "stack"
    first = start_stack(data, fresh=True, persist_cosmos=True)
    try:
        assert asyncio.run(_roundtrip(first, write=True)) is not None
    finally:
        first.stop()
    again = start_stack(data, persist_cosmos=True)
    try:
        kept = asyncio.run(_roundtrip(again, write=False))
        assert kept is not None and kept["n"] == 1
    finally:
        again.stop()
    wiped = start_stack(data, fresh=True, persist_cosmos=True)
    try:
        assert asyncio.run(_roundtrip(wiped, write=False)) is None
    finally:
        wiped.stop()


async def test_missing_item_is_404_and_queries_stay_in_their_partition(stores: Any) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    container = stores.cosmos("eu").container("leases")
    with pytest.raises(ResourceNotFoundError):
        await container.read_item("no-such-item", partition_key="p-none")
    await container.upsert_item({"id": "a", "pk": "p1", "v": 1})
    await container.upsert_item({"id": "b", "pk": "p2", "v": 2})
    # No partition key in the WHERE clause: the launcher scopes the query by the header.
    found = [d async for d in container.query_items("SELECT * FROM c WHERE c.v > 0", partition_key="p1")]
    assert [d["id"] for d in found] == ["a"]
