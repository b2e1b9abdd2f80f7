"""Ports: what the engine needs from storage and queues, as small async protocols.

The engine is written against these; ``shared/migrations/ports_cosmos.py`` (Cosmos) and the
queue client provide the adapters, bound to one tenant when built (no tenant id in these signatures). Messages
and entries hold ids, versions, cursors and counters only: never item content, never secrets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contract.connector import MAX_CURSOR_CHARS
from shared.contract.model import Kind
from shared.contract.runs import RunStatus

#: Azure Storage queue messages are at most 64 KiB; base64 costs 4/3, so stay well below 48 KiB.
MAX_MESSAGE_BYTES = 16 * 1024


class Phase(StrEnum):
    """A scope's steps: the kinds in dependency order, then the deletion sweep."""

    PROJECT = "project"
    SECTION = "section"
    LABEL = "label"
    TASK = "task"
    COMMENT = "comment"
    ATTACHMENT = "attachment"
    SWEEP = "sweep"

    @property
    def kind(self) -> Kind | None:
        return None if self is Phase.SWEEP else Kind(self.value)


class IdState(StrEnum):
    INTENT = "intent"  # about to create: on redelivery, reconcile by marker first
    DONE = "done"  # dest_id holds the item written from source_version
    DELETED_AT_SOURCE = "deleted_at_source"  # reported once, not again
    FAILED = "failed"  # not migrated in ``last_run_id`` (4xx, mapping); retried next run
    SKIPPED = "skipped"  # cannot go to this destination (e.g. too large); re-checked next run
    ROLLED_BACK = "rolled_back"  # deleted at the destination by a rollback: a later run creates it anew


class IdMapEntry(BaseModel):
    """(migration, kind, source id) → destination id + the source version written."""

    model_config = ConfigDict(frozen=True)

    migration_id: str
    kind: Kind
    source_id: str
    scope: str  # the project-level source container (for the per-scope deletion sweep)
    marker: str
    state: IdState
    dest_id: str | None = None
    source_version: str | None = None
    last_run_id: str | None = None  # the last run that saw this item at the source
    updated_at: datetime | None = None
    #: found at the destination by its natural key (e.g. a tag of the same name) when this
    #: migration had never tried to create it: it existed before, and a rollback keeps it
    adopted: bool = False
    #: subtask depth (0 = top-level task; other kinds 0): a rollback deletes deeper first
    depth: int = 0
    #: the run that last wrote this entry's outcome (done, failed or skipped) and what that
    #: outcome was: the report row of an item can be rebuilt from its entry when the
    #: delivery that wrote the entry died before its rows were flushed (ids and codes only)
    written_run_id: str | None = None
    action: str | None = None  # an ``ItemStatus`` value
    adaptations: tuple[str, ...] = ()
    reason: str | None = None
    #: comments and attachments: the source id of their task (``IdMapChildren.children``)
    parent_id: str | None = None
    #: tasks: child kind → the task's version when its children of that kind were last
    #: listed completely (``shared.engine.child_skip``); a rewritten entry starts without
    children_listed: Mapping[str, str] = Field(default_factory=dict)
    #: top-level tasks: the (status-mapped) source section and the source position the task
    #: was last written or seen at: the placement anchors of its siblings
    #: (``shared.engine.placement``); None for other kinds and for entries written before
    section_id: str | None = None
    position: float | None = None


class IdMap(Protocol):
    async def get_many(self, migration_id: str, kind: Kind, source_ids: Sequence[str]) -> dict[str, IdMapEntry]:
        """Entries for those source ids (absent ids are missing from the result)."""
        ...

    async def put(self, entry: IdMapEntry) -> None:
        """Upsert by (migration_id, kind, source_id)."""
        ...

    async def put_many(self, entries: Sequence[IdMapEntry]) -> list[Exception | None]:
        """Upsert several entries (distinct keys) in as few requests as the store allows.
        Returns once each has an outcome: per entry, in order, None if it is stored, else
        the error that kept it out (one refused entry never fails the others)."""
        ...

    async def mark_seen(self, migration_id: str, kind: Kind, source_ids: Sequence[str], run_id: str) -> None:
        """Set ``last_run_id = run_id`` on existing entries (one batch per chunk)."""
        ...

    def list(self, migration_id: str, *, scope: str | None = None) -> AsyncIterator[IdMapEntry]:
        """Every entry of the migration (optionally of one scope)."""
        ...


