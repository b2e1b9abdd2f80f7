"""The connector vault: per-organisation data keys and field encryption (envelope encryption).

Each organisation (tenant) has one document holding its data keys, each wrapped by the
region's key-encryption key (`KeyWrapper`: Key Vault in Azure, local RSA files locally):

    {"id": "datakey-<tenantId>", "tenantId": ..., "pk": ..., "type": "dataKey",
     "currentVersion": 1,
     "keys": [{"version": 1, "kid": ..., "alg": "RSA-OAEP-256", "wrapped": <b64>,
               "createdAt": <iso>}],
     "updatedAt": <iso>}

* `encrypt_fields` / `decrypt_fields` seal each secret field with the current data key
  (`crypto.seal`, AAD = tenant + connector + field + data-key version).
* `rotate` re-wraps every data key under the wrapper's current key version (after the
  vault key was rotated); sealed secrets are not touched and stay decryptable.
* `rotate_data_key` adds a new data-key version for new encryptions; old ones still open.
* `shred` deletes the document: without the data key every sealed value of the
  organisation is unreadable (crypto-shredding). Other processes may hold the unwrapped
  key in their cache for at most `cache_ttl` seconds.

One `Vault` serves one region (its store and its key wrapper); pick it by tenant region.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from shared.errors import ConflictError
from shared.logs.redaction import register_secret
from shared.vault.crypto import (
    DecryptionError,
    Sealed,
    build_aad,
    new_data_key,
    open_sealed,
    seal,
)
from shared.vault.keys import KeyWrapper, WrappedKey

DOC_TYPE = "dataKey"


@runtime_checkable
class DataKeyStore(Protocol):
    """Persistence of the one data-key document per organisation (Cosmos in production).

    `get` returns the stored document including its `_etag`, or None.
    `put(doc, etag)`: with `etag=None` create, raising `ConflictError` if it exists;
    otherwise replace only if the stored ETag still equals `etag`, else `ConflictError`.
    `delete` is idempotent.
    """

    async def get(self, tenant_id: str) -> dict[str, Any] | None: ...

    async def put(self, doc: dict[str, Any], etag: str | None) -> None: ...

    async def delete(self, tenant_id: str) -> None: ...


def data_key_doc_id(tenant_id: str) -> str:
    """Document id of an organisation's data-key document."""
    return f"datakey-{tenant_id}"


@dataclass(slots=True)
class _CachedKeys:
    expires_at: float
    current_version: int
    keys: dict[int, bytes] = field(default_factory=dict)


