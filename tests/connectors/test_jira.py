"""Jira connector: the conformance suite and Jira specifics, against the Jira simulator.

Every request the connector sends (with a JSON body) and every answer it gets on the vendor
API is validated against the official description (vendor-api/jira, trimmed); a mismatch
fails the call loudly.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from shared.connectors.jira import JiraClient, JiraReader, JiraWriter
from shared.connectors.jira.auth import credential_for
from shared.connectors.jira.mapping import TASK_FIELDS, issue_to_task
from shared.connectors.kit.cursor import InvalidCursor
from shared.connectors.registry import open_runtime
from shared.connectors.settings import JiraConnection, parse_connection
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.connector import DestRefs, Written
from shared.contract.limits import RateLimit
from shared.contract.model import (
    Attachment,
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
from shared.contract.pacer import Pacer
from shared.contract.text import make_marker
from shared.errors import AuthRequiredError
from shared.net.http import build_client
from simulators.common import FakeClock as SimClock
from simulators.common import serve
from simulators.jira import DEFAULT_EMAIL, DEFAULT_TOKEN, SeedConfig, create_app
from simulators.jira.spec import is_vendor_path, load_spec, validate_request, validate_response
from tests.connectors.calls import record_calls
from tests.connectors.conformance import ConnectorConformance, _chunks, digest_of

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")

SEED = SeedConfig(
    projects=2, issues_per_project=10, subtasks_every=3, comments_per_issue=2, attachment_sizes=[2048, 300_000], links=1
)


async def _spec_hook(response: httpx.Response) -> None:
    if not is_vendor_path(response.request.url.path):
        return
    await response.aread()
    if response.request.headers.get("content-type", "").startswith("application/json"):
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
    base: str,
    email: str = DEFAULT_EMAIL,
    token: str = DEFAULT_TOKEN,
    *,
    limit: RateLimit | None = None,
    clock: EngineClock | None = None,
) -> JiraClient:
    pacer = Pacer(
        limit or RateLimit(requests=100_000, per_seconds=60, concurrency=8),
        clock=clock or EngineClock(),
        rng=random.Random(7),
    )
    conn = parse_connection(
        {
            "kind": "jira",
            "site_url": "https://ferry-sim.atlassian.net",
            "base_url": base,
            "auth": {"type": "api_token", "email": email, "api_token": token},
        }
    )
    assert isinstance(conn, JiraConnection)
    http = build_client("jira", allow_loopback=True, base_url=conn.effective_base_url())
    http.event_hooks["response"].append(_spec_hook)
    return JiraClient(http, credential_for(conn), pacer=pacer)


def _project_id(app: Any, key: str = "FER") -> str:
    return str(next(p.id for p in app.state.jira_store.projects.values() if p.key == key))


class TestJiraConformance(ConnectorConformance):
    page_limit = 3

    @pytest.fixture
    async def reader(self, sim: tuple[Any, str]) -> AsyncIterator[JiraReader]:
        r = JiraReader(make_client(sim[1]))
        yield r
        await r.aclose()

    @pytest.fixture
    def source_scope(self, sim: tuple[Any, str]) -> str:
        return _project_id(sim[0])

    @pytest.fixture
    async def writer(self, sim: tuple[Any, str]) -> AsyncIterator[JiraWriter]:
        w = JiraWriter(make_client(sim[1]))
        yield w
        await w.aclose()

    @pytest.fixture
    def dest_workspace(self, sim: tuple[Any, str]) -> str:
        return sim[1].split("://", 1)[1]

    @pytest.fixture
    def read_back(self, sim: tuple[Any, str]):  # type: ignore[no-untyped-def]
        async def get(kind: Kind, dest_id: str) -> Record | None:
            client = make_client(sim[1])
            try:
                raw = await client.get(f"/issue/{dest_id}", fields=TASK_FIELDS)
                return issue_to_task(raw, "p", 0)
            finally:
                await client.aclose()

        return get

    def sample_records(self, run: str) -> dict[Kind, Record]:
        recs = super().sample_records(run)
        task = recs[Kind.TASK]
        assert isinstance(task, Task)  # the seeded site has grace@example.com
        recs[Kind.TASK] = task.model_copy(
            update={"assignees": (UserRef(email="grace@example.com", display_name="Grace Hopper"),)}
        )
        return recs


# --- Jira specifics --------------------------------------------------------------------------


@pytest.fixture
async def reader(sim: tuple[Any, str]) -> AsyncIterator[JiraReader]:
    r = JiraReader(make_client(sim[1]))
    yield r
    await r.aclose()


@pytest.fixture
async def writer(sim: tuple[Any, str]) -> AsyncIterator[JiraWriter]:
    w = JiraWriter(make_client(sim[1]))
    yield w
    await w.aclose()


async def _read_all(reader: JiraReader, kind: Kind, scope: str, limit: int = 4) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page = await reader.read(kind, scope, cursor, limit)
        assert len(page.records) <= limit
        out.extend(page.records)
        if page.next_cursor is None:
            return out
        assert len(page.next_cursor) < 512, "cursor too big for a queue message"
        cursor = page.next_cursor


async def test_reads_what_the_seed_holds(sim: tuple[Any, str], reader: JiraReader) -> None:
    store = sim[0].state.jira_store
    scope = _project_id(sim[0])
    issues = [i for i in store.issues.values() if i.project_id == scope]
    tasks = await _read_all(reader, Kind.TASK, scope)
    assert sorted(t.source_id for t in tasks) == sorted(i.id for i in issues)
    subs = [t for t in tasks if t.parent_id]
    assert subs and all(t.section_id is None for t in subs)
    done = [t for t in tasks if t.completed]
    assert done and all(t.completed_at for t in done)
    assert all(t.section_id in store.projects[scope].statuses for t in tasks if not t.parent_id)
    assert any(t.assignees and t.assignees[0].email for t in tasks)
    assert any(t.due_on for t in tasks)
    assert {cf.name for t in tasks for cf in t.custom_fields} == {"Priority"}
    rich = next(t for t in tasks if t.description.startswith("## Goal 0"))
    assert "**bold**" in rich.description and "[a link](https://example.com/0)" in rich.description
    assert "@Grace Hopper" in rich.description and "- " in rich.description
    assert "```python\nprint(0)\nreturn 0\n```" in rich.description
    sections = await _read_all(reader, Kind.SECTION, scope, 3)
    assert [s.name for s in sections] == ["To Do", "In Progress", "In Review", "Done"]
    labels = await _read_all(reader, Kind.LABEL, scope)
    used = {lab.source_id for t in tasks for lab in t.labels}
    assert {lab.source_id for lab in labels} == used
    assert any(s.startswith("component:") for s in used) and any(s.startswith("label:") for s in used)
    comments = await _read_all(reader, Kind.COMMENT, scope, 3)
    want = [c for c in store.comments.values() if c.issue_id in {i.id for i in issues}]
    assert sorted(c.source_id for c in comments) == sorted(f"{c.issue_id}/{c.id}" for c in want)
    assert all(c.author and c.author.email and c.created_at for c in comments)
    atts = await _read_all(reader, Kind.ATTACHMENT, scope, 1)
    assert {a.is_link for a in atts} == {True, False}
    big = next(a for a in atts if a.size == 300_000)
    digest = hashlib.sha256()
    async for chunk in reader.open_attachment(big):
        digest.update(chunk)
    blob = store.attachments[big.source_id].blob
    assert digest.hexdigest() == blob.sha256()


async def test_a_foreign_cursor_is_refused(sim: tuple[Any, str], reader: JiraReader) -> None:
    scope = _project_id(sim[0])
    for kind, bad in (
        (Kind.TASK, '{"x":1}'),
        (Kind.COMMENT, "not json"),
        (Kind.SECTION, '{"i":"a"}'),
        (Kind.TASK, '{"k":"FER-1\\" OR project != x"}'),
    ):  # no JQL through a cursor
        with pytest.raises(InvalidCursor):
            await reader.read(kind, scope, bad, 3)


async def test_pages_survive_a_server_cap_below_the_page_size(sim: tuple[Any, str], reader: JiraReader) -> None:
    store = sim[0].state.jira_store
    scope = _project_id(sim[0])
    store.max_results_cap = 2
    try:
        tasks = await _read_all(reader, Kind.TASK, scope, 5)
    finally:
        store.max_results_cap = 100
    assert len(tasks) == sum(i.project_id == scope for i in store.issues.values())


async def test_revoked_token_pauses(sim: tuple[Any, str]) -> None:
    r = JiraReader(make_client(sim[1], token="revoked"))
    try:
        with pytest.raises(AuthRequiredError):
            await r.whoami()
    finally:
        await r.aclose()


async def _new_project(writer: JiraWriter, workspace: str) -> tuple[str, str]:
    run = uuid.uuid4().hex[:10]
    project = Project(source_id=f"{run}-p", version="1", name=f"Status test {run}")
    made = await writer.create(
        Kind.PROJECT, project, DestRefs(workspace=workspace), make_marker("m", Kind.PROJECT, project.source_id)
    )
    return (made if isinstance(made, str) else made.dest_id), run


async def test_status_follows_section_and_completion(sim: tuple[Any, str], writer: JiraWriter) -> None:
    store = sim[0].state.jira_store
    pid, run = await _new_project(writer, sim[1])
    refs = DestRefs(project=pid)

    async def section(name: str) -> str:
        rec = Section(source_id=f"{run}-{name}", version="1", project_id="p", name=name)
        sid = await writer.create(Kind.SECTION, rec, refs, "m")
        assert isinstance(sid, str)
        return sid

    todo, doing, shipped = await section("to do"), await section("Doing"), await section("Shipped")
    assert store.statuses[todo].name == "To Do"  # an existing status of that name, reused
    assert store.statuses[doing].category == "indeterminate"
    assert store.statuses[shipped].category == "new"
    assert await section("Doing") == doing

    def task(name: str, *, completed: bool) -> Task:
        return Task(source_id=f"{run}-{name}", version="1", project_id="p", name=name, completed=completed)

    plain = await writer.create(
        Kind.TASK, task("in doing", completed=False), refs.model_copy(update={"section": doing}), "m1"
    )
    assert isinstance(plain, str) and store.issues[plain].status_id == doing
    moved = await writer.create(
        Kind.TASK, task("done in doing", completed=True), refs.model_copy(update={"section": doing}), "m2"
    )
    assert isinstance(moved, Written)
    assert [n.code for n in moved.notes] == ["task.section_replaced_by_completion"]
    assert store.statuses[store.issues[moved.dest_id].status_id].category == "done"
    loose = await writer.create(Kind.TASK, task("done without section", completed=True), refs, "m3")
    assert isinstance(loose, str) and store.statuses[store.issues[loose].status_id].category == "done"
    # reopened at the source: the update takes it out of the done status
    await writer.update(Kind.TASK, loose, task("done without section", completed=False), refs, "m3")
    assert store.statuses[store.issues[loose].status_id].category == "new"
    await writer.update(
        Kind.TASK, plain, task("in doing", completed=False), refs.model_copy(update={"section": shipped}), "m1"
    )
    assert store.issues[plain].status_id == shipped


async def test_rich_text_labels_assignee_and_links(sim: tuple[Any, str], writer: JiraWriter) -> None:
    store = sim[0].state.jira_store
    pid, run = await _new_project(writer, sim[1])
    label = Label(source_id=f"{run}-l", version="1", project_id="p", name="needs review")
    adapted, notes = writer.adapt(Kind.LABEL, label)
    assert isinstance(adapted, Label) and adapted.name == "needs_review"
    assert [n.code for n in notes] == ["label.renamed_for_jira"]
    lid = await writer.create(Kind.LABEL, adapted, DestRefs(project=pid), "m")
    assert lid == "label:needs_review"
    text = "# Plan\n\n- one **bold**\n- two [link](https://example.com)\n\n```sh\nls\n```\n\n@Ada said `hi`"
    t = Task(
        source_id=f"{run}-t",
        version="1",
        project_id="p",
        name="Rich",
        description=text,
        assignees=(UserRef(email="nobody@example.com", display_name="Nobody"),),
        labels=(LabelRef(source_id=label.source_id, name="needs review"),),
    )
    refs = DestRefs(project=pid, labels={label.source_id: str(lid)})
    marker = make_marker("m", Kind.TASK, t.source_id)
    made = await writer.create(Kind.TASK, t, refs, marker)
    assert isinstance(made, Written)
    assert [n.code for n in made.notes] == ["task.assignee_not_in_jira"]
    issue = store.issues[made.dest_id]
    assert issue.labels == ["needs_review"] and issue.assignee is None
    kinds = [b["type"] for b in issue.description["content"]]
    assert kinds[:3] == ["heading", "bulletList", "codeBlock"] and kinds[-1] == "paragraph"
    client = make_client(sim[1])
    try:
        back = issue_to_task(await client.get(f"/issue/{made.dest_id}", fields=TASK_FIELDS), "p", 0)
    finally:
        await client.aclose()
    assert back.description == text + "\n\nAssignee (not in Jira): Nobody <nobody@example.com>"
    assert await writer.find_by_marker(Kind.TASK, marker, t, refs) == made.dest_id
    # a web link is upserted by its marker: sending it twice makes one link
    link = Attachment(
        source_id=f"{run}-a",
        version="1",
        project_id="p",
        task_id=t.source_id,
        name="Spec",
        is_link=True,
        url="https://example.com/spec",
    )
    arefs = refs.model_copy(update={"task": made.dest_id})
    amark = make_marker("m", Kind.ATTACHMENT, link.source_id)
    first = await writer.upload_attachment(link, arefs, amark, None)
    again = await writer.upload_attachment(link, arefs, amark, None)
    assert first == again and await writer.find_by_marker(Kind.ATTACHMENT, amark, link, arefs) == first
    await writer.delete(Kind.ATTACHMENT, first)
    await writer.delete(Kind.ATTACHMENT, first)
    assert await writer.find_by_marker(Kind.ATTACHMENT, amark, link, arefs) is None


async def test_comment_and_file_round_trip(sim: tuple[Any, str], writer: JiraWriter) -> None:
    store = sim[0].state.jira_store
    pid, run = await _new_project(writer, sim[1])
    t = Task(source_id=f"{run}-t", version="1", project_id="p", name="Files")
    iid = await writer.create(Kind.TASK, t, DestRefs(project=pid), "mt")
    assert isinstance(iid, str)
    refs = DestRefs(project=pid, task=iid)
    c = Comment(
        source_id=f"{run}-c",
        version="1",
        project_id="p",
        task_id=t.source_id,
        text="Ada wrote on 2025-05-01 09:30 UTC:\n\nLooks *good*",
    )
    cmark = make_marker("m", Kind.COMMENT, c.source_id)
    cid = await writer.create(Kind.COMMENT, c, refs, cmark)
    assert isinstance(cid, str) and cid.startswith(f"{iid}/")
    assert await writer.find_by_marker(Kind.COMMENT, cmark, c, refs) == cid
    await writer.update(Kind.COMMENT, cid, c.model_copy(update={"text": "edited"}), refs, cmark)
    assert await writer.find_by_marker(Kind.COMMENT, cmark, c, refs) == cid
    sizes = [1000, 70_000, 5]
    att = Attachment(
        source_id=f"{run}-f",
        version="1",
        project_id="p",
        task_id=t.source_id,
        name="données.txt",
        size=sum(sizes),
        mime_type="text/plain",
    )
    aid = await writer.upload_attachment(att, refs, "ma", _chunks(sizes))
    stored = store.attachments[aid]
    assert stored.filename == "données.txt"
    assert hashlib.sha256(stored.data or b"").hexdigest() == digest_of(sizes)
    assert await writer.find_by_marker(Kind.ATTACHMENT, "ma", att, refs) == aid
    await writer.delete(Kind.COMMENT, cid)
    await writer.delete(Kind.COMMENT, cid)
    assert await writer.find_by_marker(Kind.COMMENT, cmark, c, refs) is None
    await writer.delete(Kind.PROJECT, pid)
    await writer.delete(Kind.PROJECT, pid)
    assert pid not in store.projects and iid not in store.issues


async def test_runtime_through_the_registry(sim: tuple[Any, str]) -> None:
    """The runtime the engine opens: reader and writer over one guarded, paced client."""
    conn = parse_connection(
        {
            "kind": "jira",
            "site_url": "https://ferry-sim.atlassian.net",
            "base_url": sim[1],
            "auth": {"type": "api_token", "email": DEFAULT_EMAIL, "api_token": DEFAULT_TOKEN},
        }
    )
    runtime = await open_runtime(conn, allow_loopback=True)
    try:
        assert runtime.reader is not None and runtime.writer is not None
        me = await runtime.reader.whoami()
        assert me.email == DEFAULT_EMAIL
        containers = await runtime.writer.list_containers()
        assert _project_id(sim[0]) in {c.id for c in containers}
    finally:
        await runtime.aclose()
        await runtime.aclose()  # idempotent


async def test_the_writer_answers_the_ids_the_reader_reads(
    sim: tuple[Any, str], writer: JiraWriter, reader: JiraReader
) -> None:
    """Verify pairs items through the id map: what ``create`` answers must be the id the
    destination's reader gives the same item (labels, comments and web links included)."""
    pid, run = await _new_project(writer, sim[1])
    label = Label(source_id=f"{run}-l", version="1", project_id="p", name="shipping")
    lid = await writer.create(Kind.LABEL, label, DestRefs(project=pid), "m")
    assert isinstance(lid, str)
    refs = DestRefs(project=pid, labels={label.source_id: lid})
    t = Task(
        source_id=f"{run}-t",
        version="1",
        project_id="p",
        name="ids",
        labels=(LabelRef(source_id=label.source_id, name="shipping"),),
    )
    iid = await writer.create(Kind.TASK, t, refs, "mt")
    assert isinstance(iid, str)
    trefs = refs.model_copy(update={"task": iid})
    c = Comment(source_id=f"{run}-c", version="1", project_id="p", task_id=t.source_id, text="x")
    cid = await writer.create(Kind.COMMENT, c, trefs, make_marker("m", Kind.COMMENT, c.source_id))
    link = Attachment(
        source_id=f"{run}-a",
        version="1",
        project_id="p",
        task_id=t.source_id,
        name="Spec",
        is_link=True,
        url="https://example.com/s",
    )
    aid = await writer.upload_attachment(link, trefs, make_marker("m", Kind.ATTACHMENT, "a"), None)
    read = {
        kind: {r.source_id for r in await _read_all(reader, kind, pid)}
        for kind in (Kind.LABEL, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT)
    }
    assert read == {Kind.LABEL: {lid}, Kind.TASK: {iid}, Kind.COMMENT: {cid}, Kind.ATTACHMENT: {aid}}


