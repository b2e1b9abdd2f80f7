"""Planner connector: the conformance suite and Planner specifics, against the simulator.

Every Graph exchange on a Planner path (request and response) is validated against
Planner.yml by an httpx hook on the connector's own client.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.planner import (
    GRAPH_RATE_LIMIT,
    PlannerClient,
    PlannerCredentials,
    PlannerReader,
    PlannerSettings,
    PlannerWriter,
    connect,
)
from shared.connectors.planner.uploads import marker_dir as _marker_dir
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.connector import DestRefs, Sibling
from shared.contract.limits import RateLimit
from shared.contract.model import (
    Attachment,
    Comment,
    Kind,
    Label,
    Project,
    Record,
    Section,
    Task,
)
from shared.contract.pacer import Pacer
from shared.contract.text import make_marker, marker_footer
from shared.errors import AuthRequiredError
from shared.net.http import build_client
from simulators.common import FakeClock as SimFakeClock
from simulators.common import make_blob, serve
from simulators.planner import SeedConfig, create_app
from simulators.planner.spec_check import validate_exchange
from tests.connectors.calls import record_calls
from tests.connectors.conformance import ConnectorConformance

CFG = SeedConfig(tasks_per_plan=8, deleted_tasks_per_plan=1, plans_per_group=1)
FAST = RateLimit(requests=10_000, per_seconds=1, burst=1_000, concurrency=8, batch=GRAPH_RATE_LIMIT.batch)


async def _validate(response: httpx.Response) -> None:
    await response.aread()
    validate_exchange(response, request_too=True)


class Sim:
    """A running simulator and how to connect to it."""

    def __init__(self, app: Any, origin: str) -> None:
        self.app = app
        self.origin = origin
        self.store = app.state.planner.store

    def settings(self) -> PlannerSettings:
        return PlannerSettings(base_url=f"{self.origin}/v1.0", login_base_url=self.origin, allow_loopback=True)

    def creds(self, user: str | None = "alice", secret: str | None = None) -> PlannerCredentials:
        if user is None:
            return PlannerCredentials(self.store.tenant_id, CFG.client_id, client_secret=secret or CFG.client_secret)
        return PlannerCredentials(
            self.store.tenant_id,
            CFG.client_id,
            username=f"{user}@{CFG.tenant_domain}",
            password=secret or CFG.user_password,
        )

    def http(self) -> httpx.AsyncClient:
        return build_client(
            "planner", allow_loopback=True, base_url=f"{self.origin}/v1.0", event_hooks={"response": [_validate]}
        )

    def client(self, creds: PlannerCredentials, clock: Any = None) -> PlannerClient:
        return connect(creds, self.settings(), pacer=_pacer(clock), http=self.http(), clock=clock)

    @property
    def group_id(self) -> str:
        return next(iter(self.store.groups))

    @property
    def plan_id(self) -> str:
        return next(iter(self.store.plans))


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    app = create_app(CFG)
    with serve(app) as origin:
        yield Sim(app, origin)


def _pacer(clock: Any = None) -> Pacer:
    return Pacer(FAST, clock=clock, rng=random.Random(3))


class TestPlannerConformance(ConnectorConformance):
    @pytest.fixture
    async def reader(self, sim: Sim) -> AsyncIterator[PlannerReader]:
        reader = PlannerReader(sim.client(sim.creds()))
        yield reader
        await reader.client.aclose()

    @pytest.fixture
    def source_scope(self, sim: Sim) -> str:
        return sim.plan_id

    @pytest.fixture
    async def writer(self, sim: Sim) -> AsyncIterator[PlannerWriter]:
        writer = PlannerWriter(sim.client(sim.creds("bob")))
        yield writer
        await writer.client.aclose()

    @pytest.fixture
    def dest_workspace(self, sim: Sim) -> str:
        return sim.group_id

    @pytest.fixture
    def read_back(self, reader: PlannerReader):
        async def get(kind: Kind, dest_id: str) -> Record | None:
            raw = await reader.client.get_json(f"/planner/tasks/{dest_id}")
            records = await reader._tasks(raw["planId"], [raw])
            return records[0]

        return get


# --------------------------------------------------------------------------- reading


async def test_reads_seeded_plan_faithfully(sim: Sim) -> None:
    reader = PlannerReader(sim.client(sim.creds()))
    try:
        plan = sim.plan_id
        labels = (await reader.read(Kind.LABEL, plan, None, 100)).records
        assert [lab.name for lab in labels if isinstance(lab, Label)][:2] == ["Urgent 🔥", "Design"] and len(
            labels
        ) == 7
        tasks = [t for t in (await reader.read(Kind.TASK, plan, None, 100)).records if isinstance(t, Task)]
        assert len(tasks) == CFG.tasks_per_plan
        assert max(len(t.name) for t in tasks) == 255
        assert any(sum(len(c.items) for c in t.checklists) == 20 for t in tasks)
        assert any(t.completed and t.completed_at for t in tasks)
        assigned = [a for t in tasks for a in t.assignees]
        assert assigned and all(a.email and a.email.endswith(CFG.tenant_domain) for a in assigned)
        comments = [c for c in (await reader.read(Kind.COMMENT, plan, None, 500)).records if isinstance(c, Comment)]
        assert comments and all(c.author and c.author.email for c in comments)
        atts = [a for a in (await reader.read(Kind.ATTACHMENT, plan, None, 500)).records if isinstance(a, Attachment)]
        files = [a for a in atts if not a.is_link]
        assert files and any(a.is_link for a in atts)
        seeded = {i.size: i for i in sim.store.drive_items.values()}
        file = files[0]
        digest = hashlib.sha256()
        async for part in reader.open_attachment(file):
            digest.update(part)
        blob_seed = seeded[file.size].content.seed  # type: ignore[union-attr]
        assert digest.hexdigest() == make_blob(file.size or 0, blob_seed).sha256()
    finally:
        await reader.client.aclose()


async def test_refused_credentials_raise_auth_required(sim: Sim) -> None:
    for creds in (sim.creds(secret="wrong"), sim.creds("mfa.required"), sim.creds(None, secret="wrong")):
        reader = PlannerReader(sim.client(creds))
        with pytest.raises(AuthRequiredError):
            await reader.whoami()
        await reader.client.aclose()


async def test_app_only_lists_groups_and_plans(sim: Sim) -> None:
    reader = PlannerReader(sim.client(sim.creds(None)))
    containers = await reader.list_containers()
    assert {c.id for c in containers} >= {sim.group_id, sim.plan_id}
    assert (await reader.whoami()).source_id == f"app:{CFG.client_id}"
    await reader.client.aclose()


class _LinkedClock(EngineClock):
    """Engine clock whose sleeps also move the simulator's clock (no real waiting)."""

    def __init__(self, sim_clock: SimFakeClock) -> None:
        super().__init__()
        self.sim_clock = sim_clock

    async def sleep(self, seconds: float) -> None:
        self.sim_clock.advance(max(0.0, seconds))
        await super().sleep(seconds)


