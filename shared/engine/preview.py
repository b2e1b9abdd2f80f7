"""In-process dry run ("preview"): counts and forced adaptations, with no writes anywhere.

The queued dry run (``RunSettings.dry_run``) goes through the worker like a real run and
reads the id map (so a re-run preview tells updates from creates). This preview runs the
same chunk runner in-process on in-memory ports, for a quick estimate of a first run on a
small scope (e.g. from the API before the user confirms). It only reads the source.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from shared.connectors.base import DestinationWriter, SourceReader
from shared.engine.adapt import summarize
from shared.engine.chunk import ChunkRunner
from shared.engine.clock import Clock
from shared.engine.inmemory import InMemoryIdMap, InMemoryQueue, InMemoryRunState, drain
from shared.engine.model import Kind
from shared.engine.planner import RunSettings, first_messages
from shared.engine.ports import ItemReport, RunStatus


class Preview(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: RunStatus
    reason: str | None = None
    per_kind: dict[str, dict[str, int]]  # kind → {would_create, skipped, failed, …}
    adaptations: list[str]  # human sentences ("12 tasks have several assignees; …")
    counts: dict[str, int]
    rows: list[ItemReport]


def per_kind(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """``{"task": {"would_create": 12, …}, …}`` from flat ``kind.status`` counters."""
    kinds = {k.value for k in Kind}
    out: dict[str, dict[str, int]] = {}
    for key, n in counts.items():
        kind, _, status = key.partition(".")
        if kind in kinds and n:
            out.setdefault(kind, {})[status] = n
    return out


async def preview(reader: SourceReader, writer: DestinationWriter, scopes: Sequence[str], *,
                  dest_workspace: str | None = None, page_size: int = 100,
                  clock: Clock | None = None, max_chunks: int = 10_000) -> Preview:
    """Dry-run ``scopes`` in-process; never calls the writer's I/O methods."""
    settings = RunSettings(tenant_id="preview", migration_id="preview", run_id="preview",
                           dest_workspace=dest_workspace, dry_run=True, page_size=page_size)
    state, queue = InMemoryRunState(), InMemoryQueue()
    runner = ChunkRunner(reader=reader, writer=writer, id_map=InMemoryIdMap(),
                         run_state=state, queue=queue, settings=settings, clock=clock)
    await state.start(settings.run_id, scopes)
    for msg in first_messages(settings, scopes):
        await queue.enqueue(msg)

    async def wait(seconds: float) -> None:  # deferred chunks: really wait (rate limits)
        await runner.clock.sleep(seconds)

    await drain(queue, runner.run, max_messages=max_chunks, on_wait=wait)
    counts = dict(state.counts.get(settings.run_id, Counter()))
    return Preview(status=state.status[settings.run_id], reason=state.reasons.get(settings.run_id),
                   per_kind=per_kind(counts), adaptations=summarize(counts, writer.capabilities),
                   counts=counts, rows=state.items.get(settings.run_id, []))
