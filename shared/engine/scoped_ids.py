"""Id-map keys of labels, per scope, for destinations whose labels belong to one project.

A source label can appear in several scopes: Asana tags are workspace-wide, so two migrated
projects share one tag. A destination whose labels live inside a project (Trello labels per
board, Planner categories per plan; ``Capabilities.labels_per_project``) needs one label per
destination project, so the id map must remember one destination label per (scope, source
label). Without that the second board reused the first board's label id and Trello refused
the card ("invalid value for idLabels").

``ScopedIdMap`` wraps the id map for one scope's chunk: label entries are stored under
``<scope>|<source id>`` and handed back under the source id, so the engine, the writers and
``DestRefs.labels`` keep using source ids. ``unscoped`` turns a stored key back into the
source id (the report repair and the verify do so for the entries they list).
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence

from shared.contract.model import Kind
from shared.engine.placement import siblings_from_list
from shared.engine.ports import IdMap, IdMapEntry, IdMapSiblings

SCOPED_KINDS = frozenset({Kind.LABEL})
_SEP = "|"


def scoped(scope: str, source_id: str) -> str:
    return f"{scope}{_SEP}{source_id}"


def unscoped(entry: IdMapEntry) -> str:
    """The source id of an entry, whether or not it was stored per scope."""
    if entry.kind in SCOPED_KINDS:
        return entry.source_id.removeprefix(entry.scope + _SEP)
    return entry.source_id


class ScopedIdMap:
    """The id map as one scope's chunk sees it when labels are kept per scope."""

    def __init__(self, inner: IdMap, scope: str) -> None:
        self.inner = inner
        self.scope = scope

    def _key(self, kind: Kind, source_id: str) -> str:
        return scoped(self.scope, source_id) if kind in SCOPED_KINDS else source_id

    async def get_many(self, migration_id: str, kind: Kind, source_ids: Sequence[str]) -> dict[str, IdMapEntry]:
        if kind not in SCOPED_KINDS:
            return await self.inner.get_many(migration_id, kind, source_ids)
        keys = {self._key(kind, sid): sid for sid in source_ids}
        found = await self.inner.get_many(migration_id, kind, list(keys))
        return {keys[key]: entry.model_copy(update={"source_id": keys[key]}) for key, entry in found.items()}

    def _stored(self, entry: IdMapEntry) -> IdMapEntry:
        if entry.kind in SCOPED_KINDS:
            return entry.model_copy(update={"source_id": self._key(entry.kind, entry.source_id)})
        return entry

    async def put(self, entry: IdMapEntry) -> None:
        await self.inner.put(self._stored(entry))

    async def put_many(self, entries: Sequence[IdMapEntry]) -> builtins.list[Exception | None]:
        return await self.inner.put_many([self._stored(e) for e in entries])

    async def mark_seen(self, migration_id: str, kind: Kind, source_ids: Sequence[str], run_id: str) -> None:
        await self.inner.mark_seen(migration_id, kind, [self._key(kind, sid) for sid in source_ids], run_id)

    def list(self, migration_id: str, *, scope: str | None = None) -> AsyncIterator[IdMapEntry]:
        return self.inner.list(migration_id, scope=scope)

    async def siblings(
        self, migration_id: str, *, scope: str, section: str, low: float, high: float, exclude: Sequence[str]
    ) -> builtins.list[IdMapEntry]:
        """Tasks are not scoped: the inner map's ``IdMapSiblings`` (or its listing)."""
        if isinstance(self.inner, IdMapSiblings):
            return await self.inner.siblings(
                migration_id, scope=scope, section=section, low=low, high=high, exclude=exclude
            )
        return await siblings_from_list(
            self.inner, migration_id, scope=scope, section=section, low=low, high=high, exclude=exclude
        )