async def test_throttling_and_token_expiry_are_handled() -> None:
    sim_clock = SimFakeClock()
    app = create_app(CFG, clock=sim_clock, app_limit=(4, 3.0), page_size=2)
    with serve(app) as origin:
        sim = Sim(app, origin)
        clock = _LinkedClock(sim_clock)
        reader = PlannerReader(sim.client(sim.creds(), clock))
        first = await reader.read(Kind.SECTION, sim.plan_id, None, 2)
        sim_clock.advance(3600)  # the cached token is now expired on the server
        records = list(first.records)
        cursor = first.next_cursor
        while cursor:
            page = await reader.read(Kind.SECTION, sim.plan_id, cursor, 2)
            records += page.records
            cursor = page.next_cursor
        tasks = await reader.read(Kind.TASK, sim.plan_id, None, 100)
        assert len(records) == CFG.buckets_per_plan and len(tasks.records) == CFG.tasks_per_plan
        stats = (await reader.client.http.get(f"{origin}/_sim/stats")).json()
        assert stats["throttled"] >= 1 and reader.client.pacer.throttled >= 1
        assert stats["by_status"].get("401", 0) == 1  # one refused token, then refreshed
        assert any(s >= 1 for s in clock.sleeps)
        await reader.client.aclose()


async def test_server_errors_and_dropped_connections_are_retried() -> None:
    app = create_app(CFG)
    with serve(app) as origin:
        sim = Sim(app, origin)
        clock = EngineClock()
        reader = PlannerReader(sim.client(sim.creds(), clock))
        await reader.client.http.post(
            f"{origin}/_sim/faults",
            json={
                "faults": [
                    {
                        "kind": "status",
                        "status": 503,
                        "path": "/tasks$",
                        "count": 2,
                        "body": '{"error":{"code":"serviceNotAvailable","message":"Try again"}}',
                    },
                    {"kind": "drop", "path": "/details$", "count": 1},
                ]
            },
        )
        page = await reader.read(Kind.TASK, sim.plan_id, None, 100)
        assert len(page.records) == CFG.tasks_per_plan
        assert reader.client.pacer.retried >= 3 and len(clock.sleeps) >= 3
        stats = (await reader.client.http.get(f"{origin}/_sim/stats")).json()
        assert stats["faults_injected"] == 3
        await reader.client.aclose()


async def test_runtime_opens_from_a_connection_document(sim: Sim) -> None:
    from shared.connectors.registry import open_runtime
    from shared.connectors.settings import parse_connection

    connection = parse_connection(
        {
            "kind": "planner",
            "base_url": f"{sim.origin}/v1.0",
            "auth": {
                "type": "username_password",
                "entra_tenant_id": CFG.tenant_domain,
                "client_id": CFG.client_id,
                "username": f"zoe@{CFG.tenant_domain}",
                "password": CFG.user_password,
            },
        }
    )
    runtime = await open_runtime(connection, allow_loopback=True, pacer=_pacer())
    try:
        assert runtime.reader is not None and runtime.writer is not None
        me = await runtime.reader.whoami()
        assert me.email == f"zoe@{CFG.tenant_domain}"
        assert sim.plan_id in {c.id for c in await runtime.writer.list_containers()}
    finally:
        await runtime.aclose()


