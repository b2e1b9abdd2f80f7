"""Vault: per-organisation data keys, field encryption, rotation, crypto-shredding.

`DictDataKeyStore` below stands in for the lead's Cosmos repository (shared/store/),
which implements the same `DataKeyStore` protocol; it keeps the ETag semantics the
vault relies on (create-only with etag None, if-match replace, idempotent delete).
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConflictError
from shared.logs.redaction import clear_registered_secrets, redact
from shared.vault.crypto import DecryptionError
from shared.vault.keys import LocalKeyWrapper
from shared.vault.service import DataKeyStore, Vault


class DictDataKeyStore:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def get(self, tenant_id: str) -> dict[str, Any] | None:
        doc = self.docs.get(tenant_id)
        return copy.deepcopy(doc) if doc else None

    async def put(self, doc: dict[str, Any], etag: str | None) -> None:
        current = self.docs.get(doc["tenantId"])
        if etag is None and current is not None:
            raise ConflictError("exists")
        if etag is not None and (current is None or current["_etag"] != etag):
            raise ConflictError("etag mismatch")
        self.docs[doc["tenantId"]] = {**copy.deepcopy(doc), "_etag": uuid.uuid4().hex}

    async def delete(self, tenant_id: str) -> None:
        self.docs.pop(tenant_id, None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SECRETS = {"auth.api_key": "trello-key-0123456789", "auth.token": "ATTA-token-abcdef987654"}


@pytest.fixture
def store() -> DictDataKeyStore:
    return DictDataKeyStore()


@pytest.fixture
def wrapper(tmp_path: Path) -> LocalKeyWrapper:
    return LocalKeyWrapper(tmp_path / "keys")


async def test_round_trip_and_ciphertext_only_at_rest(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    assert isinstance(store, DataKeyStore)
    vault = Vault(store, wrapper)
    sealed = await vault.encrypt_fields("org-1", "conn-1", SECRETS)
    assert set(sealed) == set(SECRETS)
    assert all(v.startswith("fv1.1.") for v in sealed.values())
    assert not any(s in str(sealed) + str(store.docs) for s in SECRETS.values())
    doc = store.docs["org-1"]
    assert doc["id"] == "datakey-org-1" and doc["pk"] == "org-1" and doc["tenantId"] == "org-1"
    # a fresh process (no cache) decrypts too
    assert await Vault(store, wrapper).decrypt_fields("org-1", "conn-1", sealed) == SECRETS


async def test_each_encryption_differs_and_fields_are_bound(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    vault = Vault(store, wrapper)
    a = await vault.encrypt_fields("org-1", "conn-1", {"f": "same"})
    b = await vault.encrypt_fields("org-1", "conn-1", {"f": "same"})
    assert a != b
    with pytest.raises(DecryptionError):
        await vault.decrypt_fields("org-1", "conn-1", {"g": a["f"]})


async def test_swapped_org_or_connector_fails(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    vault = Vault(store, wrapper)
    sealed = await vault.encrypt_fields("org-1", "conn-1", SECRETS)
    await vault.encrypt_fields("org-2", "conn-1", {"x": "other org secret"})
    with pytest.raises(DecryptionError):
        await vault.decrypt_fields("org-1", "conn-2", sealed)
    with pytest.raises(DecryptionError):
        await vault.decrypt_fields("org-2", "conn-1", sealed)
    with pytest.raises(DecryptionError):  # org without any data key
        await vault.decrypt_fields("org-3", "conn-1", sealed)


async def test_decrypted_values_are_registered_for_redaction(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    clear_registered_secrets()
    vault = Vault(store, wrapper)
    canary = "canary-no-pattern-4f2a9c"
    sealed = await vault.encrypt_fields("org-1", "conn-1", {"weird": canary})
    assert canary in redact(f"leak {canary}")
    await vault.decrypt_fields("org-1", "conn-1", sealed)
    assert canary not in redact(f"leak {canary}")
    clear_registered_secrets()


async def test_vault_key_rotation_rewraps_and_keeps_secrets(
    store: DictDataKeyStore, wrapper: LocalKeyWrapper, tmp_path: Path
) -> None:
    vault = Vault(store, wrapper)
    sealed = {org: await vault.encrypt_fields(org, "conn-1", SECRETS) for org in ("o1", "o2")}
    old_kid = await wrapper.current_kid()
    new_kid = await wrapper.rotate()
    for org in ("o1", "o2"):
        assert await vault.rotate(org) == new_kid
        assert store.docs[org]["keys"][0]["kid"] == new_kid
    assert await vault.rotate("o1") == new_kid  # repeat is a no-op
    assert await vault.rotate("nobody") is None
    # prove the data keys no longer need the old key version: remove it entirely
    (tmp_path / "keys" / "ferry-data-keys" / f"{old_kid.rsplit('/', 1)[1]}.pem").unlink()
    fresh = Vault(store, LocalKeyWrapper(tmp_path / "keys"))
    for org in ("o1", "o2"):
        assert await fresh.decrypt_fields(org, "conn-1", sealed[org]) == SECRETS


async def test_data_key_rotation_keeps_old_values(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    vault = Vault(store, wrapper)
    old = await vault.encrypt_fields("org-1", "conn-1", SECRETS)
    assert await vault.rotate_data_key("org-1") == 2
    new = await vault.encrypt_fields("org-1", "conn-1", SECRETS)
    assert all(v.startswith("fv1.2.") for v in new.values())
    other = Vault(store, wrapper)
    assert await other.decrypt_fields("org-1", "conn-1", old) == SECRETS
    assert await other.decrypt_fields("org-1", "conn-1", new) == SECRETS


async def test_shred_destroys_every_secret_of_the_org(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    vault = Vault(store, wrapper)
    doomed = await vault.encrypt_fields("org-1", "conn-1", SECRETS)
    kept = await vault.encrypt_fields("org-2", "conn-1", SECRETS)
    await vault.shred("org-1")
    await vault.shred("org-1")  # idempotent
    assert "org-1" not in store.docs
    with pytest.raises(DecryptionError):
        await vault.decrypt_fields("org-1", "conn-1", doomed)
    with pytest.raises(DecryptionError):
        await Vault(store, wrapper).decrypt_fields("org-1", "conn-1", doomed)
    assert await vault.decrypt_fields("org-2", "conn-1", kept) == SECRETS
    # a new data key for the same org does not revive the old ciphertexts
    await vault.encrypt_fields("org-1", "conn-1", {"x": "new secret"})
    with pytest.raises(DecryptionError):
        await vault.decrypt_fields("org-1", "conn-1", doomed)


async def test_other_process_cache_expires_after_ttl(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    clock = FakeClock()
    worker = Vault(store, wrapper, cache_ttl=60, clock=clock)
    sealed = await worker.encrypt_fields("org-1", "conn-1", SECRETS)
    await Vault(store, wrapper).shred("org-1")  # e.g. the retention job
    clock.now += 59
    assert await worker.decrypt_fields("org-1", "conn-1", sealed) == SECRETS
    clock.now += 2
    with pytest.raises(DecryptionError):
        await worker.decrypt_fields("org-1", "conn-1", sealed)


async def test_concurrent_first_use_creates_one_data_key(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    vaults = [Vault(store, wrapper) for _ in range(4)]
    results = await asyncio.gather(
        *(v.encrypt_fields("org-1", f"c{i}", {"f": f"value-{i}"}) for i, v in enumerate(vaults))
    )
    assert len(store.docs["org-1"]["keys"]) == 1
    reader = Vault(store, wrapper)
    for i, sealed in enumerate(results):
        assert await reader.decrypt_fields("org-1", f"c{i}", sealed) == {"f": f"value-{i}"}


async def test_connection_round_trip_through_the_vault(store: DictDataKeyStore, wrapper: LocalKeyWrapper) -> None:
    from shared.connectors.settings import parse_connection
    from shared.vault.connections import open_connection, seal_connection

    vault = Vault(store, wrapper)
    connection = parse_connection(
        {
            "kind": "jira",
            "site_url": "https://acme.atlassian.net",
            "auth": {"type": "api_token", "email": "ann@acme.com", "api_token": "jira-tok-123456"},
        }
    )
    public, sealed = await seal_connection(vault, "org-1", "conn-9", connection)
    assert set(sealed) == {"auth.api_token"} and "jira-tok" not in repr((public, sealed))
    assert public["auth"]["email"] == "ann@acme.com"
    assert await open_connection(vault, "org-1", "conn-9", public, sealed) == connection
    with pytest.raises(DecryptionError):
        await open_connection(vault, "org-1", "conn-10", public, sealed)
