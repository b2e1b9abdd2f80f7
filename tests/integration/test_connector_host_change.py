"""A connector moved to another host must be given its secrets again: the stored ones were
given for the old host and must never reach a new one."""

from __future__ import annotations

from typing import Any

import pytest

from shared.connections import service as connectors
from shared.errors import ValidationFailed
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id


def _trello() -> dict[str, Any]:
    return {
        "kind": "trello",
        "base_url": "http://127.0.0.1:9/1",
        "auth": {"type": "api_key_token", "api_key": "key-0123456789", "token": "tok-0123456789"},
    }


async def test_a_new_host_needs_the_secrets_again(stores: Any) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    doc = await connectors.create_connector(ctx, name="c", connection=_trello(), actor="t", allow_loopback=True)
    with pytest.raises(ValidationFailed) as caught:
        await connectors.update_connector(
            ctx, doc["id"], actor="t", allow_loopback=True, connection={"base_url": "http://127.0.0.2:9/1"}
        )
    fields = {e["field"] for e in caught.value.extra["errors"]}
    assert fields == {"connection.auth.api_key", "connection.auth.token"}
    # Same host, another path: the stored secrets stay; with the secrets sent, the move is fine.
    await connectors.update_connector(
        ctx, doc["id"], actor="t", allow_loopback=True, connection={"base_url": "http://127.0.0.1:9/2"}
    )
    moved = await connectors.update_connector(
        ctx,
        doc["id"],
        actor="t",
        allow_loopback=True,
        connection={
            "base_url": "http://127.0.0.2:9/1",
            "auth": {"api_key": "key-new-0123456789", "token": "tok-new-0123456789"},
        },
    )
    assert moved["public"]["base_url"] == "http://127.0.0.2:9/1"
