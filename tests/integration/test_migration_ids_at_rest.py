"""Only ids at rest: a migration keeps its scopes' ids, never the names a client sent, and a
migration stored by an earlier version loses the names it holds the first time it is read."""

from __future__ import annotations

import uuid
from typing import Any

from shared.migrations.service import MigrationsRepository, get_migration, list_migrations, public_migration
from shared.tenancy.context import TenantContext


async def test_scope_names_stored_earlier_are_dropped_on_read(stores: Any) -> None:
    ctx = TenantContext.for_org(stores, f"org_eu_{uuid.uuid4().hex[:20]}")
    repo = ctx.repo(MigrationsRepository)
    await repo.create(
        {
            "id": "mig_old",
            "name": "old",
            "sourceConnectorId": "c1",
            "destinationConnectorId": "c2",
            "scopes": [{"id": "b1", "name": "Roadmap 2025"}, {"id": "b2", "name": None}],
            "statusMapping": {"Done": "Completed"},
            "createdAt": "2025-01-01T00:00:00Z",
        }
    )
    page = await list_migrations(ctx, page_size=10, continuation=None)
    assert [public_migration(d)["scopes"] for d in page.items] == [[{"id": "b1"}, {"id": "b2"}]]

    doc = await get_migration(ctx, "mig_old")
    assert doc["scopes"] == [{"id": "b1"}, {"id": "b2"}]
    stored = await repo.get("mig_old")
    assert stored["scopes"] == [{"id": "b1"}, {"id": "b2"}] and "Roadmap" not in repr(stored)
    assert stored["statusMapping"] == {"Done": "Completed"}  # the older form still reads
