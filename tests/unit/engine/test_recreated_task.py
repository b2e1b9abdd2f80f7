"""A task deleted at the destination and edited at the source: the next delta finds it gone
(its update answers 404) and creates it again — with its comments and attachments, which went
with the old copy. Their id-map entries still said done, so the run used to skip them as
unchanged and report success with them missing."""

from __future__ import annotations

from collections.abc import Sequence

from shared.contract.model import Kind, Task
from shared.contract.runs import RunStatus
from shared.engine.chunk import ChunkResult
from shared.engine.plan import RunSettings
from shared.engine.ports import ChunkMessage, IdMapEntry
from tests.unit.engine.harness import Harness

CHILDREN = (Kind.COMMENT, Kind.ATTACHMENT)


async def _delete_at_destination(h: Harness, source_task: str) -> None:
    """As a user deleting the task in the destination tool: its comments and files go too."""
    entry = (await h.id_map.get_many("mig-0001", Kind.TASK, [source_task]))[source_task]
    assert entry.dest_id is not None
    for kind in CHILDREN:
        for rid, rec in list(h.dst.items[kind].items()):
            if getattr(rec, "task_id", None) == entry.dest_id:
                h.dst.remove(kind, rid)
    h.dst.remove(Kind.TASK, entry.dest_id)


def _children_of(h: Harness, task: str) -> int:
    return sum(1 for k in CHILDREN for rec in h.src.items[k].values() if getattr(rec, "task_id", None) == task)


def _dest_children_of(h: Harness, dest_task: str | None) -> int:
    return sum(1 for k in CHILDREN for rec in h.dst.items[k].values() if getattr(rec, "task_id", None) == dest_task)


async def test_a_task_created_again_gets_its_comments_and_attachments_back() -> None:
    h = Harness(seed={"attachments_every": 1, "comments_per_task": 2})
    assert h.status(await h.run()) is RunStatus.SUCCEEDED
    task: Task = h.src.items[Kind.TASK]["p1-t0"]  # type: ignore[assignment]
    lost = _children_of(h, task.source_id)
    assert lost >= 3
    await _delete_at_destination(h, task.source_id)
    h.src.edit(Kind.TASK, task.source_id, name=task.name + " (edited)")

    s = await h.run(mode="delta")
    assert h.status(s) is RunStatus.SUCCEEDED
    counts = h.counts(s)
    assert counts["task.created"] == 1
    assert counts.get("comment.created", 0) + counts.get("attachment.created", 0) == lost
    for kind in (Kind.TASK, *CHILDREN):
        assert h.dst.count(kind) == h.src.count(kind), kind
    # the new copies are under the new task
    new_task = (await h.id_map.get_many("mig-0001", Kind.TASK, [task.source_id]))[task.source_id].dest_id
    assert _dest_children_of(h, new_task) == lost

    # and nothing is written twice: the next delta finds everything unchanged
    again = await h.run(mode="delta")
    assert not [k for k in h.counts(again) if k.endswith((".created", ".updated"))]
    for kind in (Kind.TASK, *CHILDREN):
        assert h.dst.count(kind) == h.src.count(kind), kind


async def test_children_of_a_task_that_was_only_edited_stay_as_they_are() -> None:
    """The same edit without the deletion: the task is updated, its children untouched."""
    h = Harness(seed={"attachments_every": 1, "comments_per_task": 2})
    await h.run()
    task: Task = h.src.items[Kind.TASK]["p1-t0"]  # type: ignore[assignment]
    h.src.edit(Kind.TASK, task.source_id, name=task.name + " (edited)")
    s = await h.run(mode="delta")
    counts = h.counts(s)
    assert counts["task.updated"] == 1 and "comment.created" not in counts and "attachment.created" not in counts
    for kind in (Kind.TASK, *CHILDREN):
        assert h.dst.count(kind) == h.src.count(kind), kind


async def test_a_worker_dying_after_the_new_create_still_brings_the_children_back() -> None:
    """The worker dies between creating the task again and recording it: the redelivered chunk
    finds the new copy by its marker (reconciled, not created) — its comments and attachments
    must follow all the same, once each."""
    h = Harness(seed={"attachments_every": 1, "comments_per_task": 2})
    await h.run()
    task: Task = h.src.items[Kind.TASK]["p1-t0"]  # type: ignore[assignment]
    lost = _children_of(h, task.source_id)
    await _delete_at_destination(h, task.source_id)
    h.src.edit(Kind.TASK, task.source_id, name=task.name + " (edited)")

    real_put, real_put_many = h.id_map.put, h.id_map.put_many
    died: list[str] = []

    def dies_on_the_tasks_result(entry: IdMapEntry) -> None:
        if entry.kind is Kind.TASK and entry.source_id == task.source_id and entry.dest_id and not died:
            died.append(entry.dest_id)
            raise RuntimeError("worker died")  # after the vendor write, before the id map has it

    async def put(entry: IdMapEntry) -> None:
        dies_on_the_tasks_result(entry)
        await real_put(entry)

    async def put_many(entries: Sequence[IdMapEntry]) -> list[Exception | None]:
        for entry in entries:
            dies_on_the_tasks_result(entry)
        return await real_put_many(entries)

    h.id_map.put, h.id_map.put_many = put, put_many  # type: ignore[method-assign]
    real_deliver = h.deliver

    async def deliver(settings: RunSettings, msg: ChunkMessage) -> ChunkResult | None:
        try:
            return await real_deliver(settings, msg)
        except RuntimeError:  # the worker died: the queue hands the message out again
            await h.queue.enqueue(msg)
            return None

    h.deliver = deliver  # type: ignore[method-assign]
    s = await h.run(mode="delta")
    assert died, "the crash point was not reached"
    assert h.status(s) is RunStatus.SUCCEEDED, h.state.reasons.get(s.run_id)
    counts = h.counts(s)
    assert counts.get("task.reconciled") == 1
    assert counts.get("comment.created", 0) + counts.get("attachment.created", 0) == lost
    for kind in (Kind.TASK, *CHILDREN):
        assert h.dst.count(kind) == h.src.count(kind), kind
    new_task = (await h.id_map.get_many("mig-0001", Kind.TASK, [task.source_id]))[task.source_id].dest_id
    assert new_task == died[0]
    assert _dest_children_of(h, new_task) == lost
