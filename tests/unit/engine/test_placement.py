"""The placement anchors the engine hands a writer (``shared.engine.placement``): the nearest
source siblings of a top-level task's section already at the destination, from the id map,
across pages and runs; positions kept on entries and refreshed when a task moves unseen."""

from __future__ import annotations

from typing import Any

from shared.connectors.memory import memory_capabilities
from shared.contract.connector import DestinationWriter, DestRefs, Written
from shared.contract.model import Kind, Record
from shared.contract.runs import RunStatus
from shared.engine.ports import IdState
from tests.unit.engine.harness import Harness

SEED = {
    "sections": 3,
    "labels": 0,
    "tasks": 12,
    "subtasks_every": 5,
    "comments_per_task": 0,
    "attachments_every": 0,
}


class Recording:
    """The memory writer, remembering the refs of every task write."""

    def __init__(self, inner: DestinationWriter) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.refs: dict[str, list[DestRefs]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        self.refs.setdefault(record.source_id, []).append(refs)
        return await self.inner.create(kind, record, refs, marker)

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> Written | None:
        self.refs.setdefault(record.source_id, []).append(refs)
        return await self.inner.update(kind, dest_id, record, refs, marker)


def _harness(*, anchored: bool = True) -> tuple[Harness, Recording]:
    h = Harness(caps=memory_capabilities(sibling_anchors=anchored), seed=SEED)
    recording = Recording(h.writer)
    h.writer = recording  # type: ignore[assignment]
    return h, recording


def _dest(h: Harness, n: int) -> str:
    entry = h.id_map.entries[("mig-0001", Kind.TASK, f"p1-t{n}")]
    assert entry.dest_id
    return entry.dest_id


async def test_entries_keep_where_top_level_tasks_were_placed() -> None:
    h, _ = _harness()
    assert h.status(await h.run()) is RunStatus.SUCCEEDED
    tasks = {e.source_id: e for e in h.id_map.entries.values() if e.kind is Kind.TASK and e.state is IdState.DONE}
    assert (tasks["p1-t4"].section_id, tasks["p1-t4"].position) == ("p1-s1", 4.0)
    assert (tasks["p1-t0-sub"].section_id, tasks["p1-t0-sub"].position) == (None, None)  # a subtask


async def test_a_task_moved_by_a_later_run_gets_its_source_neighbours() -> None:
    h, writer = _harness()
    await h.run()
    writer.refs.clear()
    # t7 (section s1) moves into s0, where the source has it between t6 and t9; pages hold
    # four records, so t6 was read in an earlier chunk than t7's
    h.src.edit(Kind.TASK, "p1-t7", section_id="p1-s0")
    settings = await h.run(mode="delta")
    assert h.counts(settings).get("task.updated") == 1
    (refs,) = writer.refs["p1-t7"]
    assert refs.reposition
    assert refs.after is not None and refs.after.dest_id == _dest(h, 6) and refs.after.position == 6.0
    assert refs.before is not None and refs.before.dest_id == _dest(h, 9) and refs.before.position == 9.0
    entry = h.id_map.entries[("mig-0001", Kind.TASK, "p1-t7")]
    assert (entry.section_id, entry.position) == ("p1-s0", 7.0)


async def test_an_edit_in_place_does_not_move_the_task() -> None:
    h, writer = _harness()
    await h.run()
    writer.refs.clear()
    h.src.edit(Kind.TASK, "p1-t4", name="renamed")
    await h.run(mode="delta")
    (refs,) = writer.refs["p1-t4"]
    assert not refs.reposition  # anchors are given, but the writer leaves it where it is
    assert refs.after is not None and refs.after.dest_id == _dest(h, 1)


async def test_a_position_moved_without_a_new_version_is_kept_for_the_anchors() -> None:
    """A source that numbers tasks in listing order shifts the others when one moves: the
    entries of tasks seen unchanged follow, without writing them."""
    h, writer = _harness()
    await h.run()
    t3 = h.src.get(Kind.TASK, "p1-t3")
    h.src.put(t3.model_copy(update={"position": 9.5}))  # same version: the run sees it unchanged
    h.src.edit(Kind.TASK, "p1-t6", section_id="p1-s0", position=10.0)
    writer.refs.clear()
    settings = await h.run(mode="delta")
    assert h.counts(settings).get("task.updated") == 1 and "p1-t3" not in writer.refs
    assert h.id_map.entries[("mig-0001", Kind.TASK, "p1-t3")].position == 9.5
    (refs,) = writer.refs["p1-t6"]
    # t3 is at 9.5 now, after t9 (9.0): with its old position (3.0) t9 would be the anchor
    assert refs.after is not None and refs.after.dest_id == _dest(h, 3) and refs.after.position == 9.5
    assert refs.before is None


async def test_entries_from_before_positions_were_kept() -> None:
    """An entry without a position is filled in when its task is seen unchanged; a task
    changed meanwhile gets anchors but no ``reposition`` (nothing says the source moved it)."""
    h, writer = _harness()
    await h.run()
    for key, entry in list(h.id_map.entries.items()):
        if entry.kind is Kind.TASK:
            h.id_map.entries[key] = entry.model_copy(update={"section_id": None, "position": None})
    h.src.edit(Kind.TASK, "p1-t4", name="renamed")
    writer.refs.clear()
    await h.run(mode="delta")
    (refs,) = writer.refs["p1-t4"]
    assert not refs.reposition
    assert h.id_map.entries[("mig-0001", Kind.TASK, "p1-t1")].position == 1.0
    assert h.id_map.entries[("mig-0001", Kind.TASK, "p1-t4")].section_id == "p1-s1"


async def test_a_writer_without_sibling_anchors_costs_no_sibling_reads_nor_refreshes() -> None:
    """Azure DevOps, Jira and Trello place by other means (a rank or position field written
    from the source's, or not at all): the engine neither queries the id map for their siblings per section and
    chunk nor rewrites the entries of tasks the source shifted without a new version; it
    still says whether the source moved a task (``reposition``, from the task's own entry)."""
    h, writer = _harness(anchored=False)
    calls: list[str] = []
    inner = h.id_map.siblings

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["section"])
        return await inner(*args, **kwargs)

    h.id_map.siblings = counted  # type: ignore[method-assign]
    await h.run()
    t3 = h.src.get(Kind.TASK, "p1-t3")
    h.src.put(t3.model_copy(update={"position": 9.5}))  # same version: seen unchanged
    h.src.edit(Kind.TASK, "p1-t7", section_id="p1-s0")
    writer.refs.clear()
    settings = await h.run(mode="delta")
    assert h.counts(settings).get("task.updated") == 1
    (refs,) = writer.refs["p1-t7"]
    assert (refs.after, refs.before, refs.reposition) == (None, None, True)  # it moved: only that is said
    assert calls == []
    assert h.id_map.entries[("mig-0001", Kind.TASK, "p1-t3")].position == 3.0  # not rewritten


def test_anchors_prefer_the_nearest_earlier_sibling() -> None:
    refs = DestRefs.model_validate(
        {"after": {"dest_id": "a", "position": 2.0}, "before": {"dest_id": "b", "position": 8.0}}
    )
    assert refs.anchors(5.0, {}) == ("a", None)
    assert refs.anchors(5.0, {"mine": 4.0, "x": 1.0}) == ("mine", None)  # the writer's own, nearer
    assert refs.anchors(1.0, {}) == (None, "a")
    assert refs.anchors(9.0, {"a": 2.0}, itself="b") == ("a", None)
    assert DestRefs().anchors(3.0, {}) == (None, None)
