"""Append a run's structured log lines to append blobs in the org's region.

The engine builds one writer per chunk (or reuses one per run in a worker), records lines
with typed calls, and flushes once at the end of the chunk:

    log = RunLogWriter(ctx, run_id)
    log.item(LogEvent.ITEM_CREATED, kind="task", source_id=src, dest_id=dst, scope=scope)
    log.report(item_report)                      # an engine ItemReport row
    log.failure(kind="task", source_id=src, error=exc, scope=scope)
    log.event(LogEvent.CHUNK_FINISHED, scope=scope, phase="task", counts={"created": 12})
    await log.flush()

Lines are buffered in memory and appended in batches of at most 4 MiB (one Append Block per
batch); a segment rolls over before 50,000 blocks or its size cap (see segments.py).
Several writers of one run (independent scopes in parallel) may append concurrently: an
Append Block is atomic and every batch holds whole lines.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Self

from shared.logs.listeners import flush_listeners
from shared.logs.model import (
    ITEM_STATUS_EVENTS,
    ErrorInfo,
    LogEvent,
    LogLevel,
    LogLine,
    is_code,
)
from shared.logs.segments import Segment, SegmentLimits, list_segments, logs_container, segment_name

log = logging.getLogger("ferry.logs")
Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _status_code(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def _error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "") or "")


#: Where each run's log was last appended in this process: (tenant, run) → (segment, committed
#: blocks, bytes). A worker builds a writer per chunk; without this every chunk listed the run's
#: segments and read the newest one's properties before its one append (2 of its 3 storage
#: calls, issue 19 item 4). A position another process moved on is corrected by the append
#: itself: its answer carries the committed block count and offset, and a segment another
#: writer sealed or filled answers an error that rolls over, as for a fresh writer.
_POSITIONS: OrderedDict[tuple[str, str], tuple[int, int, int]] = OrderedDict()
_POSITIONS_MAX = 4096


def _remember(key: tuple[str, str], position: tuple[int, int, int]) -> None:
    _POSITIONS[key] = position
    _POSITIONS.move_to_end(key)
    while len(_POSITIONS) > _POSITIONS_MAX:
        _POSITIONS.popitem(last=False)


class RunLogWriter:
    """Buffered, typed writer of one run's log (bound to the run's tenant and region)."""

    def __init__(
        self,
        ctx: Any,
        run_id: str,
        *,
        limits: SegmentLimits | None = None,
        now: Now | None = None,
        min_level: LogLevel = LogLevel.DEBUG,
    ) -> None:
        """`ctx` is the run's `TenantContext` (its storage is the org's region)."""
        self._ctx = ctx
        self.tenant_id: str = ctx.tenant_id
        self.run_id = run_id
        self.limits = limits or SegmentLimits()
        self._container = logs_container(ctx.storage)
        self._now = now or _utcnow
        self._min_level = min_level
        self._buffer: list[bytes] = []
        self._buffered_bytes = 0
        self._segment: int | None = None
        self._segment_blocks = 0
        self._segment_bytes = 0
        self._key = (self.tenant_id, run_id)
        self.lines_written = 0

    # --- recording (no I/O) ----------------------------------------------------------

    def event(
        self,
        event: LogEvent | str,
        *,
        level: LogLevel = LogLevel.INFO,
        scope: str | None = None,
        phase: str | None = None,
        code: str | None = None,
        counts: Mapping[str, int] | None = None,
        message: str | None = None,
    ) -> None:
        """A run- or chunk-level event (no item)."""
        self._add(
            LogLine(
                time=self._now(),
                level=level,
                event=str(event),
                scope=scope,
                phase=phase,
                code=code,
                counts=dict(counts) if counts else None,
                message=message,
            )
        )

    def item(
        self,
        event: LogEvent | str,
        *,
        kind: str,
        source_id: str,
        dest_id: str | None = None,
        scope: str | None = None,
        level: LogLevel = LogLevel.INFO,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """An item-level event: ids only (a title does not fit an id: no whitespace)."""
        self._add(
            LogLine(
                time=self._now(),
                level=level,
                event=str(event),
                kind=str(kind),
                sourceId=source_id,
                destId=dest_id,
                scope=scope,
                code=code,
                message=message,
            )
        )

    def failure(
        self,
        *,
        kind: str | None,
        source_id: str | None,
        error: BaseException | None = None,
        scope: str | None = None,
        code: str | None = None,
        event: LogEvent | str = LogEvent.ITEM_FAILED,
        level: LogLevel = LogLevel.ERROR,
    ) -> None:
        """A failed item (or chunk when ids are None). The exception's text is never
        written: only its type, problem slug, HTTP status and Retry-After."""
        self._add(
            LogLine(
                time=self._now(),
                level=level,
                event=str(event),
                kind=str(kind) if kind else None,
                sourceId=source_id,
                scope=scope,
                code=code,
                error=ErrorInfo.of(error) if error is not None else None,
            )
        )

    def report(self, row: Any) -> None:
        """One engine `ItemReport` row (kind, source_id, scope, status, dest_id, reason,
        adaptations). A code-like reason becomes `code`; other reasons are Ferry-authored
        text and go to `message` (redacted and truncated)."""
        status = str(getattr(row.status, "value", row.status))
        event, level = ITEM_STATUS_EVENTS.get(status, (LogEvent.ITEM_UPDATED, LogLevel.INFO))
        reason = getattr(row, "reason", None)
        code, message = (reason, None) if is_code(reason) else (None, reason)
        self.item(
            event,
            kind=str(getattr(row.kind, "value", row.kind)),
            source_id=row.source_id,
            dest_id=getattr(row, "dest_id", None),
            scope=getattr(row, "scope", None),
            level=level,
            code=code,
            message=message,
        )
        for adaptation in getattr(row, "adaptations", ()) or ():
            self.item(
                LogEvent.ITEM_ADAPTED,
                kind=str(getattr(row.kind, "value", row.kind)),
                source_id=row.source_id,
                scope=getattr(row, "scope", None),
                level=LogLevel.INFO,
                code=adaptation if is_code(adaptation) else None,
                message=None if is_code(adaptation) else adaptation,
            )

    def _add(self, line: LogLine) -> None:
        if line.level.rank < self._min_level.rank:
            return
        data = (line.to_json() + "\n").encode("utf-8")
        self._buffer.append(data)
        self._buffered_bytes += len(data)

    @property
    def pending(self) -> int:
        """Lines recorded and not yet flushed."""
        return len(self._buffer)

    # --- writing ---------------------------------------------------------------------

    async def flush(self) -> int:
        """Append every buffered line (batches of at most 4 MiB); returns lines written.
        On failure the unwritten lines stay buffered, so a retry does not lose them."""
        written = 0
        while self._buffer:
            batch: list[bytes] = []
            size = 0
            for data in self._buffer:
                if batch and size + len(data) > self.limits.max_append_bytes:
                    break
                if len(data) > self.limits.max_append_bytes:
                    raise ValueError("a single log line exceeds the append limit")
                batch.append(data)
                size += len(data)
            await self._append(b"".join(batch))
            del self._buffer[: len(batch)]
            self._buffered_bytes -= size
            written += len(batch)
            await self._tell_listeners(batch)
        self.lines_written += written
        return written

    async def _tell_listeners(self, lines: list[bytes]) -> None:
        # e.g. the assistant's index feed; a failing listener never fails the log write
        for listener in flush_listeners():
            try:
                await listener(self._ctx, self.run_id, lines)
            except Exception as exc:
                log.warning(
                    "log flush listener %s failed for run %s: %s",
                    getattr(listener, "__name__", listener),
                    self.run_id,
                    type(exc).__name__,
                )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.flush()

    async def _append(self, payload: bytes) -> None:
        from azure.core.exceptions import HttpResponseError

        if self._segment is None:
            await self._open_latest()
        for _attempt in range(20):
            assert self._segment is not None
            if (
                self._segment_blocks >= self.limits.max_blocks
                or self._segment_bytes + len(payload) > self.limits.max_segment_bytes
            ):
                await self._roll_over()
                continue
            blob = self._container.get_blob_client(segment_name(self.tenant_id, self.run_id, self._segment))
            try:
                result = await blob.append_block(payload, maxsize_condition=self.limits.max_segment_bytes)
            except HttpResponseError as exc:
                status, code = _status_code(exc), _error_code(exc)
                if status == 404:
                    await self._create(self._segment)
                    continue
                if code in ("BlobIsSealed", "BlockCountExceedsLimit", "MaxBlobSizeConditionNotMet") or status == 412:
                    await self._roll_over()
                    continue
                raise
            self._segment_blocks = int(result.get("blob_committed_block_count") or self._segment_blocks + 1)
            self._segment_bytes = int(result.get("blob_append_offset") or 0) + len(payload)
            if self._segment_blocks >= self.limits.max_blocks:
                await self._roll_over()
            _remember(self._key, (self._segment, self._segment_blocks, self._segment_bytes))
            return
        raise RuntimeError("could not append to the run log after 20 roll-overs")

    async def _open_latest(self) -> None:
        known = _POSITIONS.get(self._key)
        if known is not None:
            self._segment, self._segment_blocks, self._segment_bytes = known
            return
        segments = await list_segments(self._container, self.tenant_id, self.run_id)
        if not segments:
            self._segment = 1
            await self._create(1)
            self._segment_blocks = self._segment_bytes = 0
            return
        last: Segment = segments[-1]
        self._segment = last.number
        self._segment_bytes = last.size
        props = await self._container.get_blob_client(last.name).get_blob_properties()
        self._segment_blocks = int(props.append_blob_committed_block_count or 0)
        if props.is_append_blob_sealed:
            await self._roll_over()

    async def _create(self, number: int) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        blob = self._container.get_blob_client(segment_name(self.tenant_id, self.run_id, number))
        try:
            # IfMissing: a concurrent writer may have created it first; never truncate it.
            await blob.create_append_blob(match_condition=MatchConditions.IfMissing)
        except (ResourceExistsError, ResourceModifiedError):
            pass

    async def _roll_over(self) -> None:
        """Seal the current segment, then move to (and create) the next one."""
        from azure.core.exceptions import HttpResponseError

        assert self._segment is not None
        current = self._container.get_blob_client(segment_name(self.tenant_id, self.run_id, self._segment))
        try:
            await current.seal_append_blob()
        except HttpResponseError as exc:
            if _status_code(exc) not in (404, 409):
                raise
        self._segment += 1
        await self._create(self._segment)
        props = await self._container.get_blob_client(
            segment_name(self.tenant_id, self.run_id, self._segment)
        ).get_blob_properties()
        self._segment_blocks = int(props.append_blob_committed_block_count or 0)
        self._segment_bytes = int(props.size or 0)
        if props.is_append_blob_sealed:  # someone else already filled it: keep going
            await self._roll_over()
