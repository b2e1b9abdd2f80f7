"""A stored connector's secrets as the kit's ``SecretKeeper``: where a runtime stores the
secrets its vendor rotates (Jira's OAuth refresh tokens), sealed by the region's vault.

A replacement is a compare-and-set: read the connector document, open the one sealed field,
and only when it still holds a value the runtime knew as its own (or the new one already)
seal the new value and replace the document on its ETag. A 412 means someone else wrote
meanwhile: read again and decide again. So two workers rotating at once never lose the live
token, a user's reconnection (a value nobody here knew) is never overwritten, and a write
whose answer was lost is recognised on the next try (the stored value is already ours).

The document's ``version`` is not bumped: it counts the user's changes (the worker reopens
its connectors when it moves), and a rotation changes nothing the user gave. Nothing here
logs or returns a secret; a fresh value is registered with the log redactor at once.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from shared.errors import AuthRequiredError, ConflictError, FerryError, TransientError
from shared.logs.redaction import register_secret
from shared.store.repository import TenantRepository, iso, utcnow
from shared.vault.crypto import DecryptionError
from shared.vault.service import Vault

log = logging.getLogger("ferry.connectors")

#: compare-and-set rounds before giving up (each lost round means another writer won one)
MAX_ATTEMPTS = 5
GONE = "the connector was deleted while it was in use"
UNREADABLE = "the stored secrets cannot be decrypted; enter them again"


class StoredSecrets:
    """The sealed secrets of one connector document of one tenant."""

    def __init__(self, repo: TenantRepository, vault: Vault, connector_id: str) -> None:
        self._repo = repo
        self._vault = vault
        self._tenant = repo.tenant_id
        self._id = connector_id

    async def stored(self, path: str) -> str | None:
        """The value of secret ``path`` stored now."""
        return await self._open(await self._read(), path)

    async def replace(self, path: str, previous: Collection[str], fresh: str) -> bool:
        """Store ``fresh`` where ``path`` still holds one of ``previous`` (compare-and-set on
        the document's ETag); False, and nothing written, when it holds another value."""
        register_secret(fresh)
        for _attempt in range(MAX_ATTEMPTS):
            doc = await self._read()
            current = await self._open(doc, path)
            if current == fresh:
                return True  # stored already: our earlier write applied, its answer was lost
            if current not in previous:
                log.info("connector %s: a newer %s is stored; the rotated one is not kept", self._id, path)
                return False
            sealed = {**doc.get("sealed", {}), **await self._seal(path, fresh)}
            try:
                await self._repo.replace(
                    {**doc, "sealed": sealed, "secretsRotatedAt": iso(utcnow())}, etag=doc["_etag"]
                )
            except ConflictError:
                continue  # written meanwhile (a rename, another rotation): decide again
            except FerryError:
                raise
            except Exception as exc:
                raise TransientError(f"the connector store could not be reached ({type(exc).__name__})") from exc
            log.info("connector %s: rotated %s stored", self._id, path)
            return True
        raise TransientError("the connector kept changing while a rotated secret was stored")

    async def _read(self) -> dict[str, Any]:
        try:
            doc = await self._repo.find(self._id)
        except Exception as exc:
            raise TransientError(f"the connector store could not be reached ({type(exc).__name__})") from exc
        if doc is None:
            raise AuthRequiredError(GONE)
        return doc

    async def _open(self, doc: Mapping[str, Any], path: str) -> str | None:
        envelope = doc.get("sealed", {}).get(path)
        if envelope is None:
            return None
        try:
            opened = await self._vault.decrypt_fields(self._tenant, self._id, {path: envelope})
        except DecryptionError as exc:
            raise AuthRequiredError(UNREADABLE) from exc
        return opened[path]

    async def _seal(self, path: str, value: str) -> dict[str, str]:
        return await self._vault.encrypt_fields(self._tenant, self._id, {path: value})
