"""Seeding for the purge benchmark and the retention tests: an isolated local stack (the
sweep reads across tenants, so it must not see other tests' orgs), orgs with a document in
every container and blobs in every prefix, and a scan of what remains of an org."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.config import BLOB_EXPORTS, QUEUE_DELETIONS, settings_from_env
from shared.logs.model import LogEvent
from shared.logs.writer import RunLogWriter
from shared.retention.deletion import handle_deletion_message
from shared.retention.purge import cosmos_order
from shared.store.repository import iso
from shared.store.stores import Stores
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id
from shared.tenancy.repositories import Directory
from tools.stack import LocalStack

CANARY_NAME = "Canary Org Ümlaut"


def isolated_settings(stack: LocalStack) -> Any:
    return settings_from_env(
        {
            **stack.values(),
            "FERRY_OIDC_ISSUERS": "http://127.0.0.1:9",
            "FERRY_OIDC_AUDIENCE": "api://ferry-local",
            "FERRY_SETTINGS_FILE": os.devnull,
        }
    )


@dataclass
class SeededOrg:
    id: str
    region: str
    email: str
    key_prefix: str
    migration_id: str
    run_id: str


async def seed_org(
    stores: Stores,
    *,
    region: str = "eu",
    last_activity: datetime,
    run_status: str = "succeeded",
    log_lines: int = 3,
    export_blob: bool = True,
) -> SeededOrg:
    """An org with a document in every container of the region and blobs in every prefix."""
    org_id = new_org_id(region)
    ctx = TenantContext.for_org(stores, org_id)
    tag = uuid.uuid4().hex[:10]
    email, prefix, mig, run = f"p-{tag}@example.com", f"pfx{tag}", f"mig_{tag}", f"run_{tag}"
    at = iso(last_activity)
    cosmos = stores.cosmos(region)

    async def put(container: str, doc: dict[str, Any], pk: str | None = None) -> None:
        await cosmos.container(container).upsert_item({**doc, "tenantId": org_id, "pk": pk or org_id})

    await put("tenants", {"id": org_id, "name": CANARY_NAME, "status": "active", "createdAt": at, "lastActivityAt": at})
    await put(
        "members", {"id": f"mem_{tag}", "email": email, "role": "admin", "memberType": "internal", "status": "active"}
    )
    await Directory(cosmos).add_membership(email, org_id, f"mem_{tag}")
    await put(
        "apiKeys",
        {"id": f"key_{tag}", "name": "ci", "prefix": prefix, "digest": "d" * 64, "scopes": ["read"], "createdAt": at},
    )
    await Directory(cosmos).add_key(prefix, org_id, f"key_{tag}")
    await put("audit", {"id": f"aud_{tag}", "action": "org.created", "at": at, "actor": "user:x"})
    await put(
        "connectors",
        {
            "id": f"con_{tag}",
            "kind": "trello",
            "public": {"baseUrl": "https://api.trello.com"},
            "sealed": {"token": "v1.sealed-ciphertext-" + tag},
        },
    )
    await put("dataKeys", {"id": f"datakey-{org_id}", "type": "dataKey", "keys": [{"version": 1, "wrapped": "AAAA"}]})
    await put("migrations", {"id": mig, "name": "Board move", "createdAt": at})
    await put("runs", {"id": run, "migrationId": mig, "status": run_status, "lastActivityAt": at})
    await put("leases", {"id": f"lease_{tag}", "until": at})
    for n in range(2):
        await put("idMap", {"id": f"task:src-{n}", "destId": f"d-{n}"}, pk=f"{org_id}:{mig}")
        await put("runItems", {"id": f"{run}:{n}", "status": "created"}, pk=f"{org_id}:{mig}")
    if log_lines:
        async with RunLogWriter(ctx, run) as log:
            for i in range(log_lines):
                log.item(LogEvent.ITEM_CREATED, kind="task", source_id=f"src-{i}", dest_id=f"d-{i}")
    if export_blob:
        blob = ctx.storage.container(BLOB_EXPORTS).get_blob_client(f"{org_id}/exp_{tag}.zip")
        await blob.upload_blob(b"PK\x05\x06" + b"\0" * 18, overwrite=True)
    return SeededOrg(org_id, region, email, prefix, mig, run)


async def footprint(stores: Stores, org_id: str, region: str) -> dict[str, int]:
    """Everything stored anywhere in the region that names the org: a scan of every
    container (by tenantId, any partition) and of both blob prefixes."""
    found: dict[str, int] = {}
    for name in [*cosmos_order(), "deletions"]:
        items = (
            stores.cosmos(region)
            .container(name)
            .query_items(
                "SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t OR c.pk = @t OR STARTSWITH(c.pk, @tp)",
                parameters=[{"name": "@t", "value": org_id}, {"name": "@tp", "value": f"{org_id}:"}],
            )
        )
        count = await anext(aiter(items))
        if count:
            found[name] = count
    for container in ("logs", "exports"):
        blobs = [b async for b in stores.storage(region).container(container).list_blobs(name_starts_with=f"{org_id}/")]
        if blobs:
            found[f"blob:{container}"] = len(blobs)
    return found


async def drain_deletions(stores: Stores, region: str, *, now: Any = None, max_rounds: int = 50) -> list[Any]:
    """Run every deletion job waiting on the region's queue (as the queue trigger would)."""
    queue = stores.storage(region).queue(QUEUE_DELETIONS)
    outcomes = []
    for _ in range(max_rounds):
        got = 0
        async for msg in queue.receive_messages(max_messages=32, visibility_timeout=60):
            got += 1
            kwargs = {"now": now} if now else {}
            outcomes += await handle_deletion_message(stores, json.loads(msg.content), **kwargs)
            await queue.delete_message(msg)
        if not got:
            break
    return outcomes
