"""monday.com destination: groups and items keep the source's order (``placement.py``) —
written concurrently in any order, by a later writer (a delta that adds items), after a
lost create answer (write applied, response dropped) and when the source moves an item;
and the tag adaptations the writer reports. Against the monday simulator, every operation
and answer validated against monday's SDL (``make_client``)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest

from shared.connectors.monday import MondayReader, MondayWriter
from shared.connectors.monday.mapping import ORDER_COLUMN, split_section
from shared.connectors.monday.placement import AFTER, BEFORE, anchor_for, in_place, put
from shared.contract.connector import DestRefs, Sibling, Written
from shared.contract.model import Kind, Label, Project, Section, Task
from shared.contract.text import make_marker
from shared.errors import TransientError
from tests.connectors.calls import record_calls
from tests.connectors.test_monday import Sim, make_client, sim  # noqa: F401  (the module's simulator)


def _id(value: str | Written) -> str:
    return value if isinstance(value, str) else value.dest_id


@pytest.fixture
async def writer(sim: Sim) -> AsyncIterator[MondayWriter]:  # noqa: F811
    w = MondayWriter(make_client(sim))
    yield w
    await w.aclose()


async def fresh_writer(sim: Sim) -> MondayWriter:  # noqa: F811
    """Another worker's writer (it remembers nothing of what the first one wrote)."""
    return MondayWriter(make_client(sim))


class Board:
    """One migrated board: its refs, and the records written into it."""

    def __init__(self, sim: Sim, run: str, refs: DestRefs) -> None:  # noqa: F811
        self.sim, self.run, self.refs = sim, run, refs

    @property
    def id(self) -> str:
        assert self.refs.project
        return self.refs.project

    def marker(self, kind: Kind, source_id: str) -> str:
        return make_marker(f"o{self.run}", kind, source_id)

    def task(self, name: str, position: float) -> Task:
        return Task(source_id=f"{self.run}-{name}", version="1", project_id="p", name=name, position=position)

    def section(self, name: str, position: float) -> Section:
        return Section(source_id=f"{self.run}-{name}", version="1", project_id="p", name=name, position=position)

    async def create(self, writer: MondayWriter, task: Task, section: str) -> str:
        refs = self.refs.model_copy(update={"section": section})
        return _id(await writer.create(Kind.TASK, task, refs, self.marker(Kind.TASK, task.source_id)))

    def group_titles(self) -> list[str]:
        board = self.sim.store.boards[self.id]
        return [g.title for g in board.live_groups()]

    def item_names(self, section: str) -> list[str]:
        board = self.sim.store.boards[self.id]
        group = split_section(section)[1]
        return [i.name for i in self.sim.store.board_items(board) if i.group_id == group]


async def _board(writer: MondayWriter, sim: Sim) -> Board:  # noqa: F811
    run = uuid.uuid4().hex[:10]
    refs = DestRefs(workspace=sim.workspace())
    project = Project(source_id=f"{run}-p", version="1", name=f"Order {run}")
    made = _id(
        await writer.create(Kind.PROJECT, project, refs, make_marker(f"o{run}", Kind.PROJECT, project.source_id))
    )
    return Board(sim, run, refs.model_copy(update={"project": made}))


async def _sections(writer: MondayWriter, board: Board, names: list[str]) -> dict[str, str]:
    """Sections at positions 0, 1, … written all at once, in a shuffled order."""
    records = [board.section(n, float(i)) for i, n in enumerate(names)]
    random.Random(7).shuffle(records)
    made = await asyncio.gather(
        *(writer.create(Kind.SECTION, s, board.refs, board.marker(Kind.SECTION, s.source_id)) for s in records)
    )
    return {s.name: _id(m) for s, m in zip(records, made, strict=True)}


# -- where an entry goes (pure) ----------------------------------------------------------------


