"""Asana connector: the conformance suite and Asana specifics, against the Asana simulator.

Every request the connector sends and every answer it gets on the vendor API is validated
against asana_oas.yaml (loaded once per session); a mismatch fails the call loudly.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.asana import AsanaClient, AsanaReader, AsanaWriter, asana_capabilities
from shared.connectors.asana.api_types import TASK_FIELDS, AsanaTask
from shared.connectors.asana.capabilities import MAX_BATCH
from shared.connectors.asana.mapping import marked_text, task_to_record
from shared.connectors.asana.writer import checklist_marker
from shared.connectors.kit.auth import bearer
from shared.connectors.kit.markers import find_marker
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.connector import DestRefs, Sibling, Written
from shared.contract.limits import RateLimit
from shared.contract.model import (
    Attachment,
    Checklist,
    ChecklistItem,
    Comment,
    Kind,
    Label,
    LabelRef,
    Project,
    Record,
    Section,
    Task,
    UserRef,
)
from shared.contract.pacer import DeferChunk, Pacer
from shared.contract.text import make_marker
from shared.errors import AuthRequiredError
from simulators.asana import DEFAULT_TOKEN, SeedConfig, create_app
from simulators.asana.spec import is_vendor_path, load_spec, validate_request, validate_response
from simulators.common import FakeClock as SimClock
from simulators.common import serve
from tests.connectors.conformance import ConnectorConformance, _chunks, digest_of

# openapi-core warns about the spec's use of allowEmptyValue (vendor spec, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

SEED = SeedConfig(
    projects=2,
    tasks_per_project=12,
    archived_projects=0,
    attachment_sizes=[2048, 300_000],
    comments_per_task=2,
    subtasks_every=3,
)


async def _spec_hook(response: httpx.Response) -> None:
    if not is_vendor_path(response.request.url.path):
        return
    await response.aread()
    try:
        response.request.content  # noqa: B018 - raises for a streamed (upload) body
    except httpx.RequestNotRead:
        pass  # a streamed multipart upload has no replayable body to validate
    else:
        validate_request(response.request)
    if response.status_code not in (429, 502, 503, 504):
        validate_response(response)


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, str]]:
    load_spec()
    app = create_app(SEED, clock=SimClock(wall_start=1_770_000_000.0))
    with serve(app) as base:
        yield app, base


def make_client(
    base: str, token: str = DEFAULT_TOKEN, *, clock: EngineClock | None = None, limit: RateLimit | None = None
) -> AsanaClient:
    pacer = Pacer(
        limit or RateLimit(requests=100_000, per_seconds=60, concurrency=15, batch=MAX_BATCH),
        clock=clock or EngineClock(),
        rng=random.Random(7),
    )
    client = AsanaClient(f"{base}/api/1.0", bearer(token, vendor="Asana"), pacer=pacer, allow_loopback=True)
    client.http.event_hooks["response"].append(_spec_hook)
    return client


async def _project_ids(client: AsanaClient) -> tuple[str, list[str]]:
    ws = (await client.get("/workspaces"))[0]["gid"]
    return ws, [p["gid"] for p in await client.get("/projects", workspace=ws)]


class TestAsanaConformance(ConnectorConformance):
    page_limit = 3

    @pytest.fixture
    async def reader(self, sim: tuple[Any, str]) -> AsyncIterator[AsanaReader]:
        r = AsanaReader(make_client(sim[1]))
        yield r
        await r.aclose()

    @pytest.fixture
    async def source_scope(self, sim: tuple[Any, str]) -> str:
        store = sim[0].state.asana_store
        return next(p.gid for p in store.projects.values() if not p.deleted and p.name.startswith("Project 1"))

    @pytest.fixture
    async def writer(self, sim: tuple[Any, str]) -> AsyncIterator[AsanaWriter]:
        w = AsanaWriter(make_client(sim[1]))
        yield w
        await w.aclose()

    @pytest.fixture
    def dest_workspace(self, sim: tuple[Any, str]) -> str:
        return next(iter(sim[0].state.asana_store.workspaces))

    @pytest.fixture
    def read_back(self, sim: tuple[Any, str]):  # type: ignore[no-untyped-def]
        async def get(kind: Kind, dest_id: str) -> Record | None:
            client = make_client(sim[1])
            try:
                raw = await client.get(f"/tasks/{dest_id}", opt_fields=TASK_FIELDS)
                return task_to_record(AsanaTask.model_validate(raw), "p", 0)
            finally:
                await client.aclose()

        return get

    def sample_records(self, run: str) -> dict[Kind, Record]:
        recs = super().sample_records(run)
        # the seeded workspace's members have @ws1.example.com addresses
        task = recs[Kind.TASK]
        assert isinstance(task, Task)
        recs[Kind.TASK] = task.model_copy(
            update={"assignees": (UserRef(email="user2@ws1.example.com", display_name="User 2"),)}
        )
        return recs


# --- Asana specifics -------------------------------------------------------------------------


@pytest.fixture
async def reader(sim: tuple[Any, str]) -> AsyncIterator[AsanaReader]:
    r = AsanaReader(make_client(sim[1]))
    yield r
    await r.aclose()


@pytest.fixture
async def writer(sim: tuple[Any, str]) -> AsyncIterator[AsanaWriter]:
    w = AsanaWriter(make_client(sim[1]))
    yield w
    await w.aclose()


async def _read_all(reader: AsanaReader, kind: Kind, scope: str, limit: int = 4) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page = await reader.read(kind, scope, cursor, limit)
        out.extend(page.records)
        if page.next_cursor is None:
            return out
        assert len(page.next_cursor) < 2048, "cursor too big for a queue message"
        cursor = page.next_cursor


async def test_reads_what_the_seed_holds(sim: tuple[Any, str], reader: AsanaReader) -> None:
    store = sim[0].state.asana_store
    _, projects = await _project_ids(reader.client)
    scope = projects[0]
    tasks = await _read_all(reader, Kind.TASK, scope)
    live = [
        t
        for t in store.tasks.values()
        if not t.deleted
        and (
            any(p == scope for p, _ in t.memberships)
            or (t.parent and store.tasks[t.parent].memberships and store.tasks[t.parent].memberships[0][0] == scope)
        )
    ]
    assert sorted(t.source_id for t in tasks) == sorted(t.gid for t in live)
    subtasks = [t for t in tasks if t.parent_id]
    assert subtasks and all(t.section_id is None for t in subtasks)
    assert any(t.due_at for t in tasks) and any(t.start_on and t.due_on for t in tasks)
    assert any(t.completed and t.completed_at for t in tasks)
    assert any(t.assignees and t.assignees[0].email for t in tasks)
    fields = {cf.name: cf.value for t in tasks for cf in t.custom_fields}
    assert fields.get("Priorité") in ("Low", "High 🔥") and str(fields["Ticket"]).startswith("T-")
    comments = await _read_all(reader, Kind.COMMENT, scope)
    want = [s for s in store.stories.values() if s.type == "comment" and s.target in {t.source_id for t in tasks}]
    assert sorted(c.source_id for c in comments) == sorted(s.gid for s in want)
    labels = await _read_all(reader, Kind.LABEL, scope)
    used = {lab.source_id for t in tasks for lab in t.labels}
    assert {lab.source_id for lab in labels} == used and used
    atts = await _read_all(reader, Kind.ATTACHMENT, scope)
    assert {a.is_link for a in atts} == {True, False}
    file_att = next(a for a in atts if not a.is_link and a.size == 300_000)
    digest = hashlib.sha256()
    async for chunk in reader.open_attachment(file_att):
        digest.update(chunk)
    from simulators.asana.attachments import content_sha256

    assert digest.hexdigest() == content_sha256(store.attachment(file_att.source_id))


async def test_cursor_survives_an_expired_offset(sim: tuple[Any, str], reader: AsanaReader) -> None:
    app, _ = sim
    _, projects = await _project_ids(reader.client)
    first = await reader.read(Kind.TASK, projects[0], None, 2)
    assert first.next_cursor and '"o":' in first.next_cursor
    app.state.sim.clock.advance(3601)  # Asana offsets expire
    rest = await _read_all(reader, Kind.TASK, projects[0], 2)
    resumed: list[Any] = list(first.records)
    cursor = first.next_cursor
    while cursor:
        page = await reader.read(Kind.TASK, projects[0], cursor, 2)
        resumed.extend(page.records)
        cursor = page.next_cursor
    assert [t.source_id for t in resumed] == [t.source_id for t in rest]


@pytest.mark.parametrize("kind", [Kind.SECTION, Kind.LABEL, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT])
async def test_a_cursor_this_reader_did_not_write_is_invalid(reader: AsanaReader, kind: Kind) -> None:
    from shared.connectors.kit.cursor import InvalidCursor

    _, projects = await _project_ids(reader.client)
    bad = [
        "not json",
        "[1]",
        '{"p": -1}',
        '{"unknown": 1}',
        '{"i": "x"}',
        '{"w": {"top": {"p": "x"}}}',
        '{"top": {"o": 5}}',
    ]
    for cursor in bad:
        with pytest.raises(InvalidCursor):
            await reader.read(kind, projects[0], cursor, 2)


async def test_cursors_written_before_the_kit_still_resume(reader: AsanaReader) -> None:
    """Cursors in queue messages outlive a deploy: the shapes written before the move to
    the kit (every field, nulls included) resume where they were."""
    _, projects = await _project_ids(reader.client)
    scope = projects[0]
    every = await _read_all(reader, Kind.TASK, scope, 50)
    old_tasks = '{"top":{"o":null,"p":2},"queue":[],"sub":{"o":null,"p":0},"n":2}'
    page = await reader.read(Kind.TASK, scope, old_tasks, 3)
    assert [t.source_id for t in page.records] == [t.source_id for t in every[2:5]]
    comments = await _read_all(reader, Kind.COMMENT, scope, 50)
    old_children = '{"w":{"top":{"o":null,"p":0},"queue":[],"sub":{"o":null,"p":0},"n":0},"t":[],"c":{"o":null,"p":0}}'
    assert [c.source_id for c in (await reader.read(Kind.COMMENT, scope, old_children, 2)).records] == [
        c.source_id for c in comments[:2]
    ]
    assert (await reader.read(Kind.LABEL, scope, '{"i":1}', 1)).records


def test_error_table_names_only_what_asana_means_differently() -> None:
    from shared.connectors.asana.client import ASANA_ERRORS, OffsetExpiredError
    from shared.connectors.kit.errors import status_of
    from shared.errors import NotFoundError, SkippableItemError, ThrottledError

    def resp(status: int, message: str) -> httpx.Response:
        return httpx.Response(
            status,
            json={"errors": [{"message": message}]},
            request=httpx.Request("GET", "https://app.asana.com/api/1.0/x"),
        )

    expired = ASANA_ERRORS.error_for(resp(400, "offset: Your pagination token has expired."))
    assert isinstance(expired, OffsetExpiredError)
    other = ASANA_ERRORS.error_for(resp(400, "name: Missing input"))
    assert type(other) is SkippableItemError and status_of(other) == 400
    forbidden = ASANA_ERRORS.error_for(resp(403, "You do not have access to 12"))
    assert type(forbidden) is SkippableItemError and status_of(forbidden) == 403
    assert isinstance(ASANA_ERRORS.error_for(resp(404, "task: Unknown object")), NotFoundError)
    assert isinstance(ASANA_ERRORS.error_for(resp(429, "slow down")), ThrottledError)


async def test_round_trip_task_fields(sim: tuple[Any, str], writer: AsanaWriter, reader: AsanaReader) -> None:
    ws, _ = await _project_ids(writer.client)
    run = uuid.uuid4().hex[:8]

    def mk(kind: Kind, sid: str) -> str:
        return make_marker(f"rt{run}", kind, sid)

    pid = await writer.create(
        Kind.PROJECT,
        Project(source_id="p", version="1", name="RT", description="About ✓"),
        DestRefs(workspace=ws),
        mk(Kind.PROJECT, "p"),
    )
    sid = await writer.create(
        Kind.SECTION, Section(source_id="s", version="1", project_id="p", name="Backlog"), DestRefs(project=pid), ""
    )
    sections = await writer.client.get(f"/projects/{pid}/sections")
    assert [s["name"] for s in sections] == ["Backlog"]  # the default section was reused
    task = Task(
        source_id="t",
        version="1",
        project_id="p",
        section_id="s",
        name="Ship it",
        description="Body",
        completed=True,
        start_on=_d("2025-03-01"),
        due_on=_d("2025-03-04"),
        assignees=(UserRef(email="nobody@else.test", display_name="Nobody"),),
        checklists=(
            Checklist(
                name="Steps",
                items=(
                    ChecklistItem(source_id="i1", name="one", checked=True),
                    ChecklistItem(source_id="i2", name="two"),
                ),
            ),
        ),
    )
    refs = DestRefs(workspace=ws, project=pid, section=sid)
    written = await writer.create(Kind.TASK, task, refs, mk(Kind.TASK, "t"))
    assert isinstance(written, Written)  # the unknown assignee is reported, not failed
    assert [n.code for n in written.notes] == ["task.assignee_not_in_workspace"]
    tid = written.dest_id
    got = await _read_all(reader, Kind.TASK, pid)
    top = next(t for t in got if t.source_id == tid)
    assert top.name == "Ship it" and top.completed and top.section_id == sid
    assert (top.start_on, top.due_on) == (task.start_on, task.due_on)
    assert "Assignee (not in Asana): Nobody <nobody@else.test>" in top.description
    assert top.assignees == ()
    subs = sorted((t.name, t.completed) for t in got if t.parent_id == tid)
    assert subs == [("one", True), ("two", False)]
    # update: moves the checklist state and renames, no duplicate subtasks
    changed = task.model_copy(
        update={
            "name": "Shipped",
            "checklists": (
                Checklist(
                    name="Steps",
                    items=(
                        ChecklistItem(source_id="i1", name="one", checked=True),
                        ChecklistItem(source_id="i2", name="two", checked=True),
                    ),
                ),
            ),
        }
    )
    await writer.update(Kind.TASK, tid, changed, refs, mk(Kind.TASK, "t"))
    got = await _read_all(reader, Kind.TASK, pid)
    assert sorted((t.name, t.completed) for t in got if t.parent_id == tid) == [("one", True), ("two", True)]
    assert await writer.find_by_marker(Kind.TASK, mk(Kind.TASK, "t"), changed, refs) == tid
    comment = Comment(source_id="c", version="1", project_id="p", task_id="t", text="Hi 💬")
    cid = await writer.create(Kind.COMMENT, comment, refs.model_copy(update={"task": tid}), mk(Kind.COMMENT, "c"))
    read = [c for c in await _read_all(reader, Kind.COMMENT, pid) if c.source_id == cid]
    assert [c.text for c in read] == ["Hi 💬"]  # the marker footer is stripped on read


async def test_upload_streams_and_reads_back(sim: tuple[Any, str], writer: AsanaWriter, reader: AsanaReader) -> None:
    _, projects = await _project_ids(writer.client)
    task = (await writer.client.get(f"/projects/{projects[1]}/tasks"))[0]["gid"]
    sizes = [1000, 1_500_000, 7]
    att = Attachment(source_id="a", version="1", project_id="p", task_id="t", name="résumé ✓.bin", size=sum(sizes))
    refs = DestRefs(project=projects[1], task=task)
    aid = await writer.upload_attachment(att, refs, "m", _chunks(sizes))
    meta = await writer.client.get(f"/attachments/{aid}")
    assert meta["name"] == "résumé ✓.bin" and meta["size"] == sum(sizes)
    digest = hashlib.sha256()
    back = att.model_copy(update={"source_id": aid})
    async for chunk in reader.open_attachment(back):
        digest.update(chunk)
    assert digest.hexdigest() == digest_of(sizes)
    assert await writer.find_by_marker(Kind.ATTACHMENT, "m", att, refs) == aid
    from shared.errors import SkippableItemError

    with pytest.raises(SkippableItemError):  # the stream is shorter than declared
        await writer.upload_attachment(att.model_copy(update={"size": 10}), refs, "m2", _chunks([5]))


async def test_throttling_defers_and_transient_faults_retry(sim: tuple[Any, str]) -> None:
    _, base = sim
    clock = EngineClock()
    client = make_client(base, clock=clock)
    async with httpx.AsyncClient(base_url=base) as ctl:
        await ctl.post(
            "/_sim/faults", json={"faults": [{"kind": "status", "status": 503, "path": "/users/me", "count": 2}]}
        )
        me = await AsanaReader(client).whoami()
        assert me.email == "user1@ws1.example.com" and client.pacer.retried == 2
        await ctl.post("/_sim/limits", json={"reset": True, "limiters": {"requests": {"limit": 2, "window_s": 60}}})
        try:
            await client.get("/users/me")
            await client.get("/users/me")
            with pytest.raises(DeferChunk) as info:
                await client.get("/users/me")
            assert 55 <= info.value.delay_s <= 60  # Retry-After obeyed, not slept here
        finally:
            await ctl.post(
                "/_sim/limits", json={"reset": True, "limiters": {"requests": {"limit": 1500, "window_s": 60}}}
            )
    await client.aclose()


async def test_refused_token_pauses_the_run(sim: tuple[Any, str]) -> None:
    client = make_client(sim[1], token="revoked")
    with pytest.raises(AuthRequiredError):
        await AsanaReader(client).whoami()
    await client.aclose()


def test_capabilities_and_pure_adaptation() -> None:
    caps = asana_capabilities("free")
    assert caps.max_assignees == 1 and caps.rate_limit is not None
    assert caps.rate_limit.requests == 150 and caps.rate_limit.concurrency == 15
    w = AsanaWriter.__new__(AsanaWriter)
    task = Task(
        source_id="t", version="1", project_id="p", name="x", start_on=_d("2025-05-02"), due_on=_d("2025-05-01")
    )
    adapted, notes = w.adapt(Kind.TASK, task)
    assert isinstance(adapted, Task) and adapted.start_on is None
    assert "Start date: 2025-05-02" in adapted.description
    assert [n.code for n in notes] == ["task.start_date_in_description"]


def _d(value: str) -> Any:
    from datetime import date

    return date.fromisoformat(value)


async def test_runtime_factory_opens_a_guarded_paced_connector(sim: tuple[Any, str]) -> None:
    from shared.connectors.registry import has_runtime, open_runtime, rate_limit_of
    from shared.connectors.settings import parse_connection
    from shared.errors import UnsafeDestinationError, ValidationFailed

    assert has_runtime("asana") and rate_limit_of("asana").requests == 1500
    conn = parse_connection(
        {"kind": "asana", "base_url": f"{sim[1]}/api/1.0", "auth": {"type": "pat", "token": DEFAULT_TOKEN}}
    )
    runtime = await open_runtime(conn, allow_loopback=True)
    try:
        assert runtime.reader is not None and runtime.writer is not None
        assert (await runtime.reader.whoami()).email == "user1@ws1.example.com"
    finally:
        await runtime.aclose()
    with pytest.raises(UnsafeDestinationError):  # loopback refused outside local mode
        await open_runtime(conn, allow_loopback=False)
    unauthorized = parse_connection(
        {
            "kind": "asana",
            "base_url": f"{sim[1]}/api/1.0",
            "auth": {"type": "oauth_app", "client_id": "c", "client_secret": "s"},
        }
    )
    with pytest.raises(ValidationFailed):  # no refresh token yet: not consented
        await open_runtime(unauthorized, allow_loopback=True)


async def test_oauth_app_refreshes_its_access_token(sim: tuple[Any, str]) -> None:
    from shared.connectors.registry import open_runtime
    from shared.connectors.settings import parse_connection
    from simulators.asana import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, refresh_token_for

    app, base = sim

    def conn(refresh: str) -> Any:
        return parse_connection(
            {
                "kind": "asana",
                "base_url": f"{base}/api/1.0",
                "auth": {
                    "type": "oauth_app",
                    "client_id": OAUTH_CLIENT_ID,
                    "client_secret": OAUTH_CLIENT_SECRET,
                    "refresh_token": refresh,
                },
            }
        )

    runtime = await open_runtime(conn(refresh_token_for(1)), allow_loopback=True)
    try:
        assert runtime.reader is not None
        assert (await runtime.reader.whoami()).email == "user2@ws1.example.com"
        store = app.state.asana_store
        issued = set(store.token_expiry)
        app.state.sim.clock.advance(3700)  # the access token expired at the simulator
        assert (await runtime.reader.whoami()).email == "user2@ws1.example.com"
        assert set(store.token_expiry) - issued, "a new access token was issued"
    finally:
        await runtime.aclose()
    revoked = await open_runtime(conn("revoked-refresh-token"), allow_loopback=True)
    try:
        assert revoked.reader is not None
        with pytest.raises(AuthRequiredError):
            await revoked.reader.whoami()
    finally:
        await revoked.aclose()


# --- the real engine: Asana → Asana through the chunk runner ----------------------------------


async def test_engine_migrates_a_project_and_reruns_as_deltas(sim: tuple[Any, str]) -> None:
    from shared.engine.chunk import ChunkRunner
    from shared.engine.inmemory import InMemoryIdMap, InMemoryQueue, InMemoryRunState, drain
    from shared.engine.plan import RunSettings, first_messages
    from simulators.asana.attachments import content_sha256

    src_app, src_base = sim
    dst_app = create_app(SeedConfig(projects=0, tags_per_workspace=0), clock=SimClock(wall_start=1_770_000_000.0))
    clock = EngineClock()
    src_store, dst_store = src_app.state.asana_store, dst_app.state.asana_store
    scope = next(p.gid for p in src_store.projects.values() if p.name.startswith("Project 2") and not p.deleted)
    with serve(dst_app) as dst_base:
        reader = AsanaReader(make_client(src_base, clock=clock))
        writer = AsanaWriter(make_client(dst_base, clock=clock))
        id_map, state, queue = InMemoryIdMap(), InMemoryRunState(now=clock.now), InMemoryQueue()
        dst_ws = next(iter(dst_store.workspaces))

        async def run(run_id: str) -> dict[str, int]:
            settings = RunSettings(
                tenant_id="t1", migration_id="mig-asana", run_id=run_id, dest_workspace=dst_ws, page_size=5
            )
            await state.start(run_id, [scope])
            for msg in first_messages(settings, [scope]):
                await queue.enqueue(msg)
            runner = ChunkRunner(
                reader=reader,
                writer=writer,
                id_map=id_map,
                run_state=state,
                queue=queue,
                settings=settings,
                clock=clock,
            )

            async def wait(seconds: float) -> None:
                clock.advance(seconds)

            await drain(queue, runner.run, on_wait=wait)
            return dict(state.counts[run_id])

        try:
            first = await run("r1")
            live = [t for t in dst_store.tasks.values() if not t.deleted]
            src_tasks = await _read_all(reader, Kind.TASK, scope, 50)
            assert len(live) == len(src_tasks), first
            src_comments = await _read_all(reader, Kind.COMMENT, scope, 50)
            dst_comments = [s for s in dst_store.stories.values() if s.type == "comment"]
            assert len(dst_comments) == len(src_comments)
            assert all(" wrote on " in s.text.split("\n")[0] for s in dst_comments)
            src_files = sorted(
                content_sha256(a)
                for a in src_store.attachments.values()
                if a.host == "asana" and not a.deleted and a.parent in {t.source_id for t in src_tasks}
            )
            dst_files = sorted(
                content_sha256(a) for a in dst_store.attachments.values() if a.host == "asana" and not a.deleted
            )
            assert dst_files == src_files and src_files
            assert {t.name for t in dst_store.tags.values()} == {
                lab.name for lab in await _read_all(reader, Kind.LABEL, scope, 50)
            }
            dst_project = next(p for p in dst_store.projects.values() if not p.deleted)
            assert [s.name for s in dst_store.live_sections(dst_project.gid)] == [
                s.name for s in await _read_all(reader, Kind.SECTION, scope, 50)
            ]
            # tasks keep their source order in every section (written concurrently)
            src_order = [t.name for t in src_tasks if not t.parent_id]
            dst_order = [
                dst_store.tasks[g].name for sec in dst_store.live_sections(dst_project.gid) for g in sec.task_gids
            ]
            assert dst_order == src_order

            second = await run("r2")  # nothing changed at the source: nothing is written
            assert first.get("task.created") == len(src_tasks), first
            assert not any(k.endswith((".created", ".updated")) and v for k, v in second.items()), second
            renamed = next(t for t in src_tasks if not t.parent_id)
            async with httpx.AsyncClient(
                base_url=src_base, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
            ) as raw:
                r = await raw.put(
                    f"/api/1.0/tasks/{renamed.source_id}", json={"data": {"name": "Renamed at the source"}}
                )
                assert r.status_code == 200
            third = await run("r3")
            assert {k: v for k, v in third.items() if k.endswith((".created", ".updated"))} == {"task.updated": 1}, (
                third
            )
            assert any(t.name == "Renamed at the source" for t in dst_store.tasks.values())
        finally:
            await reader.aclose()
            await writer.aclose()


# --- pure mapping ------------------------------------------------------------------------------


def test_mapping_rules() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from shared.connectors.asana.api_types import AsanaAttachment, AsanaStory
    from shared.connectors.asana.mapping import (
        asana_color,
        attachment_to_record,
        date_fields,
        marked_text,
        story_to_comment,
    )

    base = Task(source_id="t", version="1", project_id="p", name="x")
    cet = timezone(timedelta(hours=1))
    due_at = base.model_copy(update={"due_at": datetime(2030, 1, 15, 17, 30, tzinfo=cet), "start_on": _d("2030-01-02")})
    assert date_fields(due_at) == {"due_at": "2030-01-15T16:30:00Z", "start_on": "2030-01-02"}
    assert date_fields(base) == {"due_on": None, "due_at": None, "start_on": None}
    no_due = base.model_copy(update={"start_on": _d("2030-01-02")})
    assert date_fields(no_due)["start_on"] is None  # never a start without its due date
    assert date_fields(base.model_copy(update={"due_on": _d("2030-02-01")})) == {
        "due_on": "2030-02-01",
        "start_on": None,
    }
    assert asana_color("red") == "dark-red" and asana_color("light-teal") == "light-teal"
    assert asana_color("chartreuse") is None
    once = marked_text("Body", "ferry:m:task:1")
    assert marked_text(once, "ferry:m:task:1") == once and find_marker(once) == "ferry:m:task:1"
    assert find_marker(once) != "ferry:m:task:2"
    system = AsanaStory(gid="1", type="system", resource_subtype="assigned", text="assigned")
    assert story_to_comment(system, "p", "t") is None
    comment = AsanaStory(
        gid="2", type="comment", text=marked_text("hé", "ferry:m:comment:1"), created_at="2025-01-01T10:00:00.000Z"
    )
    got = story_to_comment(comment, "p", "t")
    assert got is not None and got.text == "hé" and got.created_at == datetime(2025, 1, 1, 10, tzinfo=UTC)
    link = attachment_to_record(
        AsanaAttachment(gid="3", name="Doc", host="gdrive", view_url="https://drive.example/doc"), "p", "t"
    )
    assert link.is_link and link.url == "https://drive.example/doc" and link.size is None
    file = attachment_to_record(AsanaAttachment(gid="4", name="f.bin", host="asana", size=9), "p", "t")
    assert not file.is_link and file.size == 9


async def test_walk_cursor_stays_small_when_every_task_has_subtasks() -> None:
    app = create_app(
        SeedConfig(
            projects=1,
            tasks_per_project=120,
            subtasks_every=1,
            subtasks_per_task=2,
            comments_per_task=0,
            attachment_sizes=[],
            external_links=0,
            deleted_per_project=0,
            archived_projects=0,
        ),
        clock=SimClock(),
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim/api/1.0")
    client = AsanaClient(
        "http://sim/api/1.0",
        bearer(DEFAULT_TOKEN, vendor="Asana"),
        http=http,
        pacer=Pacer(RateLimit(requests=100_000, per_seconds=60), clock=EngineClock()),
    )
    reader = AsanaReader(client)
    try:
        scope = next(iter(app.state.asana_store.projects))
        tasks = await _read_all(reader, Kind.TASK, scope, 50)
        assert len(tasks) == 120 * 3
        seen: set[str] = set()
        for t in tasks:
            assert t.parent_id is None or t.parent_id in seen
            seen.add(t.source_id)
    finally:
        await reader.aclose()


class _Counted:
    """A small simulator in process (no thread), and the requests a reader sends to it."""

    def __init__(self) -> None:
        self.app = create_app(
            SeedConfig(
                projects=1,
                tasks_per_project=12,
                subtasks_every=3,
                comments_per_task=1,
                attachment_sizes=[4096, 9000],
                external_links=1,
                deleted_per_project=0,
                archived_projects=0,
            ),
            clock=SimClock(),
        )
        self.sent: list[tuple[str, str]] = []

        async def count(request: httpx.Request) -> None:
            self.sent.append((request.method, request.url.path))

        transport = httpx.ASGITransport(app=self.app)
        http = httpx.AsyncClient(transport=transport, base_url="http://sim/api/1.0", event_hooks={"request": [count]})
        files = httpx.AsyncClient(transport=transport, event_hooks={"request": [count]})
        self.clock = EngineClock()
        self.client = AsanaClient(
            "http://sim/api/1.0",
            bearer(DEFAULT_TOKEN, vendor="Asana"),
            http=http,
            files_http=files,
            pacer=Pacer(RateLimit(requests=100_000, per_seconds=60), clock=self.clock),
        )
        self.scope = next(iter(self.app.state.asana_store.projects))

    def walks(self) -> int:
        """Task listings sent (top-level pages and subtask lists): the walk's calls."""
        return sum(1 for _, path in self.sent if path.endswith((f"/projects/{self.scope}/tasks", "/subtasks")))


