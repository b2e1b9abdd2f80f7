"""Comments of one task are written one after the other (no writer can place a comment, so
the destination shows them in arrival order); everything else still runs concurrently."""

from __future__ import annotations

import asyncio
from collections import Counter

from shared.connectors.memory import MemoryWriter
from shared.contract.connector import DestRefs
from shared.contract.model import Comment, Kind, Record, Task
from shared.engine.items import _lanes
from tests.unit.engine.harness import Harness


class CountingWriter(MemoryWriter):
    """Records the most comments of one task, and of any task, being written at once."""

    def __init__(self, inner: MemoryWriter) -> None:
        super().__init__(inner.vendor, capabilities=inner.capabilities)
        self.now: Counter[str] = Counter()
        self.peak_per_task = 0
        self.peak_comments = 0
        self.order: list[tuple[str, str]] = []

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str:
        if not isinstance(record, Comment):
            return await super().create(kind, record, refs, marker)
        self.now[record.task_id] += 1
        self.peak_per_task = max(self.peak_per_task, self.now[record.task_id])
        self.peak_comments = max(self.peak_comments, sum(self.now.values()))
        try:
            for _ in range(3):  # let every other started write run meanwhile
                await asyncio.sleep(0)
            made = await super().create(kind, record, refs, marker)
            self.order.append((record.task_id, record.source_id))
            return made
        finally:
            self.now[record.task_id] -= 1


def test_lanes_group_comments_by_task_in_page_order() -> None:
    def comment(sid: str, task: str) -> Comment:
        return Comment(source_id=sid, version="1", project_id="p", task_id=task, text=sid)

    wave: list[Record] = [comment("a1", "a"), comment("b1", "b"), comment("a2", "a"), comment("a3", "a")]
    assert _lanes(wave) == [[0, 2, 3], [1]]
    tasks: list[Record] = [Task(source_id=f"t{i}", version="1", project_id="p", name="t") for i in range(3)]
    assert _lanes(tasks) == [[0], [1], [2]]


async def test_comments_of_a_task_are_written_one_after_the_other() -> None:
    # pages of 4 comments: two tasks' comments in each page
    h = Harness(seed={"tasks": 4, "comments_per_task": 2, "subtasks_every": 0, "attachments_every": 0})
    writer = CountingWriter(h.writer)
    h.writer = writer
    await h.run()
    comments = [r for r in h.src.items[Kind.COMMENT].values() if isinstance(r, Comment)]
    assert len(writer.order) == len(comments) == 8
    assert writer.peak_per_task == 1
    assert writer.peak_comments > 1  # tasks still run concurrently
    for task in {c.task_id for c in comments}:
        want = [c.source_id for c in comments if c.task_id == task]
        assert [sid for t, sid in writer.order if t == task] == want