# --------------------------------------------------------------------------- writing


async def test_large_file_goes_through_an_upload_session(sim: Sim) -> None:
    writer = PlannerWriter(sim.client(sim.creds("bob")))
    reader = PlannerReader(sim.client(sim.creds("bob")))
    try:
        task_id = next(t.id for t in sim.store.tasks.values() if t.plan_id == sim.plan_id and not t.deleted)
        size = 5 * 1024 * 1024 + 12_345
        blob = make_blob(size, "big-upload")

        async def chunks() -> AsyncIterator[bytes]:
            for part in blob.iter_bytes():
                yield part

        att = Attachment(source_id="src-big", version="1", project_id="p", task_id="t", name="big file.bin", size=size)
        marker = make_marker("mig1", Kind.ATTACHMENT, "src-big")
        refs = DestRefs(project=sim.plan_id, task=task_id)
        dest = await writer.upload_attachment(att, refs, marker, chunks())
        assert await writer.find_by_marker(Kind.ATTACHMENT, marker, att, refs) == dest
        mine = [
            a
            for a in (await reader.read(Kind.ATTACHMENT, sim.plan_id, None, 500)).records
            if isinstance(a, Attachment) and a.name == "big file.bin"
        ]
        assert mine and mine[0].size == size
        digest = hashlib.sha256()
        async for part in reader.open_attachment(mine[0]):
            digest.update(part)
        assert digest.hexdigest() == blob.sha256()
        await writer.delete(Kind.ATTACHMENT, dest)
        assert await writer.find_by_marker(Kind.ATTACHMENT, marker, att, refs) is None
    finally:
        await writer.client.aclose()
        await reader.client.aclose()


async def test_file_names_are_made_sharepoint_safe(sim: Sim) -> None:
    writer = PlannerWriter(sim.client(sim.creds("bob")))
    try:
        task_id = next(t.id for t in sim.store.tasks.values() if t.plan_id == sim.plan_id and not t.deleted)
        att = Attachment(source_id="src-odd", version="1", project_id="p", task_id="t", name="notes: v2?*.txt ", size=3)

        async def body() -> AsyncIterator[bytes]:
            yield b"abc"

        marker = make_marker("mig3", Kind.ATTACHMENT, "src-odd")
        refs = DestRefs(project=sim.plan_id, task=task_id)
        await writer.upload_attachment(att, refs, marker, body())
        names = [i.name for i in sim.store.drive_items.values() if _marker_dir(marker) in i.path]
        assert names == ["notes_ v2__.txt"]
    finally:
        await writer.client.aclose()


async def test_task_round_trip_keeps_planner_fields(sim: Sim) -> None:
    writer = PlannerWriter(sim.client(sim.creds("bob")))
    reader = PlannerReader(sim.client(sim.creds("bob")))
    try:
        source = next(
            t
            for t in (await reader.read(Kind.TASK, sim.plan_id, None, 100)).records
            if isinstance(t, Task) and sum(len(c.items) for c in t.checklists) == 20
        )
        labels = (await reader.read(Kind.LABEL, sim.plan_id, None, 100)).records
        refs = DestRefs(
            project=sim.plan_id,
            section=source.section_id,
            labels={lab.source_id: f"{sim.plan_id}|{lab.source_id.split(':')[1]}" for lab in labels},
        )
        marker = make_marker("mig2", Kind.TASK, source.source_id)
        dest = await writer.create(Kind.TASK, source, refs, marker)
        assert await writer.find_by_marker(Kind.TASK, marker, source, refs) == dest
        raw = await reader.client.get_json(f"/planner/tasks/{dest}")
        copy = (await reader._tasks(sim.plan_id, [raw]))[0]
        assert isinstance(copy, Task)
        assert copy.name == source.name and copy.completed == source.completed
        assert {a.email for a in copy.assignees} == {a.email for a in source.assignees}
        assert [lab.name for lab in copy.labels] == [lab.name for lab in source.labels]
        assert [i.name for i in copy.checklists[0].items] == [i.name for i in source.checklists[0].items]
        assert copy.description.startswith(source.description)
        assert copy.due_at == source.due_at
        # a concurrent edit: the first PATCH of the task meets a stale etag (412) and is redone
        await writer.client.http.post(
            f"{sim.origin}/_sim/faults",
            json={
                "faults": [
                    {
                        "kind": "status",
                        "status": 412,
                        "method": "PATCH",
                        "path": f"/tasks/{dest}$",
                        "count": 1,
                        "body": '{"error":{"code":"PreconditionFailed","message":"stale"}}',
                    }
                ]
            },
        )
        await writer.update(Kind.TASK, dest, source.model_copy(update={"checklists": ()}), refs, marker)
        assert (await writer.client.http.get(f"{sim.origin}/_sim/faults")).json()["faults"] == []
        again = (await reader._tasks(sim.plan_id, [await reader.client.get_json(f"/planner/tasks/{dest}")]))[0]
        assert isinstance(again, Task) and again.checklists == ()
    finally:
        await writer.client.aclose()
        await reader.client.aclose()


