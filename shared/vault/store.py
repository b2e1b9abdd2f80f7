"""Cosmos persistence of organisations' data-key documents (`DataKeyStore`).

One `CosmosDataKeyStore` serves one region: the `dataKeys` container of that region's
database, one document per organisation (`datakey-<tenantId>`, partition = tenant id).
Every call goes through a `TenantRepository` bound to the tenant, so a document can only
be read or written inside its own organisation's partition; an organisation of another
region is refused outright, so an EU org's keys can never land in the US database.

ETag semantics are those of the `DataKeyStore` protocol (shared/vault/service.py):
`put(doc, None)` creates and raises `ConflictError` if the document exists; `put(doc,
etag)` replaces only while the stored ETag still equals `etag` (Cosmos `IfNotModified`),
else `ConflictError` — also when the document was deleted meanwhile, since a vanished
document is just another change the writer did not see.
"""

from __future__ import annotations

from typing import Any

from shared.errors import ConflictError, NotFoundError
from shared.store.repository import TenantRepository
from shared.store.stores import Stores
from shared.tenancy.ids import region_of
from shared.vault.service import data_key_doc_id

CONTAINER = "dataKeys"


class DataKeysRepository(TenantRepository):
    """The `dataKeys` container, bound to one tenant."""

    container_name = CONTAINER


class CosmosDataKeyStore:
    """`DataKeyStore` over the `dataKeys` container of one region.

    Takes the process's `Stores` (not a client) so that it always uses the live Cosmos
    client of the region, even after the stores were restarted.
    """

    def __init__(self, stores: Stores, region: str) -> None:
        stores.settings.region(region)  # unknown region → ConfigError now, not on first use
        self._stores = stores
        self.region = region

    def _repo(self, tenant_id: str) -> DataKeysRepository:
        if region_of(tenant_id) != self.region:
            # A programming error (the caller picked the wrong region's vault), never data.
            raise PermissionError(f"tenant of region {region_of(tenant_id)} used on the {self.region} key store")
        return DataKeysRepository(self._stores.cosmos(self.region), tenant_id)

    async def get(self, tenant_id: str) -> dict[str, Any] | None:
        """The organisation's data-key document (with `_etag`), or None."""
        return await self._repo(tenant_id).find(data_key_doc_id(tenant_id))

    async def put(self, doc: dict[str, Any], etag: str | None) -> None:
        """Create (etag None) or replace under the ETag; ConflictError when either loses."""
        tenant_id = str(doc.get("tenantId") or "")
        if doc.get("id") != data_key_doc_id(tenant_id):
            raise ValueError("a data-key document's id must be datakey-<tenantId>")
        repo = self._repo(tenant_id)
        body = {k: v for k, v in doc.items() if not k.startswith("_")}
        if etag is None:
            await repo.create(body)  # 409 → ConflictError
            return
        try:
            await repo.replace(body, etag=etag)  # 412 → ConflictError
        except NotFoundError as exc:
            raise ConflictError("the data-key document was deleted meanwhile") from exc

    async def delete(self, tenant_id: str) -> None:
        """Delete the organisation's data-key document; deleting a missing one is fine."""
        await self._repo(tenant_id).delete(data_key_doc_id(tenant_id))
