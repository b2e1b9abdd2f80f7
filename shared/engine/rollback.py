"""Rollback: delete at the destination what a migration created there, from its id map.

A rollback is a run (mode ``rollback``) with the same lifecycle as any other: one chain of
chunk messages per scope, checkpoints compare-and-set, report rows and counters. Its phases
run in reverse dependency order — attachments, comments, tasks (deepest subtasks first),
labels, sections, projects — then a sweep. Each chunk takes one keyset page of id-map
entries of (scope, kind[, depth]) and:

* deletes the destination item (``DestinationWriter.delete``; a 404 counts as done, so a
  redelivered chunk is harmless) and marks the entry ``ROLLED_BACK`` without a destination
  id, so a later full run creates the item anew;
* leaves *adopted* entries alone (found by natural key, e.g. a tag of the same name that
  existed before the migration): only the entry is marked, the row says ``kept``;
* when deleting an item inside a project fails (Asana refuses to delete a project's last
  section), leaves it to its project: the sweep after the project phase reports it deleted
  with the project, or failed when the project stayed.

Items that existed at the destination before Ferry are not in the id map (except adopted
ones, kept), so they are never touched. Cursors are ``rb`` (start of a phase) or
``rb:<depth>:<last source id>``; never None, so no rollback checkpoint equals the
``(project, None)`` checkpoint every scope starts at.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from shared.contract.clock import Clock
from shared.contract.connector import DestinationWriter
from shared.contract.model import Kind
from shared.engine.items import CHUNK_LEVEL
from shared.engine.plan import ROLLBACK_START, RunSettings
from shared.engine.ports import (
    Checkpoint,
    ChunkMessage,
    IdMap,
    IdMapEntry,
    IdMapPages,
    IdState,
    ItemReport,
    ItemStatus,
    Phase,
)
from shared.errors import NotFoundError

START = ROLLBACK_START.cursor or "rb"
#: Phases of a rollback, children before parents, then the sweep.
ROLLBACK_ORDER: tuple[Phase, ...] = (
    Phase.ATTACHMENT,
    Phase.COMMENT,
    Phase.TASK,
    Phase.LABEL,
    Phase.SECTION,
    Phase.PROJECT,
    Phase.SWEEP,
)
#: Kinds that live inside a project at every destination we know, so deleting the project
#: removes them. Labels do not (Asana tags belong to the workspace), nor do comments
#: (Planner comments are posts of the Microsoft 365 group's conversations, which outlive
#: the plan and cannot be deleted one by one: they are reported failed).
CONTAINED = frozenset({Kind.SECTION, Kind.TASK, Kind.ATTACHMENT})


def _parse(cursor: str | None) -> tuple[int | None, str | None]:
    if not cursor or cursor == START:
        return None, None
    _, depth, after = cursor.split(":", 2)
    return int(depth), after or None


def _cursor(depth: int | None, after: str | None) -> str:
    return f"{START}:{depth or 0}:{after or ''}"


def _next_phase(phase: Phase) -> Checkpoint | None:
    idx = ROLLBACK_ORDER.index(phase)
    if idx + 1 >= len(ROLLBACK_ORDER):
        return None
    return Checkpoint(phase=ROLLBACK_ORDER[idx + 1], cursor=START)


async def entries_page(
    id_map: IdMap, migration_id: str, *, scope: str, kind: Kind, depth: int | None, after: str | None, limit: int
) -> list[IdMapEntry]:
    """A keyset page through ``IdMapPages`` when the id map has it, else by listing."""
    if hasattr(id_map, "page"):
        return await cast(IdMapPages, id_map).page(
            migration_id, scope=scope, kind=kind, depth=depth, after=after, limit=limit
        )
    rows = [
        e
        async for e in id_map.list(migration_id, scope=scope)
        if e.kind is kind and (depth is None or e.depth == depth) and (after is None or e.source_id > after)
    ]
    rows.sort(key=lambda e: e.source_id)
    return rows[:limit]


async def max_depth(id_map: IdMap, migration_id: str, *, scope: str, kind: Kind) -> int:
    if hasattr(id_map, "max_depth"):
        return await cast(IdMapPages, id_map).max_depth(migration_id, scope=scope, kind=kind)
    return max([e.depth async for e in id_map.list(migration_id, scope=scope) if e.kind is kind], default=0)


@dataclass
class RollbackChunk:
    """One chunk of a rollback; ``run`` returns counts, rows and the next checkpoint.

    Chunk-level errors (``DeferChunk``, credentials refused, outages) propagate after the
    rows of the items already handled are returned through ``partial``; the chunk runner
    turns them into the usual outcomes.
    """

    settings: RunSettings
    writer: DestinationWriter
    id_map: IdMap
    clock: Clock

    def __post_init__(self) -> None:
        self.partial: tuple[Counter[str], list[ItemReport]] = (Counter(), [])

    async def run(self, msg: ChunkMessage) -> tuple[Counter[str], list[ItemReport], Checkpoint | None]:
        counts, rows = self.partial
        if msg.phase is Phase.SWEEP:
            await self._sweep(msg, counts, rows)
            return counts, rows, None
        kind = msg.phase.kind
        assert kind is not None
        depth, after = _parse(msg.cursor)
        if kind is Kind.TASK and depth is None:
            depth = await max_depth(self.id_map, self.settings.migration_id, scope=msg.scope, kind=kind)
        limit = self.settings.page_size
        entries = await entries_page(
            self.id_map,
            self.settings.migration_id,
            scope=msg.scope,
            kind=kind,
            depth=depth if kind is Kind.TASK else None,
            after=after,
            limit=limit,
        )
        project_goes = kind in CONTAINED and await self._project_goes(msg.scope)
        sem = asyncio.Semaphore(self.settings.item_concurrency)

        async def one(entry: IdMapEntry) -> None:
            async with sem:
                await self._entry(msg, entry, project_goes, counts, rows)

        out = await asyncio.gather(*(one(e) for e in entries), return_exceptions=True)
        errors = [e for e in out if isinstance(e, BaseException)]
        if errors:
            raise errors[0]
        if len(entries) == limit:
            return counts, rows, Checkpoint(phase=msg.phase, cursor=_cursor(depth, entries[-1].source_id))
        if kind is Kind.TASK and depth:
            return counts, rows, Checkpoint(phase=msg.phase, cursor=_cursor(depth - 1, None))
        return counts, rows, _next_phase(msg.phase)

    async def _project(self, scope: str) -> IdMapEntry | None:
        found = await self.id_map.get_many(self.settings.migration_id, Kind.PROJECT, [scope])
        return found.get(scope)

    async def _project_goes(self, scope: str) -> bool:
        """True when the scope's project was created by Ferry and not deleted yet."""
        entry = await self._project(scope)
        return bool(entry and entry.dest_id and not entry.adopted and entry.state is not IdState.ROLLED_BACK)

    def _mark(self, entry: IdMapEntry, run_id: str) -> IdMapEntry:
        return entry.model_copy(
            update={
                "state": IdState.ROLLED_BACK,
                "dest_id": None,
                "last_run_id": run_id,
                "updated_at": self.clock.now(),
            }
        )

    async def _entry(
        self, msg: ChunkMessage, entry: IdMapEntry, project_goes: bool, counts: Counter[str], rows: list[ItemReport]
    ) -> None:
        kind = entry.kind

        def row(status: ItemStatus, reason: str | None = None, dest_id: str | None = entry.dest_id) -> None:
            counts[f"{kind}.{status}"] += 1
            rows.append(
                ItemReport(
                    kind=kind, source_id=entry.source_id, scope=msg.scope, status=status, dest_id=dest_id, reason=reason
                )
            )

        if entry.state is IdState.ROLLED_BACK:
            return  # an earlier rollback, or an earlier delivery of this chunk, did it
        if entry.dest_id is None:
            if entry.state is IdState.INTENT:
                row(
                    ItemStatus.SKIPPED,
                    "an interrupted create may have left this item at the "
                    "destination; run a delta first so it is found by its marker, then roll back",
                )
            else:  # failed or skipped before anything was written: nothing to delete
                await self.id_map.put(self._mark(entry, msg.run_id))
            return
        if entry.adopted:
            await self.id_map.put(self._mark(entry, msg.run_id))
            row(ItemStatus.KEPT, "existed at the destination before the migration; not deleted")
            return
        try:
            await self.writer.delete(kind, entry.dest_id)
        except NotFoundError:
            pass  # already gone (deleted by hand, or by an earlier delivery): done
        except CHUNK_LEVEL:
            raise
        except Exception as exc:
            if project_goes:
                return  # its project's deletion takes it along; the sweep reports it
            row(ItemStatus.FAILED, f"could not delete: {exc}")
            return
        await self.id_map.put(self._mark(entry, msg.run_id))
        row(ItemStatus.DELETED)

    async def _sweep(self, msg: ChunkMessage, counts: Counter[str], rows: list[ItemReport]) -> None:
        """Items a child phase left to their project: gone with it, or failed."""
        project = await self._project(msg.scope)
        if project is None or project.adopted:
            return  # child phases defer nothing to a project Ferry did not create
        project_deleted = project.state is IdState.ROLLED_BACK
        left: list[IdMapEntry] = [
            e
            async for e in self.id_map.list(self.settings.migration_id, scope=msg.scope)
            if e.kind in CONTAINED and e.dest_id and not e.adopted and e.state is not IdState.ROLLED_BACK
        ]
        for entry in left:
            if project_deleted:
                await self.id_map.put(self._mark(entry, msg.run_id))
                status, reason = ItemStatus.DELETED, "removed with its project"
            else:
                status, reason = ItemStatus.FAILED, "could not delete it, nor its project"
            counts[f"{entry.kind}.{status}"] += 1
            rows.append(
                ItemReport(
                    kind=entry.kind,
                    source_id=entry.source_id,
                    scope=msg.scope,
                    status=status,
                    dest_id=entry.dest_id,
                    reason=reason,
                )
            )


def plan_counts(entries: Sequence[IdMapEntry]) -> dict[str, int]:
    """Deletes a rollback will make per kind (for the run's ETA)."""
    out: Counter[str] = Counter()
    for e in entries:
        if e.dest_id and not e.adopted and e.state is not IdState.ROLLED_BACK:
            out[str(e.kind)] += 1
    return dict(out)
