"""GDPR export: the org's own data as one zip archive in `exports/{tenantId}/{exportId}.zip`.

The archive is written as it is read: documents are paged from Cosmos, compressed by
`zipfile` into an in-memory sink, and every 4 MiB of output is staged as a block of the
block blob (`Put Block`), committed once at the end (`Put Block List`). Nothing touches
the disk and memory stays at about one block whatever the org's size. `zipfile` writes to
an unseekable sink with data descriptors (sizes after each entry), so no seek is needed.

Contents (JSON, one document per line in `.jsonl`): `manifest.json`, `organisation.json`,
`members.jsonl`, `api-keys.jsonl` (names, prefixes, scopes — never digests),
`connectors.jsonl` (public fields only: sealed secrets and secret-named fields dropped),
`migrations.jsonl`, `runs.jsonl`, `reports.jsonl` (per-item report rows), `audit.jsonl`.
Data keys, id maps and run logs are not the org's data in this sense and are left out.

The archive is downloadable for `EXPORT_TTL`; the daily sweep deletes it afterwards.
"""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from shared.config import BLOB_EXPORTS
from shared.errors import NotFoundError
from shared.logs.redaction import is_secret_name
from shared.store.repository import TenantRepository, iso
from shared.tenancy import audit
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_id
from shared.tenancy.keys import public_key

EXPORT_TTL = timedelta(hours=24)
BLOCK_BYTES = 4 * 1024 * 1024
_SYSTEM = ("_rid", "_self", "_etag", "_attachments", "_ts", "pk")
_SECRET_KEYS = frozenset({"sealed", "secrets", "digest", "tokenDigest", "wrapped"})


class _Repo(TenantRepository):
    container_name = "tenants"


def _repo(name: str) -> type[TenantRepository]:
    return type(f"Export_{name}", (TenantRepository,), {"container_name": name})


