"""The Cosmos data-key store and the regional vault against the real Cosmos stand-in.

No mocks: documents go to the stand-in's `dataKeys` container; keys are local RSA files
under a temporary folder (the same LocalKeyWrapper local runs use).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConflictError
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id
from shared.vault.crypto import DecryptionError
from shared.vault.keys import LocalKeyWrapper
from shared.vault.regional import forget_vaults, regional_vault, vault_for
from shared.vault.service import Vault, data_key_doc_id
from shared.vault.store import CosmosDataKeyStore


def _doc(tenant: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": data_key_doc_id(tenant),
        "tenantId": tenant,
        "pk": tenant,
        "type": "dataKey",
        "currentVersion": 1,
        "keys": [],
        **extra,
    }


async def _raw(stores: Any, region: str, tenant: str) -> list[dict[str, Any]]:
    """Every dataKeys document of `tenant` in `region`, read past the repositories."""
    container = stores.cosmos(region).container("dataKeys")
    items = container.query_items("SELECT * FROM c WHERE c.tenantId = @t", parameters=[{"name": "@t", "value": tenant}])
    return [dict(i) async for i in items]


async def test_get_of_a_missing_document_is_none(stores: Any) -> None:
    assert await CosmosDataKeyStore(stores, "eu").get(new_org_id("eu")) is None


async def test_create_then_create_again_conflicts(stores: Any) -> None:
    store, tenant = CosmosDataKeyStore(stores, "eu"), new_org_id("eu")
    await store.put(_doc(tenant, n=1), None)
    with pytest.raises(ConflictError):
        await store.put(_doc(tenant, n=2), None)
    got = await store.get(tenant)
    assert got is not None and got["n"] == 1 and got["_etag"]


async def test_replace_only_under_the_current_etag(stores: Any) -> None:
    store, tenant = CosmosDataKeyStore(stores, "eu"), new_org_id("eu")
    await store.put(_doc(tenant, n=1), None)
    first = await store.get(tenant)
    assert first is not None
    await store.put({**first, "n": 2}, first["_etag"])
    with pytest.raises(ConflictError):  # the ETag it read is stale now
        await store.put({**first, "n": 3}, first["_etag"])
    second = await store.get(tenant)
    assert second is not None and second["n"] == 2 and second["_etag"] != first["_etag"]


async def test_replace_of_a_deleted_document_conflicts_and_delete_is_idempotent(stores: Any) -> None:
    store, tenant = CosmosDataKeyStore(stores, "eu"), new_org_id("eu")
    await store.put(_doc(tenant), None)
    doc = await store.get(tenant)
    assert doc is not None
    await store.delete(tenant)
    await store.delete(tenant)
    with pytest.raises(ConflictError):
        await store.put(doc, doc["_etag"])
    assert await store.get(tenant) is None


async def test_an_org_of_another_region_is_refused(stores: Any) -> None:
    with pytest.raises(PermissionError):
        await CosmosDataKeyStore(stores, "eu").get(new_org_id("us"))
    with pytest.raises(ValueError):
        await CosmosDataKeyStore(stores, "eu").put({**_doc(new_org_id("eu")), "id": "other"}, None)


async def test_vault_for_keeps_each_orgs_keys_in_its_region(stores: Any) -> None:
    eu = TenantContext.for_org(stores, new_org_id("eu"))
    us = TenantContext.for_org(stores, new_org_id("us"))
    assert vault_for(eu) is vault_for(eu) and vault_for(eu) is not vault_for(us)
    for ctx in (eu, us):
        sealed = await vault_for(ctx).encrypt_fields(ctx.tenant_id, "con_1", {"auth.token": "canary-region-secret"})
        assert await vault_for(ctx).decrypt_fields(ctx.tenant_id, "con_1", sealed) == {
            "auth.token": "canary-region-secret"
        }
    other = {"eu": "us", "us": "eu"}
    for ctx in (eu, us):
        assert len(await _raw(stores, ctx.region, ctx.tenant_id)) == 1
        assert await _raw(stores, other[ctx.region], ctx.tenant_id) == []


async def test_two_processes_creating_the_first_key_agree(stores: Any, tmp_path: Path) -> None:
    """Two vaults (as two worker processes) seal at once for a new org: one data key wins,
    and each can open what the other sealed."""
    wrapper = LocalKeyWrapper(tmp_path / "keys")
    a, b = Vault(CosmosDataKeyStore(stores, "eu"), wrapper), Vault(CosmosDataKeyStore(stores, "eu"), wrapper)
    tenant = new_org_id("eu")
    sa, sb = await asyncio.gather(
        a.encrypt_fields(tenant, "c", {"f": "secret-from-a"}), b.encrypt_fields(tenant, "c", {"f": "secret-from-b"})
    )
    a.clear_cache()
    b.clear_cache()
    assert await b.decrypt_fields(tenant, "c", sa) == {"f": "secret-from-a"}
    assert await a.decrypt_fields(tenant, "c", sb) == {"f": "secret-from-b"}
    assert len(await _raw(stores, "eu", tenant)) == 1


async def test_rotation_rewraps_and_the_old_key_version_is_no_longer_needed(stores: Any, tmp_path: Path) -> None:
    wrapper = LocalKeyWrapper(tmp_path / "keys")
    tenant = new_org_id("eu")
    vault = Vault(CosmosDataKeyStore(stores, "eu"), wrapper)
    sealed = await vault.encrypt_fields(tenant, "con_r", {"auth.token": "canary-rotation-secret"})
    old_kid = await wrapper.current_kid()
    new_kid = await wrapper.rotate()
    assert await vault.rotate(tenant) == new_kid
    (raw,) = await _raw(stores, "eu", tenant)
    assert [k["kid"] for k in raw["keys"]] == [new_kid]
    # Destroy the old key version: a fresh process must still open every sealed value.
    (tmp_path / "keys" / "ferry-data-keys" / f"{old_kid.rsplit('/', 1)[1]}.pem").unlink()
    fresh = Vault(CosmosDataKeyStore(stores, "eu"), LocalKeyWrapper(tmp_path / "keys"))
    assert await fresh.decrypt_fields(tenant, "con_r", sealed) == {"auth.token": "canary-rotation-secret"}


async def test_shred_makes_sealed_values_unreadable(stores: Any, tmp_path: Path) -> None:
    tenant = new_org_id("eu")
    vault = Vault(CosmosDataKeyStore(stores, "eu"), LocalKeyWrapper(tmp_path / "keys"))
    sealed = await vault.encrypt_fields(tenant, "c", {"f": "canary-shredded-secret"})
    await vault.shred(tenant)
    assert await _raw(stores, "eu", tenant) == []
    with pytest.raises(DecryptionError):
        await vault.decrypt_fields(tenant, "c", sealed)


async def test_documents_hold_no_secret_in_clear(stores: Any) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    forget_vaults()
    vault = regional_vault(stores, "eu")
    await vault.encrypt_fields(ctx.tenant_id, "c", {"auth.token": "canary-never-in-cosmos"})
    (raw,) = await _raw(stores, "eu", ctx.tenant_id)
    assert "canary-never-in-cosmos" not in str(raw)
    assert set(raw["keys"][0]) == {"version", "kid", "alg", "wrapped", "createdAt"}
