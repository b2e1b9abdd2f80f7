"""Adaptations to capabilities, and the dry run's counts and sentences (no writes)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.connectors.memory import SyntheticBlob, memory_capabilities
from shared.contract.connector import ChecklistSupport, DestRefs
from shared.contract.model import (
    Attachment,
    Checklist,
    ChecklistItem,
    Comment,
    CustomFieldValue,
    Kind,
    LabelRef,
    Task,
    UserRef,
)
from shared.engine.adapt import adapt, skip_reason, summarize
from shared.engine.ports import ChunkMessage, ItemStatus, Phase
from shared.engine.streams import bounded
from tests.unit.engine.harness import Harness

ADA = UserRef(email="ada@example.com", display_name="Ada")
BOB = UserRef(email="bob@example.com", display_name="Bob")


def _task(**kw: object) -> Task:
    return Task(source_id="t", version="1", project_id="p", name="Task", **kw)


def test_single_assignee_keeps_first_and_moves_others() -> None:
    caps = memory_capabilities(max_assignees=1)
    out, notes = adapt(_task(assignees=(ADA, BOB)), caps)
    assert out.assignees == (ADA,)
    assert "Also assigned: Bob <bob@example.com>" in out.description
    assert [n.code for n in notes] == ["task.assignees_truncated"]


def test_checklists_into_description_or_truncated() -> None:
    cl = Checklist(
        name="Steps", items=tuple(ChecklistItem(source_id=str(i), name=f"s{i}", checked=i == 0) for i in range(4))
    )
    out, notes = adapt(_task(checklists=(cl,)), memory_capabilities(checklists=ChecklistSupport.NONE))
    assert out.checklists == () and "[x] s0" in out.description and "[ ] s3" in out.description
    out, notes = adapt(_task(checklists=(cl,)), memory_capabilities(max_checklist_items=3))
    assert sum(len(c.items) for c in out.checklists) == 3
    assert "Steps: [ ] s3" in out.description
    assert notes[0].code == "task.checklist_items_truncated"


def test_everything_unsupported_goes_to_description() -> None:
    caps = memory_capabilities(
        start_dates=False,
        due_times=False,
        custom_fields=False,
        write_kinds=frozenset(Kind) - {Kind.LABEL},
        subtasks=False,
    )
    t = _task(
        start_on=datetime(2025, 1, 2).date(),
        due_at=datetime(2025, 1, 5, 14, tzinfo=UTC),
        custom_fields=(CustomFieldValue(name="Points", value=3.0),),
        labels=(LabelRef(source_id="l", name="urgent"),),
        parent_id="parent",
    )
    out, notes = adapt(t, caps)
    assert out.start_on is None and out.due_at is None and str(out.due_on) == "2025-01-05"
    assert out.parent_id is None and out.labels == () and out.custom_fields == ()
    for text in (
        "Start date: 2025-01-02",
        "Due time: 2025-01-05 14:00 UTC",
        "Points: 3.0",
        "Labels: urgent",
        "Originally a subtask.",
    ):
        assert text in out.description
    assert "task.due_time_in_description" in {n.code for n in notes}
    assert not [n.code for n in notes if n.loss]  # everything moved, nothing dropped


def test_a_due_time_keeps_its_day_in_utc() -> None:
    """The day kept is the source's date when it gives one, else the day in UTC; the line
    names the time in UTC."""
    caps = memory_capabilities(due_times=False)
    late = datetime(2025, 1, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    out, _ = adapt(_task(due_at=late), caps)
    assert str(out.due_on) == "2025-01-06" and "Due time: 2025-01-06 04:30 UTC" in out.description
    out, _ = adapt(_task(due_at=late, due_on=late.date()), caps)
    assert str(out.due_on) == "2025-01-05" and "Due time: 2025-01-06 04:30 UTC" in out.description


def test_comment_author_prepended_when_not_kept() -> None:
    c = Comment(
        source_id="c",
        version="1",
        project_id="p",
        task_id="t",
        text="Hi",
        author=ADA,
        created_at=datetime(2025, 5, 1, 9, 30, tzinfo=UTC),
    )
    out, notes = adapt(c, memory_capabilities(comment_author_kept=False))
    assert [n.code for n in notes] == ["comment.author_prepended"]
    assert out.text.startswith("Ada <ada@example.com> wrote on 2025-05-01 09:30 UTC:")
    out, _ = adapt(c, memory_capabilities())
    assert out.text == "Hi"


def test_long_description_cut_with_room_for_marker() -> None:
    caps = memory_capabilities(max_description_chars=100, marker_location="description_footer")
    out, notes = adapt(_task(description="x" * 500), caps)
    assert len(out.description) < 100 and notes[0].loss


def test_skip_reasons() -> None:
    att = Attachment(source_id="a", version="1", project_id="p", task_id="t", name="f", size=10_000)
    assert skip_reason(att, memory_capabilities(max_attachment_bytes=100))[0] == "attachment.too_large"
    assert skip_reason(att, memory_capabilities()) is None
    no_labels = memory_capabilities(write_kinds=frozenset({Kind.PROJECT, Kind.TASK}))
    assert skip_reason(_task(), no_labels) is None
    assert skip_reason(att, no_labels)[0] == "attachment.unsupported"


async def test_dry_run_counts_adaptations_without_writing() -> None:
    caps = memory_capabilities(max_assignees=1, comment_author_kept=False, max_attachment_bytes=2000)
    h = Harness(caps=caps, seed={"tasks": 24})
    s = await h.run(dry_run=True)
    assert h.dst.writes == 0 and h.dst.calls["find"] == 0
    assert h.id_map.entries == {}
    c = h.counts(s)
    assert c["task.would_create"] == h.src.count(Kind.TASK)
    assert c["adapt.task.assignees_truncated"] == 12
    lines = summarize(c, caps)
    assert ("12 tasks have several assignees; the destination keeps one, the others go to the description") in lines
    assert any(line.startswith("24 comments cannot keep their author") for line in lines)
    assert any("attachments are larger than the destination's limit" in ln for ln in lines)
    rows = [r for r in h.rows(s) if r.status is ItemStatus.WOULD_CREATE]
    assert rows and all(r.adaptations for r in rows)


async def test_bounded_stream_keeps_memory_flat() -> None:
    size = 48 * 1024 * 1024
    blob = SyntheticBlob(size, seed=3)

    async def source():
        for part in blob.iter_chunks(9 * 1024 * 1024):  # a source sending oversize chunks
            yield part

    tracemalloc.start()
    total = biggest = 0
    async for part in bounded(source()):
        total += len(part)
        biggest = max(biggest, len(part))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total == size and biggest <= 4 * 1024 * 1024
    assert peak < 24 * 1024 * 1024  # a few chunks, never the file


async def test_large_attachment_streams_through_the_engine() -> None:
    h = Harness(seed={"tasks": 1, "attachment_size": 40 * 1024 * 1024, "comments_per_task": 0, "subtasks_every": 0})
    tracemalloc.start()
    s = await h.run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    dest_id = h.id_map.entries[("mig-0001", Kind.ATTACHMENT, "p1-t0-a")].dest_id
    stored = h.dst.uploads[dest_id]
    assert stored.size == 40 * 1024 * 1024 and stored.max_chunk <= 4 * 1024 * 1024
    assert peak < 16 * 1024 * 1024
    assert h.counts(s)["attachment.created"] == 2  # the file and the link


def test_chunk_message_is_small_and_refuses_huge_cursors() -> None:
    msg = ChunkMessage(
        tenant_id="t" * 36,
        migration_id="m" * 36,
        run_id="r" * 36,
        scope="s" * 64,
        phase=Phase.TASK,
        cursor="c" * 4096,
        attempt=3,
    )
    assert len(msg.to_json().encode()) < 48 * 1024
    assert ChunkMessage.model_validate_json(msg.to_json()) == msg
    with pytest.raises(ValueError):
        ChunkMessage(tenant_id="t", migration_id="m", run_id="r", scope="s", phase=Phase.TASK, cursor="c" * 5000)


def test_dest_refs_are_plain_ids() -> None:
    refs = DestRefs(workspace="w", project="p", labels={"l": "dl"})
    assert refs.model_dump()["labels"] == {"l": "dl"}
