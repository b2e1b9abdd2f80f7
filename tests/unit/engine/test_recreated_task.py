"""A task deleted at the destination and edited at the source: the next delta finds it gone
(its update answers 404) and creates it again — with its comments and attachments, which went
with the old copy. Their id-map entries still said done, so the run used to skip them as
unchanged and report success with them missing."""

from __future__ import annotations

from shared.contract.model import Kind, Task
from shared.contract.runs import RunStatus
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
    assert sum(1 for k in CHILDREN for r in h.dst.items[k].values() if getattr(r, "task_id", None) == new_task) == lost

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