async def test_comments_and_attachments_replay_the_labels_walk() -> None:
    """One worker reading a scope's phases lists its tasks once for labels, comments and
    attachments; a reader without that memory (another worker) walks and reads the same."""
    sim = _Counted()
    reader = AsanaReader(sim.client)
    try:
        await _read_all(reader, Kind.LABEL, sim.scope)
        one_walk = sim.walks()
        assert one_walk >= 2  # the top-level list and subtask lists
        comments = await _read_all(reader, Kind.COMMENT, sim.scope, 3)
        attachments = await _read_all(reader, Kind.ATTACHMENT, sim.scope, 3)
        assert sim.walks() == one_walk, "comments and attachments walked again"
        other = AsanaReader(sim.client)
        assert [c.source_id for c in await _read_all(other, Kind.COMMENT, sim.scope, 3)] == [
            c.source_id for c in comments
        ] and comments
        assert [a.source_id for a in await _read_all(other, Kind.ATTACHMENT, sim.scope, 3)] == [
            a.source_id for a in attachments
        ] and attachments
        assert sim.walks() == 2 * one_walk  # the other walked for comments, then replayed
    finally:
        await reader.aclose()


async def test_a_new_labels_phase_sees_tags_used_since_the_last_run() -> None:
    """A worker's reader outlives a run: the next run's labels phase lists the tasks again
    (a tag put on a task in between is a label of the scope), and so do its comments."""
    sim = _Counted()
    reader = AsanaReader(sim.client)
    try:
        before = {lab.source_id for lab in await _read_all(reader, Kind.LABEL, sim.scope)}
        store = sim.app.state.asana_store
        unused = next(g for g in store.tags if g not in before)
        task = next(t.gid for t in store.tasks.values() if not t.parent and not t.deleted)
        assert (await sim.client.post(f"/tasks/{task}/addTag", {"tag": unused}, idempotent=True)) is not None
        new = await sim.client.post(f"/tasks/{task}/subtasks", {"name": "added since"})
        await sim.client.post(f"/tasks/{new['gid']}/stories", {"text": "hello"})
        after = {lab.source_id for lab in await _read_all(reader, Kind.LABEL, sim.scope)}
        assert after == before | {unused}
        texts = [c.text for c in await _read_all(reader, Kind.COMMENT, sim.scope)]
        assert "hello" in texts
    finally:
        await reader.aclose()