async def test_the_start_date_field_is_looked_up_once_for_a_page_written_at_once(sim: tuple[Any, str]) -> None:
    """The engine writes a page's tasks concurrently: one ``GET /field`` for all of them."""
    client = make_client(sim[1])
    paths = record_calls(client, "get")
    try:
        found = await asyncio.gather(*(client.start_date_field() for _ in range(6)))
    finally:
        await client.aclose()
    assert len(set(found)) == 1 and found[0] is not None
    assert paths == ["/field"]


async def test_start_dates_are_the_sites_start_date_field(
    sim: tuple[Any, str], writer: JiraWriter, reader: JiraReader
) -> None:
    """Read from and written to the field named "Start date" in ``GET /field`` (its id
    differs per site); a site without one gets the date as a line of the description."""
    store = sim[0].state.jira_store
    scope = _project_id(sim[0])
    tasks = [t for t in await _read_all(reader, Kind.TASK, scope, limit=50) if isinstance(t, Task)]
    seeded = {iid: i.startdate for iid, i in store.issues.items() if i.project_id == scope}
    assert any(seeded.values()), "the seed holds start dates"
    assert {t.source_id: t.start_on.isoformat() if t.start_on else None for t in tasks} == seeded

    pid, run = await _new_project(writer, sim[1])
    refs = DestRefs(project=pid)
    task = Task(source_id=f"{run}-s", version="1", project_id="p", name="Starts", start_on=date(2026, 1, 2))
    made = await writer.create(Kind.TASK, task, refs, "m-start")
    assert isinstance(made, str) and store.issues[made].startdate == "2026-01-02"
    await writer.update(Kind.TASK, made, task.model_copy(update={"start_on": None}), refs, "m-start")
    assert store.issues[made].startdate is None  # removed at the source, removed here

    async def no_field() -> None:
        return None

    writer.client.start_date_field = no_field  # type: ignore[method-assign]
    other = await writer.create(Kind.TASK, task.model_copy(update={"source_id": f"{run}-n"}), refs, "m-nofield")
    assert isinstance(other, Written)
    assert [n.code for n in other.notes] == ["task.start_date_in_description"]
    issue = store.issues[other.dest_id]
    assert issue.startdate is None
    back = issue_to_task(await writer.client.get(f"/issue/{other.dest_id}", fields=TASK_FIELDS), "p", 0)
    assert "Start date: 2026-01-02" in back.description.splitlines()
