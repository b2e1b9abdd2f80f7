"""Deterministic reproductions of the defects the pair runs show only through races.

Each drives the real writer (opened through the registry) against the session's
simulators and reads the result back through the real reader. A defect still open is a
strict xfail naming it (see ``known.BUGS``); a fixed one's reproduction stays as a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any, Self

import httpx
import pytest

from shared.connectors.memory import MemoryReader, MemoryVendor, seed_project
from shared.connectors.registry import ConnectorRuntime
from shared.contract.connector import Adaptation, DestinationWriter, DestRefs, Written
from shared.contract.model import Comment, Kind, Label, Project, Record, Section, Task
from shared.contract.runs import RunStatus
from shared.contract.text import make_marker
from shared.verify.snapshot import read_all
from tests.pairs.conftest import Outcomes
from tests.pairs.migrate import Migration
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
    dest = await rt.writer.create(
        Kind.PROJECT,
        project,
        DestRefs(workspace=sim.dest_workspaces[sim.vendor]),
        make_marker(mig, Kind.PROJECT, project.source_id),
    )
    return mig, _id(dest)


def _task(n: int, project: str) -> Task:
    return Task(source_id=f"t{n}", version="1", project_id=project, name=f"Task {n}", position=float(n))


class HoldWrites:
    """Network timing made deterministic: a matching write waits until ``reads`` matching
    reads were sent (at most ``timeout`` s), so writes that run at once really interleave
    as "all read, then all write". A writer that serialises its read-modify-write is not
    reordered by it (its next read never comes while its write waits; the wait times out).
    """

    def __init__(self, client: httpx.AsyncClient, *, read: str, write: str, reads: int, timeout: float = 3.0) -> None:
        self.client, self.read, self.write = client, read, write
        self.reads, self.timeout = reads, timeout
        self.seen = 0
        self._enough = asyncio.Event()

    async def _hook(self, request: httpx.Request) -> None:
        path = request.url.path
        if request.method == "GET" and re.search(self.read, path):
            self.seen += 1
            if self.seen >= self.reads:
                self._enough.set()
        elif request.method in ("POST", "PATCH") and re.search(self.write, path):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._enough.wait(), self.timeout)

    def __enter__(self) -> Self:
        self.client.event_hooks["request"].append(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.event_hooks["request"].remove(self._hook)


def _planner_http(rt: ConnectorRuntime) -> httpx.AsyncClient:
    return rt.writer.client.http  # type: ignore[union-attr,no-any-return]


async def test_planner_plan_takes_more_than_six_tasks(planner: ConnectorRuntime, sims: dict[str, Sim]) -> None:
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None
    for n in range(8):  # one after the other: no concurrency involved
        await planner.writer.create(
            Kind.TASK, _task(n, "p"), DestRefs(project=plan), make_marker(mig, Kind.TASK, f"t{n}")
        )


async def test_planner_keeps_every_comment_written_at_once(planner: ConnectorRuntime, sims: dict[str, Sim]) -> None:
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None and planner.reader is not None
    task = _id(
        await planner.writer.create(Kind.TASK, _task(0, "p"), DestRefs(project=plan), make_marker(mig, Kind.TASK, "t0"))
    )
    comments = [
        Comment(source_id=f"c{i}", version="1", project_id="p", task_id="t0", text=f"Comment {i}") for i in range(3)
    ]
    with HoldWrites(_planner_http(planner), read=r"/planner/tasks/[^/]+$", write=r"/threads$", reads=3):
        await asyncio.gather(
            *(
                planner.writer.create(
                    Kind.COMMENT, c, DestRefs(project=plan, task=task), make_marker(mig, Kind.COMMENT, c.source_id)
                )
                for c in comments
            )
        )
    read = await read_all(planner.reader, Kind.COMMENT, plan)
    assert len(read) == 3, [c.text for c in read if isinstance(c, Comment)]


async def test_planner_gives_labels_written_at_once_their_own_category(
    planner: ConnectorRuntime, sims: dict[str, Sim]
) -> None:
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None and planner.reader is not None
    labels = [Label(source_id=f"l{i}", version="1", project_id="p", name=f"Label {i}") for i in range(4)]
    with HoldWrites(
        _planner_http(planner), read=r"/plans/[^/]+/details$", write=r"/plans/[^/]+/details$", reads=2 * len(labels)
    ):
        made = await asyncio.gather(
            *(
                planner.writer.create(
                    Kind.LABEL, lab, DestRefs(project=plan), make_marker(mig, Kind.LABEL, lab.source_id)
                )
                for lab in labels
            ),
            return_exceptions=True,
        )
    assert not [m for m in made if isinstance(m, BaseException)], made
    read = await read_all(planner.reader, Kind.LABEL, plan)
    names = sorted(lab.name for lab in read if isinstance(lab, Label))
    assert names == [lab.name for lab in labels]


async def test_trello_places_lists_by_source_position(trello: ConnectorRuntime, sims: dict[str, Sim]) -> None:
    mig, board = await _new_project(trello, sims["trello"])
    assert trello.writer is not None and trello.reader is not None
    # the engine writes a page at once, so a later list may arrive first
    for pos in (2.0, 1.0):
        section = Section(source_id=f"s{pos}", version="1", project_id="p", name=f"List at {pos}", position=pos)
        await trello.writer.create(
            Kind.SECTION, section, DestRefs(project=board), make_marker(mig, Kind.SECTION, section.source_id)
        )
    read = await read_all(trello.reader, Kind.SECTION, board)
    lists = sorted((s for s in read if isinstance(s, Section)), key=lambda s: s.position)
    ordered = [s.name for s in lists]
    assert ordered == ["List at 1.0", "List at 2.0"]


async def test_planner_reader_strips_the_marker_footer(outcomes: Outcomes) -> None:
    out = await outcomes.get(("asana", "planner"))
    texts = [t.description for t in out.dest.tasks.values()]
    texts += [c.text for c in out.dest.comments.values()]
    with_marker = [t[-60:] for t in texts if "[ferry:" in t]
    assert not with_marker, with_marker


class HoldFirstComment:
    """The real writer, except that the first comment create the engine starts waits until
    a later one has been written (up to 3 s): what network jitter does to a page written
    at once. Comments written one after the other are not reordered by it."""

    def __init__(self, inner: DestinationWriter) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self._started = 0
        self._later_written = asyncio.Event()

    def adapt(self, kind: Kind, record: Record) -> tuple[Record, list[Adaptation]]:
        return self.inner.adapt(kind, record)  # type: ignore[attr-defined,no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str | Written:
        if kind is not Kind.COMMENT:
            return await self.inner.create(kind, record, refs, marker)
        self._started += 1
        if self._started == 1:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._later_written.wait(), 3.0)
            return await self.inner.create(kind, record, refs, marker)
        made = await self.inner.create(kind, record, refs, marker)
        self._later_written.set()
        return made


async def test_comments_of_a_task_keep_their_order(trello: ConnectorRuntime, sims: dict[str, Sim]) -> None:
    vendor = MemoryVendor(name="src")
    seed_project(
        vendor,
        project="p-order",
        sections=1,
        labels=0,
        tasks=1,
        subtasks_every=0,
        comments_per_task=3,
        attachments_every=0,
        multi_assignee_every=0,
    )
    assert trello.writer is not None and trello.reader is not None
    mig = Migration(f"mig-order-{uuid.uuid4().hex[:6]}", "p-order", sims["trello"].dest_workspaces["trello"])
    result = await mig.run(MemoryReader(vendor), HoldFirstComment(trello.writer))
    assert result.count_suffix("created").get("comment.created") == 3, result.counts
    read = await read_all(trello.reader, Kind.COMMENT, mig.dest_project())
    bodies = [c.text.rsplit("\n", 1)[-1] for c in read if isinstance(c, Comment)]
    assert bodies == ["Comment 0 💬", "Comment 1 💬", "Comment 2 💬"]


async def test_planner_orders_buckets_written_at_once(planner: ConnectorRuntime, sims: dict[str, Sim]) -> None:
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None and planner.reader is not None
    sections = [
        Section(source_id=f"s{i}", version="1", project_id="p", name=f"Bucket {i}", position=float(i)) for i in range(3)
    ]
    with HoldWrites(
        _planner_http(planner), read=r"/plans/[^/]+/buckets$", write=r"/planner/buckets$", reads=len(sections)
    ):
        await asyncio.gather(
            *(
                planner.writer.create(
                    Kind.SECTION, sec, DestRefs(project=plan), make_marker(mig, Kind.SECTION, sec.source_id)
                )
                for sec in sections
            )
        )
    read = [s for s in await read_all(planner.reader, Kind.SECTION, plan) if isinstance(s, Section)]
    positions = [s.position for s in sorted(read, key=lambda s: s.name)]
    assert all(a < b for a, b in itertools.pairwise(positions)), positions


#: the route of the write that moves a task in a delta (its update), per destination
MOVE_ROUTE = {"asana": ("PUT", "/tasks/[^/]+$"), "planner": ("PATCH", "/planner/tasks/[^/]+$")}


@pytest.mark.parametrize("fault", [None, "status", "apply_then_drop"])
@pytest.mark.parametrize("dest", ["asana", "planner"])
async def test_a_task_a_later_run_moves_lands_at_its_source_position(
    sims: dict[str, Sim], dest: str, fault: str | None
) -> None:
    """A first run writes 14 tasks into two sections; the source then moves three of them
    into the other section (as a Jira issue or Azure DevOps work item whose status changes),
    one of them after a task of the previous page. A later run, with a fresh writer as every
    delta has, places each where the source has it; a fault at its first move (refused:
    the item fails and a retry run moves it; applied with the answer lost) changes nothing."""
    vendor = MemoryVendor(name="src")
    project = f"p-move-{uuid.uuid4().hex[:6]}"
    seed_project(
        vendor,
        project=project,
        sections=2,
        labels=0,
        tasks=14,
        subtasks_every=0,
        comments_per_task=0,
        attachments_every=0,
        multi_assignee_every=0,
    )
    sim = sims[dest]
    mig = Migration(f"mv{uuid.uuid4().hex[:6]}x-move", project, sim.dest_workspaces[dest])
    first = await sim.runtime()
    try:
        assert first.writer is not None
        assert (await mig.run(MemoryReader(vendor), first.writer)).status is RunStatus.SUCCEEDED
    finally:
        await first.aclose()
    s0, s1 = f"{project}-s0", f"{project}-s1"
    for n, section in ((1, s0), (7, s0), (10, s1)):  # t10: its new predecessor t9 is on page 1
        vendor.edit(Kind.TASK, f"{project}-t{n}", section_id=section)
    later = await sim.runtime()
    try:
        assert later.writer is not None and later.reader is not None
        async with httpx.AsyncClient(base_url=f"{sim.base}/_sim") as controls:
            if fault is not None:
                method, path = MOVE_ROUTE[dest]
                plan = {"kind": fault, "status": 400, "method": method, "path": path, "nth": 1, "count": 1}
                (await controls.post("/faults", json={"faults": [plan]})).raise_for_status()
            delta = await mig.run(MemoryReader(vendor), later.writer, mode="delta", chunk_backoff_s=0.05)
            if fault is not None:
                assert (await controls.get("/faults")).json().get("injected"), "the fault never fired"
                (await controls.post("/faults", json={"faults": []})).raise_for_status()
        if delta.status is RunStatus.PARTIALLY_SUCCEEDED:
            assert fault == "status", delta.counts
            retry = await mig.run(MemoryReader(vendor), later.writer, mode="retry_failed", chunk_backoff_s=0.05)
            assert retry.status is RunStatus.SUCCEEDED, retry.counts
        else:
            assert delta.status is RunStatus.SUCCEEDED, (delta.reason, delta.counts)
        read = [t for t in await read_all(later.reader, Kind.TASK, mig.dest_project()) if isinstance(t, Task)]
    finally:
        await later.aclose()
    entries = mig.done_entries()
    source_of = {e.dest_id: sid for (kind, sid), e in entries.items() if kind is Kind.TASK}
    section_of = {e.dest_id: sid for (kind, sid), e in entries.items() if kind is Kind.SECTION}
    landed: dict[str, list[str]] = {}
    for task in sorted(read, key=lambda t: t.position):
        if task.parent_id:  # Asana: checklist items as subtasks
            continue
        landed.setdefault(section_of[task.section_id or ""], []).append(source_of[task.source_id])
    want: dict[str, list[str]] = {}
    for task in sorted(vendor.items[Kind.TASK].values(), key=lambda t: t.position):
        assert isinstance(task, Task) and task.section_id
        want.setdefault(task.section_id, []).append(task.source_id)
    assert landed == want


class HoldListing:
    """A look-up answered by the vendor before a bucket create but seen by the writer after
    it: the first bucket create waits until the ``nth`` bucket listing is answered, and that
    answer reaches its caller once ``release`` is set (each wait at most 3 s)."""

    def __init__(self, client: httpx.AsyncClient, nth: int, release: asyncio.Event) -> None:
        self.client, self.nth, self.release = client, nth, release
        self.listings = 0
        self._listed = asyncio.Event()

    async def _request(self, request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/planner/buckets"):
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._listed.wait(), 3.0)

    async def _response(self, response: httpx.Response) -> None:
        request = response.request
        if request.method == "GET" and re.search(r"/plans/[^/]+/buckets$", request.url.path):
            self.listings += 1
            if self.listings == self.nth:
                self._listed.set()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.release.wait(), 3.0)

    def __enter__(self) -> Self:
        self.client.event_hooks["request"].append(self._request)
        self.client.event_hooks["response"].append(self._response)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.event_hooks["request"].remove(self._request)
        self.client.event_hooks["response"].remove(self._response)


async def test_planner_places_a_bucket_whose_look_up_answered_after_another_create(
    planner: ConnectorRuntime, sims: dict[str, Sim]
) -> None:
    """The engine looks every bucket of a page up by name at once, then creates the missing
    ones: a look-up answered after an earlier bucket's create must not hide that bucket
    from the next one's placement."""
    mig, plan = await _new_project(planner, sims["planner"])
    assert planner.writer is not None and planner.reader is not None
    sections = [
        Section(source_id=f"s{i}", version="1", project_id="p", name=f"Bucket {i}", position=float(i)) for i in range(2)
    ]
    refs = DestRefs(project=plan)

    async def look_up(sec: Section) -> str:
        assert planner.writer is not None
        marker = make_marker(mig, Kind.SECTION, sec.source_id)
        assert await planner.writer.find_by_marker(Kind.SECTION, marker, sec, refs) is None
        return marker

    async def later_bucket() -> None:  # looked up first, created first
        assert planner.writer is not None
        marker = await look_up(sections[1])
        looked_up.set()
        await planner.writer.create(Kind.SECTION, sections[1], refs, marker)  # waits for the 2nd look-up
        made.set()

    async def earlier_bucket() -> None:  # its look-up is answered before, seen after that create
        assert planner.writer is not None
        await looked_up.wait()
        marker = await look_up(sections[0])
        await made.wait()
        await planner.writer.create(Kind.SECTION, sections[0], refs, marker)

    looked_up, made = asyncio.Event(), asyncio.Event()
    with HoldListing(_planner_http(planner), nth=2, release=made):
        await asyncio.gather(later_bucket(), earlier_bucket())
    read = [s for s in await read_all(planner.reader, Kind.SECTION, plan) if isinstance(s, Section)]
    positions = [s.position for s in sorted(read, key=lambda s: s.name)]
    assert all(a < b for a, b in itertools.pairwise(positions)), positions