async def test_attachment_opens_with_the_listed_link_or_a_fresh_one() -> None:
    """The listing's presigned link is used while fresh (no second GET); when the file host
    refuses it (expired) or it is old, the reader asks Asana for a new one."""
    from simulators.asana.attachments import content_sha256

    sim = _Counted()
    reader = AsanaReader(sim.client)
    store = sim.app.state.asana_store

    async def body(att: Attachment) -> str:
        digest = hashlib.sha256()
        async for chunk in reader.open_attachment(att):
            digest.update(chunk)
        return digest.hexdigest()

    def meta_gets() -> int:
        return sum(1 for m, p in sim.sent if m == "GET" and "/attachments/" in p)

    try:
        files = [a for a in await _read_all(reader, Kind.ATTACHMENT, sim.scope, 50) if not a.is_link]
        assert len(files) == 2
        first, second = files
        assert await body(first) == content_sha256(store.attachment(first.source_id))
        assert meta_gets() == 0
        sim.app.state.sim.clock.advance(600)  # the listed links expired at the file host
        assert await body(second) == content_sha256(store.attachment(second.source_id))
        assert meta_gets() == 1
        await _read_all(reader, Kind.ATTACHMENT, sim.scope, 50)
        sim.clock.advance(61)  # too old to try
        assert await body(first) == content_sha256(store.attachment(first.source_id))
        assert meta_gets() == 2
        downloads = [p for _, p in sim.sent if "/_downloads/" in p]
        assert len(downloads) == 4  # the expired one was tried once, the old one never
    finally:
        await reader.aclose()


