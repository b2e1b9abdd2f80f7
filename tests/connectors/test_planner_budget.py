"""Planner writes within two requests per item (issue 19 item 3), and the faults that the
etags taken from answers must survive: a PATCH whose answer was lost, a stale etag (412),
a ``$batch`` whose answer was lost.

Request counts come from the simulator's ``/_sim/stats`` (``total`` counts a ``$batch`` once;
the requests inside are listed under ``$batch ›`` routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.planner import PlannerWriter
from shared.contract.connector import DestRefs, Written
from shared.contract.model import (
    Attachment,
    Checklist,
    ChecklistItem,
    Comment,
    Kind,
    Label,
    Project,
    Section,
    Task,
)
from shared.contract.text import make_marker, marker_footer
from shared.errors import TransientError
from simulators.common import serve
from simulators.planner import SeedConfig, create_app
from tests.connectors.test_planner import Sim

CFG = SeedConfig(tasks_per_plan=2, deleted_tasks_per_plan=0, plans_per_group=1)
MIG = "budget"


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    app = create_app(CFG)
    with serve(app) as origin:
        yield Sim(app, origin)


@pytest.fixture
async def writer(sim: Sim) -> AsyncIterator[PlannerWriter]:
    writer = PlannerWriter(sim.client(sim.creds("bob")))
    yield writer
    await writer.client.http.post(f"{sim.origin}/_sim/faults", json={})
    await writer.client.aclose()


def _id(value: object) -> str:
    assert isinstance(value, (str, Written))
    return value if isinstance(value, str) else value.dest_id


async def _stats(writer: PlannerWriter, sim: Sim) -> dict[str, Any]:
    return dict((await writer.client.http.get(f"{sim.origin}/_sim/stats")).json())


async def _reset(writer: PlannerWriter, sim: Sim) -> None:
    await writer.client.http.post(f"{sim.origin}/_sim/stats/reset")


async def _faults(writer: PlannerWriter, sim: Sim, *faults: dict[str, Any]) -> None:
    await writer.client.http.post(f"{sim.origin}/_sim/faults", json={"faults": list(faults)})


async def _plan(writer: PlannerWriter, sim: Sim, name: str) -> tuple[str, str]:
    plan = _id(
        await writer.create(
            Kind.PROJECT,
            Project(source_id=name, version="1", name=name),
            DestRefs(workspace=sim.group_id),
            make_marker(MIG, Kind.PROJECT, name),
        )
    )
    bucket = _id(
        await writer.create(
            Kind.SECTION,
            Section(source_id=f"{name}-s", version="1", project_id=name, name="B"),
            DestRefs(project=plan),
            make_marker(MIG, Kind.SECTION, f"{name}-s"),
        )
    )
    return plan, bucket


def _task(sid: str) -> Task:
    return Task(
        source_id=sid,
        version="1",
        project_id="p",
        section_id="s",
        name=f"Task {sid}",
        description="About it",
        checklists=(
            Checklist(name="", items=tuple(ChecklistItem(source_id=f"i{n}", name=f"item {n}") for n in range(2))),
        ),
    )


async def test_each_item_takes_at_most_two_calls(writer: PlannerWriter, sim: Sim) -> None:
    """A task: create, details read, details write (its marker and checklist). A comment: one
    ``$batch`` (reply + the read that finds it) once its task has a thread; the first one
    also makes the thread. A link: one PATCH with the etag of the task's last details
    answer. A label after the first: one PATCH from the details it last saw."""
    plan, bucket = await _plan(writer, sim, "Budget")
    refs = DestRefs(project=plan, section=bucket)
    labels = [
        Label(source_id=f"l{n}", version="1", project_id="p", name=f"L{n}", color=color)
        for n, color in enumerate(("red", "blue", "green"))
    ]
    await _reset(writer, sim)
    for lab in labels:
        marker = make_marker(MIG, Kind.LABEL, lab.source_id)
        assert await writer.find_by_marker(Kind.LABEL, marker, lab, refs) is None
        await writer.create(Kind.LABEL, lab, refs, marker)
    assert (await _stats(writer, sim))["total"] == 3 + 3  # each looked up, then one PATCH

    await _reset(writer, sim)
    for n in range(2):
        section = Section(source_id=f"s{n}", version="1", project_id="p", name=f"S{n}", position=float(n))
        marker = make_marker(MIG, Kind.SECTION, section.source_id)
        assert await writer.find_by_marker(Kind.SECTION, marker, section, refs) is None
        await writer.create(Kind.SECTION, section, refs, marker)
    assert (await _stats(writer, sim))["total"] == 2 + 2  # each looked up, then one POST

    await _reset(writer, sim)
    task = _id(await writer.create(Kind.TASK, _task("t1"), refs, make_marker(MIG, Kind.TASK, "t1")))
    stats = await _stats(writer, sim)
    assert stats["total"] == 3 + 1  # + the plan's tasks, read once per writer for placement
    await _reset(writer, sim)
    task2 = _id(await writer.create(Kind.TASK, _task("t2"), refs, make_marker(MIG, Kind.TASK, "t2")))
    assert (await _stats(writer, sim))["total"] == 3

    comment_refs = DestRefs(project=plan, task=task)
    comments = [
        Comment(source_id=f"c{n}", version="1", project_id="p", task_id="t1", text=f"Note {n}") for n in range(3)
    ]
    await _reset(writer, sim)
    ids = [
        _id(await writer.create(Kind.COMMENT, c, comment_refs, make_marker(MIG, Kind.COMMENT, c.source_id)))
        for c in comments[:1]
    ]
    first = await _stats(writer, sim)
    # the writer made the task without a thread: one $batch makes the thread and reads the
    # task, one links it and reads the thread (the plan's group is known from its create)
    assert first["by_route"] == {
        "POST /v1.0/$batch": {"200": 2},
        "$batch › POST /v1.0/groups/{group_id}/threads": {"201": 1},
        "$batch › GET /v1.0/planner/tasks/{task_id}": {"200": 1},
        "$batch › PATCH /v1.0/planner/tasks/{task_id}": {"204": 1},
        "$batch › GET /v1.0/groups/{group_id}/threads/{thread_id}/posts": {"200": 1},
    }
    await _reset(writer, sim)
    ids += [
        _id(await writer.create(Kind.COMMENT, c, comment_refs, make_marker(MIG, Kind.COMMENT, c.source_id)))
        for c in comments[1:]
    ]
    later = await _stats(writer, sim)
    assert later["total"] == 2 and later["by_route"] == {
        "POST /v1.0/$batch": {"200": 2},
        "$batch › POST /v1.0/groups/{group_id}/threads/{thread_id}/reply": {"202": 2},
        "$batch › GET /v1.0/groups/{group_id}/threads/{thread_id}/posts": {"200": 2},
    }
    assert len({i.split("|")[1] for i in ids}) == 1 and len(set(ids)) == 3

    await _reset(writer, sim)
    link = Attachment(
        source_id="a1",
        version="1",
        project_id="p",
        task_id="t2",
        name="Docs",
        is_link=True,
        url="https://example.com/docs",
    )
    await writer.upload_attachment(
        link, DestRefs(project=plan, task=task2), make_marker(MIG, Kind.ATTACHMENT, "a1"), None
    )
    assert (await _stats(writer, sim))["total"] == 1


async def test_a_thread_someone_started_meanwhile_takes_the_first_comment(writer: PlannerWriter, sim: Sim) -> None:
    """The writer made the task without a thread, but someone commented on it since: the
    thread made for the first comment is removed and the comment goes into the task's
    thread; one thread, each post once."""
    plan, _ = await _plan(writer, sim, "Meanwhile")
    task = _id(await writer.create(Kind.TASK, _task("m"), DestRefs(project=plan), make_marker(MIG, Kind.TASK, "m")))
    other = PlannerWriter(sim.client(sim.creds("alice")))
    try:
        await other.create(
            Kind.COMMENT,
            Comment(source_id="x", version="1", project_id="p", task_id="m", text="Someone else"),
            DestRefs(project=plan, task=task),
            make_marker("other", Kind.COMMENT, "x"),
        )
    finally:
        await other.client.aclose()
    marker = make_marker(MIG, Kind.COMMENT, "mine")
    dest = _id(
        await writer.create(
            Kind.COMMENT,
            Comment(source_id="mine", version="1", project_id="p", task_id="m", text="Mine"),
            DestRefs(project=plan, task=task),
            marker,
        )
    )
    linked = await writer.client.get_json(f"/planner/tasks/{task}")
    assert dest.split("|")[1] == linked["conversationThreadId"]
    topics = [t for t in sim.store.threads.values() if t.topic == 'Comments on task "Task m"']
    assert len(topics) == 1 and len(topics[0].posts) == 2
    assert sum(marker in p.content for p in topics[0].posts) == 1


async def test_a_lost_details_answer_and_a_stale_etag_end_in_one_task(writer: PlannerWriter, sim: Sim) -> None:
    """The details PATCH of a new task is applied but its answer lost: the pacer sends it
    again, its etag is stale now (412), the details are read again and written once more;
    one task, its text and checklist once. Later, someone edits the details: the link's
    PATCH with the remembered etag gets 412, reads again and adds the reference."""
    plan, bucket = await _plan(writer, sim, "Lost answer")
    refs = DestRefs(project=plan, section=bucket)
    await _faults(
        writer, sim, {"kind": "apply_then_drop", "method": "PATCH", "path": "/planner/tasks/*/details$", "count": 1}
    )
    marker = make_marker(MIG, Kind.TASK, "lost")
    task = _id(await writer.create(Kind.TASK, _task("lost"), refs, marker))
    plan_tasks = sim.store.live_tasks(plan_id=plan)
    assert [t.id for t in plan_tasks] == [task]
    stored = plan_tasks[0]
    assert stored.description == "About it" + marker_footer(marker)
    assert sorted(i.title for i in stored.checklist.values()) == ["item 0", "item 1"]
    assert (await writer.client.http.get(f"{sim.origin}/_sim/faults")).json()["faults"] == []

    # someone else writes the details: the remembered etag is stale now
    details = await writer.client.get_json(f"/planner/tasks/{task}/details")
    await writer.client.patch_if_match(
        f"/planner/tasks/{task}/details", {"description": stored.description + " (edited)"}, details["@odata.etag"]
    )
    await _reset(writer, sim)
    link = Attachment(
        source_id="a2",
        version="1",
        project_id="p",
        task_id="lost",
        name="Docs",
        is_link=True,
        url="https://example.com/other",
    )
    dest = await writer.upload_attachment(
        link, DestRefs(project=plan, task=task), make_marker(MIG, Kind.ATTACHMENT, "a2"), None
    )
    stats = await _stats(writer, sim)
    assert stats["by_route"]["PATCH /v1.0/planner/tasks/{task_id}/details"] == {"412": 1, "200": 1}
    assert len(stored.references) == 1 and dest.endswith(next(iter(stored.references)))
    assert stored.description.endswith("(edited)")


async def test_a_lost_batch_answer_does_not_post_a_comment_twice(writer: PlannerWriter, sim: Sim) -> None:
    """The ``$batch`` holding a reply is applied and its answer lost: the create fails as
    ambiguous (not retried), the engine finds the post by its marker; one post."""
    plan, _ = await _plan(writer, sim, "Lost batch")
    task = _id(
        await writer.create(Kind.TASK, _task("talk"), DestRefs(project=plan), make_marker(MIG, Kind.TASK, "talk"))
    )
    refs = DestRefs(project=plan, task=task)
    first = Comment(source_id="k1", version="1", project_id="p", task_id="talk", text="One")
    await writer.create(Kind.COMMENT, first, refs, make_marker(MIG, Kind.COMMENT, "k1"))
    second = Comment(source_id="k2", version="1", project_id="p", task_id="talk", text="Two")
    marker = make_marker(MIG, Kind.COMMENT, "k2")
    await _faults(writer, sim, {"kind": "apply_then_drop", "method": "POST", "path": "/\\$batch$", "count": 1})
    with pytest.raises(TransientError):
        await writer.create(Kind.COMMENT, second, refs, marker)
    found = await writer.find_by_marker(Kind.COMMENT, marker, second, refs)
    assert found is not None
    thread = found.split("|")[1]
    posts = await writer.client.get_all(f"/groups/{sim.group_id}/threads/{thread}/posts")
    assert sum(marker in p["body"]["content"] for p in posts) == 1


async def test_a_throttled_batch_is_sent_again(writer: PlannerWriter, sim: Sim) -> None:
    """A reply throttled inside its ``$batch`` (429 + Retry-After in its own answer) was not
    applied: the pacer waits and sends the batch again; one post."""
    plan, _ = await _plan(writer, sim, "Throttled batch")
    task = _id(
        await writer.create(Kind.TASK, _task("busy"), DestRefs(project=plan), make_marker(MIG, Kind.TASK, "busy"))
    )
    refs = DestRefs(project=plan, task=task)
    await writer.create(
        Kind.COMMENT,
        Comment(source_id="b1", version="1", project_id="p", task_id="busy", text="One"),
        refs,
        make_marker(MIG, Kind.COMMENT, "b1"),
    )
    await _faults(
        writer,
        sim,
        {
            "kind": "status",
            "status": 429,
            "method": "POST",
            "path": "/reply$",
            "count": 1,
            "headers": {"Retry-After": "1"},
            "body": '{"error":{"code":"TooManyRequests","message":"slow"}}',
        },
    )
    marker = make_marker(MIG, Kind.COMMENT, "b2")
    dest = _id(
        await writer.create(
            Kind.COMMENT, Comment(source_id="b2", version="1", project_id="p", task_id="busy", text="Two"), refs, marker
        )
    )
    thread = dest.split("|")[1]
    posts = await writer.client.get_all(f"/groups/{sim.group_id}/threads/{thread}/posts")
    assert sum(marker in p["body"]["content"] for p in posts) == 1
    assert writer.client.pacer.throttled >= 1


def test_batch_answers_map_to_the_error_table() -> None:
    """Each answer of a ``$batch`` is checked like a response of its own."""
    from shared.connectors.planner.client import PLANNER_ERRORS
    from shared.errors import NotFoundError, ThrottledError

    request = httpx.Request("GET", "https://graph.microsoft.com/v1.0/x")
    assert isinstance(
        PLANNER_ERRORS.error_for(httpx.Response(429, headers={"Retry-After": "3"}, json={}, request=request)),
        ThrottledError,
    )
    assert isinstance(PLANNER_ERRORS.error_for(httpx.Response(404, json={}, request=request)), NotFoundError)
