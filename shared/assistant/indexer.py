"""Indexing: run log lines in, records with vectors upserted into the org's regional index.

Fed by the `assistant-index` queue (feed.py writes it as run logs are flushed; the
trigger is functions/assistant/worker.py). Upserts are keyed by record id, so a message
delivered twice, or lines indexed again, leave the same documents. Ferry's documentation
is kept in the shared part by `sync_docs` (new passages upserted, removed ones deleted),
checked once per process and region: by the indexer in Azure, by the first question
locally (`docs_for_ask`; backends.DocsUpkeep says why).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from shared.assistant.backends import Backends, DocsUpkeep, Embedder
from shared.assistant.docs import doc_records
from shared.assistant.records import SHARED_TENANT, SearchRecord, records_from_lines
from shared.tenancy.ids import region_of

log = logging.getLogger("ferry.assistant")
_DOCS_SYNCED: set[tuple[int, str]] = set()
_DOCS_TASKS: dict[tuple[int, str], asyncio.Future[int]] = {}
#: How long a question waits for the documentation part (see docs_for_ask).
DOCS_WAIT_S = 20.0


class VectorCache:
    """Vectors of recently embedded texts, per embedder object, in this process (least
    recently used first out). Run records repeat a handful of sentences
    (``SearchRecord.meaning``): a batch embeds each distinct one once, and a later batch
    none it has seen. Keyed weakly by the embedder, so a new embedder (another model or
    deployment) never gets another's vectors."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._vectors: weakref.WeakKeyDictionary[Any, OrderedDict[str, list[float]]] = weakref.WeakKeyDictionary()
        #: texts the model was asked for, and texts answered from here (for tests and figures)
        self.embedded = 0
        self.hits = 0

    async def embed(self, embedder: Embedder, texts: Sequence[str]) -> list[list[float]]:
        known = self._vectors.get(embedder)
        if known is None:
            known = self._vectors[embedder] = OrderedDict()
        distinct = list(dict.fromkeys(texts))
        # taken before the model is awaited: another batch may evict entries meanwhile
        vectors = {t: known[t] for t in distinct if t in known}
        missing = [t for t in distinct if t not in vectors]
        self.hits += len(texts) - len(missing)
        if missing:
            vectors.update(zip(missing, await embedder.embed(missing), strict=True))
            self.embedded += len(missing)
        for text, vector in vectors.items():
            known[text] = vector
            known.move_to_end(text)
        while len(known) > self.size:
            known.popitem(last=False)
        return [vectors[t] for t in texts]


VECTORS = VectorCache()


async def embed_records(backends: Backends, records: Sequence[SearchRecord]) -> list[SearchRecord]:
    vectors = await VECTORS.embed(backends.embedder, [r.vector_text for r in records])
    return [replace(r, vector=v) for r, v in zip(records, vectors, strict=True)]


async def embed_docs(backends: Backends, records: Sequence[SearchRecord]) -> list[SearchRecord]:
    """Documentation records with vectors, from the documentation embedder (locally the
    machine's vector cache: a passage is computed once per machine, not per process)."""
    vectors = await backends.embedder_for_docs.embed([r.content for r in records])
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
    written = await backends.index.upsert(await embed_docs(backends, new)) if new else 0
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
    if backends.docs_upkeep is DocsUpkeep.INDEXER:
        await sync_docs(backends)  # after the org's records: they are what a member waits for
    return written


async def docs_for_ask(backends: Backends, *, wait_s: float | None = None) -> bool:
    """Before a question (local upkeep): bring the documentation part up to date, once per
    process and index. Waits at most `wait_s` (default DOCS_WAIT_S) for it; a sync still
    running then goes on in the background and the question is answered from what the
    index holds (its records; the passages of an earlier sync). True when the docs are up
    to date.

    On a machine whose vector cache is warm this takes a read of the cache and one upsert;
    on a cold one the model computes the passages, which must not hold a question (or the
    HTTP request carrying it) for minutes. A failed sync is logged and tried again by the
    next question."""
    if backends.docs_upkeep is not DocsUpkeep.FIRST_ASK:
        return True
    key = (id(backends.index), backends.region)
    if key in _DOCS_SYNCED:
        return True
    task = _DOCS_TASKS.get(key)
    stale = task is not None and task.get_loop() is not asyncio.get_running_loop()  # a test's closed loop
    if task is None or stale or task.done() and (task.cancelled() or task.exception() is not None):
        task = asyncio.ensure_future(sync_docs(backends))
        task.add_done_callback(_log_failed_sync)
        _DOCS_TASKS[key] = task
    done, _ = await asyncio.wait({task}, timeout=DOCS_WAIT_S if wait_s is None else wait_s)
    return bool(done) and not task.cancelled() and task.exception() is None


def _log_failed_sync(task: asyncio.Future[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("assistant docs not synced: %s", type(task.exception()).__name__)
