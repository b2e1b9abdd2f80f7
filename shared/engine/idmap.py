"""Id map logic on top of the ``IdMap`` port: entries, delta decisions, parent resolution."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from shared.contract.connector import DestRefs
from shared.contract.model import Attachment, Comment, Kind, Record, Task
from shared.engine.ports import IdMap, IdMapEntry, IdState, ItemStatus
from shared.errors import SkippableItemError

#: A failure reason kept in an id-map entry is cut to this many characters.
REASON_CHARS = 300


class Delta(StrEnum):
    NEW = "new"  # no entry: create
    RECONCILE = "reconcile"  # intent recorded, outcome unknown: find by marker first
    CHANGED = "changed"  # written before from an older version: update
    UNCHANGED = "unchanged"  # same version: nothing to write


def parent_task(record: Record) -> str | None:
    """The task a comment or attachment belongs to (kept on its entry), else None."""
    return record.task_id if isinstance(record, Comment | Attachment) else None


def decide(entry: IdMapEntry | None, record: Record) -> Delta:
    """What the engine must do with ``record`` given its id-map entry."""
    if entry is None or entry.state is IdState.ROLLED_BACK:
        return Delta.NEW  # a rollback deleted what was written: create it anew
    if entry.dest_id is None:
        # an intent (or a failure after one) may have left an item: look for its marker
        return Delta.RECONCILE
    if entry.state is IdState.DONE:
        return Delta.UNCHANGED if entry.source_version == record.version else Delta.CHANGED
    # failed, skipped or deleted at the source after an earlier success (e.g. restored from
    # the trash): bring the existing destination item up to date rather than duplicating it
    return Delta.CHANGED


def intent(
    migration_id: str,
    scope: str,
    record: Record,
    marker: str,
    run_id: str,
    now: datetime,
    previous: IdMapEntry | None = None,
    *,
    depth: int = 0,
) -> IdMapEntry:
    """The entry written before a create (keeps the previous source version, if any)."""
    return IdMapEntry(
        migration_id=migration_id,
        kind=record.kind,
        source_id=record.source_id,
        scope=scope,
        marker=marker,
        state=IdState.INTENT,
        dest_id=None,
        source_version=previous.source_version if previous else None,
        last_run_id=run_id,
        updated_at=now,
        depth=depth,
        parent_id=parent_task(record),
    )


def not_migrated(
    migration_id: str,
    scope: str,
    record: Record,
    marker: str,
    run_id: str,
    state: IdState,
    now: datetime,
    previous: IdMapEntry | None,
    *,
    depth: int = 0,
    reason: str | None = None,
) -> IdMapEntry:
    """The entry after a failure or skip: remembered for this run, retried by the next.

    A previous destination id and the version it was written from are kept, so the next
    run updates that item instead of creating another.
    """
    return IdMapEntry(
        migration_id=migration_id,
        kind=record.kind,
        source_id=record.source_id,
        scope=scope,
        marker=marker,
        state=state,
        dest_id=previous.dest_id if previous else None,
        source_version=previous.source_version if previous else None,
        last_run_id=run_id,
        updated_at=now,
        depth=depth,
        adopted=bool(previous and previous.dest_id and previous.adopted),
        written_run_id=run_id,
        action=state.value,
        reason=reason[:REASON_CHARS] if reason else None,
        parent_id=parent_task(record),
        # the destination item (if any) is still where it was placed
        section_id=previous.section_id if previous and previous.dest_id else None,
        position=previous.position if previous and previous.dest_id else None,
    )


def done(
    migration_id: str,
    scope: str,
    record: Record,
    marker: str,
    run_id: str,
    dest_id: str,
    now: datetime,
    *,
    adopted: bool = False,
    depth: int = 0,
    action: str | None = None,
    adaptations: tuple[str, ...] = (),
    section_id: str | None = None,
    position: float | None = None,
) -> IdMapEntry:
    """The entry written after a successful create/update (``adopted``: the item was found
    at the destination by its natural key, not created by this migration; ``section_id``
    and ``position``: where a top-level task was placed, ``shared.engine.placement``)."""
    return IdMapEntry(
        migration_id=migration_id,
        kind=record.kind,
        source_id=record.source_id,
        scope=scope,
        marker=marker,
        state=IdState.DONE,
        dest_id=dest_id,
        source_version=record.version,
        last_run_id=run_id,
        updated_at=now,
        adopted=adopted,
        depth=depth,
        written_run_id=run_id,
        action=action,
        adaptations=adaptations,
        parent_id=parent_task(record),
        section_id=section_id,
        position=position,
    )


#: Id-map states a ``retry_failed`` run picks up: failed or skipped before, or a create
#: whose outcome an interrupted run never recorded (reconciled by marker first).
RETRY_STATES = frozenset({IdState.FAILED, IdState.SKIPPED, IdState.INTENT})


def retryable(entry: IdMapEntry | None) -> bool:
    """True when a ``retry_failed`` run should process the item of ``entry``."""
    return entry is not None and entry.state in RETRY_STATES


def retry_plan(entries: Iterable[tuple[str, Kind | str]]) -> dict[str, frozenset[Kind]]:
    """Scope → kinds holding retryable items, from (scope, kind) pairs of such entries."""
    plan: dict[str, set[Kind]] = {}
    for scope, kind in entries:
        plan.setdefault(scope, set()).add(Kind(kind))
    return {scope: frozenset(kinds) for scope, kinds in plan.items()}


class ParentResolver:
    """Resolves a record's parent source ids to destination ids, batching id-map reads."""

    def __init__(self, id_map: IdMap, migration_id: str, workspace: str | None, run_id: str) -> None:
        self.id_map = id_map
        self.migration_id = migration_id
        self.workspace = workspace
        self.run_id = run_id
        self._cache: dict[tuple[Kind, str], str | None] = {}
        self._depths: dict[str, int] = {}  # task source id → subtask depth
        self._created: set[str] = set()  # tasks (source ids) this run created at the destination
        self._remade: set[str] = set()  # … or found by marker after a create (see remade_this_run)

    def remember(
        self, kind: Kind, source_id: str, dest_id: str | None, depth: int = 0, *, action: str | None = None
    ) -> None:
        """A record this run wrote: its destination id and, for a task, its depth and what
        was done (``ItemStatus``)."""
        self._cache[(kind, source_id)] = dest_id
        if kind is Kind.TASK:
            self._depths[source_id] = depth
            self._note(source_id, action)

    def _note(self, task_source_id: str, action: str | None) -> None:
        if action == ItemStatus.CREATED:
            self._created.add(task_source_id)
        if action in (ItemStatus.CREATED, ItemStatus.RECONCILED):
            self._remade.add(task_source_id)

    def created_this_run(self, task_source_id: str) -> bool:
        """Whether this run created the task at the destination (a new item, not one found
        there): nothing but this run can have put anything on it yet."""
        return task_source_id in self._created

    def remade_this_run(self, task_source_id: str) -> bool:
        """Whether the task's destination copy is one this run created, or found by its marker
        after a create whose outcome was unknown (its entry was an intent: a crash between the
        create and its id-map entry). Either way the copy is not the one an earlier run wrote
        the task's comments and attachments under — an entry written by an earlier run loses
        its destination id only when its task is found deleted at the destination (its update
        answered 404) and created again."""
        return task_source_id in self._remade

    def known(self, kind: Kind, source_id: str) -> str | None:
        """The destination id of a prefetched or remembered parent, or None."""
        return self._cache.get((kind, source_id))

    def depth(self, record: Record) -> int:
        """Subtask depth of ``record`` (0 for top-level tasks and other kinds)."""
        if isinstance(record, Task) and record.parent_id:
            return self._depths.get(record.parent_id, 0) + 1
        return 0

    async def prefetch(self, records: Iterable[Record]) -> None:
        """Load the parents of a whole page in one read per kind."""
        wanted: dict[Kind, set[str]] = {}
        for rec in records:
            for kind, sid in _parents(rec):
                if (kind, sid) not in self._cache:
                    wanted.setdefault(kind, set()).add(sid)
        for kind, ids in wanted.items():
            found = await self.id_map.get_many(self.migration_id, kind, sorted(ids))
            for sid in ids:
                entry = found.get(sid)
                ok = entry is not None and entry.state is IdState.DONE
                self._cache[(kind, sid)] = entry.dest_id if ok and entry else None
                if kind is Kind.TASK and entry is not None:
                    self._depths[sid] = entry.depth
                    if ok and entry.written_run_id == self.run_id:
                        self._note(sid, entry.action)

    def refs(self, record: Record) -> DestRefs:
        """DestRefs for ``record``; SkippableItemError when a required parent is missing."""
        get = self._cache.get
        if record.kind is Kind.PROJECT:
            return DestRefs(workspace=self.workspace)
        project_sid = getattr(record, "project_id", None)
        project = get((Kind.PROJECT, project_sid)) if project_sid else None
        if project is None:
            raise SkippableItemError("its project was not migrated")
        refs: dict[str, object] = {"workspace": self.workspace, "project": project}
        if isinstance(record, Task):
            if record.section_id:
                refs["section"] = get((Kind.SECTION, record.section_id))
            if record.parent_id:
                parent = get((Kind.TASK, record.parent_id))
                if parent is None:
                    raise SkippableItemError("its parent task was not migrated")
                refs["parent_task"] = parent
            refs["labels"] = {
                lab.source_id: dest for lab in record.labels if (dest := get((Kind.LABEL, lab.source_id)))
            }
        task_sid = getattr(record, "task_id", None)
        if task_sid:
            task = get((Kind.TASK, task_sid))
            if task is None:
                raise SkippableItemError("its task was not migrated")
            refs["task"] = task
        return DestRefs.model_validate(refs)


def _parents(rec: Record) -> list[tuple[Kind, str]]:
    out: list[tuple[Kind, str]] = []
    if rec.kind is not Kind.PROJECT and getattr(rec, "project_id", None):
        out.append((Kind.PROJECT, rec.project_id))  # type: ignore[attr-defined]
    if isinstance(rec, Task):
        if rec.section_id:
            out.append((Kind.SECTION, rec.section_id))
        if rec.parent_id:
            out.append((Kind.TASK, rec.parent_id))
        out.extend((Kind.LABEL, lab.source_id) for lab in rec.labels)
    if getattr(rec, "task_id", None):
        out.append((Kind.TASK, rec.task_id))  # type: ignore[attr-defined]
    return out