def _dest(value: str | Written) -> str:
    return value if isinstance(value, str) else value.dest_id


async def _faults(base: str, *rules: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=base) as ctl:
        await ctl.post("/_sim/faults", json={"faults": list(rules)})


async def test_update_after_a_failed_part_finishes_exactly_the_missing_parts(
    sim: tuple[Any, str], writer: AsanaWriter
) -> None:
    """A write that applied but whose answer was lost (the task itself, or its second
    checklist subtask) leaves a task with its marker and part of its parts. The engine finds
    it by marker and calls update with the full record: the section placement, the tags and
    the checklist subtasks are then all there, each exactly once, in source order."""
    from shared.errors import TransientError

    base = sim[1]
    ws, _ = await _project_ids(writer.client)
    run = uuid.uuid4().hex[:8]

    def mk(kind: Kind, sid: str) -> str:
        return make_marker(f"parts{run}", kind, sid)

    pid = str(
        await writer.create(
            Kind.PROJECT,
            Project(source_id="p", version="1", name=f"Parts {run}"),
            DestRefs(workspace=ws),
            mk(Kind.PROJECT, "p"),
        )
    )
    sections = [
        str(
            await writer.create(
                Kind.SECTION,
                Section(source_id=f"s{n}", version="1", project_id="p", name=f"S{n}", position=float(n)),
                DestRefs(project=pid),
                "",
            )
        )
        for n in range(2)
    ]
    tags = {
        f"l{n}": _dest(
            await writer.create(
                Kind.LABEL,
                Label(source_id=f"l{n}", version="1", project_id="p", name="bug", color=color),
                DestRefs(workspace=ws, project=pid),
                mk(Kind.LABEL, f"l{n}"),
            )
        )
        for n, color in enumerate(("red", "orange"))
    }
    refs = DestRefs(workspace=ws, project=pid, section=sections[1], labels=tags)

    def task(sid: str, items: int) -> Task:
        return Task(
            source_id=sid,
            version="1",
            project_id="p",
            section_id="s1",
            name=sid,
            position=1.0 if sid == "lost-task" else 2.0,
            labels=(LabelRef(source_id="l0", name="bug"), LabelRef(source_id="l1", name="bug")),
            checklists=(
                Checklist(
                    name="Steps",
                    items=tuple(
                        ChecklistItem(source_id=f"{sid}-{n}", name=f"step {n}", checked=n == 0) for n in range(items)
                    ),
                ),
            ),
        )

    async def parts(tid: str) -> tuple[list[tuple[str, bool]], set[str], str | None]:
        subs = await writer.client.all(f"/tasks/{tid}/subtasks", opt_fields="name,completed")
        raw = AsanaTask.model_validate(
            await writer.client.get(f"/tasks/{tid}", opt_fields="tags,memberships.section,memberships.project")
        )
        section = next((m.section.gid for m in raw.memberships if m.section), None)
        return ([(s["name"], s["completed"]) for s in subs], {t.gid for t in raw.tags}, section)

    want = [(f"step {n}", n == 0) for n in range(3)]
    await writer.create(
        Kind.TASK,
        Task(source_id="later", version="1", project_id="p", section_id="s1", name="later", position=9.0),
        refs,
        mk(Kind.TASK, "later"),
    )
    cases = (  # (task, fault): the answer to the task create, or to its 2nd subtask, lost
        ("lost-task", {"kind": "apply_then_status", "status": 502, "method": "POST", "path": "/api/1.0/tasks$"}),
        ("lost-subtask", {"kind": "apply_then_drop", "method": "POST", "path": "/tasks/*/subtasks", "nth": 2}),
    )
    try:
        for sid, fault in cases:
            record, marker = task(sid, 3), mk(Kind.TASK, sid)
            await _faults(base, fault)
            # (a reset reaches the caller as httpx's transport error: the pacer re-raises
            # what it cannot retry as it is)
            with pytest.raises((TransientError, httpx.TransportError)):
                await writer.create(Kind.TASK, record, refs, marker)
            await _faults(base)
            tid = await writer.find_by_marker(Kind.TASK, marker, record, refs)
            assert tid is not None, sid
            await writer.update(Kind.TASK, tid, record, refs, marker)
            assert await parts(tid) == (want, set(tags.values()), sections[1]), sid
            await writer.update(Kind.TASK, tid, record, refs, marker)  # idempotent
            assert await parts(tid) == (want, set(tags.values()), sections[1]), sid
            tops = [
                t
                for t in await writer.client.all(f"/projects/{pid}/tasks", opt_fields="notes")
                if marker in (t.get("notes") or "")
            ]
            assert len(tops) == 1, sid
        # placed by source position, as a create places them: before the later task
        order = [t["name"] for t in await writer.client.all(f"/sections/{sections[1]}/tasks", opt_fields="name")]
        assert order == ["lost-task", "lost-subtask", "later"], order
        # a second copy of a checklist subtask and an item the source dropped are removed
        tid = str(tops[0]["gid"])
        await writer.client.post(
            f"/tasks/{tid}/subtasks",
            {"name": "step 1", "notes": marked_text("", checklist_marker(marker, "lost-subtask-1"))},
        )
        await writer.update(Kind.TASK, tid, task("lost-subtask", 2), refs, marker)
        assert (await parts(tid))[0] == want[:2]
    finally:
        await _faults(base)


