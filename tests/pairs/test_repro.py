"""Deterministic reproductions of the defects the pair runs show only through races.

Each drives the real writer (opened through the registry) against the session's
simulators and reads the result back through the real reader. Strict xfails: each fails
while its defect exists (see ``known.BUGS``).
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from shared.connectors.base import DestRefs, Written, make_marker
from shared.connectors.registry import ConnectorRuntime
from shared.engine.model import Comment, Kind, Label, Project, Section, Task
from tests.pairs.known import BUGS
from tests.pairs.snapshot import read_all
from tests.pairs.world import Sim


def _id(value: str | Written) -> str:
    return value if isinstance(value, str) else value.dest_id


@pytest.fixture
async def planner(sims: dict[str, Sim]) -> AsyncIterator[ConnectorRuntime]:
    rt = await sims["planner"].runtime()
    yield rt
    await rt.aclose()


@pytest.fixture
async def trello(sims: dict[str, Sim]) -> AsyncIterator[ConnectorRuntime]:
    rt = await sims["trello"].runtime()
    yield rt
    await rt.aclose()


async def _new_project(rt: ConnectorRuntime, sim: Sim) -> tuple[str, str]:
    """A fresh destination project (plan/board); returns (migration id, its id)."""
    mig = f"repro{uuid.uuid4().hex[:8]}"
    project = Project(source_id=f"p-{mig}", version="1", name=f"Repro {mig}")
    assert rt.writer is not None
    dest = await rt.writer.create(Kind.PROJECT, project,
                                  DestRefs(workspace=sim.dest_workspaces[sim.vendor]),
                                  make_marker(mig, Kind.PROJECT, project.source_id))
    return mig, _id(dest)


def _task(n: int, project: str) -> Task:
    return Task(source_id=f"t{n}", version="1", project_id=project, name=f"Task {n}",
                position=float(n))


@pytest.mark.xfail(strict=True, reason=BUGS["planner-order-hint"])
async def test_planner_plan_takes_more_than_six_tasks(planner: ConnectorRuntime,
                                                      sims: dict[str, Sim]) -> None:
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None
    for n in range(8):  # one after the other: no concurrency involved
        await planner.writer.create(Kind.TASK, _task(n, "p"), DestRefs(project=plan),
                                    make_marker(mig, Kind.TASK, f"t{n}"))


@pytest.mark.xfail(strict=True, reason=BUGS["planner-comment-thread-race"])
async def test_planner_keeps_every_comment_written_at_once(planner: ConnectorRuntime,
                                                           sims: dict[str, Sim]) -> None:
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None and planner.reader is not None
    task = _id(await planner.writer.create(Kind.TASK, _task(0, "p"), DestRefs(project=plan),
                                           make_marker(mig, Kind.TASK, "t0")))
    comments = [Comment(source_id=f"c{i}", version="1", project_id="p", task_id="t0",
                        text=f"Comment {i}") for i in range(3)]
    await asyncio.gather(*(planner.writer.create(
        Kind.COMMENT, c, DestRefs(project=plan, task=task),
        make_marker(mig, Kind.COMMENT, c.source_id)) for c in comments))
    read = await read_all(planner.reader, Kind.COMMENT, plan)
    assert len(read) == 3, [c.text for c in read]  # type: ignore[attr-defined]


@pytest.mark.xfail(strict=True, reason=BUGS["planner-label-race"])
async def test_planner_gives_labels_written_at_once_their_own_category(
        planner: ConnectorRuntime, sims: dict[str, Sim]) -> None:
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None and planner.reader is not None
    labels = [Label(source_id=f"l{i}", version="1", project_id="p", name=f"Label {i}")
              for i in range(4)]
    made = await asyncio.gather(*(planner.writer.create(
        Kind.LABEL, lab, DestRefs(project=plan), make_marker(mig, Kind.LABEL, lab.source_id))
        for lab in labels), return_exceptions=True)
    assert not [m for m in made if isinstance(m, BaseException)], made
    names = sorted(lab.name for lab in await read_all(planner.reader, Kind.LABEL, plan))  # type: ignore[attr-defined]
    assert names == [lab.name for lab in labels]


@pytest.mark.xfail(strict=True, reason=BUGS["trello-section-order"])
async def test_trello_places_lists_by_source_position(trello: ConnectorRuntime,
                                                      sims: dict[str, Sim]) -> None:
    mig, board = await _new_project(trello, sims["trello"])
    assert trello.writer is not None and trello.reader is not None
    # the engine writes a page at once, so a later list may arrive first
    for pos in (2.0, 1.0):
        section = Section(source_id=f"s{pos}", version="1", project_id="p",
                          name=f"List at {pos}", position=pos)
        await trello.writer.create(Kind.SECTION, section, DestRefs(project=board),
                                   make_marker(mig, Kind.SECTION, section.source_id))
    read = await read_all(trello.reader, Kind.SECTION, board)
    ordered = [s.name for s in sorted(read, key=lambda s: s.position)]  # type: ignore[attr-defined]
    assert ordered == ["List at 1.0", "List at 2.0"]