async def test_items_written_at_once_keep_source_order_and_own_categories(sim: Sim) -> None:
    """The engine writes a page at once: buckets and tasks arriving in any order are placed
    by source position, labels get distinct categories (a stale etag is re-read and the
    category chosen again), comments of one task share one thread, and the reader returns
    texts without Ferry's marker footer."""
    writer = PlannerWriter(sim.client(sim.creds("bob")))
    reader = PlannerReader(sim.client(sim.creds("bob")))
    mig = "mig-order"
    try:
        plan = _dest(
            await writer.create(
                Kind.PROJECT,
                Project(source_id="p", version="1", name="Placed at once"),
                DestRefs(workspace=sim.group_id),
                make_marker(mig, Kind.PROJECT, "p"),
            )
        )
        refs = DestRefs(project=plan)
        sections = [
            Section(source_id=f"s{i}", version="1", project_id="p", name=f"B{i}", position=float(i))
            for i in (2, 0, 3, 1)
        ]
        buckets = [
            _dest(b)
            for b in await asyncio.gather(
                *(writer.create(Kind.SECTION, s, refs, make_marker(mig, Kind.SECTION, s.source_id)) for s in sections)
            )
        ]
        await writer.client.http.post(
            f"{sim.origin}/_sim/faults",
            json={
                "faults": [
                    {
                        "kind": "status",
                        "status": 412,
                        "method": "PATCH",
                        "path": "/details$",
                        "count": 1,
                        "body": '{"error":{"code":"PreconditionFailed","message":"stale"}}',
                    }
                ]
            },
        )
        labels = [Label(source_id=f"l{i}", version="1", project_id="p", name=f"Label {i}") for i in range(4)]
        await asyncio.gather(
            *(writer.create(Kind.LABEL, lab, refs, make_marker(mig, Kind.LABEL, lab.source_id)) for lab in labels)
        )
        bucket = buckets[1]  # "B0"
        tasks = [
            Task(
                source_id=f"t{i}",
                version="1",
                project_id="p",
                section_id="s0",
                name=f"T{i}",
                description=f"About {i}",
                position=float(i),
            )
            for i in (3, 0, 4, 1, 2)
        ]
        made = [
            _dest(t)
            for t in await asyncio.gather(
                *(
                    writer.create(
                        Kind.TASK, t, DestRefs(project=plan, section=bucket), make_marker(mig, Kind.TASK, t.source_id)
                    )
                    for t in tasks
                )
            )
        ]
        comments = [
            Comment(source_id=f"c{i}", version="1", project_id="p", task_id="t0", text=f"Note {i}\n\nsecond paragraph")
            for i in range(3)
        ]
        await asyncio.gather(
            *(
                writer.create(
                    Kind.COMMENT, c, DestRefs(project=plan, task=made[1]), make_marker(mig, Kind.COMMENT, c.source_id)
                )
                for c in comments
            )
        )

        read_sections = [
            r for r in (await reader.read(Kind.SECTION, plan, None, 100)).records if isinstance(r, Section)
        ]
        assert [r.name for r in sorted(read_sections, key=lambda r: r.position)] == ["B0", "B1", "B2", "B3"]
        read_labels = (await reader.read(Kind.LABEL, plan, None, 100)).records
        assert sorted(r.name for r in read_labels if isinstance(r, Label)) == [lab.name for lab in labels]
        read_tasks = [r for r in (await reader.read(Kind.TASK, plan, None, 100)).records if isinstance(r, Task)]
        ordered = sorted(read_tasks, key=lambda r: r.position)
        assert [r.name for r in ordered] == ["T0", "T1", "T2", "T3", "T4"]
        assert len({r.position for r in read_tasks}) == 5
        assert [r.description for r in ordered] == [f"About {i}" for i in range(5)]
        read_comments = [
            r for r in (await reader.read(Kind.COMMENT, plan, None, 100)).records if isinstance(r, Comment)
        ]
        assert sorted(r.text for r in read_comments) == sorted(c.text for c in comments)
    finally:
        await writer.client.aclose()
        await reader.client.aclose()


# --------------------------------------------------------------------------- pure mapping


