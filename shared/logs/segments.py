"""Where a run's log lives: append-blob segments `logs/{tenantId}/{runId}/{n:06d}.ndjson`.

A run's log is a sequence of append blobs ("segments"). A writer appends whole lines to the
newest segment and rolls over to the next one before Azure's limits bite:

* at most 50,000 committed blocks per append blob (`BlockCountExceedsLimit`),
* at most 4 MiB per `Append Block` call,
* and, our own choice, at most `max_segment_bytes` per segment (readers page cheaply).
  https://learn.microsoft.com/rest/api/storageservices/append-block#remarks

Azurite enforces none of them, so `SegmentLimits` is enforced here. A rolled-over segment is
sealed before its successor is created (`Seal Append Blob`), so a reader that has seen
segment n+1 knows nothing more can arrive in segment n: reading by cursor has no gaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared.config import BLOB_LOGS

MAX_APPEND_BYTES = 4 * 1024 * 1024
MAX_BLOCKS = 50_000
_SEGMENT = re.compile(r"/(\d{6})\.ndjson$")


@dataclass(frozen=True)
class SegmentLimits:
    """Roll-over thresholds (tests use tiny ones; production keeps the defaults)."""

    max_blocks: int = MAX_BLOCKS
    max_append_bytes: int = MAX_APPEND_BYTES
    max_segment_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if not (1 <= self.max_blocks <= MAX_BLOCKS):
            raise ValueError(f"max_blocks must be 1..{MAX_BLOCKS}")
        if not (1024 <= self.max_append_bytes <= MAX_APPEND_BYTES):
            raise ValueError(f"max_append_bytes must be 1 KiB..{MAX_APPEND_BYTES}")
        if self.max_segment_bytes < self.max_append_bytes:
            raise ValueError("max_segment_bytes must hold at least one append")


def run_prefix(tenant_id: str, run_id: str) -> str:
    """Blob-name prefix of one run's log (ends with `/`)."""
    if not tenant_id or not run_id or "/" in tenant_id or "/" in run_id:
        raise ValueError("tenant and run ids must be non-empty and contain no '/'")
    return f"{tenant_id}/{run_id}/"


def tenant_prefix(tenant_id: str) -> str:
    if not tenant_id or "/" in tenant_id:
        raise ValueError("bad tenant id")
    return f"{tenant_id}/"


def segment_name(tenant_id: str, run_id: str, number: int) -> str:
    return f"{run_prefix(tenant_id, run_id)}{number:06d}.ndjson"


def segment_number(blob_name: str) -> int | None:
    match = _SEGMENT.search(blob_name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Segment:
    number: int
    name: str
    size: int
    sealed: bool
    last_modified: Any = None


async def list_segments(container: Any, tenant_id: str, run_id: str) -> list[Segment]:
    """The run's segments in order (one listing call per 5,000 segments)."""
    out: list[Segment] = []
    async for blob in container.list_blobs(name_starts_with=run_prefix(tenant_id, run_id)):
        number = segment_number(blob.name)
        if number is None:
            continue
        out.append(
            Segment(
                number,
                blob.name,
                int(blob.size or 0),
                bool(getattr(blob, "is_append_blob_sealed", False)),
                blob.last_modified,
            )
        )
    out.sort(key=lambda s: s.number)
    return out


async def delete_prefix(container: Any, prefix: str, *, batch: int = 256) -> int:
    """Delete every blob under `prefix` (no server-side delete-by-prefix: list, then Blob
    Batch deletes of at most 256). Sub-requests the batch refuses (Azurite refuses them
    for named accounts on custom endpoints) are retried one by one. Idempotent; returns
    how many blobs were deleted."""
    names: list[str] = [b.name async for b in container.list_blobs(name_starts_with=prefix)]
    if len(names) <= 4:  # a batch costs a round trip of its own: not worth it for a few
        return await _delete_each(container, names)
    deleted = 0
    for start in range(0, len(names), batch):
        part = names[start : start + batch]
        retry: list[str] = []
        try:
            results = await container.delete_blobs(*part, raise_on_any_failure=False)
            index = 0
            async for r in results:
                if 200 <= r.status_code < 300:
                    deleted += 1
                elif r.status_code != 404:
                    retry.append(part[index])
                index += 1
        except Exception:
            retry = part
        deleted += await _delete_each(container, retry)
    return deleted


async def _delete_each(container: Any, names: list[str]) -> int:
    import asyncio

    from azure.core.exceptions import ResourceNotFoundError

    semaphore = asyncio.Semaphore(16)

    async def one(name: str) -> int:
        async with semaphore:
            try:
                await container.delete_blob(name)
                return 1
            except ResourceNotFoundError:
                return 0

    return sum(await asyncio.gather(*(one(n) for n in names)))


def logs_container(storage: Any) -> Any:
    """The `logs` blob container of a region's storage."""
    return storage.container(BLOB_LOGS)
