"""Archived sections and tasks: kept where the destination can archive them, otherwise
written active with a loss note (never silently)."""

from __future__ import annotations

from shared.connectors.memory import memory_capabilities
from shared.connectors.trello.capabilities import trello_capabilities
from shared.contract.model import Kind, Section, Task
from shared.engine.adapt import adapt, summarize


def _task(archived: bool) -> Task:
    return Task(source_id="t", version="1", project_id="p", name="Task", archived=archived)


def _section(archived: bool) -> Section:
    return Section(source_id="s", version="1", project_id="p", name="List", archived=archived)


def test_archived_items_arrive_active_with_a_loss_note_where_nothing_can_be_archived() -> None:
    caps = memory_capabilities(archived_kinds=frozenset())
    task, notes = adapt(_task(True), caps)
    assert task.archived is False  # type: ignore[attr-defined]
    assert [(n.code, n.loss) for n in notes] == [("task.archived_dropped", True)]
    section, notes = adapt(_section(True), caps)
    assert section.archived is False  # type: ignore[attr-defined]
    assert [(n.code, n.loss) for n in notes] == [("section.archived_dropped", True)]
    lines = summarize({"adapt.task.archived_dropped": 2, "adapt.section.archived_dropped": 1}, caps)
    assert lines == [
        "1 archived sections (lists) cannot be archived in the destination; they arrive active",
        "2 archived tasks cannot be archived in the destination; they arrive active",
    ]


def test_archived_state_is_kept_where_the_destination_holds_it() -> None:
    caps = trello_capabilities()
    assert {Kind.SECTION, Kind.TASK} <= caps.archived_kinds
    task, notes = adapt(_task(True), caps)
    assert task.archived is True and not notes  # type: ignore[attr-defined]
    section, notes = adapt(_section(True), caps)
    assert section.archived is True and not notes  # type: ignore[attr-defined]


def test_active_items_get_no_note() -> None:
    caps = memory_capabilities(archived_kinds=frozenset())
    assert adapt(_task(False), caps)[1] == []
    assert adapt(_section(False), caps)[1] == []