def clean(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document as exported: no Cosmos system fields, no secrets."""
    return {k: _strip(v) for k, v in doc.items() if k not in _SYSTEM and not _secret_key(k)}


def _secret_key(key: str) -> bool:
    return key in _SECRET_KEYS or is_secret_name(key)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not _secret_key(str(k))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


class _Sink:
    """Write-only, unseekable byte sink for zipfile; drained block by block."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0
        self.position = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def take(self, limit: int | None = None) -> bytes:
        data = b"".join(self._parts)
        if limit is None or len(data) <= limit:
            self._parts, self.size = [], 0
            return data
        self._parts, self.size = [data[limit:]], len(data) - limit
        return data[:limit]


class _BlockStager:
    def __init__(self, blob: Any) -> None:
        self.blob = blob
        self.block_ids: list[str] = []
        self.bytes = 0

    async def stage(self, data: bytes) -> None:
        if not data:
            return
        block_id = base64.b64encode(f"block-{len(self.block_ids):08d}".encode()).decode()
        await self.blob.stage_block(block_id, data, length=len(data))
        self.block_ids.append(block_id)
        self.bytes += len(data)

    async def commit(self, metadata: dict[str, str]) -> None:
        from azure.storage.blob import BlobBlock, ContentSettings

        await self.blob.commit_block_list(
            [BlobBlock(block_id=b) for b in self.block_ids],
            metadata=metadata,
            content_settings=ContentSettings(content_type="application/zip"),
        )


async def _pages(ctx: TenantContext, container: str, partition: str | None = None) -> AsyncIterator[dict[str, Any]]:
    repo = ctx.repo(_repo(container), partition)
    token: str | None = None
    while True:
        page = await repo.query_page(page_size=200, continuation=token)
        for doc in page.items:
            yield doc
        token = page.continuation
        if not token:
            return


def export_blob_name(tenant_id: str, export_id: str) -> str:
    return f"{tenant_id}/{export_id}.zip"


async def export_org(
    ctx: TenantContext, *, actor: str, request: RequestInfo, now: datetime, block_bytes: int = BLOCK_BYTES
) -> dict[str, Any]:
    """Build the archive, audit `export.requested`, return the export's description."""
    export_id = new_id("exp")
    await audit.record(ctx, "export.requested", actor=actor, target=export_id, request=request)
    blob = ctx.storage.container(BLOB_EXPORTS).get_blob_client(export_blob_name(ctx.tenant_id, export_id))
    stager = _BlockStager(blob)
    sink = _Sink()
    counts: dict[str, int] = {}
    migration_ids: list[str] = []
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[call-overload]
        org = await ctx.repo(_Repo).get(ctx.tenant_id)
        archive.writestr("organisation.json", json.dumps(clean(org), indent=2, ensure_ascii=False))
        sections: list[tuple[str, str, Any]] = [
            ("members.jsonl", "members", clean),
            ("api-keys.jsonl", "apiKeys", public_key),
            ("connectors.jsonl", "connectors", clean),
            ("migrations.jsonl", "migrations", clean),
            ("runs.jsonl", "runs", clean),
            ("audit.jsonl", "audit", clean),
        ]
        for filename, container, shape in sections:
            counts[filename] = 0
            with archive.open(filename, mode="w", force_zip64=True) as entry:
                async for doc in _pages(ctx, container):
                    if container == "migrations":
                        migration_ids.append(doc["id"])
                    entry.write((json.dumps(shape(doc), ensure_ascii=False) + "\n").encode())
                    counts[filename] += 1
                    if sink.size >= block_bytes:
                        await stager.stage(sink.take(block_bytes))
        counts["reports.jsonl"] = 0
        with archive.open("reports.jsonl", mode="w", force_zip64=True) as entry:
            for migration_id in migration_ids:  # per-item reports are partitioned per migration
                async for doc in _pages(ctx, "runItems", migration_id):
                    entry.write((json.dumps(clean(doc), ensure_ascii=False) + "\n").encode())
                    counts["reports.jsonl"] += 1
                    if sink.size >= block_bytes:
                        await stager.stage(sink.take(block_bytes))
        manifest = {
            "exportId": export_id,
            "organisation": ctx.tenant_id,
            "region": ctx.region,
            "createdAt": iso(now),
            "format": 1,
            "files": counts,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    while sink.size:
        await stager.stage(sink.take(block_bytes))
    expires = now + EXPORT_TTL
    await stager.commit({"exportId": export_id, "createdAt": iso(now), "expiresAt": iso(expires), "requestedBy": actor})
    return {
        "id": export_id,
        "status": "ready",
        "createdAt": iso(now),
        "expiresAt": iso(expires),
        "sizeBytes": stager.bytes,
        "files": counts,
    }


async def describe_export(ctx: TenantContext, export_id: str, *, now: datetime) -> tuple[dict[str, Any], Any]:
    """(description, blob client) of a live export of this org; NotFoundError otherwise."""
    from azure.core.exceptions import ResourceNotFoundError

    if not export_id.startswith("exp_") or "/" in export_id:
        raise NotFoundError("export not found")
    blob = ctx.storage.container(BLOB_EXPORTS).get_blob_client(export_blob_name(ctx.tenant_id, export_id))
    try:
        props = await blob.get_blob_properties()
    except ResourceNotFoundError as exc:
        raise NotFoundError("export not found") from exc
    meta = props.metadata or {}
    expires = datetime.fromisoformat(meta["expiresAt"]) if meta.get("expiresAt") else None
    if expires is None or expires <= now:
        raise NotFoundError("export not found or expired")
    return (
        {
            "id": export_id,
            "status": "ready",
            "createdAt": meta.get("createdAt"),
            "expiresAt": meta.get("expiresAt"),
            "sizeBytes": props.size,
        },
        blob,
    )


async def download_url(
    ctx: TenantContext, blob: Any, *, now: datetime, valid: timedelta = timedelta(minutes=15)
) -> str:
    """A short-lived read-only user-delegation SAS URL (Azure; identity-based, no account
    key). Azurite only signs these over HTTPS with OAuth, so local runs stream instead."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    start, expiry = now - timedelta(minutes=5), now + valid
    service = ctx.storage.blobs
    key = await service.get_user_delegation_key(key_start_time=start, key_expiry_time=expiry)
    # Sign for the account that issued the key. `blob.account_name` is wrong on path-style
    # (IP) endpoints such as Azurite: a blob client made by a container client reports
    # "account/container" there, so the signed resource named the container twice
    # (azure-sdk-for-python#19200; seen in tests/integration/test_export_sas.py).
    sas = generate_blob_sas(
        account_name=service.account_name,
        container_name=blob.container_name,
        blob_name=blob.blob_name,
        user_delegation_key=key,
        permission=BlobSasPermissions(read=True),
        start=start,
        expiry=expiry,
        content_disposition=f'attachment; filename="{blob.blob_name.rsplit("/", 1)[-1]}"',
    )
    return f"{blob.url}?{sas}"