def test_mapping_helpers() -> None:
    from datetime import date

    from shared.connectors.planner.api_types import PlannerTask
    from shared.connectors.planner.mapping import (
        decode_reference_key,
        encode_reference_key,
        hint_position,
        html_to_text,
        planner_datetime,
        priority_name,
        task_fields,
        text_to_html,
    )

    hints = ["!", "8!", "8!!", "O", "OO", "a", "z~"]
    assert [hint_position(h) for h in hints] == sorted(hint_position(h) for h in hints)
    url = "https://contoso.sharepoint.com/a b/x.pdf?q=1#frag@x%20"
    key = encode_reference_key(url)
    assert not set(".:@#") & set(key) and decode_reference_key(key) == url
    assert html_to_text("<div>Hello<br>wörld &amp; <b>you</b></div><p>next</p>") == "Hello\nwörld & you\nnext"
    text = 'Ann, 2026-01-02:\n\nLine <1> & "2"\n\n\n  indented\n\n[ferry:m:comment:c1]'
    assert html_to_text(text_to_html(text)) == text  # blank lines survive both ways
    assert html_to_text("<div>a<br><br>b</div>") == "a\n\nb"
    assert planner_datetime(date(2026, 3, 1), None) == "2026-03-01T12:00:00Z"
    assert [priority_name(p) for p in (0, 1, 3, 5, 9)] == ["Urgent", "Urgent", "Important", "Medium", "Low"]
    existing = PlannerTask.model_validate(
        {
            "id": "t",
            "@odata.etag": 'W/"1"',
            "planId": "p",
            "title": "x",
            "appliedCategories": {"category1": True, "category2": True},
            "assignments": {"u1": {"orderHint": "a"}, "u2": {"orderHint": "b"}},
        }
    )
    record = Task(source_id="s", version="1", project_id="p", name="x", completed=True)
    body = task_fields(
        record, bucket_id=None, categories=["category2", "category3"], assignee_ids=["u2", "u3"], existing=existing
    )
    assert body["appliedCategories"] == {"category2": True, "category3": True, "category1": False}
    assert body["assignments"]["u1"] is None and "u2" not in body["assignments"]
    assert body["assignments"]["u3"]["@odata.type"] == "#microsoft.graph.plannerAssignment"
    assert body["percentComplete"] == 100 and "bucketId" not in body


def test_writer_adapt_merges_checklists_and_drops_plan_description() -> None:
    from shared.contract.model import Checklist, ChecklistItem, Project

    writer = PlannerWriter.__new__(PlannerWriter)  # adapt is pure: no client needed
    task = Task(
        source_id="s",
        version="1",
        project_id="p",
        name="x",
        checklists=(
            Checklist(name="A", items=(ChecklistItem(source_id="1", name="one"),)),
            Checklist(name="B", items=(ChecklistItem(source_id="2", name="two", checked=True),)),
        ),
    )
    adapted, notes = writer.adapt(Kind.TASK, task)
    assert isinstance(adapted, Task) and len(adapted.checklists) == 1
    assert [(i.name, i.checked) for i in adapted.checklists[0].items] == [("A: one", False), ("B: two", True)]
    assert [n.code for n in notes] == ["task.checklists_merged"]
    project, notes = writer.adapt(Kind.PROJECT, Project(source_id="p", version="1", name="P", description="gone"))
    assert isinstance(project, Project) and project.description == ""
    assert notes[0].loss


# --------------------------------------------------------------------------- parts and labels


def _dest(value: object) -> str:
    from shared.contract.connector import Written

    assert isinstance(value, (str, Written))
    return value if isinstance(value, str) else value.dest_id


async def test_an_anchor_deleted_at_the_destination_is_read_for_once(sim: Sim) -> None:
    """The engine names a sibling the id map places in the bucket, which someone deleted in
    Planner: the writer reads the plan's tasks once to look for it, not once per task placed
    by it, and places the tasks by the anchors that are there."""
    writer = PlannerWriter(sim.client(sim.creds("bob")))
    mig = "mig-gone"
    plan = _dest(
        await writer.create(
            Kind.PROJECT,
            Project(source_id="p", version="1", name="Anchor gone"),
            DestRefs(workspace=sim.group_id),
            make_marker(mig, Kind.PROJECT, "p"),
        )
    )
    bucket = _dest(
        await writer.create(
            Kind.SECTION,
            Section(source_id="s0", version="1", project_id="p", name="B0", position=0.0),
            DestRefs(project=plan),
            make_marker(mig, Kind.SECTION, "s0"),
        )
    )
    refs = DestRefs(project=plan, section=bucket)

    def task(n: float) -> Task:
        return Task(source_id=f"t{n}", version="1", project_id="p", section_id="s0", name=f"T{n}", position=n)

    made = {
        n: _dest(await writer.create(Kind.TASK, task(n), refs, make_marker(mig, Kind.TASK, f"t{n}"))) for n in (0, 2, 4)
    }
    await writer.delete(Kind.TASK, made[2])
    await writer.client.aclose()
    later = PlannerWriter(sim.client(sim.creds("bob")))  # a delta's writer
    reads = record_calls(later.client, "get_all")
    anchors = {"after": Sibling(dest_id=made[2], position=2.0), "before": Sibling(dest_id=made[4], position=4.0)}
    try:
        for n in (3.0, 2.5, 3.5):
            await later.create(
                Kind.TASK, task(n), refs.model_copy(update=anchors), make_marker(mig, Kind.TASK, f"t{n}")
            )
    finally:
        await later.client.aclose()
    assert reads.count(f"/planner/plans/{plan}/tasks") == 1, reads
    live = [t for t in sim.store.tasks.values() if t.plan_id == plan and t.bucket_id == bucket and not t.deleted]
    assert [t.title for t in sorted(live, key=lambda t: t.order_hint)] == ["T0", "T2.5", "T3.0", "T3.5", "T4"]


