"""Cosmos DB access for one region: client, database and containers.

Every container is partitioned by `/pk`. For most containers pk is the tenant id; the
high-volume ones (id map, per-item reports) use `tenantId:migrationId` so one migration's
items spread over their own logical partition. Containers are created idempotently at start.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from shared.config import RegionSettings, Settings
from shared.errors import ConfigError
from shared.store.continuation import KEY_CONTAINER, ContinuationCodec, load_or_create_key
from shared.store.transport import cosmos_transport

#: container name → whether its partition key is synthetic (`tenantId:migrationId`)
CONTAINERS: dict[str, bool] = {
    "tenants": False,
    "members": False,
    "userOrgs": False,  # pk = user key: the user → organisations index of this region
    "apiKeys": False,
    "keyIndex": False,  # pk = key lookup prefix: API key → organisation
    "audit": False,
    "connectors": False,
    "dataKeys": False,
    "migrations": False,
    "runs": False,
    "idMap": True,
    "runItems": True,
    "deletions": False,
    "leases": False,
    "idempotency": False,  # pk = tenant id, or `principal:<hash>` for org creation (tenancy/idempotency.py)
}


@dataclass
class CosmosRegion:
    """The Cosmos database of one region; containers are opened lazily and cached."""

    settings: RegionSettings
    client: Any
    database: Any
    _containers: dict[str, Any] = field(default_factory=dict)
    _continuation: ContinuationCodec | None = None

    def container(self, name: str) -> Any:
        if name not in CONTAINERS:
            raise KeyError(f"unknown container {name!r}")
        proxy = self._containers.get(name)
        if proxy is None:
            proxy = self.database.get_container_client(name)
            self._containers[name] = proxy
        return proxy

    async def continuation_codec(self) -> ContinuationCodec:
        """The codec of this region's list tokens (its key is read once per process)."""
        if self._continuation is None:
            self._continuation = ContinuationCodec(await load_or_create_key(self.container(KEY_CONTAINER)))
        return self._continuation

    async def ensure_containers(self) -> None:
        """Create the database and every container if missing (idempotent)."""
        from azure.cosmos import PartitionKey

        self.database = await self.client.create_database_if_not_exists(self.settings.cosmos_database)
        await asyncio.gather(
            *(
                self.database.create_container_if_not_exists(id=name, partition_key=PartitionKey(path="/pk"))
                for name in CONTAINERS
            )
        )
        self._containers.clear()

    async def ping(self) -> None:
        """Cheap readiness probe: read the database properties."""
        await self.database.read()

    async def close(self) -> None:
        await self.client.close()


def open_region(settings: Settings, region: RegionSettings) -> CosmosRegion:
    """Build the async client: a key only for the local stand-in, managed identity in Azure."""
    from azure.cosmos.aio import CosmosClient

    if settings.is_local:
        if region.cosmos_key is None:
            raise ConfigError("the local Cosmos DB stand-in needs its key (COSMOS_KEY)")
        # The stand-in serves a self-signed certificate on loopback.
        client = CosmosClient(
            region.cosmos_endpoint, credential=region.cosmos_key, connection_verify=False, transport=cosmos_transport()
        )
    else:
        from azure.identity.aio import DefaultAzureCredential

        client = CosmosClient(region.cosmos_endpoint, credential=DefaultAzureCredential(), transport=cosmos_transport())
    return CosmosRegion(region, client, client.get_database_client(region.cosmos_database))
