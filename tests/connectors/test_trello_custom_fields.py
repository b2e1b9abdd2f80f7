"""Trello connector and Custom Fields, against the Trello simulator: values read typed and
named from the board's definitions, written natively (definitions created once per board,
also when two writers race), updated and cleared, and Trello's limits reported."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from shared.connectors.trello import TrelloReader, TrelloWriter
from shared.contract.connector import DestRefs, Written
from shared.contract.model import CustomFieldType, CustomFieldValue, Kind, Project, Task
from shared.contract.text import make_marker
from simulators.common import FakeClock as SimFakeClock
from simulators.common import serve
from simulators.trello import SeedConfig, create_app
from tests.connectors.test_trello import Sim, make_client

SEED = SeedConfig(
    seed=5,
    boards=1,
    cards_per_board=8,
    many_comments=0,
    members=2,
    attachment_sizes=(),
    lists_per_board=2,
    custom_fields=True,
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    clock = SimFakeClock()
    app = create_app(SEED, clock=clock)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        with serve(app) as base:
            yield Sim(base, app, clock)
    finally:
        sys.setswitchinterval(interval)


def _state(sim: Sim) -> dict[str, Any]:
    return sim.app.state.trello.store.dump()


async def _tasks(reader: TrelloReader, board: str) -> list[Task]:
    out: list[Task] = []
    cursor = None
    while True:
        page = await reader.read(Kind.TASK, board, cursor, 3)
        out += [r for r in page.records if isinstance(r, Task)]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def test_reader_names_and_types_card_values(sim: Sim) -> None:
    state = _state(sim)
    board = state["boards"][0]["id"]
    reader = TrelloReader(make_client(sim))
    try:
        tasks = {t.source_id: t for t in await _tasks(reader, board)}
    finally:
        await reader.aclose()
    items = [i for i in state["customFieldItems"] if i["idCard"] in tasks]
    assert items and sum(len(t.custom_fields) for t in tasks.values()) == len(items)
    fields = {cf.name: cf for t in tasks.values() for cf in t.custom_fields}
    assert fields["Estimate"].type is CustomFieldType.NUMBER and isinstance(fields["Estimate"].value, float)
    assert fields["Priority"].type is CustomFieldType.ENUM and fields["Priority"].value in ("High", "Low")
    assert fields["Reviewed"].type is CustomFieldType.BOOL and fields["Reviewed"].value is True
    assert fields["Deadline"].type is CustomFieldType.DATE and str(fields["Deadline"].value).endswith("Z")
    order = [cf.name for cf in max(tasks.values(), key=lambda t: len(t.custom_fields)).custom_fields]
    assert order == [n for n in ("Estimate", "Ticket", "Priority", "Reviewed", "Deadline") if n in order]


async def _new_board(writer: TrelloWriter, sim: Sim, tag: str) -> str:
    project = Project(source_id=f"p-{tag}", version="1", name=f"Custom fields {tag}")
    made = await writer.create(
        Kind.PROJECT,
        project,
        DestRefs(workspace=sim.state["organizations"][0]["id"]),
        make_marker("mig-cf", Kind.PROJECT, project.source_id),
    )
    return made if isinstance(made, str) else made.dest_id


VALUES = (
    CustomFieldValue(name="Ticket", value="T-7"),
    CustomFieldValue(name="Estimate", type=CustomFieldType.NUMBER, value=3.0),
    CustomFieldValue(name="Due", type=CustomFieldType.DATE, value="2030-01-15"),
    CustomFieldValue(name="Reviewed", type=CustomFieldType.BOOL, value=True),
    CustomFieldValue(name="Priority", type=CustomFieldType.ENUM, value="High"),
    CustomFieldValue(name="Teams", type=CustomFieldType.MULTI_ENUM, value=["Red", "Blue"]),
)


async def test_round_trip_update_and_clear(sim: Sim) -> None:
    """Every type written and read back; an update sets, clears a None value, and clears
    the values the source dropped (the card's custom fields are the source's)."""
    writer, reader = TrelloWriter(make_client(sim)), TrelloReader(make_client(sim))
    try:
        board = await _new_board(writer, sim, "rt")
        refs = DestRefs(project=board)
        task = Task(source_id="t1", version="1", project_id="p", name="Card with fields", custom_fields=VALUES)
        made = await writer.create(Kind.TASK, task, refs, make_marker("mig-cf", Kind.TASK, "t1"))
        assert isinstance(made, Written)
        assert [n.code for n in made.notes] == ["task.custom_field_as_text"]
        got = {cf.name: cf.value for t in await _tasks(reader, board) for cf in t.custom_fields}
        assert got == {
            "Ticket": "T-7",
            "Estimate": 3.0,
            "Due": "2030-01-15T12:00:00.000Z",
            "Reviewed": True,
            "Priority": "High",
            "Teams": "Red, Blue",
        }

        changed = task.model_copy(
            update={
                "custom_fields": (
                    CustomFieldValue(name="Ticket", value=None),
                    CustomFieldValue(name="Priority", type=CustomFieldType.ENUM, value="Low"),
                )
            }
        )
        await writer.update(Kind.TASK, made.dest_id, changed, refs, make_marker("mig-cf", Kind.TASK, "t1"))
        reader = TrelloReader(make_client(sim))  # no cached definitions: Low is a new option
        got = {cf.name: cf.value for t in await _tasks(reader, board) for cf in t.custom_fields}
        assert got == {"Priority": "Low"}  # the values the source no longer has are cleared
        state = _state(sim)
        on_board = [f for f in state["customFields"] if f["idBoard"] == board]
        assert sorted(f["name"] for f in on_board) == ["Due", "Estimate", "Priority", "Reviewed", "Teams", "Ticket"]
        assert sorted(o["text"] for f in on_board if f["name"] == "Priority" for o in f["options"]) == ["High", "Low"]
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_racing_writers_leave_one_definition_and_one_option(sim: Sim) -> None:
    setup = TrelloWriter(make_client(sim))
    board = await _new_board(setup, sim, "race")
    await setup.aclose()
    writers = [TrelloWriter(make_client(sim)) for _ in range(4)]  # no shared cache nor lock
    try:
        tasks = [
            Task(
                source_id=f"t{n}",
                version="1",
                project_id="p",
                name=f"Card {n}",
                custom_fields=(
                    CustomFieldValue(name="Stage", type=CustomFieldType.ENUM, value="Doing"),
                    CustomFieldValue(name="Size", type=CustomFieldType.NUMBER, value=n),
                ),
            )
            for n in range(4)
        ]
        made = await asyncio.gather(
            *(
                w.create(Kind.TASK, t, DestRefs(project=board), make_marker("mig-cf", Kind.TASK, t.source_id))
                for w, t in zip(writers, tasks, strict=True)
            )
        )
    finally:
        for w in writers:
            await w.aclose()
    state = _state(sim)
    fields = [f for f in state["customFields"] if f["idBoard"] == board]
    assert sorted(f["name"] for f in fields) == ["Size", "Stage"]
    stage = next(f for f in fields if f["name"] == "Stage")
    assert [o["text"] for o in stage["options"]] == ["Doing"]
    cards = {m if isinstance(m, str) else m.dest_id for m in made}
    items = [i for i in state["customFieldItems"] if i["idCard"] in cards]
    assert len(items) == 8 and {i["idValue"] for i in items if i["idCustomField"] == stage["id"]} == {
        stage["options"][0]["id"]
    }


async def test_a_full_board_reports_the_field_lost(sim: Sim) -> None:
    writer = TrelloWriter(make_client(sim))
    try:
        board = await _new_board(writer, sim, "full")
        client = make_client(sim)
        for n in range(50):
            await client.post(
                "/customFields",
                json={"idModel": board, "modelType": "board", "name": f"f{n}", "type": "text", "pos": "bottom"},
            )
        await client.aclose()
        task = Task(
            source_id="t9",
            version="1",
            project_id="p",
            name="One too many",
            custom_fields=(CustomFieldValue(name="Late", value="x"), CustomFieldValue(name="f3", value="kept")),
        )
        made = await writer.create(Kind.TASK, task, DestRefs(project=board), make_marker("mig-cf", Kind.TASK, "t9"))
        assert isinstance(made, Written)
        assert [(n.code, n.loss) for n in made.notes] == [("task.custom_field_dropped", True)]
        items = [i for i in _state(sim)["customFieldItems"] if i["idCard"] == made.dest_id]
        assert [i["value"] for i in items] == [{"text": "kept"}]
    finally:
        await writer.aclose()


async def test_a_field_defined_after_the_first_read_is_read_too(sim: Sim) -> None:
    state = _state(sim)
    board = state["boards"][0]["id"]
    card = next(c["id"] for c in state["cards"] if c["idBoard"] == board)
    reader = TrelloReader(make_client(sim))  # lives across chunks, as in the worker
    client = make_client(sim)
    try:
        await _tasks(reader, board)  # definitions cached
        made = await client.post(
            "/customFields",
            json={"idModel": board, "modelType": "board", "name": "Later", "type": "text", "pos": "bottom"},
        )
        await client.put(f"/cards/{card}/customField/{made['id']}/item", json={"value": {"text": "new"}})
        task = next(t for t in await _tasks(reader, board) if t.source_id == card)
        assert {cf.name: cf.value for cf in task.custom_fields}["Later"] == "new"
    finally:
        await reader.aclose()
        await client.aclose()