class Vault:
    """Encrypts and decrypts connector secret fields for one region."""

    def __init__(
        self,
        store: DataKeyStore,
        wrapper: KeyWrapper,
        *,
        cache_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._wrapper = wrapper
        self._ttl = cache_ttl
        self._clock = clock
        self._cache: dict[str, _CachedKeys] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def encrypt_fields(self, tenant_id: str, connector_id: str, secrets: Mapping[str, str]) -> dict[str, str]:
        """Seal each secret value; returns field name -> envelope string."""
        keys = await self._keys(tenant_id, create=True)
        version = keys.current_version
        dek = keys.keys[version]
        return {
            name: seal(
                dek, value.encode("utf-8"), build_aad(tenant_id, connector_id, name, version), key_version=version
            ).to_str()
            for name, value in secrets.items()
        }

    async def decrypt_fields(
        self, tenant_id: str, connector_id: str, sealed: Mapping[str, str], *, register_for_redaction: bool = True
    ) -> dict[str, str]:
        """Open each sealed value; raises DecryptionError if any fails.

        Decrypted values are registered with the log redactor (unless told not to), so
        they are masked verbatim if they ever reach a log line.
        """
        out: dict[str, str] = {}
        for name, envelope in sealed.items():
            parsed = Sealed.from_str(envelope)
            dek = await self._dek(tenant_id, parsed.key_version)
            plain = open_sealed(dek, parsed, build_aad(tenant_id, connector_id, name, parsed.key_version))
            value = plain.decode("utf-8")
            if register_for_redaction:
                register_secret(value)
            out[name] = value
        return out

    async def rotate(self, tenant_id: str) -> str | None:
        """Re-wrap all of the organisation's data keys under the current vault key version.

        Returns the kid now used, or None when the organisation has no data key.
        Sealed secrets are untouched. Safe to repeat; concurrent writers retry on ETag.
        """
        forget_current = getattr(self._wrapper, "forget_current", None)
        if callable(forget_current):  # ask the vault for its newest version, not a cache
            forget_current()
        for _attempt in range(5):
            doc = await self._store.get(tenant_id)
            if doc is None:
                return None
            kid = await self._wrapper.current_kid()
            if all(entry["kid"] == kid for entry in doc["keys"]):
                return kid
            new_doc = _without_system(doc)
            new_doc["keys"] = []
            for entry in doc["keys"]:
                dek = await self._wrapper.unwrap(_wrapped_of(entry))
                new_doc["keys"].append(
                    _entry(entry["version"], await self._wrapper.wrap(dek), created=entry.get("createdAt"))
                )
            new_doc["updatedAt"] = _now_iso()
            try:
                await self._store.put(new_doc, doc.get("_etag"))
                return str(new_doc["keys"][-1]["kid"])
            except ConflictError:
                continue
        raise ConflictError("data key document kept changing during rotation")

    async def rotate_data_key(self, tenant_id: str) -> int:
        """Add a new data-key version used for new encryptions; returns its number."""
        for _attempt in range(5):
            doc = await self._store.get(tenant_id)
            if doc is None:
                await self._keys(tenant_id, create=True)
                continue
            new_doc = _without_system(doc)
            version = max(int(e["version"]) for e in doc["keys"]) + 1
            new_doc["keys"] = [*doc["keys"], _entry(version, await self._wrapper.wrap(new_data_key()))]
            new_doc["currentVersion"] = version
            new_doc["updatedAt"] = _now_iso()
            try:
                await self._store.put(new_doc, doc.get("_etag"))
            except ConflictError:
                continue
            self._cache.pop(tenant_id, None)
            return version
        raise ConflictError("data key document kept changing during data-key rotation")

    async def shred(self, tenant_id: str) -> None:
        """Destroy the organisation's data keys: all its sealed secrets become unreadable."""
        self._cache.pop(tenant_id, None)
        await self._store.delete(tenant_id)
        self._cache.pop(tenant_id, None)

    def clear_cache(self) -> None:
        """Forget every unwrapped data key held in memory."""
        self._cache.clear()

    # --- internals -------------------------------------------------------------------

    async def _dek(self, tenant_id: str, version: int) -> bytes:
        keys = await self._keys(tenant_id, create=False)
        if version not in keys.keys:
            # maybe another process added a data-key version since we cached
            self._cache.pop(tenant_id, None)
            keys = await self._keys(tenant_id, create=False)
        if version not in keys.keys:
            raise DecryptionError(f"data key version {version} does not exist")
        return keys.keys[version]

    async def _keys(self, tenant_id: str, *, create: bool) -> _CachedKeys:
        cached = self._cache.get(tenant_id)
        if cached is not None and self._clock() < cached.expires_at:
            return cached
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:  # one unwrap per tenant, not one per concurrent caller
            cached = self._cache.get(tenant_id)
            if cached is not None and self._clock() < cached.expires_at:
                return cached
            doc = await self._store.get(tenant_id)
            if doc is None:
                if not create:
                    raise DecryptionError("organisation has no data key (destroyed or never made)")
                doc = await self._create(tenant_id)
            keys = {int(e["version"]): await self._wrapper.unwrap(_wrapped_of(e)) for e in doc["keys"]}
            cached = _CachedKeys(self._clock() + self._ttl, int(doc["currentVersion"]), keys)
            self._cache[tenant_id] = cached
            return cached

    async def _create(self, tenant_id: str) -> dict[str, Any]:
        now = _now_iso()
        doc = {
            "id": data_key_doc_id(tenant_id),
            "tenantId": tenant_id,
            "pk": tenant_id,
            "type": DOC_TYPE,
            "currentVersion": 1,
            "keys": [_entry(1, await self._wrapper.wrap(new_data_key()), created=now)],
            "updatedAt": now,
        }
        try:
            await self._store.put(doc, None)
        except ConflictError:
            # another process created it first: use theirs
            existing = await self._store.get(tenant_id)
            if existing is None:
                raise
            return existing
        return doc


def _entry(version: int, wrapped: WrappedKey, *, created: str | None = None) -> dict[str, Any]:
    return {
        "version": version,
        "kid": wrapped.kid,
        "alg": wrapped.alg,
        "wrapped": base64.b64encode(wrapped.value).decode("ascii"),
        "createdAt": created or _now_iso(),
    }


def _wrapped_of(entry: Mapping[str, Any]) -> WrappedKey:
    return WrappedKey(kid=entry["kid"], alg=entry["alg"], value=base64.b64decode(entry["wrapped"]))


def _without_system(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Copy without Cosmos system properties (`_etag`, `_rid`, `_ts`, ...)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()