async def test_comment_headers_do_not_stack_on_a_second_hop() -> None:
    """Asana keeps no comment author: the engine writes a header; a comment Ferry moved
    before already has one, and keeps only that (the original author and time)."""
    from datetime import UTC, datetime

    from shared.engine.adapt import adapt

    writer = AsanaWriter(make_client("http://127.0.0.1:9"))
    hop1 = "Ada <ada@example.com> wrote on 2025-05-01 09:30 UTC:\n\nLooks good"
    comment = Comment(
        source_id="c",
        version="1",
        project_id="p",
        task_id="t",
        text=hop1,
        author=UserRef(display_name="Ferry"),
        created_at=datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
    )
    out, _ = adapt(comment, writer.capabilities, writer)
    assert isinstance(out, Comment) and out.text == hop1
    plain = comment.model_copy(update={"text": "Ada wrote: hi"})  # not Ferry's header form
    out, _ = adapt(plain, writer.capabilities, writer)
    assert isinstance(out, Comment)
    assert out.text == "Ferry wrote on 2025-06-01 10:00 UTC:\n\nAda wrote: hi"
    await writer.aclose()  # never used the network: adapt is pure


async def test_a_refused_anchor_gives_way_to_the_other_sibling_not_the_sections_end(
    sim: tuple[Any, str], writer: AsanaWriter
) -> None:
    """The engine names a task's source neighbours in the section; someone moved one of them
    to another section in Asana since (addTask refuses it as an anchor): the task goes right
    before the other one, not to the section's end."""
    ws, _ = await _project_ids(writer.client)
    run = uuid.uuid4().hex[:8]
    project = _dest(
        await writer.create(
            Kind.PROJECT,
            Project(source_id=f"{run}-p", version="1", name=f"Anchors {run}"),
            DestRefs(workspace=ws),
            "mp",
        )
    )
    refs = DestRefs(workspace=ws, project=project)
    section = _dest(
        await writer.create(
            Kind.SECTION, Section(source_id=f"{run}-s", version="1", project_id="p", name="Doing"), refs, "ms"
        )
    )
    refs = refs.model_copy(update={"section": section})

    def task(n: int) -> Task:
        return Task(source_id=f"{run}-t{n}", version="1", project_id="p", name=f"T{n}", position=float(n))

    made = {n: _dest(await writer.create(Kind.TASK, task(n), refs, f"m{run}{n}")) for n in (0, 2, 4, 6)}
    other = await writer.client.post(f"/projects/{project}/sections", {"name": "Elsewhere"})
    await writer.client.post(f"/sections/{other['gid']}/addTask", {"task": made[2]})
    later = AsanaWriter(make_client(sim[1]))  # another worker's writer
    try:
        sibs = {"after": Sibling(dest_id=made[2], position=2.0), "before": Sibling(dest_id=made[4], position=4.0)}
        await later.create(Kind.TASK, task(3), refs.model_copy(update=sibs), f"m{run}3")
    finally:
        await later.aclose()
    store = sim[0].state.asana_store
    names = [store.tasks[g].name for g in store.sections[section].task_gids if not store.tasks[g].deleted]
    assert names == ["T0", "T3", "T4", "T6"]
