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


async def test_single_partition_queries_page_count_and_follow_writes(stores: Any) -> None:
    """The launcher answers a single-partition query from that partition's documents only:
    paging, aggregates and projections see exactly the partition, also after replace/delete."""
    container = stores.cosmos("eu").container("leases")
    for i in range(25):
        await container.upsert_item({"id": f"in-{i:02d}", "pk": "part-a", "n": i})
        await container.upsert_item({"id": f"out-{i:02d}", "pk": "part-b", "n": i})

    pages = container.query_items(
        "SELECT c.id FROM c WHERE c.pk = @pk",
        parameters=[{"name": "@pk", "value": "part-a"}],
        partition_key="part-a",
        max_item_count=10,
    ).by_page()
    sizes, ids = [], []
    async for page in pages:
        batch = [d["id"] async for d in page]
        sizes.append(len(batch))
        ids.extend(batch)
    assert sizes == [10, 10, 5]
    assert sorted(ids) == [f"in-{i:02d}" for i in range(25)]  # each once (no ORDER BY: any order)

    count = [n async for n in container.query_items("SELECT VALUE COUNT(1) FROM c", partition_key="part-a")]
    assert count == [25]

    await container.replace_item("in-03", {"id": "in-03", "pk": "part-a", "n": 100})
    await container.delete_item("in-04", partition_key="part-a")
    big = [d["id"] async for d in container.query_items("SELECT c.id FROM c WHERE c.n > 50", partition_key="part-a")]
    assert big == ["in-03"]
    count = [n async for n in container.query_items("SELECT VALUE COUNT(1) FROM c", partition_key="part-a")]
    assert count == [24]
    none = [d async for d in container.query_items("SELECT * FROM c", partition_key="part-none")]
    assert none == []
    everywhere = [d["id"] async for d in container.query_items("SELECT c.id FROM c WHERE STARTSWITH(c.id, 'out-')")]
    assert len(everywhere) == 25


async def test_cross_partition_equality_queries_follow_writes(stores: Any) -> None:
    """Cross-partition `WHERE c.tenantId = @t …` is answered from the launcher's field index:
    it must see exactly what a scan would, after creates, replaces and deletes."""
    container = stores.cosmos("eu").container("userOrgs")

    async def ids(sql: str, **params: Any) -> list[str]:
        parameters = [{"name": f"@{k}", "value": v} for k, v in params.items()]
        return sorted([d["id"] async for d in container.query_items(sql, parameters=parameters)])

    for i in range(12):
        await container.upsert_item(
            {"id": f"x-{i:02d}", "pk": f"user-{i}", "tenantId": "org-x" if i % 3 else "org-y", "n": i}
        )
    by_tenant = "SELECT c.id FROM c WHERE c.tenantId = @t"
    assert await ids(by_tenant, t="org-y") == ["x-00", "x-03", "x-06", "x-09"]
    assert len(await ids(by_tenant, t="org-x")) == 8
    assert await ids(by_tenant + " AND c.n > @n", t="org-x", n=8) == ["x-10", "x-11"]
    ordered = [
        d["n"]
        async for d in container.query_items(
            "SELECT c.n FROM c WHERE c.tenantId = @t ORDER BY c.n DESC", parameters=[{"name": "@t", "value": "org-y"}]
        )
    ]
    assert ordered == [9, 6, 3, 0]
    # OR is not narrowed by the first term.
    assert len(await ids("SELECT c.id FROM c WHERE c.tenantId = @t OR c.n = @n", t="org-y", n=1)) == 5

    await container.replace_item("x-00", {"id": "x-00", "pk": "user-0", "tenantId": "org-x", "n": 0})
    await container.delete_item("x-03", partition_key="user-3")
    assert await ids(by_tenant, t="org-y") == ["x-06", "x-09"]
    assert "x-00" in await ids(by_tenant, t="org-x")
    assert await ids(by_tenant, t="org-none") == []


async def test_azurite_launcher_keeps_lookups_exact_after_removes(stores: Any) -> None:
    """The Azurite launcher changes how LokiJS plans lookups and removes of a few documents;
    what is found after single deletes and multi-document removes (a blob with its snapshots:
    4 documents take the launcher's path, 12 LokiJS's batch path) must be exactly what remains."""
    container = stores.storage("eu").container("logs")
    names = [f"launcher-check/{i:03d}" for i in range(30)]
    for name in names:
        await container.upload_blob(name, name.encode(), overwrite=True)
    for name, snapshots in ((names[10], 3), (names[11], 11)):
        for _ in range(snapshots):
            await container.get_blob_client(name).create_snapshot()
    for name in names[:10]:
        await container.delete_blob(name)
    for name in names[10:12]:
        await container.delete_blob(name, delete_snapshots="include")
    listed = [b.name async for b in container.list_blobs(name_starts_with="launcher-check/", include=["snapshots"])]
    assert sorted(listed) == names[12:]
    for name in names[12:]:
        assert await (await container.get_blob_client(name).download_blob()).readall() == name.encode()
    for name in names[:12]:
        assert not await container.get_blob_client(name).exists()