@runtime_checkable
class IdMapChildren(Protocol):
    """Optional id-map feature: the comments and attachments of given tasks, and the task
    versions their children were listed at (``shared.engine.child_skip``). An id map without
    it makes the engine list every task's children, as before."""

    async def children(self, migration_id: str, kind: Kind, parent_ids: Sequence[str]) -> list[IdMapEntry]:
        """Entries of ``kind`` whose ``parent_id`` is one of ``parent_ids``."""
        ...

    async def set_listed(self, migration_id: str, kind: Kind, versions: Mapping[str, str]) -> None:
        """On the TASK entries of ``versions``' keys, set ``children_listed[kind]`` to the
        version; a task without an entry is left alone."""
        ...


@runtime_checkable
class IdMapSiblings(Protocol):
    """Optional id-map feature: the placed tasks of one section around a range of source
    positions (``shared.engine.placement``). An id map without it is read through
    ``IdMap.list`` and filtered in memory, which is fine for small maps only."""

    async def siblings(
        self, migration_id: str, *, scope: str, section: str, low: float, high: float, exclude: Sequence[str]
    ) -> list[IdMapEntry]:
        """DONE task entries of ``scope`` with ``section_id == section`` and a destination
        id, but for the source ids in ``exclude``: those whose ``position`` lies in
        [``low``, ``high``], and the nearest one below ``low`` and above ``high``."""
        ...


class IdMapPages(Protocol):
    """Optional id-map feature: keyset pages of one scope and kind (used by rollbacks).

    An id map without it is read through ``IdMap.list`` and filtered in memory
    (``shared.engine.rollback.entries_page``), which is fine for small maps only.
    """

    async def page(
        self, migration_id: str, *, scope: str, kind: Kind, depth: int | None, after: str | None, limit: int
    ) -> list[IdMapEntry]:
        """Up to ``limit`` entries of (scope, kind[, depth]) with ``source_id > after``,
        ordered by source id."""
        ...

    async def max_depth(self, migration_id: str, *, scope: str, kind: Kind) -> int:
        """The largest ``depth`` among the entries of (scope, kind); 0 when there are none."""
        ...


class ItemStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    RECONCILED = "reconciled"  # found by marker after a crash/redelivery, then updated
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"  # cannot go (e.g. over the destination's size limit): reason given
    FAILED = "failed"
    DELETED_AT_SOURCE = "deleted_at_source"
    WOULD_CREATE = "would_create"  # dry run
    WOULD_UPDATE = "would_update"  # dry run
    DELETED = "deleted"  # rollback: deleted at the destination (or already gone: 404)
    KEPT = "kept"  # rollback: existed at the destination before the migration, left alone
    # verify (``shared.verify``): the destination compared with the source, no writes
    OK = "ok"  # there, every field as the source's or as a documented adaptation says
    MISSING = "missing"  # not at the destination
    DUPLICATE = "duplicate"  # at the destination more than once
    DIFFERENT = "different"  # there, but fields differ (``reason`` names them, never values)
    UNEXPECTED = "unexpected"  # at the destination in a migrated container, from no source item


#: Verify outcomes that are defects of the migration (``ok`` is not).
VERIFY_DEFECTS = frozenset({ItemStatus.MISSING, ItemStatus.DUPLICATE, ItemStatus.DIFFERENT, ItemStatus.UNEXPECTED})


