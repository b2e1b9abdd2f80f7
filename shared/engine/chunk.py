"""The chunk runner: process one queue message (one page of one phase of one scope).

Flow: check run status and the scope checkpoint (stale or duplicate messages are dropped) →
read one page → for each record decide by the id map (new / reconcile / changed /
unchanged) → adapt to the destination → write (record intent first, reconcile by marker
on redelivery) → flush id map, counters and report rows → advance the checkpoint
(compare-and-set) → enqueue the next chunk.

Chunk-level outcomes: ``DeferChunk`` → same message again after the delay; credentials
refused → run PAUSED "reconnect"; a persistent outage → message again with backoff, then
run FAILED. Item-level errors (4xx, mapping failures) fail that item alone.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum

from shared.contract.clock import Clock, SystemClock
from shared.contract.connector import ChildSkipReader, DestinationWriter, SourceReader
from shared.contract.model import Kind
from shared.contract.pacer import DeferChunk
from shared.contract.runs import FINAL_STATUSES, RunStatus
from shared.engine.child_skip import CHILD_KINDS, ChildSkip
from shared.engine.items import ItemContext, ItemProcessor, ItemResult
from shared.engine.plan import RunSettings, message_for, next_checkpoint, retry_skips
from shared.engine.ports import (
    VERIFY_DEFECTS,
    Checkpoint,
    ChunkMessage,
    ChunkQueue,
    Claim,
    ClaimResult,
    IdMap,
    IdMapChildren,
    IdMapEntry,
    IdState,
    ItemReport,
    ItemStatus,
    Phase,
    RunState,
)
from shared.engine.report_repair import repair_report
from shared.engine.rollback import RollbackChunk
from shared.engine.scoped_ids import ScopedIdMap, unscoped
from shared.errors import (
    AuthRequiredError,
    FatalRunError,
    NotFoundError,
    PermissionDeniedError,
    SkippableItemError,
    TransientError,
)

log = logging.getLogger(__name__)

#: Modes whose report is repaired from the id map when the run ends (``report_repair``).
REPAIRED_MODES = frozenset({"full", "delta", "retry_failed"})


#: Verifies one scope (``shared.verify``): its counters and report rows, nothing written.
ScopeVerifier = Callable[[str], Awaitable[tuple[Counter[str], list[ItemReport]]]]


class Outcome(StrEnum):
    NEXT = "next"  # next chunk enqueued
    SCOPE_DONE = "scope_done"
    RUN_DONE = "run_done"
    DEFERRED = "deferred"  # same chunk re-enqueued with a delay
    PAUSED = "paused"
    DROPPED = "dropped"  # stale/duplicate message, or run not running
    FAILED = "failed"


@dataclass
class ChunkResult:
    outcome: Outcome
    counts: Counter[str] = field(default_factory=Counter)
    delay_s: float = 0.0
    next_message: ChunkMessage | None = None
    reason: str | None = None


class ChunkRunner:
    """Runs chunks of one run; build one per message or reuse across messages of a run."""

    def __init__(
        self,
        *,
        reader: SourceReader,
        writer: DestinationWriter,
        id_map: IdMap,
        run_state: RunState,
        queue: ChunkQueue,
        settings: RunSettings,
        clock: Clock | None = None,
        verifier: ScopeVerifier | None = None,
    ) -> None:
        self.verifier = verifier
        self.reader = reader
        self.writer = writer
        self.id_map = id_map
        self.run_state = run_state
        self.queue = queue
        self.settings = settings
        self.clock = clock or SystemClock()

    async def run(self, msg: ChunkMessage) -> ChunkResult:
        """Process ``msg``; never raises for expected outcomes (see ``Outcome``)."""
        run_id = msg.run_id
        status = await self.run_state.get_status(run_id)
        if status in FINAL_STATUSES or status is RunStatus.PAUSED:
            return ChunkResult(Outcome.DROPPED, reason=f"run is {status}")
        if status is RunStatus.QUEUED:
            await self.run_state.set_status(run_id, RunStatus.RUNNING)
        token = uuid.uuid4().hex
        now = self.clock.now()
        claim = await self.run_state.claim(
            run_id, msg.scope, msg.checkpoint, token, now + timedelta(seconds=self.settings.lease_s)
        )
        if claim.outcome is Claim.STALE:
            return await self._stale(msg, claim)
        if claim.outcome is Claim.BUSY:
            # redelivered while the first delivery still runs: look again after its lease
            until = claim.busy_until or now + timedelta(seconds=self.settings.lease_s)
            delay = max(1.0, (until - now).total_seconds() + 1.0)
            await self.queue.enqueue(msg, delay_s=delay)
            return ChunkResult(
                Outcome.DEFERRED, delay_s=delay, next_message=msg, reason="scope busy with another delivery"
            )
        try:
            if self.settings.mode == "rollback":
                counts, new = await self._rollback(msg)
                return await self._advance_to(msg, counts, new)
            if self.settings.mode == "verify":
                counts = await self._verify(msg)
                return await self._advance_to(msg, counts, None)
            if msg.phase is Phase.SWEEP:
                counts, _, next_cursor = await self._sweep(msg)
            elif retry_skips(self.settings, msg.scope, msg.phase):
                counts, next_cursor = Counter(), None  # nothing failed here: nothing to read
            else:
                counts, _, next_cursor = await self._page(msg)
        except _ChunkStop as stop:
            await self.run_state.release(run_id, msg.scope, token)
            return await self._stop(msg, stop)
        except BaseException:
            await self.run_state.release(run_id, msg.scope, token)
            raise
        return await self._advance(msg, counts, next_cursor)

    async def _rollback(self, msg: ChunkMessage) -> tuple[Counter[str], Checkpoint | None]:
        """One rollback chunk (``shared.engine.rollback``); rows flushed even on a stop."""
        chunk = RollbackChunk(settings=self.settings, writer=self.writer, id_map=self.id_map, clock=self.clock)
        try:
            counts, rows, new = await chunk.run(msg)
        except Exception as exc:  # sorted into chunk outcomes, after what was done is kept
            counts, rows = chunk.partial
            await self._flush(msg, counts, rows, {})
            stop = _ChunkStop.of(exc)
            stop.counts = counts
            raise stop from exc
        await self._flush(msg, counts, rows, {})
        return counts, new

    async def _verify(self, msg: ChunkMessage) -> Counter[str]:
        """A verify run: one chunk per scope compares both sides (``ScopeVerifier``); no
        writes. A verify needs a reader of the destination, which the worker supplies."""
        if self.verifier is None:
            raise _ChunkStop(fatal="this destination cannot be read back, so it cannot be verified")
        try:
            counts, rows = await self.verifier(msg.scope)
        except Exception as exc:  # sorted into chunk outcomes
            if isinstance(exc, NotFoundError | SkippableItemError | PermissionDeniedError):
                raise _ChunkStop(fail_scope=f"verify could not read the scope: {exc}") from exc
            raise _ChunkStop.of(exc) from exc
        await self._flush(msg, counts, rows, {})
        return counts

    # -- phases -------------------------------------------------------------------------

    async def _page(self, msg: ChunkMessage) -> tuple[Counter[str], list[ItemReport], str | None]:
        kind = msg.phase.kind
        assert kind is not None
        skip = self._child_skip(kind)
        try:
            if skip is not None:
                assert isinstance(self.reader, ChildSkipReader)
                page = await self.reader.read_changed(kind, msg.scope, msg.cursor, self.settings.page_size, skip)
            else:
                page = await self.reader.read(kind, msg.scope, msg.cursor, self.settings.page_size)
        except Exception as exc:  # sorted into chunk outcomes
            if isinstance(exc, AuthRequiredError):
                exc.extra.setdefault("side", "source")
            if isinstance(exc, NotFoundError | SkippableItemError | PermissionDeniedError):
                # a 4xx on a read will not get better by retrying: report and close the scope
                what = "source container gone" if msg.cursor is None else f"{kind} page failed"
                raise _ChunkStop(fail_scope=f"{what}: {exc}") from exc
            raise _ChunkStop.of(exc) from exc
        if page.next_cursor is not None and page.next_cursor == msg.cursor:
            raise _ChunkStop(fatal=f"{kind} pagination repeats cursor {msg.cursor!r}")
        ctx = ItemContext(
            settings=self.settings,
            scope=msg.scope,
            run_id=msg.run_id,
            reader=self.reader,
            writer=self.writer,
            id_map=self._ids(msg.scope),
            clock=self.clock,
        )
        processor = ItemProcessor(ctx)
        results = await processor.process_page(list(page.records))
        counts: Counter[str] = Counter()
        rows: list[ItemReport] = []
        stop: _ChunkStop | None = None
        for res in results:
            if isinstance(res, BaseException):
                candidate = _ChunkStop.of(res)
                stop = candidate if stop is None else stop.worse(candidate)
                continue
            _account(counts, rows, res)
        if page.deleted:
            await self._report_deleted(msg, kind, list(page.deleted), counts, rows)
        if skip is not None and page.unchanged_parents:
            self._keep_children(msg, kind, skip, page.unchanged_parents, counts, processor.seen)
        await self._flush(msg, counts, rows, processor.seen)
        if stop is None and processor.out_of_time:
            stop = _ChunkStop(defer=0.0)  # same page again at once; done items are skipped
        if stop is not None:
            stop.counts = counts
            raise stop
        listed = skip.to_record(page.listed_parents) if skip is not None else {}
        if listed:
            # every child of these parents is now processed: a later run may skip them while
            # their version holds (after the marks, so a crash in between lists them again)
            assert isinstance(self.id_map, IdMapChildren)
            await self.id_map.set_listed(self.settings.migration_id, kind, listed)
        return counts, rows, page.next_cursor

    def _child_skip(self, kind: Kind) -> ChildSkip | None:
        """The ``ListedParents`` of this page when the reader and the id map can skip the
        children of unchanged tasks: in runs that migrate (full, delta), not in a dry run (it
        records no "seen" marks), a retry (it reads failed items only) or a verify."""
        if kind not in CHILD_KINDS or self.settings.dry_run or self.settings.mode not in ("full", "delta"):
            return None
        if not isinstance(self.reader, ChildSkipReader) or not isinstance(self.id_map, IdMapChildren):
            return None
        return ChildSkip(self.id_map, self.id_map, migration_id=self.settings.migration_id, kind=kind)

    def _keep_children(
        self,
        msg: ChunkMessage,
        kind: Kind,
        skip: ChildSkip,
        parents: tuple[str, ...],
        counts: Counter[str],
        seen: dict[Kind, list[str]],
    ) -> None:
        """The children of tasks the reader skipped are still at the source: seen (the sweep
        keeps them) and counted unchanged once per run, as if they had been read."""
        try:
            kept = skip.kept_children(parents)
        except FatalRunError as exc:
            raise _ChunkStop(fatal=str(exc)) from exc
        marks = seen.setdefault(kind, [])
        for child in kept:
            if child.last_run_id != msg.run_id:
                counts[f"{kind}.{ItemStatus.UNCHANGED}"] += 1
                marks.append(child.source_id)

    async def _sweep(self, msg: ChunkMessage) -> tuple[Counter[str], list[ItemReport], None]:
        """Report items of this scope in the id map that the run no longer saw at the source."""
        counts: Counter[str] = Counter()
        rows: list[ItemReport] = []
        read_kinds = self.reader.capabilities.read_kinds
        gone: list[IdMapEntry] = []
        async for entry in self.id_map.list(self.settings.migration_id, scope=msg.scope):
            if entry.state is IdState.DONE and entry.kind in read_kinds and entry.last_run_id != msg.run_id:
                gone.append(entry)
        for entry in gone:
            self._deleted_row(entry.kind, unscoped(entry), entry.dest_id, msg, counts, rows)
            if not self.settings.dry_run:
                await self.id_map.put(
                    entry.model_copy(
                        update={
                            "state": IdState.DELETED_AT_SOURCE,
                            "last_run_id": msg.run_id,
                            "updated_at": self.clock.now(),
                        }
                    )
                )
        await self._flush(msg, counts, rows, {})
        return counts, rows, None

    async def _report_deleted(
        self, msg: ChunkMessage, kind: Kind, source_ids: list[str], counts: Counter[str], rows: list[ItemReport]
    ) -> None:
        ids = self._ids(msg.scope)
        found = await ids.get_many(self.settings.migration_id, kind, source_ids)
        for sid, entry in found.items():
            if entry.state is not IdState.DONE:
                continue
            self._deleted_row(kind, sid, entry.dest_id, msg, counts, rows)
            if not self.settings.dry_run:
                await ids.put(
                    entry.model_copy(
                        update={
                            "state": IdState.DELETED_AT_SOURCE,
                            "last_run_id": msg.run_id,
                            "updated_at": self.clock.now(),
                        }
                    )
                )

    @staticmethod
    def _deleted_row(
        kind: Kind, sid: str, dest_id: str | None, msg: ChunkMessage, counts: Counter[str], rows: list[ItemReport]
    ) -> None:
        counts[f"{kind}.{ItemStatus.DELETED_AT_SOURCE}"] += 1
        rows.append(
            ItemReport(
                kind=kind,
                source_id=sid,
                scope=msg.scope,
                dest_id=dest_id,
                status=ItemStatus.DELETED_AT_SOURCE,
                reason="deleted at the source; kept at the destination",
            )
        )

    # -- bookkeeping --------------------------------------------------------------------

    def _ids(self, scope: str) -> IdMap:
        """The id map as ``scope``'s chunks see it (labels per scope where the destination
        keeps labels per project: ``shared.engine.scoped_ids``)."""
        if self.writer.capabilities.labels_per_project:
            return ScopedIdMap(self.id_map, scope)
        return self.id_map

    async def _flush(
        self, msg: ChunkMessage, counts: Counter[str], rows: list[ItemReport], seen: dict[Kind, list[str]]
    ) -> None:
        for kind, ids in seen.items():
            if ids and not self.settings.dry_run:
                await self._ids(msg.scope).mark_seen(self.settings.migration_id, kind, ids, msg.run_id)
        if counts:
            await self.run_state.add_counts(msg.run_id, dict(counts))
        if rows:
            await self.run_state.add_items(msg.run_id, rows)

    async def _advance(self, msg: ChunkMessage, counts: Counter[str], next_cursor: str | None) -> ChunkResult:
        new = next_checkpoint(msg.checkpoint, next_cursor, self.reader, self.writer, self.settings, msg.scope)
        return await self._advance_to(msg, counts, new)

    async def _advance_to(self, msg: ChunkMessage, counts: Counter[str], new: Checkpoint | None) -> ChunkResult:
        moved = await self.run_state.advance(msg.run_id, msg.scope, msg.checkpoint, new)
        if not moved:  # another delivery of this chunk got there first
            return ChunkResult(Outcome.DROPPED, counts, reason="checkpoint already advanced")
        if new is not None:
            return await self._hand_off(msg, new, counts)
        return await self._finish(msg, counts)

    async def _hand_off(self, msg: ChunkMessage, new: Checkpoint, counts: Counter[str]) -> ChunkResult:
        # The checkpoint moved before the next message is sent; if this delivery dies (or the
        # send fails) in between, its redelivery is STALE with `resume` and sends it then.
        nxt = message_for(msg, new)
        await self.queue.enqueue(nxt)
        await self.run_state.handed_off(msg.run_id, msg.scope, new)
        return ChunkResult(Outcome.NEXT, counts, next_message=nxt)

    async def _stale(self, msg: ChunkMessage, claim: ClaimResult) -> ChunkResult:
        """A message whose checkpoint moved on: usually a duplicate, dropped. But if this very
        message moved it and its delivery died before the hand-off, finish the hand-off."""
        if claim.resume is not None:
            result = await self._hand_off(msg, claim.resume, Counter())
            return replace(result, reason="resumed a hand-off lost by an earlier delivery")
        if claim.closed_by_it:
            return await self._finish(msg, Counter())
        return ChunkResult(Outcome.DROPPED, reason="stale or duplicate chunk")

    async def _finish(self, msg: ChunkMessage, counts: Counter[str]) -> ChunkResult:
        """The scope closed: the last scope to close sets the run's final status (the store's
        conditional status change makes that happen once, even when two get here)."""
        if await self.run_state.open_scopes(msg.run_id) > 0:
            return ChunkResult(Outcome.SCOPE_DONE, counts)
        if not self.settings.dry_run and self.settings.mode in REPAIRED_MODES:
            repair = await repair_report(
                self.id_map, self.run_state, migration_id=self.settings.migration_id, run_id=msg.run_id
            )
            if repair.rows_added or repair.counters_changed:
                log.warning(
                    "run %s: %d report rows rebuilt from the id map, %d counters recounted",
                    msg.run_id,
                    len(repair.rows_added),
                    len(repair.counters_changed),
                )
        totals = await self.run_state.get_counts(msg.run_id)
        if self.settings.mode == "verify":  # skipped items are reported losses, not defects
            partial = any(v for k, v in totals.items() if k.rpartition(".")[2] in VERIFY_DEFECTS or k == "scope.failed")
        else:
            partial = any(v for k, v in totals.items() if k.endswith((".failed", ".skipped", "scope.failed")))
        final = RunStatus.PARTIALLY_SUCCEEDED if partial and not self.settings.dry_run else RunStatus.SUCCEEDED
        await self.run_state.set_status(msg.run_id, final)
        return ChunkResult(Outcome.RUN_DONE, counts, reason=str(final))

    async def _stop(self, msg: ChunkMessage, stop: _ChunkStop) -> ChunkResult:
        counts = stop.counts
        if stop.auth:
            await self.run_state.set_status(msg.run_id, RunStatus.PAUSED, f"reconnect: {stop.auth}")
            return ChunkResult(Outcome.PAUSED, counts, reason=f"reconnect: {stop.auth}")
        if stop.fatal:
            await self.run_state.set_status(msg.run_id, RunStatus.FAILED, stop.fatal)
            return ChunkResult(Outcome.FAILED, counts, reason=stop.fatal)
        if stop.fail_scope:
            await self.run_state.add_counts(msg.run_id, {"scope.failed": 1})
            await self.run_state.add_items(
                msg.run_id,
                [
                    ItemReport(
                        kind=msg.phase.kind or Kind.PROJECT,
                        source_id=msg.scope,
                        scope=msg.scope,
                        status=ItemStatus.FAILED,
                        reason=stop.fail_scope,
                    )
                ],
            )
            moved = await self.run_state.advance(msg.run_id, msg.scope, msg.checkpoint, None)
            if moved and await self.run_state.open_scopes(msg.run_id) == 0:
                await self.run_state.set_status(msg.run_id, RunStatus.PARTIALLY_SUCCEEDED)
            return ChunkResult(Outcome.SCOPE_DONE, counts, reason=stop.fail_scope)
        if stop.defer is not None:
            nxt = msg
            delay = stop.defer
        else:  # transient beyond the pacer's retries
            attempt = msg.attempt + 1
            if attempt > self.settings.max_chunk_attempts:
                reason = f"remote service unavailable after {msg.attempt} attempts: {stop.transient}"
                await self.run_state.set_status(msg.run_id, RunStatus.FAILED, reason)
                return ChunkResult(Outcome.FAILED, counts, reason=reason)
            nxt = msg.model_copy(update={"attempt": attempt})
            delay = min(self.settings.chunk_backoff_cap_s, self.settings.chunk_backoff_s * 2 ** (attempt - 1))
        await self.queue.enqueue(nxt, delay_s=delay)
        return ChunkResult(
            Outcome.DEFERRED, counts, delay_s=delay, next_message=nxt, reason=stop.transient or "deferred"
        )


class _ChunkStop(Exception):
    """Internal: why a chunk stops early (exactly one field set)."""

    def __init__(
        self,
        *,
        defer: float | None = None,
        auth: str | None = None,
        fatal: str | None = None,
        transient: str | None = None,
        fail_scope: str | None = None,
    ) -> None:
        super().__init__(auth or fatal or transient or fail_scope or f"defer {defer}")
        self.defer = defer
        self.auth = auth
        self.fatal = fatal
        self.transient = transient
        self.fail_scope = fail_scope
        self.counts: Counter[str] = Counter()

    @classmethod
    def of(cls, exc: BaseException) -> _ChunkStop:
        if isinstance(exc, _ChunkStop):
            return exc
        if isinstance(exc, DeferChunk):
            return cls(defer=exc.delay_s)
        if isinstance(exc, AuthRequiredError):
            side = exc.extra.get("side", "destination")
            return cls(auth=f"{side} connection: {exc}")
        if isinstance(exc, TransientError | asyncio.TimeoutError | ConnectionError):
            return cls(transient=str(exc) or type(exc).__name__)
        if isinstance(exc, FatalRunError):
            return cls(fatal=str(exc))
        log.exception("unexpected chunk error", exc_info=exc)
        return cls(transient=f"{type(exc).__name__}: {exc}")

    def _rank(self) -> int:
        return 4 if self.auth else 3 if self.fatal else 2 if self.transient else 1

    def worse(self, other: _ChunkStop) -> _ChunkStop:
        if other._rank() != self._rank():
            return other if other._rank() > self._rank() else self
        if self.defer is not None and other.defer is not None:
            return self if self.defer >= other.defer else other
        return self


def _account(counts: Counter[str], rows: list[ItemReport], res: ItemResult) -> None:
    if res.counted:
        counts[f"{res.kind}.{res.status}"] += 1
    for code in res.adaptations:
        counts[f"adapt.{code}"] += 1
    if res.skip_code:
        counts[f"skip.{res.skip_code}"] += 1
    if res.report:
        rows.append(
            ItemReport(
                kind=res.kind,
                source_id=res.source_id,
                scope=res.scope,
                status=res.status,
                dest_id=res.dest_id,
                reason=res.reason,
                adaptations=tuple(res.adaptations),
            )
        )
