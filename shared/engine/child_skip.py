"""Deltas that read only what changed: the engine's half of ``ChildSkipReader``.

Vendors that cannot list a project's comments or attachments at once list them per task:
an unchanged Asana delta of 300 tasks spent 828 of its 972 source requests on one stories
and one attachments listing per task. A ``ChildSkipReader`` asks the engine, before it lists
the children of a step's tasks, which of them it may leave out; it leaves out a task whose
version is still the one answered, and names it in ``Page.unchanged_parents``.

A task's children of kind K may be left out when, in the id map,

* the task's entry is DONE and holds ``children_listed[K]``: the task version read before
  an earlier run listed its K children to the end (the reader reports it in
  ``Page.listed_parents``; it is recorded once the page's items are all processed, and a
  rewritten task entry starts without it), and
* every K entry naming the task as its parent is DONE or DELETED_AT_SOURCE: a child that
  failed, was skipped, is mid-create or was rolled back must be read again, so a retry, a
  crash recovery or a delta after a rollback still brings it back.

The skipped tasks' DONE children are then marked seen and counted unchanged, as if they had
been read: the deletion sweep keeps them. Which kinds may be skipped is the vendor's to
say (a child added without moving the parent's version would never be read): the reader
decides that, per kind, from the vendor's documentation.

Faults: a delivery that dies after the read and before the marks is redelivered with the
same cursor, asks again and gets the same answer (nothing it wrote changes it); one that
dies after recording ``listed_parents`` is redelivered to a page whose parents it now skips,
and marks the children its first delivery wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.contract.model import Kind
from shared.engine.ports import IdMap, IdMapChildren, IdMapEntry, IdState
from shared.errors import FatalRunError

#: Child kinds a reader may skip per parent task (their records carry ``task_id``).
CHILD_KINDS = frozenset({Kind.COMMENT, Kind.ATTACHMENT})
#: Child states that do not call for a read: migrated, or gone at the source and reported.
SETTLED = frozenset({IdState.DONE, IdState.DELETED_AT_SOURCE})


class ChildSkip:
    """One page's ``ListedParents`` for one child kind, and what the engine keeps after it."""

    def __init__(self, id_map: IdMap, children: IdMapChildren, *, migration_id: str, kind: Kind) -> None:
        self.id_map = id_map
        self.children = children
        self.migration_id = migration_id
        self.kind = kind
        self._vouched: dict[str, str] = {}  # parent → the version answered
        self._kept: dict[str, list[IdMapEntry]] = {}  # parent → its DONE children
        self._recorded: dict[str, str | None] = {}  # parent → its listed version in the id map

    async def __call__(self, parent_ids: Sequence[str]) -> Mapping[str, str]:
        """The parents (of ``parent_ids``) the reader may skip, with their listed version."""
        ids = list(dict.fromkeys(parent_ids))
        if not ids:
            return {}
        tasks = await self.id_map.get_many(self.migration_id, Kind.TASK, ids)
        candidates: dict[str, str] = {}
        for pid, entry in tasks.items():
            version = entry.children_listed.get(str(self.kind))
            self._recorded[pid] = version
            if entry.state is IdState.DONE and version:
                candidates[pid] = version
        if not candidates:
            return {}
        kept: dict[str, list[IdMapEntry]] = {pid: [] for pid in candidates}
        unsettled: set[str] = set()
        for child in await self.children.children(self.migration_id, self.kind, list(candidates)):
            parent = child.parent_id
            if parent not in kept:
                continue
            if child.state not in SETTLED:
                unsettled.add(parent)
            elif child.state is IdState.DONE:
                kept[parent].append(child)
        answer = {pid: v for pid, v in candidates.items() if pid not in unsettled}
        self._vouched.update(answer)
        self._kept.update({pid: kept[pid] for pid in answer})
        return answer

    def to_record(self, listed: Mapping[str, str]) -> dict[str, str]:
        """Of a page's ``listed_parents``, those the id map does not hold yet (a parent listed
        again for a failed child, at the version already recorded, costs no write)."""
        return {pid: v for pid, v in listed.items() if self._recorded.get(pid) != v}

    def kept_children(self, parents: Sequence[str]) -> list[IdMapEntry]:
        """The DONE children of the parents the reader skipped. A parent this ledger did not
        answer for cannot have been skipped safely: its children were never read."""
        out: list[IdMapEntry] = []
        for parent in dict.fromkeys(parents):
            if parent not in self._vouched:
                raise FatalRunError(f"the source reader skipped the {self.kind}s of task {parent} unasked")
            out.extend(self._kept[parent])
        return out