async def test_update_finishes_a_task_whose_create_lost_its_answer_or_a_part(sim: Sim) -> None:
    """The marker of a Planner task lives in its details, written after the task: a create
    whose answer was lost (apply-then-status on POST /planner/tasks) or whose details write
    failed leaves a task without it. find_by_marker claims that task (created by this
    credential, same title and bucket, nothing in its details) and update finishes it:
    bucket, categories, description with footer and every checklist item, each once."""
    from shared.contract.model import Checklist, ChecklistItem, LabelRef
    from shared.errors import SkippableItemError, TransientError

    writer = PlannerWriter(sim.client(sim.creds("bob")))
    mig = "mig-parts"
    try:
        plan = _dest(
            await writer.create(
                Kind.PROJECT,
                Project(source_id="p", version="1", name="Parts"),
                DestRefs(workspace=sim.group_id),
                make_marker(mig, Kind.PROJECT, "p"),
            )
        )
        bucket = _dest(
            await writer.create(
                Kind.SECTION,
                Section(source_id="s", version="1", project_id="p", name="B"),
                DestRefs(project=plan),
                make_marker(mig, Kind.SECTION, "s"),
            )
        )
        label = _dest(
            await writer.create(
                Kind.LABEL,
                Label(source_id="l", version="1", project_id="p", name="bug", color="red"),
                DestRefs(project=plan),
                make_marker(mig, Kind.LABEL, "l"),
            )
        )
        refs = DestRefs(project=plan, section=bucket, labels={"l": label})
        body = '{"error":{"code":"%s","message":"simulated"}}'
        cases = (
            (
                "lost-answer",
                {
                    "kind": "apply_then_status",
                    "status": 502,
                    "method": "POST",
                    "path": "/planner/tasks$",
                    "body": body % "BadGateway",
                },
            ),
            (
                "details-refused",
                {
                    "kind": "status",
                    "status": 409,
                    "method": "PATCH",
                    "path": "/planner/tasks/*/details$",
                    "count": 3,
                    "body": body % "Conflict",
                },
            ),
        )
        for name, fault in cases:
            task = Task(
                source_id=name,
                version="1",
                project_id="p",
                section_id="s",
                name=name,
                description="About it",
                labels=(LabelRef(source_id="l", name="bug"),),
                checklists=(
                    Checklist(
                        name="",
                        items=tuple(
                            ChecklistItem(source_id=f"i{n}", name=f"item {n}", checked=n == 1) for n in range(3)
                        ),
                    ),
                ),
            )
            marker = make_marker(mig, Kind.TASK, name)
            await writer.client.http.post(f"{sim.origin}/_sim/faults", json={"faults": [fault]})
            with pytest.raises(TransientError if name == "lost-answer" else SkippableItemError):
                await writer.create(Kind.TASK, task, refs, marker)
            await writer.client.http.post(f"{sim.origin}/_sim/faults", json={})
            found = await writer.find_by_marker(Kind.TASK, marker, task, refs)
            assert found is not None, name
            for _ in range(2):  # a second update changes nothing
                await writer.update(Kind.TASK, found, task, refs, marker)
                same = [t for t in sim.store.live_tasks(plan_id=plan) if t.title == name]
                assert [t.id for t in same] == [found], name
                stored = same[0]
                assert stored.bucket_id == bucket, name
                assert {k for k, v in stored.applied_categories.items() if v} == {label.partition("|")[2]}, name
                assert stored.description == "About it" + marker_footer(marker), name
                items = sorted(stored.checklist.values(), key=lambda i: i.order_hint)
                assert [(i.title, i.is_checked) for i in items] == [(f"item {n}", n == 1) for n in range(3)], name
        # a marker nobody wrote does not claim an unrelated task of another title
        assert (
            await writer.find_by_marker(
                Kind.TASK,
                make_marker(mig, Kind.TASK, "x"),
                Task(source_id="x", version="1", project_id="p", name="nobody"),
                refs,
            )
            is None
        )
    finally:
        await writer.client.http.post(f"{sim.origin}/_sim/faults", json={})
        await writer.client.aclose()