def test_an_entry_goes_before_the_nearest_later_one_else_after_the_nearest_earlier() -> None:
    placed = [("a", 0.0), ("c", 2.0), ("e", 4.0)]
    assert anchor_for(1.0, placed) == ("c", BEFORE)
    assert anchor_for(5.0, placed) == ("e", AFTER)
    assert anchor_for(-1.0, placed) == ("a", BEFORE)
    assert anchor_for(2.0, placed) == ("e", BEFORE)  # a tie goes after its equal
    assert anchor_for(2.0, [("a", 0.0), ("c", 2.0)]) == ("c", AFTER)
    assert anchor_for(1.0, []) is None
    put(placed, "b", 1.0, ("c", BEFORE))
    put(placed, "f", 5.0, ("e", AFTER))
    put(placed, "x", 9.0, None)
    assert [p for p, _ in placed] == ["a", "b", "c", "e", "f", "x"]
    put(placed, "a", 4.5, ("e", AFTER))  # moved: recorded once, at its new place
    assert [p for p, _ in placed] == ["b", "c", "e", "a", "f", "x"]
    assert in_place("c", placed) and in_place("a", placed) and in_place("x", placed)
    assert not in_place("nope", placed)
    assert not in_place("b", [("c", 2.0), ("b", 1.0)])


# -- groups ------------------------------------------------------------------------------------


async def test_groups_keep_the_source_order_when_written_concurrently(sim: Sim, writer: MondayWriter) -> None:  # noqa: F811
    board = await _board(writer, sim)
    names = ["Backlog", "Doing", "Review", "Done", "Archive"]
    await _sections(writer, board, names)
    assert board.group_titles() == names  # and monday's own "Group Title" is gone
    # a re-run finds every group by name and leaves them where they are
    again = await fresh_writer(sim)
    try:
        for i, name in enumerate(names):
            found = await again.find_by_marker(Kind.SECTION, "", board.section(name, float(i)), board.refs)
            assert found is not None
            await again.update(Kind.SECTION, found, board.section(name, float(i)), board.refs, "")
    finally:
        await again.aclose()
    assert board.group_titles() == names


async def test_a_group_whose_create_answer_was_lost_is_moved_into_place(sim: Sim, writer: MondayWriter) -> None:  # noqa: F811
    board = await _board(writer, sim)
    await _sections(writer, board, ["First"])
    late = board.section("Third", 2.0)
    sim.post("/_sim/faults", {"faults": [{"kind": "apply_then_drop", "path": "/v2/mutation/create_group$"}]})
    try:
        with pytest.raises(TransientError):
            await writer.create(Kind.SECTION, late, board.refs, board.marker(Kind.SECTION, late.source_id))
    finally:
        sim.post("/_sim/faults", {})
    # another section of the page is written meanwhile: the writer never heard of "Third"
    second = board.section("Second", 1.0)
    await writer.create(Kind.SECTION, second, board.refs, board.marker(Kind.SECTION, second.source_id))
    assert board.group_titles() == ["First", "Third", "Second"]
    # the engine finds the lost one by name and updates it: it moves into place
    found = await writer.find_by_marker(Kind.SECTION, "", late, board.refs)
    assert found is not None
    await writer.update(Kind.SECTION, found, late, board.refs, "")
    assert board.group_titles() == ["First", "Second", "Third"]


# -- items -------------------------------------------------------------------------------------


async def test_items_keep_the_source_order_when_written_concurrently(sim: Sim, writer: MondayWriter) -> None:  # noqa: F811
    board = await _board(writer, sim)
    section = (await _sections(writer, board, ["Doing"]))["Doing"]
    tasks = [board.task(f"t{i}", float(i)) for i in range(8)]
    shuffled = list(tasks)
    random.Random(3).shuffle(shuffled)
    await asyncio.gather(*(board.create(writer, t, section) for t in shuffled))
    assert board.item_names(section) == [t.name for t in tasks]


async def test_a_later_writer_puts_new_items_in_place(sim: Sim, writer: MondayWriter) -> None:  # noqa: F811
    """A delta that adds items (or the next chunk of a run) has a writer of its own: it
    finds the source positions of the items already there in their ferry_order column."""
    board = await _board(writer, sim)
    section = (await _sections(writer, board, ["Doing"]))["Doing"]
    for i in (0, 2, 4):
        await board.create(writer, board.task(f"t{i}", float(i)), section)
    later = await fresh_writer(sim)
    try:
        await asyncio.gather(*(board.create(later, board.task(f"t{i}", float(i)), section) for i in (5, 3, 1, -1)))
    finally:
        await later.aclose()
    assert board.item_names(section) == ["t-1", "t0", "t1", "t2", "t3", "t4", "t5"]
    # the order column is Ferry's: reading the board, it is no custom field
    reader = MondayReader(make_client(sim))
    try:
        page = await reader.read(Kind.TASK, board.id, None, 50)
    finally:
        await reader.aclose()
    tasks = [r for r in page.records if isinstance(r, Task)]
    assert [t.name for t in tasks] == ["t-1", "t0", "t1", "t2", "t3", "t4", "t5"]
    assert all(not t.custom_fields for t in tasks), [t.custom_fields for t in tasks]
    item = sim.store.items[next(i for i, it in sim.store.items.items() if it.name == "t3" and it.board_id == board.id)]
    assert item.values[ORDER_COLUMN] == "3.0"