class ItemReport(BaseModel):
    """One row of the per-item report (no content: ids, status, reason, adaptation codes)."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    source_id: str
    scope: str
    status: ItemStatus
    dest_id: str | None = None
    reason: str | None = None
    adaptations: tuple[str, ...] = ()


class Checkpoint(BaseModel):
    """Where a scope stands: the phase and the page cursor to read next."""

    model_config = ConfigDict(frozen=True)

    phase: Phase
    cursor: str | None = None


class Claim(StrEnum):
    CLAIMED = "claimed"  # this delivery owns the scope's checkpoint until the lease ends
    STALE = "stale"  # the checkpoint moved on (duplicate or old message): drop it
    BUSY = "busy"  # another delivery holds a live lease (redelivered while running)


class ClaimResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Claim
    busy_until: datetime | None = None
    #: STALE only, when this very message moved the checkpoint on and then its delivery died
    #: (or failed to send) before the hand-off was confirmed: the checkpoint it moved to,
    #: whose message may never have been sent.
    resume: Checkpoint | None = None
    #: STALE only: this message closed the scope (the run's completion check may be owed).
    closed_by_it: bool = False


class RunState(Protocol):
    async def start(self, run_id: str, scopes: Sequence[str]) -> None:
        """Status RUNNING; every scope's checkpoint at (PROJECT, None)."""
        ...

    async def get_status(self, run_id: str) -> RunStatus: ...

    async def set_status(self, run_id: str, status: RunStatus, reason: str | None = None) -> None:
        """Move to ``status`` if allowed (``can_transition``); otherwise leave it."""
        ...

    async def add_counts(self, run_id: str, counts: Mapping[str, int]) -> None:
        """Atomically add to named counters (Cosmos patch ``incr``)."""
        ...

    async def get_counts(self, run_id: str) -> dict[str, int]: ...

    async def add_items(self, run_id: str, rows: Sequence[ItemReport]) -> None:
        """Append per-item report rows (upsert by run, kind and source id)."""
        ...

    async def item_keys(self, run_id: str) -> set[tuple[Kind, str]]:
        """(kind, source id) of every report row of the run."""
        ...

    async def set_counts(self, run_id: str, counts: Mapping[str, int]) -> None:
        """Set named counters to exact values (the run-end recount)."""
        ...

    async def checkpoints(self, run_id: str) -> dict[str, Checkpoint]:
        """Checkpoints of the scopes still open (to resume after a pause)."""
        ...

    async def claim(self, run_id: str, scope: str, expected: Checkpoint, token: str, until: datetime) -> ClaimResult:
        """Take the scope's lease if its checkpoint is ``expected`` and no other live lease
        exists (atomic, e.g. Cosmos etag). A queue message redelivered while its first
        delivery still runs gets BUSY; an old or duplicate message gets STALE."""
        ...

    async def release(self, run_id: str, scope: str, token: str) -> None:
        """Drop the lease held by ``token`` (chunk deferred or stopped)."""
        ...

    async def advance(self, run_id: str, scope: str, expected: Checkpoint, new: Checkpoint | None) -> bool:
        """Compare-and-set the checkpoint and clear the lease (``new=None`` closes the
        scope); False if the checkpoint had moved. Remembers ``expected`` as the step that
        got there, with the hand-off to ``new`` pending until ``handed_off``."""
        ...

    async def handed_off(self, run_id: str, scope: str, checkpoint: Checkpoint) -> None:
        """The message for ``checkpoint`` was sent: a redelivery of the previous step must not
        send it again. No-op when the scope has moved on meanwhile."""
        ...

    async def open_scopes(self, run_id: str) -> int:
        """How many scopes are not closed yet."""
        ...


class ChunkMessage(BaseModel):
    """One queue message = one page of one phase of one scope. Ids and cursors only."""

    model_config = ConfigDict(frozen=True)

    v: int = 1
    tenant_id: str
    migration_id: str
    run_id: str
    scope: str
    phase: Phase
    cursor: str | None = None
    attempt: int = Field(default=0, ge=0)

    @field_validator("cursor")
    @classmethod
    def _short_cursor(cls, value: str | None) -> str | None:
        if value is not None and len(value) > MAX_CURSOR_CHARS:
            raise ValueError("cursor too long for a queue message")
        return value

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(phase=self.phase, cursor=self.cursor)

    def to_json(self) -> str:
        """Serialised body (the queue adapter base64-encodes it)."""
        body = self.model_dump_json()
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            raise ValueError("chunk message too large")
        return body


class ChunkQueue(Protocol):
    async def enqueue(self, message: ChunkMessage, *, delay_s: float = 0.0) -> None:
        """Send ``message``, invisible for ``delay_s`` seconds (visibility timeout)."""
        ...