async def test_labels_keep_their_identity_in_categories(sim: Sim) -> None:
    """Two labels "bug" (red, orange) get two categories (each of its colour) and each is
    found as its own; a colour-only label is named after its colour and reported; with all
    25 categories used, a label whose name has a category is merged into it (reported,
    and reported on a task carrying both), another one fails."""
    from shared.contract.model import LabelRef
    from shared.errors import SkippableItemError

    writer = PlannerWriter(sim.client(sim.creds("bob")))
    mig = "mig-labels"
    try:
        plan = _dest(
            await writer.create(
                Kind.PROJECT,
                Project(source_id="p", version="1", name="Labels"),
                DestRefs(workspace=sim.group_id),
                make_marker(mig, Kind.PROJECT, "p"),
            )
        )
        refs = DestRefs(project=plan)

        def label(n: int, name: str, color: str | None) -> Label:
            adapted, notes = writer.adapt(
                Kind.LABEL, Label(source_id=f"l{n}", version="1", project_id="p", name=name, color=color)
            )
            assert [a.code for a in notes] == ([] if name else ["label.renamed_empty"])
            assert isinstance(adapted, Label)
            return adapted

        red, orange, green = label(0, "bug", "red"), label(1, "bug", "orange"), label(2, "", "green")
        assert green.name == "green"
        ids = {}
        for lab in (red, orange, green):
            assert await writer.find_by_marker(Kind.LABEL, "m", lab, refs) is None
            ids[lab.source_id] = _dest(await writer.create(Kind.LABEL, lab, refs, "m"))
        assert len(set(ids.values())) == 3
        assert ids["l0"].endswith("|category2") and ids["l1"].endswith("|category14")
        for lab in (red, orange, green):
            assert await writer.find_by_marker(Kind.LABEL, "m", lab, refs) == ids[lab.source_id]
        for n in range(3, 25):  # fill every category
            await writer.create(Kind.LABEL, label(n, f"L{n}", None), refs, "m")
        merged = await writer.create(Kind.LABEL, label(99, "bug", "purple"), refs, "m")
        assert not isinstance(merged, str)
        assert merged.dest_id == ids["l0"] and [a.code for a in merged.notes] == ["label.merged"]
        with pytest.raises(SkippableItemError):
            await writer.create(Kind.LABEL, label(98, "fresh", None), refs, "m")
        task = Task(
            source_id="t",
            version="1",
            project_id="p",
            name="Both bugs",
            labels=(LabelRef(source_id="l0", name="bug"), LabelRef(source_id="l99", name="bug")),
        )
        written = await writer.create(
            Kind.TASK,
            task,
            refs.model_copy(update={"labels": {"l0": ids["l0"], "l99": merged.dest_id}}),
            make_marker(mig, Kind.TASK, "t"),
        )
        assert not isinstance(written, str)
        assert [a.code for a in written.notes] == ["task.labels_merged"]
    finally:
        await writer.client.aclose()


async def test_a_comment_thread_whose_link_to_the_task_failed_is_found_and_linked(sim: Sim) -> None:
    """The first comment of a task makes a group thread, then the task's
    conversationThreadId is set. When that second write fails, the comment is found again
    in the thread by its marker, update links the thread to the task, and the next comment
    goes into the same thread: one thread, each comment once."""
    from shared.errors import SkippableItemError

    writer = PlannerWriter(sim.client(sim.creds("bob")))
    mig = "mig-thread"
    try:
        plan = _dest(
            await writer.create(
                Kind.PROJECT,
                Project(source_id="p", version="1", name="Thread"),
                DestRefs(workspace=sim.group_id),
                make_marker(mig, Kind.PROJECT, "p"),
            )
        )
        task = _dest(
            await writer.create(
                Kind.TASK,
                Task(source_id="t", version="1", project_id="p", name="Talked about"),
                DestRefs(project=plan),
                make_marker(mig, Kind.TASK, "t"),
            )
        )
        refs = DestRefs(project=plan, task=task)
        first = Comment(source_id="c1", version="1", project_id="p", task_id="t", text="One")
        marker = make_marker(mig, Kind.COMMENT, "c1")
        await writer.client.http.post(
            f"{sim.origin}/_sim/faults",
            json={
                "faults": [
                    {
                        "kind": "status",
                        "status": 409,
                        "method": "PATCH",
                        "path": f"/tasks/{task}$",
                        "count": 3,
                        "body": '{"error":{"code":"Conflict","message":"simulated"}}',
                    }
                ]
            },
        )
        with pytest.raises(SkippableItemError):
            await writer.create(Kind.COMMENT, first, refs, marker)
        await writer.client.http.post(f"{sim.origin}/_sim/faults", json={})
        found = await writer.find_by_marker(Kind.COMMENT, marker, first, refs)
        assert found is not None
        await writer.update(Kind.COMMENT, found, first, refs, marker)
        second = Comment(source_id="c2", version="1", project_id="p", task_id="t", text="Two")
        again = _dest(await writer.create(Kind.COMMENT, second, refs, make_marker(mig, Kind.COMMENT, "c2")))
        thread = found.split("|")[1]
        assert again.split("|")[1] == thread
        linked = await writer.client.get_json(f"/planner/tasks/{task}")
        assert linked["conversationThreadId"] == thread
        topics = [
            t
            for t in await writer.client.get_all(f"/groups/{sim.group_id}/threads")
            if t.get("topic") == 'Comments on task "Talked about"'
        ]
        assert len(topics) == 1
        posts = await writer.client.get_all(f"/groups/{sim.group_id}/threads/{thread}/posts")
        assert len(posts) == 2
    finally:
        await writer.client.http.post(f"{sim.origin}/_sim/faults", json={})
        await writer.client.aclose()


