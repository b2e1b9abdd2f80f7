"""The assistant's feed: run log lines, as they are stored, become `assistant-index`
queue messages in the org's region (the indexer turns them into search records).

Registered as a flush listener of the run log writer (shared/logs/writer.py), so every
part of Ferry that writes a run's log (the chunk worker, run control, verify, rollback)
feeds the assistant without knowing it. Only lines the indexer keeps are sent (records.py:
run events and item events above debug), in messages under the queue's size limit.
The feed is derived data: a failed enqueue is logged by the writer and costs the
assistant those lines, never the run or its log.
"""

from __future__ import annotations

import json
from typing import Any

from shared.config import QUEUE_ASSISTANT

MAX_MESSAGE_BYTES = 40 * 1024  # under the 48 KiB the storage wrapper accepts (base64 → 64 KiB)
_SKIPPED_LEVELS = frozenset({"debug"})


def indexable(line: dict[str, Any]) -> bool:
    event = str(line.get("event") or "")
    if line.get("level") in _SKIPPED_LEVELS:
        return False
    return (
        event.startswith("item.") and bool(line.get("sourceId")) or event.startswith(("run.", "remote.auth", "verify."))
    )


def messages_for(tenant_id: str, run_id: str, lines: list[bytes]) -> list[dict[str, Any]]:
    """The queue messages carrying the indexable ones of `lines` (each under the limit)."""
    kept: list[dict[str, Any]] = []
    for raw in lines:
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and indexable(line):
            kept.append(line)
    out: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    overhead = len(json.dumps({"tenantId": tenant_id, "runId": run_id, "lines": []}))
    for line in kept:
        length = len(json.dumps(line, separators=(",", ":")).encode()) + 1
        if batch and overhead + size + length > MAX_MESSAGE_BYTES:
            out.append({"tenantId": tenant_id, "runId": run_id, "lines": batch})
            batch, size = [], 0
        batch.append(line)
        size += length
    if batch:
        out.append({"tenantId": tenant_id, "runId": run_id, "lines": batch})
    return out


async def feed_run_lines(ctx: Any, run_id: str, lines: list[bytes]) -> None:
    """Flush listener: enqueue the lines for indexing in the org's own region."""
    for message in messages_for(ctx.tenant_id, run_id, lines):
        await ctx.storage.send(QUEUE_ASSISTANT, message)
