"""Org API keys: shown once, stored as a SHA-256 digest with a lookup prefix."""

from __future__ import annotations

from typing import Any

from shared.identity import apikeys
from shared.identity.access import Scope
from shared.store.repository import iso, utcnow
from shared.tenancy import audit
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_id
from shared.tenancy.limits import ensure_room
from shared.tenancy.repositories import ApiKeysRepository, Directory


def public_key(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "name": doc["name"],
        "prefix": f"{apikeys.KEY_MARKER}{doc['prefix']}",
        "scopes": doc["scopes"],
        "createdAt": doc["createdAt"],
        "createdBy": doc.get("createdBy"),
        "lastUsedAt": doc.get("lastUsedAt"),
        "revokedAt": doc.get("revokedAt"),
    }


async def create_key(
    ctx: TenantContext, *, name: str, scopes: list[Scope], actor: str, request: RequestInfo
) -> tuple[dict[str, Any], str]:
    """Create a key; returns its record and the plaintext, which is never stored or shown again."""
    await ensure_room(ctx.repo(ApiKeysRepository), "apiKeys")
    new = apikeys.generate()
    doc = await ctx.repo(ApiKeysRepository).create(
        {
            "id": new_id("key"),
            "name": name,
            "prefix": new.prefix,
            "digest": new.digest,
            "scopes": sorted({s.value for s in scopes}),
            "createdAt": iso(utcnow()),
            "createdBy": actor,
        }
    )
    await Directory(ctx.cosmos).add_key(new.prefix, ctx.tenant_id, doc["id"])
    await audit.record(
        ctx,
        "key.created",
        actor=actor,
        target=doc["id"],
        request=request,
        detail={"name": name, "scopes": doc["scopes"]},
    )
    return doc, new.plaintext


async def revoke_key(ctx: TenantContext, key_id: str, *, actor: str, request: RequestInfo) -> dict[str, Any]:
    keys = ctx.repo(ApiKeysRepository)
    doc = await keys.get(key_id)
    if doc.get("revokedAt"):
        return doc
    saved = await keys.replace({**doc, "revokedAt": iso(utcnow())}, etag=doc["_etag"])
    await audit.record(ctx, "key.revoked", actor=actor, target=key_id, request=request)
    return saved
