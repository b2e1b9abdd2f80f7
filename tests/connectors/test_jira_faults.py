"""Jira connector under faults: a create whose answer is lost is found again by its marker and
finished by ``update`` (status included); a failed transition leaves an item that ``update``
completes; Jira's per-issue write limit (429 + Retry-After) is absorbed by the pacer with
no failed write."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.jira import JiraClient, JiraWriter
from shared.connectors.jira.auth import credential_for
from shared.connectors.settings import JiraConnection, parse_connection
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.connector import DestRefs, Written
from shared.contract.limits import RateLimit
from shared.contract.model import Comment, Kind, Project, Section, Task
from shared.contract.pacer import Pacer
from shared.contract.text import make_marker
from shared.errors import FerryError
from shared.net.http import build_client
from simulators.common import FakeClock as SimClock
from simulators.common import serve
from simulators.jira import DEFAULT_EMAIL, DEFAULT_TOKEN, SeedConfig, create_app

TINY = SeedConfig(
    projects=1, issues_per_project=2, subtasks_every=0, comments_per_issue=0, attachment_sizes=[], links=0
)


class LinkedClock(EngineClock):
    """The pacer's fake clock; its sleeps move the simulator's clock too, so a Retry-After
    is really waited out on the vendor's side without real time passing."""

    def __init__(self, sim_clock: SimClock) -> None:
        super().__init__()
        self.sim_clock = sim_clock

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        self.sim_clock.advance(max(0.0, seconds))


@pytest.fixture
def sim() -> Iterator[tuple[Any, str, SimClock]]:
    clock = SimClock(wall_start=1_770_000_000.0)
    app = create_app(TINY, clock=clock)
    with serve(app) as base:
        yield app, base, clock


def _writer(base: str, clock: EngineClock | None = None) -> JiraWriter:
    conn = parse_connection(
        {
            "kind": "jira",
            "site_url": "https://ferry-sim.atlassian.net",
            "base_url": base,
            "auth": {"type": "api_token", "email": DEFAULT_EMAIL, "api_token": DEFAULT_TOKEN},
        }
    )
    assert isinstance(conn, JiraConnection)
    pacer = Pacer(
        RateLimit(requests=100_000, per_seconds=60, concurrency=4), clock=clock or EngineClock(), rng=random.Random(3)
    )
    http = build_client("jira", allow_loopback=True, base_url=conn.effective_base_url())
    return JiraWriter(JiraClient(http, credential_for(conn), pacer=pacer))