async def test_a_writer_that_wrote_into_a_group_before_sees_another_workers_items(
    sim: Sim,  # noqa: F811
    writer: MondayWriter,
) -> None:
    """Writers live as long as their worker process: one that listed a group in an earlier
    chunk does not know the items another worker's writer has put there since. The engine's
    siblings (``DestRefs.after``/``before``, from the id map) name them: a sibling missing
    from the listing makes the writer list the group again (once, not for a sibling
    deleted at the destination)."""
    board = await _board(writer, sim)
    section = (await _sections(writer, board, ["Doing"]))["Doing"]
    made = {i: await board.create(writer, board.task(f"t{i}", float(i)), section) for i in (0, 2)}
    other = await fresh_writer(sim)
    try:
        made.update({i: await board.create(other, board.task(f"t{i}", float(i)), section) for i in (4, 6, 8)})
    finally:
        await other.aclose()
    await writer.delete(Kind.TASK, made[8])
    ops = record_calls(writer.client, "run")
    for n, after, before in ((5.0, 4, 6), (7.0, 6, 8), (9.0, 8, None)):
        sibs = {"after": Sibling(dest_id=made[after], position=float(after))}
        if before is not None:
            sibs["before"] = Sibling(dest_id=made[before], position=float(before))
        task = board.task(f"t{n:g}", n)
        refs = board.refs.model_copy(update={"section": section, **sibs})
        await writer.create(Kind.TASK, task, refs, board.marker(Kind.TASK, task.source_id))
    assert board.item_names(section) == ["t0", "t2", "t4", "t5", "t6", "t7", "t9"]
    # listed again for t4/t6 (another worker's), and once for t8 (deleted at the
    # destination): not again for t9, which names t8 too
    assert ops.count("order_first") == 2, ops


async def test_an_item_whose_create_answer_was_lost_is_found_and_kept_in_place(
    sim: Sim,  # noqa: F811
    writer: MondayWriter,
) -> None:
    board = await _board(writer, sim)
    section = (await _sections(writer, board, ["Doing"]))["Doing"]
    for i in (0, 4):
        await board.create(writer, board.task(f"t{i}", float(i)), section)
    lost = board.task("t3", 3.0)
    sim.post("/_sim/faults", {"faults": [{"kind": "apply_then_drop", "path": "/v2/mutation/create_item$"}]})
    try:
        with pytest.raises(TransientError):
            await board.create(writer, lost, section)
    finally:
        sim.post("/_sim/faults", {})
    # the same writer goes on with the page: it lists the group again, so t3 counts
    await board.create(writer, board.task("t2", 2.0), section)
    await board.create(writer, board.task("t3.5", 3.5), section)
    assert board.item_names(section) == ["t0", "t2", "t3", "t3.5", "t4"]
    refs = board.refs.model_copy(update={"section": section})
    marker = board.marker(Kind.TASK, lost.source_id)
    found = await writer.find_by_marker(Kind.TASK, marker, lost, refs)
    assert found is not None
    # what the engine does next (an entry without a destination id: ``reposition``)
    await writer.update(Kind.TASK, found, lost, refs.model_copy(update={"reposition": True}), marker)
    assert board.item_names(section) == ["t0", "t2", "t3", "t3.5", "t4"]


