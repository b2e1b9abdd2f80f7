"""Run logs against Azurite: typed lines, roll-over before Azure's limits, cursor paging."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from shared.errors import SkippableItemError, ThrottledError, ValidationFailed
from shared.logs.model import LogEvent, LogLevel
from shared.logs.reader import Cursor, RunLogReader
from shared.logs.segments import SegmentLimits, list_segments, logs_container
from shared.logs.writer import RunLogWriter
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id

CANARY = "CANARY-7f3e-Quarterly-Salaries"


def ctx_for(stores: Any, region: str = "eu") -> TenantContext:
    return TenantContext.for_org(stores, new_org_id(region))


def run_id() -> str:
    return f"run_{uuid.uuid4().hex[:12]}"


async def read_all(reader: RunLogReader, *, limit: int = 7, level: LogLevel | None = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = Cursor(0, 0)
    for _ in range(10_000):
        page = await reader.page(cursor, limit=limit, min_level=level)
        seen += page.items
        if not page.items and not page.more:
            return seen
        cursor = page.cursor
    raise AssertionError("paging did not end")


async def test_lines_round_trip_with_typed_fields(stores: Any) -> None:
    ctx, run = ctx_for(stores), run_id()
    async with RunLogWriter(ctx, run) as log:
        log.event(LogEvent.RUN_STARTED, counts={"scopes": 2})
        log.item(LogEvent.ITEM_CREATED, kind="task", source_id="t-1", dest_id="d-1", scope="board-9")
        log.failure(
            kind="task", source_id="t-2", error=ThrottledError("429 on card 'x'", retry_after=3), scope="board-9"
        )
    lines = await read_all(RunLogReader(ctx, run))
    assert [line["event"] for line in lines] == ["run.started", "item.created", "item.failed"]
    assert lines[1]["sourceId"] == "t-1" and lines[1]["destId"] == "d-1" and lines[1]["kind"] == "task"
    assert lines[2]["level"] == "error"
    assert lines[2]["error"] == {"type": "ThrottledError", "slug": "remote-throttled", "status": 503, "retryAfter": 3.0}
    assert all(line["time"] and line["id"] for line in lines)


async def test_item_content_never_reaches_the_log(stores: Any) -> None:
    """Canary content given in every way the engine could be tempted to pass it."""
    ctx, run = ctx_for(stores), run_id()
    log = RunLogWriter(ctx, run)
    with pytest.raises(ValidationError):
        log.item(LogEvent.ITEM_CREATED, kind="task", source_id=f"{CANARY} Q3 plan.xlsx")  # a title is not an id
    with pytest.raises(ValidationError):
        log.event(f"Created {CANARY}")  # an event is not a sentence
    with pytest.raises(ValidationError):
        log.item(LogEvent.ITEM_CREATED, kind="Task: " + CANARY, source_id="t-1")
    # Vendors put titles and file names into error texts: only the error's shape is logged.
    log.failure(kind="attachment", source_id="a-1", error=SkippableItemError(f"file '{CANARY}.pdf' too large"))
    log.failure(kind="task", source_id="t-1", error=ValueError(f"bad title {CANARY}"))
    await log.flush()
    blobs = logs_container(ctx.storage)
    raw = b""
    for seg in await list_segments(blobs, ctx.tenant_id, run):
        raw += await (await blobs.get_blob_client(seg.name).download_blob()).readall()
    assert raw.count(b"\n") == 2
    assert CANARY.encode() not in raw and b"Q3" not in raw and b".pdf" not in raw


async def test_secrets_are_redacted_in_messages(stores: Any) -> None:
    ctx, run = ctx_for(stores), run_id()
    async with RunLogWriter(ctx, run) as log:
        log.event(
            LogEvent.REMOTE_RETRY,
            level=LogLevel.WARNING,
            message="retrying GET https://api.trello.com/1/boards?key=abc123&token=deadbeefcafe0042",
        )
        log.event(LogEvent.REMOTE_AUTH_REQUIRED, message="Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig")
    lines = await read_all(RunLogReader(ctx, run))
    text = str(lines)
    assert "deadbeefcafe0042" not in text and "abc123" not in text and "eyJzdWIi" not in text
    assert "***" in lines[0]["message"]


async def test_roll_over_before_block_and_append_limits(stores: Any) -> None:
    """Azurite enforces neither 50,000 blocks nor 4 MiB per append: the writer does."""
    ctx, run = ctx_for(stores), run_id()
    limits = SegmentLimits(max_blocks=3, max_append_bytes=1024, max_segment_bytes=64 * 1024)
    log = RunLogWriter(ctx, run, limits=limits)
    for i in range(60):
        log.item(LogEvent.ITEM_UPDATED, kind="task", source_id=f"task-{i:04d}", dest_id="x" * 120)
        if i % 20 == 19:
            await log.flush()  # a chunk boundary
    assert log.pending == 0
    blobs = logs_container(ctx.storage)
    segments = await list_segments(blobs, ctx.tenant_id, run)
    assert len(segments) >= 4
    for seg in segments:
        props = await blobs.get_blob_client(seg.name).get_blob_properties()
        assert props.append_blob_committed_block_count <= limits.max_blocks
        assert props.size <= limits.max_blocks * limits.max_append_bytes
    assert all(s.sealed for s in segments[:-1]) and not segments[-1].sealed
    ids = [line["sourceId"] for line in await read_all(RunLogReader(ctx, run))]
    assert ids == [f"task-{i:04d}" for i in range(60)]


async def test_a_new_writer_continues_the_newest_segment(stores: Any) -> None:
    ctx, run = ctx_for(stores), run_id()
    limits = SegmentLimits(max_blocks=2, max_append_bytes=1024)
    for chunk in range(5):  # one writer per chunk, as queue messages come
        async with RunLogWriter(ctx, run, limits=limits) as log:
            log.event(LogEvent.CHUNK_FINISHED, counts={"chunk": chunk})
    segments = await list_segments(logs_container(ctx.storage), ctx.tenant_id, run)
    assert len(segments) == 3
    assert [line["counts"]["chunk"] for line in await read_all(RunLogReader(ctx, run))] == list(range(5))


async def test_concurrent_writers_lose_and_repeat_nothing(stores: Any) -> None:
    ctx, run = ctx_for(stores), run_id()
    limits = SegmentLimits(max_blocks=4, max_append_bytes=1024)

    async def scope(name: str) -> None:
        for batch in range(6):
            async with RunLogWriter(ctx, run, limits=limits) as log:
                for i in range(5):
                    log.item(LogEvent.ITEM_CREATED, kind="task", source_id=f"{name}-{batch}-{i}", scope=name)

    await asyncio.gather(*(scope(f"s{n}") for n in range(4)))
    ids = [line["sourceId"] for line in await read_all(RunLogReader(ctx, run), limit=13)]
    assert len(ids) == 4 * 6 * 5 and len(set(ids)) == len(ids)
    for n in range(4):  # each scope's own order is kept
        own = [i for i in ids if i.startswith(f"s{n}-")]
        assert own == [f"s{n}-{b}-{i}" for b in range(6) for i in range(5)]


async def test_cursor_resumes_without_gap_or_repeat_and_filters_levels(stores: Any) -> None:
    ctx, run = ctx_for(stores), run_id()
    async with RunLogWriter(ctx, run, limits=SegmentLimits(max_blocks=2, max_append_bytes=1024)) as log:
        for i in range(30):
            if i % 10 == 3:
                log.failure(kind="task", source_id=f"t{i}", error=SkippableItemError("x"))
            else:
                log.item(LogEvent.ITEM_CREATED, kind="task", source_id=f"t{i}")
            if i % 4 == 0:
                await log.flush()
    reader = RunLogReader(ctx, run)
    everything = await read_all(reader, limit=4)
    assert [line["sourceId"] for line in everything] == [f"t{i}" for i in range(30)]
    middle = everything[11]["id"]
    rest = await reader.page(Cursor.parse(middle), limit=100)
    assert [line["sourceId"] for line in rest.items] == [f"t{i}" for i in range(12, 30)]
    errors = await read_all(reader, limit=1, level=LogLevel.ERROR)
    assert [line["sourceId"] for line in errors] == ["t3", "t13", "t23"]
    with pytest.raises(ValidationFailed):
        Cursor.parse("12;drop")


async def test_long_poll_returns_as_soon_as_a_line_arrives(stores: Any) -> None:
    ctx, run = ctx_for(stores), run_id()
    reader = RunLogReader(ctx, run)
    empty = await reader.wait_page(Cursor(0, 0), wait_s=0.2, poll_s=0.05)
    assert empty.items == []

    async def later() -> None:
        await asyncio.sleep(0.3)
        async with RunLogWriter(ctx, run) as log:
            log.event(LogEvent.RUN_STARTED)

    writer = asyncio.create_task(later())
    page = await reader.wait_page(empty.cursor, wait_s=20, poll_s=0.05)
    await writer
    assert [line["event"] for line in page.items] == ["run.started"]


async def test_report_rows_map_status_and_keep_reason_codes(stores: Any) -> None:
    from shared.contract.model import Kind
    from shared.engine.ports import ItemReport, ItemStatus

    ctx, run = ctx_for(stores), run_id()
    async with RunLogWriter(ctx, run) as log:
        log.report(
            ItemReport(
                kind=Kind.ATTACHMENT,
                source_id="a1",
                scope="p1",
                status=ItemStatus.SKIPPED,
                reason="over_size_limit",
                adaptations=("comment_author_prepended",),
            )
        )
        log.report(ItemReport(kind=Kind.TASK, source_id="t1", scope="p1", status=ItemStatus.CREATED, dest_id="d1"))
    lines = await read_all(RunLogReader(ctx, run))
    assert [(line["event"], line["level"], line.get("code")) for line in lines] == [
        ("item.skipped", "warning", "over_size_limit"),
        ("item.adapted", "info", "comment_author_prepended"),
        ("item.created", "info", None),
    ]


async def test_a_run_counts_as_finished_for_its_log_once_its_last_lines_are_stored(stores: Any) -> None:
    """A follower (the SSE stream, the console's tail) stops at `run_finished`: not at the
    final status alone, which the worker writes before the run's end event."""
    from datetime import UTC, datetime, timedelta

    from shared.logs.runs import LOG_COMPLETE_GRACE, mark_log_complete, run_finished

    ctx = ctx_for(stores)
    rid = run_id()
    ended = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    runs = stores.cosmos("eu").container("runs")
    doc = {"id": rid, "tenantId": ctx.tenant_id, "pk": ctx.tenant_id, "status": "running"}
    await runs.upsert_item(doc)
    assert not await run_finished(ctx, rid, now=ended)
    await runs.upsert_item({**doc, "status": "succeeded", "finishedAt": ended.isoformat()})
    assert not await run_finished(ctx, rid, now=ended + timedelta(seconds=1))  # end event not stored yet
    assert await run_finished(ctx, rid, now=ended + LOG_COMPLETE_GRACE)  # its worker died: stop anyway
    await mark_log_complete(ctx, rid)
    assert await run_finished(ctx, rid, now=ended + timedelta(seconds=1))
    assert await run_finished(ctx, "run_missing", now=ended)


async def test_writers_of_one_process_continue_where_the_last_appended(
    stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer per chunk does not list the run's segments again (issue 19 item 4); a position
    another process moved on (here: segments sealed behind this process's back) costs a
    roll-over, never a line."""
    import shared.logs.writer as writer_module

    ctx, run = ctx_for(stores), run_id()
    limits = SegmentLimits(max_blocks=2, max_append_bytes=1024)
    listed: list[str] = []
    real_list = writer_module.list_segments

    async def counting_list(*args: Any) -> Any:
        listed.append(run)
        return await real_list(*args)

    monkeypatch.setattr(writer_module, "list_segments", counting_list)
    for chunk in range(3):
        async with RunLogWriter(ctx, run, limits=limits) as log:
            log.event(LogEvent.CHUNK_FINISHED, counts={"chunk": chunk})
    assert len(listed) == 1  # the first writer of the run in this process only
    stale = writer_module._POSITIONS[(ctx.tenant_id, run)]
    async with RunLogWriter(ctx, run, limits=SegmentLimits(max_blocks=1, max_append_bytes=1024)) as other:
        other.event(LogEvent.CHUNK_FINISHED, counts={"chunk": 3})  # fills and seals its segment
    writer_module._POSITIONS[(ctx.tenant_id, run)] = stale  # as if that writer ran elsewhere
    async with RunLogWriter(ctx, run, limits=limits) as log:
        log.event(LogEvent.CHUNK_FINISHED, counts={"chunk": 4})
    chunks = [line["counts"]["chunk"] for line in await read_all(RunLogReader(ctx, run))]
    assert chunks == [0, 1, 2, 3, 4]
    segments = await list_segments(logs_container(ctx.storage), ctx.tenant_id, run)
    assert all(s.sealed for s in segments[:-1]) and not segments[-1].sealed