async def _sim(base: str, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=base) as http:
        resp = await http.request(method, f"/_sim/{path}", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()


async def _faults(base: str, *rules: dict[str, Any]) -> None:
    await _sim(base, "POST", "faults", {"faults": list(rules)})


async def _project(writer: JiraWriter, name: str) -> tuple[str, str]:
    rec = Project(source_id=name, version="1", name=name)
    made = await writer.create(Kind.PROJECT, rec, DestRefs(), make_marker("f", Kind.PROJECT, name))
    pid = made if isinstance(made, str) else made.dest_id
    done = await writer.create(
        Kind.SECTION, Section(source_id="s", version="1", project_id=name, name="Done"), DestRefs(project=pid), "m"
    )
    assert isinstance(done, str)
    return pid, done


async def test_lost_create_answer_is_found_and_finished(sim: tuple[Any, str, SimClock]) -> None:
    app, base, _ = sim
    store = app.state.jira_store
    writer = _writer(base)
    try:
        pid, done = await _project(writer, "Lost answers")
        task = Task(source_id="t1", version="1", project_id="p", name="Shipped", description="body", completed=True)
        refs = DestRefs(project=pid, section=done)
        marker = make_marker("f", Kind.TASK, "t1")
        await _faults(base, {"kind": "apply_then_drop", "method": "POST", "path": "/rest/api/3/issue$"})
        with pytest.raises((FerryError, httpx.TransportError)):
            await writer.create(Kind.TASK, task, refs, marker)
        made = [i for i in store.issues.values() if i.project_id == pid]
        assert len(made) == 1 and made[0].status_id != done  # created, never transitioned
        found = await writer.find_by_marker(Kind.TASK, marker, task, refs)
        assert found is not None and found == made[0].id
        await writer.update(Kind.TASK, found, task, refs, marker)
        assert store.issues[found].status_id == done and store.issues[found].resolution_date
        assert len([i for i in store.issues.values() if i.project_id == pid]) == 1
    finally:
        await writer.aclose()


async def test_failed_transition_is_completed_by_update(sim: tuple[Any, str, SimClock]) -> None:
    app, base, _ = sim
    store = app.state.jira_store
    writer = _writer(base)
    try:
        pid, done = await _project(writer, "Failed transition")
        task = Task(source_id="t2", version="1", project_id="p", name="Half", completed=True)
        refs = DestRefs(project=pid, section=done)
        marker = make_marker("f", Kind.TASK, "t2")
        await _faults(
            base,
            {
                "kind": "status",
                "status": 400,
                "method": "POST",
                "path": "/issue/*/transitions",
                "body": '{"errorMessages":["nope"]}',
            },
        )
        with pytest.raises(FerryError):
            await writer.create(Kind.TASK, task, refs, marker)
        iid = await writer.find_by_marker(Kind.TASK, marker, task, refs)
        assert iid is not None and store.issues[iid].status_id != done
        result = await writer.update(Kind.TASK, iid, task, refs, marker)
        assert result is None and store.issues[iid].status_id == done
    finally:
        await writer.aclose()


async def test_lost_comment_answer_is_found_once(sim: tuple[Any, str, SimClock]) -> None:
    app, base, _ = sim
    store = app.state.jira_store
    writer = _writer(base)
    try:
        pid, _ = await _project(writer, "Lost comment")
        iid = await writer.create(
            Kind.TASK, Task(source_id="t3", version="1", project_id="p", name="c"), DestRefs(project=pid), "mt"
        )
        assert isinstance(iid, str)
        refs = DestRefs(project=pid, task=iid)
        c = Comment(source_id="c1", version="1", project_id="p", task_id="t3", text="hello")
        marker = make_marker("f", Kind.COMMENT, "c1")
        await _faults(base, {"kind": "apply_then_status", "status": 502, "method": "POST", "path": "/issue/*/comment"})
        with pytest.raises(FerryError):
            await writer.create(Kind.COMMENT, c, refs, marker)
        found = await writer.find_by_marker(Kind.COMMENT, marker, c, refs)
        assert found is not None
        assert sum(x.issue_id == iid for x in store.comments.values()) == 1
    finally:
        await writer.aclose()


async def test_per_issue_write_limit_is_paced_not_failed(sim: tuple[Any, str, SimClock]) -> None:
    app, base, sim_clock = sim
    store = app.state.jira_store
    await _sim(base, "POST", "limits", {"limiters": {"issue_write_short": {"limit": 3, "window_s": 2}}})
    writer = _writer(base, LinkedClock(sim_clock))
    try:
        pid, _ = await _project(writer, "Busy issue")
        iid = await writer.create(
            Kind.TASK, Task(source_id="t4", version="1", project_id="p", name="busy"), DestRefs(project=pid), "mt"
        )
        assert isinstance(iid, str)
        refs = DestRefs(project=pid, task=iid)
        for n in range(8):
            c = Comment(source_id=f"c{n}", version="1", project_id="p", task_id="t4", text=f"comment {n}")
            made = await writer.create(Kind.COMMENT, c, refs, make_marker("f", Kind.COMMENT, c.source_id))
            assert isinstance(made, str | Written)
        assert sum(x.issue_id == iid for x in store.comments.values()) == 8
        stats = await _sim(base, "GET", "stats")
        assert stats["throttled"] >= 1  # the limit was hit, and waited out
    finally:
        await writer.aclose()
