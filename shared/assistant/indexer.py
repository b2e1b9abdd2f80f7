"""Indexing: run log lines in, records with vectors upserted into the org's regional index.

Fed by the `assistant-index` queue (feed.py writes it as run logs are flushed; the
trigger is functions/assistant/worker.py). Upserts are keyed by record id, so a message
delivered twice, or lines indexed again, leave the same documents. Ferry's documentation
is kept in the shared part by `sync_docs` (new passages upserted, removed ones deleted),
checked once per process and region.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from shared.assistant.backends import Backends
from shared.assistant.docs import doc_records
from shared.assistant.records import SHARED_TENANT, SearchRecord, records_from_lines
from shared.tenancy.ids import region_of

log = logging.getLogger("ferry.assistant")
_DOCS_SYNCED: set[tuple[int, str]] = set()


async def embed_records(backends: Backends, records: Sequence[SearchRecord]) -> list[SearchRecord]:
    vectors = await backends.embedder.embed([r.content for r in records])
    return [replace(r, vector=v) for r, v in zip(records, vectors, strict=True)]


async def index_lines(
    backends: Backends, tenant_id: str, run_id: str, lines: Sequence[Mapping[str, Any]], *, mode: str | None = None
) -> int:
    """Index some log lines of one run; returns the number of records upserted."""
    if region_of(tenant_id) != backends.region:
        # Residency: an org's records are embedded and stored in its own region only.
        raise ValueError(f"org {tenant_id} is not of region {backends.region}")
    records = records_from_lines(tenant_id, run_id, lines, mode=mode)
    if not records:
        return 0
    return await backends.index.upsert(await embed_records(backends, records))


async def sync_docs(backends: Backends, *, force: bool = False) -> int:
    """Bring the shared documentation part up to date; returns records written + deleted."""
    key = (id(backends.index), backends.region)
    if key in _DOCS_SYNCED and not force:
        return 0
    wanted = doc_records()
    present = await backends.index.ids(SHARED_TENANT)
    new = [r for r in wanted if r.id not in present]
    stale = sorted(present - {r.id for r in wanted})
    written = await backends.index.upsert(await embed_records(backends, new)) if new else 0
    deleted = await backends.index.delete_ids(stale) if stale else 0
    _DOCS_SYNCED.add(key)
    if written or deleted:
        log.info("assistant docs in %s: %d passages indexed, %d removed", backends.region, written, deleted)
    return written + deleted


async def handle_index_message(backends: Backends, message: Mapping[str, Any]) -> int:
    """One `assistant-index` message: {tenantId, runId, lines[, mode]}."""
    tenant_id, run_id = str(message["tenantId"]), str(message["runId"])
    lines = message.get("lines") or []
    if not isinstance(lines, list):
        raise TypeError("assistant-index message without a list of lines")
    written = await index_lines(backends, tenant_id, run_id, lines, mode=message.get("mode"))
    await sync_docs(backends)  # after the org's records: they are what a member waits for
    return written
