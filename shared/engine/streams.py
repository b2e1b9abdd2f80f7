"""Bounded streaming of attachment bodies: source chunks → destination, no buffering."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

from shared.contract.connector import MAX_CHUNK_BYTES

#: Bytes streamed between two young-generation garbage collections (see ``bounded``).
COLLECT_EVERY_BYTES = 8 * 1024 * 1024
GC_GENERATION = 1  # generations 0 and 1: the fragments' cycles are young when they die


async def bounded(
    chunks: AsyncIterator[bytes], max_bytes: int = MAX_CHUNK_BYTES, *, collect_every: int | None = None
) -> AsyncIterator[bytes]:
    """Re-yield ``chunks`` split so that no piece exceeds ``max_bytes`` (empty ones dropped).

    Only one source chunk is held at a time, so memory stays flat whatever the file size
    (as long as the source honours the same bound, which the conformance suite checks).

    Every ``collect_every`` bytes (default ``COLLECT_EVERY_BYTES``) the cyclic garbage
    collector runs on the young generations (a fraction of a millisecond): an httpx
    ``Response`` and its ``BoundAsyncStream`` reference each other, so each sent upload
    fragment (kept by the ``Request`` the response holds) would otherwise wait for a rare
    collection; on a 1 GiB file that was ~110 MB of dead fragments in the engine process
    (``bench/attachment_memory.py --no-collect``), ~26 MB with it.
    """
    every = collect_every or COLLECT_EVERY_BYTES
    since = 0
    async for part in chunks:
        since += len(part)
        if since >= every:
            since = 0
            gc.collect(GC_GENERATION)
        if len(part) <= max_bytes:
            if part:
                yield part
            continue
        view = memoryview(part)
        for i in range(0, len(view), max_bytes):
            yield bytes(view[i : i + max_bytes])