async def test_an_item_the_source_moved_is_moved(sim: Sim, writer: MondayWriter) -> None:  # noqa: F811
    board = await _board(writer, sim)
    sections = await _sections(writer, board, ["Doing", "Done"])
    ids = {i: await board.create(writer, board.task(f"t{i}", float(i)), sections["Doing"]) for i in range(4)}
    await board.create(writer, board.task("d1", 1.0), sections["Done"])
    await board.create(writer, board.task("d3", 3.0), sections["Done"])
    delta = await fresh_writer(sim)
    try:
        # t0 now comes last in its section; t2 went to "Done", between d1 and d3 (the engine
        # says the source moved them: ``DestRefs.reposition``)
        refs = board.refs.model_copy(update={"section": sections["Doing"], "reposition": True})
        moved = board.task("t0", 9.0)
        await delta.update(Kind.TASK, ids[0], moved, refs, board.marker(Kind.TASK, moved.source_id))
        refs = board.refs.model_copy(update={"section": sections["Done"], "reposition": True})
        across = board.task("t2", 2.0)
        await delta.update(Kind.TASK, ids[2], across, refs, board.marker(Kind.TASK, across.source_id))
        # an unmoved item is left alone (no position change)
        same = board.task("t1", 1.0)
        refs = board.refs.model_copy(update={"section": sections["Doing"]})
        await delta.update(Kind.TASK, ids[1], same, refs, board.marker(Kind.TASK, same.source_id))
    finally:
        await delta.aclose()
    assert board.item_names(sections["Doing"]) == ["t1", "t3", "t0"]
    assert board.item_names(sections["Done"]) == ["d1", "t2", "d3"]


async def test_an_edit_in_place_lists_no_group(sim: Sim, writer: MondayWriter) -> None:  # noqa: F811
    """An update the source did not move (no ``reposition``, same group) leaves the item
    where it is without listing its group's order; a moved one lists it once per writer."""
    board = await _board(writer, sim)
    section = (await _sections(writer, board, ["Doing"]))["Doing"]
    ids = {i: await board.create(writer, board.task(f"t{i}", float(i)), section) for i in range(3)}
    delta = await fresh_writer(sim)
    ops = record_calls(delta.client, "run")
    refs = board.refs.model_copy(update={"section": section})
    try:
        for i in range(3):
            edited = board.task(f"t{i}", float(i)).model_copy(update={"description": "edited"})
            await delta.update(Kind.TASK, ids[i], edited, refs, board.marker(Kind.TASK, edited.source_id))
        assert "order_first" not in ops and "place_item" not in ops, ops
        moved = board.task("t0", 9.0)
        moving = refs.model_copy(update={"reposition": True})
        await delta.update(Kind.TASK, ids[0], moved, moving, board.marker(Kind.TASK, moved.source_id))
    finally:
        await delta.aclose()
    assert ops.count("order_first") == 1 and ops.count("place_item") == 1, ops
    assert board.item_names(section) == ["t1", "t2", "t0"]


async def test_positions_read_are_board_wide_whatever_the_page_size(sim: Sim) -> None:  # noqa: F811
    """A destination orders a monday source's items by these positions, and verify compares
    a monday destination's by them: a page boundary must not start them again."""
    board = sim.boards()[0]
    reader = MondayReader(make_client(sim))
    try:
        pages: list[list[Task]] = []
        for limit in (3, 500):
            tasks: list[Task] = []
            cursor: str | None = None
            while True:
                page = await reader.read(Kind.TASK, board, cursor, limit)
                tasks += [r for r in page.records if isinstance(r, Task)]
                cursor = page.next_cursor
                if cursor is None:
                    break
            pages.append(tasks)
    finally:
        await reader.aclose()
    small, whole = pages
    assert [(t.source_id, t.position) for t in small] == [(t.source_id, t.position) for t in whole]
    tops = [t.position for t in whole if t.parent_id is None]
    assert tops == [float(i) for i in range(len(tops))] and len(tops) > 3
    subs = [t for t in whole if t.parent_id is not None]
    assert subs, "the seed has subitems"
    for parent in {t.parent_id for t in subs}:
        assert [t.position for t in subs if t.parent_id == parent] == [
            float(i) for i in range(sum(1 for t in subs if t.parent_id == parent))
        ]


# -- tags --------------------------------------------------------------------------------------


async def test_a_label_colour_monday_does_not_keep_is_reported(sim: Sim, writer: MondayWriter) -> None:  # noqa: F811
    board = await _board(writer, sim)
    label = Label(source_id=f"{board.run}-l", version="1", project_id="p", name=f"tag-{board.run}", color="green")
    written = await writer.create(Kind.LABEL, label, board.refs, board.marker(Kind.LABEL, label.source_id))
    assert isinstance(written, Written)
    assert [(n.code, n.loss) for n in written.notes] == [("label.color_assigned", True)]
    tag = sim.store.tags[int(written.dest_id)]
    same = label.model_copy(update={"color": tag.color})  # the tag's own colour: nothing lost
    again = await writer.update(Kind.LABEL, written.dest_id, same, board.refs, "")
    assert again == Written(dest_id=written.dest_id)
