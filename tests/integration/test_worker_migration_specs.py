"""The chunk worker reads a migration's spec once per process, on the Cosmos stand-in.

Every delivery of every chunk used to read its migration document again (one of a chunk's
~16 Cosmos calls, issue 19); the spec never changes after it is created. These tests pin the
single read, that the kept spec is the org's own (another org's migration of the same id is
not it), and that a chunk of a deleted migration is still dropped: its run is gone.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.engine.ports import ChunkMessage, Phase
from shared.identity.oidc import Principal
from shared.migrations.ports_cosmos import RunsRepository
from shared.migrations.service import MigrationsRepository, delete_migration
from shared.migrations.worker import ChunkWorker
from shared.tenancy import orgs
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext


class CountingFinds:
    """``TenantRepository.find`` of the migrations repository, counted per org."""

    def __init__(self) -> None:
        self.finds: list[str] = []

    def install(self, monkeypatch: Any) -> None:
        original = MigrationsRepository.find
        finds = self.finds

        async def find(repo: MigrationsRepository, doc_id: str) -> Any:
            finds.append(doc_id)
            return await original(repo, doc_id)

        monkeypatch.setattr(MigrationsRepository, "find", find)


async def _org(stores: Any) -> TenantContext:
    tag = uuid.uuid4().hex[:8]
    person = Principal(subject=f"sub-{tag}", issuer="https://issuer.example", email=f"{tag}@example.com")
    org = await orgs.create_org(stores, person, name="Specs", country="DE", region=None, request=RequestInfo())
    return TenantContext.for_org(stores, org["id"])


async def _migration(ctx: TenantContext, migration_id: str, name: str) -> None:
    await ctx.repo(MigrationsRepository).create(
        {"id": migration_id, "name": name, "sourceConnectorId": "c-src", "destinationConnectorId": "c-dst"}
    )


async def test_a_spec_is_read_once_and_kept_per_org(stores: Any, monkeypatch: Any) -> None:
    first, second = await _org(stores), await _org(stores)
    await _migration(first, "m1", "first org's")
    await _migration(second, "m1", "second org's")  # the same id in another org
    counting = CountingFinds()
    counting.install(monkeypatch)
    worker = ChunkWorker(stores)

    for _ in range(3):
        spec = await worker._migration(first, "m1")
        assert spec is not None and spec["name"] == "first org's"
    other = await worker._migration(second, "m1")
    assert other is not None and other["name"] == "second org's"
    assert counting.finds == ["m1", "m1"]  # once for each org, not once per delivery
    assert await worker._migration(first, "missing") is None
    assert await worker._migration(first, "missing") is None  # nothing kept for what is not there
    assert counting.finds == ["m1", "m1", "missing", "missing"]


async def test_a_chunk_of_a_deleted_migration_is_dropped_though_its_spec_was_kept(stores: Any) -> None:
    ctx = await _org(stores)
    await _migration(ctx, "m1", "kept")
    await ctx.repo(RunsRepository).create({"id": "r1", "migrationId": "m1", "status": "succeeded", "counts": {}})
    worker = ChunkWorker(stores)
    assert await worker._migration(ctx, "m1") is not None  # kept from an earlier delivery

    await delete_migration(ctx, "m1")  # deletes its runs, then the migration
    message = ChunkMessage(tenant_id=ctx.tenant_id, migration_id="m1", run_id="r1", scope="b1", phase=Phase.TASK)
    assert await worker.handle(message.to_json()) is None
    assert await ctx.repo(RunsRepository).find("r1") is None  # nothing was written back