async def test_flattened_subtask_names_its_parent_and_headers_do_not_stack(sim: Sim) -> None:
    from datetime import UTC, datetime

    from shared.contract.model import UserRef
    from shared.engine.adapt import adapt

    writer = PlannerWriter(sim.client(sim.creds("bob")))
    try:
        plan = _dest(
            await writer.create(
                Kind.PROJECT,
                Project(source_id="p", version="1", name="Flattened"),
                DestRefs(workspace=sim.group_id),
                make_marker("f", Kind.PROJECT, "p"),
            )
        )
        refs = DestRefs(project=plan)
        parent = _dest(
            await writer.create(
                Kind.TASK,
                Task(source_id="parent", version="1", project_id="p", name="Write the report"),
                refs,
                make_marker("f", Kind.TASK, "parent"),
            )
        )
        sub, _ = adapt(
            Task(source_id="sub", version="1", project_id="p", parent_id="parent", name="Find sources"),
            writer.capabilities,
            writer,
        )
        assert isinstance(sub, Task)
        marker = make_marker("f", Kind.TASK, "sub")
        made = _dest(await writer.create(Kind.TASK, sub, refs.model_copy(update={"flattened_parent": parent}), marker))
        stored = next(t for t in sim.store.live_tasks(plan_id=plan) if t.id == made)
        assert stored.description == 'Originally a subtask of "Write the report".' + marker_footer(marker)
        hop1 = "Ada wrote on 2025-05-01 09:30 UTC:\n\nLooks good"
        again = Comment(
            source_id="c",
            version="1",
            project_id="p",
            task_id="sub",
            text=hop1,
            author=UserRef(display_name="Bob"),
            created_at=datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
        )
        out, _ = adapt(again, writer.capabilities, writer)
        assert isinstance(out, Comment) and out.text == hop1
    finally:
        await writer.client.aclose()


async def test_a_cursor_this_reader_did_not_write_is_invalid(sim: Sim) -> None:
    """A cursor that is not JSON, not an object, or not of the reader's shape fails the
    run with InvalidCursor (never read from an arbitrary place); the reader's own cursors
    go on."""
    from shared.connectors.kit.cursor import InvalidCursor

    reader = PlannerReader(sim.client(sim.creds()))
    try:
        for kind, bad in (
            (Kind.SECTION, "not json"),
            (Kind.TASK, "[1, 2]"),
            (Kind.TASK, '{"url": 5}'),
            (Kind.LABEL, '{"off": -1}'),
            (Kind.COMMENT, '{"tc": "{\\"skip\\": \\"x\\"}"}'),
            (Kind.ATTACHMENT, '{"elsewhere": 1}'),
        ):
            with pytest.raises(InvalidCursor):
                await reader.read(kind, sim.plan_id, bad, 2)
        first = await reader.read(Kind.LABEL, sim.plan_id, None, 2)
        assert first.next_cursor is not None
        second = await reader.read(Kind.LABEL, sim.plan_id, first.next_cursor, 2)
        assert {r.source_id for r in first.records}.isdisjoint(r.source_id for r in second.records)
    finally:
        await reader.client.aclose()


def test_graph_403_refuses_one_object_not_the_credential() -> None:
    """Graph's 403 fails the item alone with its status (look-ups read it as "not
    visible"); everything else is the kit's default."""
    from shared.connectors.kit.errors import status_of
    from shared.connectors.planner.client import PLANNER_ERRORS
    from shared.errors import (
        AuthRequiredError,
        NotFoundError,
        SkippableItemError,
        ThrottledError,
    )

    def answer(status: int) -> httpx.Response:
        return httpx.Response(
            status,
            json={"error": {"code": "x", "message": "y"}},
            headers={"Retry-After": "2"},
            request=httpx.Request("GET", "https://graph.microsoft.com/v1.0/x"),
        )

    refused = PLANNER_ERRORS.error_for(answer(403))
    assert type(refused) is SkippableItemError and status_of(refused) == 403
    assert type(PLANNER_ERRORS.error_for(answer(401))) is AuthRequiredError
    assert type(PLANNER_ERRORS.error_for(answer(404))) is NotFoundError
    assert type(PLANNER_ERRORS.error_for(answer(429))) is ThrottledError
    stale = PLANNER_ERRORS.error_for(answer(412))
    assert type(stale) is SkippableItemError and status_of(stale) == 412
