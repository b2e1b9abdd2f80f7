"""Azure DevOps writer under lost answers: every write route applied by the service with its
answer dropped (connection reset), then found again by marker or natural key, so a retry
writes nothing twice; and a 503 before an update is retried by the pacer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.azure_devops import AzureDevOpsWriter
from shared.contract.connector import DestRefs
from shared.contract.model import Attachment, Comment, Kind, Project, Section, Task
from shared.contract.text import make_marker
from simulators.azure_devops import SeedConfig, create_app
from simulators.common import serve
from tests.connectors.test_azure_devops import ORG, make_client


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, str]]:
    app = create_app(SeedConfig(items_per_project=2, attachment_sizes=()))
    with serve(app) as base:
        yield app, base


@pytest.fixture
async def writer(sim: tuple[Any, str]) -> AsyncIterator[AzureDevOpsWriter]:
    w = AzureDevOpsWriter(make_client(sim[1]), poll_s=0.01)
    yield w
    await w.aclose()


async def _fault(base: str, method: str, path: str, kind: str = "apply_then_drop", **extra: Any) -> None:
    async with httpx.AsyncClient(base_url=base) as control:
        r = await control.post(
            "/_sim/faults", json={"faults": [{"kind": kind, "method": method, "path": path, **extra}]}
        )
        assert r.status_code == 200


async def _clear(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as control:
        await control.delete("/_sim/faults")


async def _lost(call: Any) -> None:
    """The write's answer is lost: the writer sees a failure, not an answer."""
    with pytest.raises(Exception) as failed:
        await call
    assert not isinstance(failed.value, AssertionError)


async def _setup(writer: AzureDevOpsWriter) -> tuple[str, DestRefs, str]:
    run = uuid.uuid4().hex[:8]
    made = await writer.create(
        Kind.PROJECT,
        Project(source_id=run, version="1", name=f"Faults {run}"),
        DestRefs(workspace=ORG),
        make_marker("f", Kind.PROJECT, run),
    )
    pid = str(made)
    refs = DestRefs(workspace=ORG, project=pid)
    task = await writer.create(
        Kind.TASK,
        Task(source_id="t", version="1", project_id="p", name="host"),
        refs,
        make_marker("f", Kind.TASK, f"{run}t"),
    )
    return run, refs.model_copy(update={"task": str(task)}), str(task)


async def test_lost_project_create_is_found(sim: tuple[Any, str], writer: AzureDevOpsWriter) -> None:
    app, base = sim
    run = uuid.uuid4().hex[:8]
    record = Project(source_id=run, version="1", name=f"Lost {run}")
    marker = make_marker("f", Kind.PROJECT, run)
    await _fault(base, "POST", "/_apis/projects$")
    try:
        await _lost(writer.create(Kind.PROJECT, record, DestRefs(workspace=ORG), marker))
    finally:
        await _clear(base)
    found = await writer.find_by_marker(Kind.PROJECT, marker, record, DestRefs(workspace=ORG))
    same = [p for p in app.state.ado.store.projects.values() if p.name == f"Lost {run}"]
    assert len(same) == 1 and found == same[0].id
    again = await writer.create(Kind.PROJECT, record, DestRefs(workspace=ORG), marker)
    assert again == found  # a create after all meets its own name and marker


async def test_lost_area_create_is_found_by_name(sim: tuple[Any, str], writer: AzureDevOpsWriter) -> None:
    app, base = sim
    _, refs, _ = await _setup(writer)
    section = Section(source_id="s", version="1", project_id="p", name="Ops team")
    await _fault(base, "POST", "/classificationnodes/Areas$")
    try:
        await _lost(writer.create(Kind.SECTION, section, refs, "m"))
    finally:
        await _clear(base)
    found = await writer.find_by_marker(Kind.SECTION, "m", section, refs)
    again = await writer.create(Kind.SECTION, section, refs, "m")
    assert found == again and str(found).startswith("area:")
    project = app.state.ado.store.projects[str(refs.project)]
    assert [c.name for c in project.area.children] == ["Ops team"]


async def test_lost_comment_answer_is_found_once(sim: tuple[Any, str], writer: AzureDevOpsWriter) -> None:
    app, base = sim
    run, refs, task = await _setup(writer)
    comment = Comment(source_id="c", version="1", project_id="p", task_id="t", text="hello")
    marker = make_marker("f", Kind.COMMENT, f"{run}c")
    await _fault(base, "POST", "/comments$")
    try:
        await _lost(writer.create(Kind.COMMENT, comment, refs, marker))
    finally:
        await _clear(base)
    found = await writer.find_by_marker(Kind.COMMENT, marker, comment, refs)
    assert found is not None and len(app.state.ado.store.comments[int(task)]) == 1


