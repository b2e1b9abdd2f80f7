"""Asana connector and custom fields, against the Asana simulator: values read typed, written
natively (one workspace field per name, enabled on the project — also when writers race),
updated and cleared; subtasks' values in their notes; the free plan keeps them in the notes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from shared.connectors.asana import AsanaReader, AsanaWriter, asana_capabilities
from shared.contract.connector import DestRefs, Written
from shared.contract.model import CustomFieldType, CustomFieldValue, Kind, Project, Task
from shared.contract.text import make_marker
from shared.engine.adapt import adapt
from simulators.asana import SeedConfig, create_app
from simulators.asana.spec import load_spec
from simulators.common import FakeClock as SimClock
from simulators.common import serve
from tests.connectors.test_asana import make_client

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

VALUES = (
    CustomFieldValue(name="Ticket", value="T-7"),
    CustomFieldValue(name="Estimate", type=CustomFieldType.NUMBER, value=3.5),
    CustomFieldValue(name="Due", type=CustomFieldType.DATE, value="2030-01-15T12:00:00.000Z"),
    CustomFieldValue(name="Reviewed", type=CustomFieldType.BOOL, value=True),
    CustomFieldValue(name="Stage", type=CustomFieldType.ENUM, value="Doing"),
    CustomFieldValue(name="Teams", type=CustomFieldType.MULTI_ENUM, value=["Red", "Blue"]),
)


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, str]]:
    load_spec()
    app = create_app(
        SeedConfig(projects=1, tasks_per_project=2, attachment_sizes=[]), clock=SimClock(wall_start=1_770_000_000.0)
    )
    with serve(app) as base:
        yield app, base


async def _project(writer: AsanaWriter, ws: str, tag: str) -> str:
    project = Project(source_id=f"p-{tag}", version="1", name=f"Custom fields {tag}")
    made = await writer.create(
        Kind.PROJECT, project, DestRefs(workspace=ws), make_marker("mig-cf", Kind.PROJECT, project.source_id)
    )
    return made if isinstance(made, str) else made.dest_id


async def _read_tasks(reader: AsanaReader, project: str) -> list[Task]:
    out: list[Task] = []
    cursor = None
    while True:
        page = await reader.read(Kind.TASK, project, cursor, 50)
        out += [r for r in page.records if isinstance(r, Task)]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def test_round_trip_update_and_clear(sim: tuple[Any, str]) -> None:
    app, base = sim
    writer, reader = AsanaWriter(make_client(base)), AsanaReader(make_client(base))
    try:
        ws = (await writer.client.get("/workspaces"))[0]["gid"]
        project = await _project(writer, ws, "rt")
        refs = DestRefs(workspace=ws, project=project)
        task = Task(source_id="t1", version="1", project_id="p", name="Task with fields", custom_fields=VALUES)
        made = await writer.create(Kind.TASK, task, refs, make_marker("mig-cf", Kind.TASK, "t1"))
        assert isinstance(made, Written)
        assert sorted(n.code for n in made.notes) == ["task.custom_field_as_text"] * 2
        got = {cf.name: cf.value for t in await _read_tasks(reader, project) for cf in t.custom_fields}
        assert got == {
            "Ticket": "T-7",
            "Estimate": 3.5,
            "Due": "2030-01-15",
            "Reviewed": "true",
            "Stage": "Doing",
            "Teams": "Red, Blue",
        }
        store = app.state.asana_store
        assert len(store.custom_field_settings[project]) == 6

        changed = task.model_copy(
            update={"custom_fields": (CustomFieldValue(name="Stage", type=CustomFieldType.ENUM, value="Done"),)}
        )
        await writer.update(Kind.TASK, made.dest_id, changed, refs, make_marker("mig-cf", Kind.TASK, "t1"))
        got = {cf.name: cf.value for t in await _read_tasks(reader, project) for cf in t.custom_fields}
        assert got == {"Stage": "Done"}  # the values the source no longer has are cleared
        stage = next(cf for cf in store.custom_fields.values() if cf.name == "Stage")
        assert [name for _, name, _ in stage.enum_options] == ["Doing", "Done"]
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_racing_writers_share_one_field(sim: tuple[Any, str]) -> None:
    app, base = sim
    setup = AsanaWriter(make_client(base))
    ws = (await setup.client.get("/workspaces"))[0]["gid"]
    project = await _project(setup, ws, "race")
    await setup.aclose()
    writers = [AsanaWriter(make_client(base)) for _ in range(4)]  # no shared cache nor lock
    try:
        tasks = [
            Task(
                source_id=f"r{n}",
                version="1",
                project_id="p",
                name=f"Racer {n}",
                custom_fields=(
                    CustomFieldValue(name="Lane", type=CustomFieldType.ENUM, value="Fast"),
                    CustomFieldValue(name="Laps", type=CustomFieldType.NUMBER, value=n),
                ),
            )
            for n in range(4)
        ]
        await asyncio.gather(
            *(
                w.create(
                    Kind.TASK, t, DestRefs(workspace=ws, project=project), make_marker("mig-cf", Kind.TASK, t.source_id)
                )
                for w, t in zip(writers, tasks, strict=True)
            )
        )
    finally:
        for w in writers:
            await w.aclose()
    store = app.state.asana_store
    named = [cf for cf in store.custom_fields.values() if cf.name in ("Lane", "Laps")]
    assert sorted(cf.name for cf in named) == ["Lane", "Laps"]
    assert sorted(f for _, _, f in store.custom_field_settings[project]) == sorted(cf.gid for cf in named)
    lane = next(cf for cf in named if cf.name == "Lane")
    used = {
        store.tasks[g].custom_values[lane.gid]
        for g in store.tasks
        if store.tasks[g].name.startswith("Racer") and lane.gid in store.tasks[g].custom_values
    }
    assert len(used) == 1  # every racer points at the same option


def test_subtasks_keep_their_values_in_the_notes() -> None:
    writer = AsanaWriter.__new__(AsanaWriter)  # adapt is pure: no client needed
    writer.capabilities = asana_capabilities("paid")
    sub = Task(
        source_id="s1",
        version="1",
        project_id="p",
        parent_id="t1",
        name="Sub",
        description="Body",
        custom_fields=VALUES[:2],
    )
    adapted, notes = adapt(sub, writer.capabilities, writer)
    assert isinstance(adapted, Task) and adapted.custom_fields == ()
    assert adapted.description == "Body\n\nTicket: T-7\nEstimate: 3.5"
    assert [n.code for n in notes] == ["task.custom_fields_in_description"]
    top, notes = adapt(sub.model_copy(update={"parent_id": None}), writer.capabilities, writer)
    assert isinstance(top, Task) and top.custom_fields == VALUES[:2] and not notes


def test_the_free_plan_keeps_values_in_the_notes() -> None:
    caps = asana_capabilities("free")
    task = Task(source_id="t", version="1", project_id="p", name="t", custom_fields=VALUES[:1])
    adapted, notes = adapt(task, caps)
    assert isinstance(adapted, Task) and "Ticket: T-7" in adapted.description
    assert [n.code for n in notes] == ["task.custom_fields_in_description"]
