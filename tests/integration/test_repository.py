"""The data layer against the Cosmos stand-in: tenant scoping, concurrency, paging."""

from __future__ import annotations

import uuid

import pytest

from shared.errors import ConflictError, NotFoundError, ValidationFailed
from shared.store.repository import TenantRepository


class Widgets(TenantRepository):
    container_name = "connectors"


class ItemMap(TenantRepository):
    container_name = "idMap"


def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_documents_are_stamped_and_scoped(stores) -> None:  # type: ignore[no-untyped-def]
    a, b = tenant(), tenant()
    repo_a = Widgets(stores.cosmos("eu"), a)
    repo_b = Widgets(stores.cosmos("eu"), b)
    doc = await repo_a.create({"id": "w1", "name": "one"})
    assert doc["tenantId"] == a and doc["pk"] == a
    assert await repo_b.find("w1") is None
    with pytest.raises(NotFoundError):
        await repo_b.get("w1")
    assert await repo_b.count() == 0
    assert (await repo_b.query_page()).items == []
    with pytest.raises(PermissionError):
        await repo_a.create({"id": "w2", "tenantId": b})


async def test_missing_item_is_none_not_an_error(stores) -> None:  # type: ignore[no-untyped-def]
    repo = Widgets(stores.cosmos("eu"), tenant())
    assert await repo.find("nope") is None
    assert await repo.delete("nope") is False


async def test_create_twice_conflicts(stores) -> None:  # type: ignore[no-untyped-def]
    repo = Widgets(stores.cosmos("eu"), tenant())
    await repo.create({"id": "x"})
    with pytest.raises(ConflictError):
        await repo.create({"id": "x"})


async def test_etag_optimistic_concurrency(stores) -> None:  # type: ignore[no-untyped-def]
    repo = Widgets(stores.cosmos("eu"), tenant())
    first = await repo.create({"id": "x", "state": "queued"})
    second = await repo.replace({**first, "state": "running"}, etag=first["_etag"])
    assert second["state"] == "running"
    with pytest.raises(ConflictError):
        await repo.replace({**first, "state": "cancelled"}, etag=first["_etag"])
    assert (await repo.get("x"))["state"] == "running"


async def test_conditional_patch_and_atomic_increments(stores) -> None:  # type: ignore[no-untyped-def]
    repo = Widgets(stores.cosmos("eu"), tenant())
    await repo.create({"id": "run", "status": "running", "done": 0})
    for _ in range(5):
        await repo.patch("run", [{"op": "incr", "path": "/done", "value": 2}])
    assert (await repo.get("run"))["done"] == 10
    await repo.patch(
        "run", [{"op": "set", "path": "/status", "value": "succeeded"}], condition="FROM c WHERE c.status = 'running'"
    )
    with pytest.raises(ConflictError):
        await repo.patch(
            "run",
            [{"op": "set", "path": "/status", "value": "succeeded"}],
            condition="FROM c WHERE c.status = 'running'",
        )


async def test_continuation_paging_visits_each_item_once(stores) -> None:  # type: ignore[no-untyped-def]
    repo = Widgets(stores.cosmos("eu"), tenant())
    for i in range(23):
        await repo.create({"id": f"i{i:02d}", "n": i})
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await repo.query_page(order_by="c.n", page_size=5, continuation=token)
        seen += [d["id"] for d in page.items]
        pages += 1
        token = page.continuation
        if not token:
            break
    assert seen == [f"i{i:02d}" for i in range(23)]
    assert pages == 5
    with pytest.raises(ValidationFailed):
        await repo.query_page(continuation="%%%not-a-token")


async def test_synthetic_partition_keeps_migrations_apart(stores) -> None:  # type: ignore[no-untyped-def]
    t = tenant()
    m1 = ItemMap(stores.cosmos("eu"), t, partition="m1")
    m2 = ItemMap(stores.cosmos("eu"), t, partition="m2")
    await m1.create({"id": "task:1", "dest": "a"})
    assert m1.pk == f"{t}:m1"
    assert await m2.find("task:1") is None
    assert await m1.count() == 1 and await m2.count() == 0
    with pytest.raises(ValueError):
        ItemMap(stores.cosmos("eu"), t)


async def test_regions_are_separate_databases(stores) -> None:  # type: ignore[no-untyped-def]
    t = tenant()
    await Widgets(stores.cosmos("eu"), t).create({"id": "eu-only"})
    assert await Widgets(stores.cosmos("us"), t).find("eu-only") is None