@pytest.mark.parametrize("is_link", [True, False])
async def test_lost_link_answer_is_retried_and_linked_once(
    sim: tuple[Any, str], writer: AzureDevOpsWriter, is_link: bool
) -> None:
    """Linking (a PATCH) is retried by the pacer after the lost answer; the service refuses
    the second identical link ("already exists"), which the writer takes as done."""
    app, base = sim
    run, refs, task = await _setup(writer)
    att = Attachment(
        source_id="l",
        version="1",
        project_id="p",
        task_id="t",
        name="Doc",
        is_link=is_link,
        url="https://example.com/doc" if is_link else None,
        size=None if is_link else 3,
    )
    marker = make_marker("f", Kind.ATTACHMENT, f"{run}l")

    async def body() -> AsyncIterator[bytes]:
        yield b"abc"

    await _fault(base, "PATCH", "/_apis/wit/workitems/\\d+$")
    try:
        made = await writer.upload_attachment(att, refs, marker, None if is_link else body())
        async with httpx.AsyncClient(base_url=base) as control:
            injected = await control.get("/_sim/faults")
    finally:
        await _clear(base)
    assert injected.json()["injected"][0]["kind"] == "apply_then_drop"
    assert await writer.find_by_marker(Kind.ATTACHMENT, marker, att, refs) == made
    rel = "Hyperlink" if is_link else "AttachedFile"
    rels = [r for r in app.state.ado.store.work_items[int(task)].relations if r.rel == rel]
    assert len(rels) == 1


async def test_lost_upload_answer_uploads_again_and_links_once(sim: tuple[Any, str], writer: AzureDevOpsWriter) -> None:
    app, base = sim
    run, refs, task = await _setup(writer)
    att = Attachment(source_id="a", version="1", project_id="p", task_id="t", name="f.bin", size=3)
    marker = make_marker("f", Kind.ATTACHMENT, f"{run}a")

    async def body() -> AsyncIterator[bytes]:
        yield b"abc"

    await _fault(base, "POST", "/_apis/wit/attachments$")
    try:
        await _lost(writer.upload_attachment(att, refs, marker, body()))
    finally:
        await _clear(base)
    assert await writer.find_by_marker(Kind.ATTACHMENT, marker, att, refs) is None
    aid = await writer.upload_attachment(att, refs, marker, body())
    assert await writer.find_by_marker(Kind.ATTACHMENT, marker, att, refs) == aid
    files = [r for r in app.state.ado.store.work_items[int(task)].relations if r.rel == "AttachedFile"]
    assert len(files) == 1


async def test_a_503_before_an_update_is_retried(sim: tuple[Any, str], writer: AzureDevOpsWriter) -> None:
    app, base = sim
    run, refs, task = await _setup(writer)
    await _fault(base, "PATCH", "/_apis/wit/workitems/\\d+$", kind="status", status=503, headers={"Retry-After": "0"})
    try:
        await writer.update(
            Kind.TASK,
            task,
            Task(source_id="t", version="2", project_id="p", name="renamed"),
            refs,
            make_marker("f", Kind.TASK, f"{run}t"),
        )
    finally:
        await _clear(base)
    assert app.state.ado.store.work_items[int(task)].fields["System.Title"] == "renamed"


async def test_lost_answer_of_a_relink_is_redone_from_the_new_revision(
    sim: tuple[Any, str], writer: AzureDevOpsWriter
) -> None:
    """Moving a subtask to another parent tests the revision; when the first PATCH is
    applied and its answer lost, the retried one meets 412 and the writer reads again."""
    app, base = sim
    run, refs, first = await _setup(writer)
    second = str(
        await writer.create(
            Kind.TASK,
            Task(source_id="t2", version="1", project_id="p", name="second"),
            refs,
            make_marker("f", Kind.TASK, f"{run}t2"),
        )
    )
    child = Task(source_id="c", version="1", project_id="p", name="child", parent_id="t")
    marker = make_marker("f", Kind.TASK, f"{run}c")
    cid = str(await writer.create(Kind.TASK, child, refs.model_copy(update={"parent_task": first}), marker))
    await _fault(base, "PATCH", f"/_apis/wit/workitems/{cid}$")
    try:
        await writer.update(Kind.TASK, cid, child, refs.model_copy(update={"parent_task": second}), marker)
    finally:
        await _clear(base)
    async with httpx.AsyncClient(base_url=base) as control:
        stats = (await control.get("/_sim/stats")).json()
    assert stats["by_status"].get("412", 0) >= 1  # the retried PATCH met the new revision
    store = app.state.ado.store
    assert store.work_items[int(cid)].fields["System.Parent"] == int(second)
    assert [r.rel for r in store.work_items[int(cid)].relations] == ["System.LinkTypes.Hierarchy-Reverse"]
