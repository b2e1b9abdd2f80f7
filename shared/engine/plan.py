"""Run planning: settings, first messages per scope, and the phase order within a scope.

Each selected project-level container is one *scope*; scopes are independent and fan out
(one chain of chunk messages each). Within a scope the phases follow ``Phase`` order
(projects, sections, labels, tasks with subtasks after their parents, comments,
attachments) and end with the deletion sweep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.connector import Connection
from shared.contract.model import Kind
from shared.engine.ports import Checkpoint, ChunkMessage, Phase, RunState
from shared.engine.status_map import StatusRule

PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)

#: ``full``/``delta``: incremental through the id map; ``dry_run``: no writes;
#: ``retry_failed``: only the items earlier runs failed or skipped; ``rollback``: delete at
#: the destination what the migration created (``shared.engine.rollback``); ``verify``: read
#: both sides and compare them item by item, no writes (``shared.verify``).
RunMode = Literal["full", "delta", "dry_run", "retry_failed", "rollback", "verify"]


#: Records per chunk (one page, one queue message) unless the migration says otherwise. Every
#: chunk pays a fixed cost — its message, the migration's, run's and connectors' reads, the
#: claim, checkpoint and hand-off, the counts and report rows — so bigger pages spend less per
#: item (issue 19: 50 → 100 took a 3 × 100-card run from 39 chunks to 30 and its worker CPU
#: from 3.1–3.2 to 2.9–3.0 ms per item). 100 is the largest page most vendors return at once
#: (Asana, Jira), and progress and log lines still arrive every page: about 25 s of Asana's
#: budget for a page of cards, less for comments.
DEFAULT_PAGE_SIZE = 100


class RunSettings(BaseModel):
    """What the worker loads from the migration and run documents for one run (no secrets)."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    migration_id: str
    run_id: str
    dest_workspace: str | None = None  # destination container the projects go into
    dry_run: bool = False
    mode: RunMode = "full"
    #: retry_failed: scope → kinds holding failed items (phases of other kinds are not read)
    retry_plan: Mapping[str, frozenset[Kind]] | None = None
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=1000)
    #: the migration's statusMapping (``shared.engine.status_map``): source section id or
    #: name, or ``@completed``/``@open`` → target section name and/or completion
    status_map: Mapping[str, StatusRule] = Field(default_factory=dict)
    item_concurrency: int = Field(default=8, ge=1, le=64)
    max_chunk_attempts: int = Field(default=8, ge=1)
    chunk_backoff_s: float = 30.0
    chunk_backoff_cap_s: float = 900.0
    create_attempts: int = Field(default=3, ge=1)
    defer_threshold_s: float = 5.0
    sweep: bool = True  # report items deleted at the source (never in a dry run)
    lease_s: float = 360.0  # longer than any chunk runs (budget + the Functions timeout)
    chunk_budget_s: float = 240.0  # stop starting items after this; the rest goes next time


#: Where every scope of a rollback starts: attachments first (see shared.engine.rollback).
ROLLBACK_START = Checkpoint(phase=Phase.ATTACHMENT, cursor="rb")


def first_messages(settings: RunSettings, scopes: Sequence[str]) -> list[ChunkMessage]:
    """One message per scope at (PROJECT, no cursor) — for a rollback at ``ROLLBACK_START``.

    Call ``RunState.start`` first (``begin`` does both, and moves a rollback's checkpoints).
    """
    first = ROLLBACK_START if settings.mode == "rollback" else Checkpoint(phase=Phase.PROJECT)
    return [
        ChunkMessage(
            tenant_id=settings.tenant_id,
            migration_id=settings.migration_id,
            run_id=settings.run_id,
            scope=scope,
            phase=first.phase,
            cursor=first.cursor,
        )
        for scope in dict.fromkeys(scopes)
    ]


async def begin(run_state: RunState, settings: RunSettings, scopes: Sequence[str]) -> list[ChunkMessage]:
    """Start the run's scopes and return their first messages (the caller enqueues them).

    ``RunState.start`` puts every scope at (PROJECT, None); a rollback's scopes are then
    moved to ``ROLLBACK_START`` by compare-and-set, so starting twice is harmless.
    """
    await run_state.start(settings.run_id, scopes)
    if settings.mode == "rollback":
        for scope in dict.fromkeys(scopes):
            await run_state.advance(settings.run_id, scope, Checkpoint(phase=Phase.PROJECT), ROLLBACK_START)
    return first_messages(settings, scopes)


def resume_messages(settings: RunSettings, checkpoints: Mapping[str, Checkpoint]) -> list[ChunkMessage]:
    """Messages to continue open scopes from their checkpoints (after a pause or a crash)."""
    return [
        ChunkMessage(
            tenant_id=settings.tenant_id,
            migration_id=settings.migration_id,
            run_id=settings.run_id,
            scope=scope,
            phase=cp.phase,
            cursor=cp.cursor,
        )
        for scope, cp in checkpoints.items()
    ]


def message_for(previous: ChunkMessage, checkpoint: Checkpoint) -> ChunkMessage:
    """The message for ``checkpoint`` in the same run and scope (attempt reset)."""
    return previous.model_copy(update={"phase": checkpoint.phase, "cursor": checkpoint.cursor, "attempt": 0})


def retry_skips(settings: RunSettings, scope: str, phase: Phase) -> bool:
    """True when a retry_failed run has nothing to retry in ``phase`` of ``scope``."""
    if settings.mode != "retry_failed" or phase.kind is None:
        return False
    return phase.kind not in (settings.retry_plan or {}).get(scope, frozenset())


def next_checkpoint(
    current: Checkpoint,
    next_cursor: str | None,
    reader: Connection,
    writer: Connection,
    settings: RunSettings,
    scope: str | None = None,
) -> Checkpoint | None:
    """The checkpoint after a page: same phase with the next cursor, else the next phase.

    Kinds the reader cannot read are skipped; kinds the writer cannot hold are still read,
    so that the report (and the dry run) says what could not go. None = scope finished.
    """
    if next_cursor is not None and current.phase is not Phase.SWEEP:
        return Checkpoint(phase=current.phase, cursor=next_cursor)
    read_kinds = reader.capabilities.read_kinds
    if settings.mode == "retry_failed":
        read_kinds = read_kinds & (settings.retry_plan or {}).get(scope or "", frozenset())
    idx = PHASE_ORDER.index(current.phase)
    for phase in PHASE_ORDER[idx + 1 :]:
        if phase is Phase.SWEEP:
            # a dry run records no "seen" marks, so it cannot tell what was deleted; a retry
            # run sees only failed items
            sweep = settings.sweep and not settings.dry_run and settings.mode != "retry_failed"
            return Checkpoint(phase=phase) if sweep else None
        if phase.kind in read_kinds:
            return Checkpoint(phase=phase)
    return None
