"""Blob and Queue Storage of one region.

Locally a connection string reaches Azurite (one Azurite account per region, so an EU
org's blobs and queue messages can only be in the EU account). In Azure the account name
and the managed identity are enough. Queue messages are base64 text, as the Functions
queue extension expects (`host.json` → `extensions.queues.messageEncoding`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared.config import (
    BLOB_EXPORTS,
    BLOB_LOGS,
    QUEUE_ASSISTANT,
    QUEUE_CHUNKS,
    QUEUE_DELETIONS,
    RegionSettings,
    Settings,
)
from shared.errors import ConfigError
from shared.store.transport import CLIENT_OPTIONS

QUEUES = (QUEUE_CHUNKS, QUEUE_DELETIONS, QUEUE_ASSISTANT)
BLOB_CONTAINERS = (BLOB_LOGS, BLOB_EXPORTS)
MAX_QUEUE_MESSAGE_BYTES = 48 * 1024  # 64 KiB on the wire once base64-encoded


@dataclass
class RegionStorage:
    settings: RegionSettings
    blobs: Any  # azure.storage.blob.aio.BlobServiceClient
    queue_service: Any  # azure.storage.queue.aio.QueueServiceClient
    _queues: dict[str, Any] = field(default_factory=dict)

    def queue(self, name: str) -> Any:
        client = self._queues.get(name)
        if client is None:
            from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy

            client = self.queue_service.get_queue_client(
                name, message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy()
            )
            self._queues[name] = client
        return client

    def container(self, name: str) -> Any:
        return self.blobs.get_container_client(name)

    async def ensure(self) -> None:
        """Create queues (and their poison twins) and blob containers if missing."""
        from azure.core.exceptions import ResourceExistsError

        for name in QUEUES:
            for qname in (name, f"{name}-poison"):
                try:
                    await self.queue(qname).create_queue()
                except ResourceExistsError:
                    pass
        for cname in BLOB_CONTAINERS:
            try:
                await self.blobs.create_container(cname)
            except ResourceExistsError:
                pass

    async def send(self, queue: str, message: dict[str, Any], *, visibility_timeout: int | None = None) -> None:
        """Enqueue a JSON message; refuses one too large for a queue message."""
        body = json.dumps(message, separators=(",", ":"))
        if len(body.encode()) > MAX_QUEUE_MESSAGE_BYTES:
            raise ValueError(f"queue message of {len(body)} bytes exceeds {MAX_QUEUE_MESSAGE_BYTES}")
        await self.queue(queue).send_message(body, visibility_timeout=visibility_timeout)

    async def ping(self) -> None:
        await self.queue_service.get_service_properties()
        await self.blobs.get_service_properties()

    async def close(self) -> None:
        for q in self._queues.values():
            await q.close()
        await self.queue_service.close()
        await self.blobs.close()


def open_storage(settings: Settings, region: RegionSettings) -> RegionStorage:
    from azure.storage.blob.aio import BlobServiceClient
    from azure.storage.queue.aio import QueueServiceClient

    if settings.is_local:
        if region.storage_connection is None:
            raise ConfigError("local storage needs a connection string (Azurite)")
        blobs = BlobServiceClient.from_connection_string(region.storage_connection, **CLIENT_OPTIONS)
        queues = QueueServiceClient.from_connection_string(region.storage_connection, **CLIENT_OPTIONS)
    else:
        from azure.identity.aio import DefaultAzureCredential

        credential = DefaultAzureCredential()
        blobs = BlobServiceClient(region.blob_endpoint, credential=credential, **CLIENT_OPTIONS)
        queues = QueueServiceClient(region.queue_endpoint, credential=credential, **CLIENT_OPTIONS)
    return RegionStorage(region, blobs, queues)
