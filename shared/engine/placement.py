"""Where a top-level task goes in its section: the anchors the engine hands its writer.

A destination that keeps an order (Asana sections, Planner buckets) needs each task placed
by its source position. A writer only remembers what it placed itself, and a later run, the
writer of another worker or the one that retries after a fault knows none of it: a task a
delta moves into another section landed at that section's end. So the engine, which keeps
every task's (status-mapped) section and source position on its id-map entry, gives the
writer the nearest source siblings of the same section that are already at the destination
(``DestRefs.after`` / ``DestRefs.before``) and says when the source moved the task
(``DestRefs.reposition``); the writer puts it right after the earlier one (or right before
the later one) and merges its own memory of the items it is placing in the same page.

Positions of entries a run sees unchanged are refreshed when they moved (a source that
numbers its tasks in listing order shifts the others when one moves). Tasks of the page
that this run writes are not anchors (they are being placed: the writer's memory has them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TypeGuard

from shared.contract.connector import Sibling
from shared.contract.model import Record, Task
from shared.engine.idmap import Delta, decide
from shared.engine.ports import IdMap, IdMapEntry, IdMapSiblings, IdState


def placed_task(record: Record) -> TypeGuard[Task]:
    """A task a section orders: top-level, with a section."""
    return isinstance(record, Task) and not record.parent_id and bool(record.section_id)


def _known(entry: IdMapEntry) -> bool:
    """The entry says where its task was placed (entries written before do not)."""
    return entry.section_id is not None and entry.position is not None


async def siblings_from_list(
    id_map: IdMap, migration_id: str, *, scope: str, section: str, low: float, high: float, exclude: Sequence[str]
) -> list[IdMapEntry]:
    """``IdMapSiblings.siblings`` for an id map without it: every entry of the scope read."""
    skip = set(exclude)
    mine = [
        e
        async for e in id_map.list(migration_id, scope=scope)
        if e.state is IdState.DONE
        and e.dest_id
        and e.section_id == section
        and e.position is not None
        and e.source_id not in skip
    ]
    return select_around(mine, low, high)


def select_around(entries: Sequence[IdMapEntry], low: float, high: float) -> list[IdMapEntry]:
    """The entries within [low, high] and the nearest one on either side."""
    inside = [e for e in entries if e.position is not None and low <= e.position <= high]
    below = [e for e in entries if e.position is not None and e.position < low]
    above = [e for e in entries if e.position is not None and e.position > high]
    out = list(inside)
    if below:
        out.append(max(below, key=lambda e: (e.position, e.source_id)))
    if above:
        out.append(min(above, key=lambda e: (e.position, e.source_id)))
    return out


class TaskPlacement:
    """The placement anchors of one chunk's page of tasks."""

    def __init__(self, id_map: IdMap, migration_id: str, scope: str, *, status_mapped: bool, anchored: bool) -> None:
        self.id_map = id_map
        #: the writer places by anchors (``Capabilities.sibling_anchors``); for one that does
        #: not, the sibling queries and the position refreshes would cost id-map requests
        #: per chunk and per moved task for nothing
        self.anchored = anchored
        self.migration_id = migration_id
        self.scope = scope
        #: with a status mapping the section a task goes to is only known once it is mapped
        self.status_mapped = status_mapped
        self._current: dict[str, float] = {}  # page task → its source position now
        self._moving: set[str] = set()
        self._low = self._high = 0.0
        self._sections: dict[str, list[IdMapEntry]] = {}
        self._lock = asyncio.Lock()

    def start_page(self, records: Sequence[Record], entries: Mapping[str, IdMapEntry]) -> None:
        """Note the page: the positions its tasks have now, and which of them this run
        writes in a way that may move them (those are no anchors)."""
        tasks = [r for r in records if placed_task(r)]
        self._current = {t.source_id: t.position for t in tasks}
        self._sections.clear()
        if tasks:
            self._low = min(t.position for t in tasks)
            self._high = max(t.position for t in tasks)
        self._moving = {t.source_id for t in tasks if self._may_move(t, entries.get(t.source_id))}

    def _may_move(self, task: Task, entry: IdMapEntry | None) -> bool:
        delta = decide(entry, task)
        if delta is Delta.UNCHANGED:
            return False
        if delta is not Delta.CHANGED or entry is None or not _known(entry) or self.status_mapped:
            return True
        return entry.section_id != task.section_id or entry.position != task.position

    def refreshed(self, entry: IdMapEntry, record: Record) -> IdMapEntry | None:
        """The entry of a task seen unchanged, when the source now has it elsewhere (its
        position, or its section where no status mapping decides it), or when the entry
        was written before positions were kept (then filled in once, so that its siblings
        find it; not under a status mapping, which decides the section at write time);
        else None."""
        if not self.anchored or not placed_task(record) or entry.state is not IdState.DONE:
            return None
        if not _known(entry):
            if self.status_mapped or entry.section_id is not None:
                return None
            return entry.model_copy(update={"section_id": record.section_id, "position": record.position})
        update: dict[str, object] = {}
        if entry.position != record.position:
            update["position"] = record.position
        if not self.status_mapped and entry.section_id != record.section_id:
            update["section_id"] = record.section_id
        return entry.model_copy(update=update) if update else None

    async def refs_for(self, task: Task, entry: IdMapEntry | None, delta: Delta) -> dict[str, object]:
        """``DestRefs`` fields placing ``task`` (adapted and status-mapped): its anchors and
        whether the source moved it (an entry written before positions were kept says
        nothing: the writer then moves it only into another section)."""
        if not placed_task(task) or task.section_id is None:
            return {}
        reposition = (
            delta in (Delta.NEW, Delta.RECONCILE)
            or entry is None
            or entry.dest_id is None
            or (_known(entry) and (entry.section_id, entry.position) != (task.section_id, task.position))
        )
        if not self.anchored:
            # no id-map read: a writer that keeps order by its own means (a rank or position
            # field written from the source's) still learns whether the source moved the task
            return {"reposition": reposition}
        earlier: tuple[float, str] | None = None
        later: tuple[float, str] | None = None
        for sib in await self._siblings(task.section_id):
            if sib.source_id == task.source_id or sib.dest_id is None:
                continue
            pos = self._current.get(sib.source_id, sib.position)
            if pos is None:
                continue
            if pos < task.position and (earlier is None or (pos, sib.dest_id) > earlier):
                earlier = (pos, sib.dest_id)
            elif pos > task.position and (later is None or (pos, sib.dest_id) < later):
                later = (pos, sib.dest_id)
        return {
            "after": Sibling(dest_id=earlier[1], position=earlier[0]) if earlier else None,
            "before": Sibling(dest_id=later[1], position=later[0]) if later else None,
            "reposition": reposition,
        }

    async def _siblings(self, section: str) -> list[IdMapEntry]:
        """The section's placed tasks around the page's positions (one read per section and
        chunk), without the page's tasks that this run may move."""
        async with self._lock:
            if section not in self._sections:
                low, high, exclude = self._low, self._high, sorted(self._moving)
                if isinstance(self.id_map, IdMapSiblings):
                    found = await self.id_map.siblings(
                        self.migration_id, scope=self.scope, section=section, low=low, high=high, exclude=exclude
                    )
                else:
                    found = await siblings_from_list(
                        self.id_map,
                        self.migration_id,
                        scope=self.scope,
                        section=section,
                        low=low,
                        high=high,
                        exclude=exclude,
                    )
                self._sections[section] = found
            return self._sections[section]
