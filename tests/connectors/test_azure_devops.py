"""Azure DevOps connector: the conformance suite and Azure DevOps specifics, against the
Azure DevOps simulator over a socket.

Every request the connector sends and every JSON answer it gets on the vendor API is
validated against the official description (vendor-api/azure-devops, with the simulator's
documented SPEC_FIXES); a mismatch fails the call loudly.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.connectors.azure_devops import AzureDevOpsReader, AzureDevOpsWriter
from shared.connectors.azure_devops.auth import credential_for, entra_credential
from shared.connectors.azure_devops.client import AdoClient
from shared.connectors.azure_devops.mapping import FIELDS, task_record
from shared.connectors.kit.cursor import InvalidCursor
from shared.connectors.registry import open_runtime
from shared.connectors.settings import AzureDevOpsConnection, parse_connection
from shared.contract.connector import DestRefs, Written
from shared.contract.limits import RateLimit
from shared.contract.model import Comment, Kind, Project, Record, Section, Task, UserRef
from shared.contract.pacer import Pacer
from shared.contract.text import make_marker
from shared.errors import AuthRequiredError
from shared.net.http import build_client
from simulators.azure_devops import DEFAULT_PAT, SeedConfig, create_app
from simulators.azure_devops.spec import validate_response
from simulators.common import serve
from tests.connectors.calls import record_calls
from tests.connectors.conformance import ConnectorConformance

SEED = SeedConfig(items_per_project=10)
ORG = SEED.organization
FAST = RateLimit(requests=100_000, per_seconds=60, concurrency=8)


async def _spec_hook(response: httpx.Response) -> None:
    if "/_apis/" not in response.request.url.path:
        return
    if not response.headers.get("content-type", "").startswith("application/json"):
        return  # a file download: streamed, not read here
    await response.aread()
    validate_response(response, request_too=True)


@pytest.fixture(scope="module")
def sim() -> Iterator[tuple[Any, str]]:
    app = create_app(SEED)
    with serve(app) as base:
        yield app, base


def connection(base: str, pat: str = DEFAULT_PAT) -> AzureDevOpsConnection:
    conn = parse_connection(
        {
            "kind": "azure_devops",
            "organization_url": f"https://dev.azure.com/{ORG}",
            "base_url": f"{base}/{ORG}",
            "auth": {"type": "pat", "pat": pat},
        }
    )
    assert isinstance(conn, AzureDevOpsConnection)
    return conn


def make_client(base: str, pat: str = DEFAULT_PAT, *, limit: RateLimit = FAST) -> AdoClient:
    conn = connection(base, pat)
    http = build_client("azure_devops", allow_loopback=True, base_url=conn.effective_base_url() + "/")
    http.event_hooks["response"].append(_spec_hook)
    return AdoClient(http, credential_for(conn), pacer=Pacer(limit, rng=random.Random(7)))


def project_id(app: Any, name: str = "Ferry Basic") -> str:
    return str(next(p.id for p in app.state.ado.store.projects.values() if p.name == name))


async def read_task(base: str, dest_id: str) -> Task | None:
    client = make_client(base)
    try:
        item = await client.get(f"_apis/wit/workitems/{dest_id}", fields="System.TeamProject")
        project = item["fields"]["System.TeamProject"]
        reader = AzureDevOpsReader(client)
        pid = (await reader._project(project))["id"]
        raw = await client.get(f"{project}/_apis/wit/workitems/{dest_id}", fields=",".join(FIELDS))
        return task_record(raw, pid, await reader._state_categories(pid))
    finally:
        await client.aclose()


class TestAzureDevOpsConformance(ConnectorConformance):
    page_limit = 3

    @pytest.fixture
    async def reader(self, sim: tuple[Any, str]) -> AsyncIterator[AzureDevOpsReader]:
        r = AzureDevOpsReader(make_client(sim[1]))
        yield r
        await r.aclose()

    @pytest.fixture
    def source_scope(self, sim: tuple[Any, str]) -> str:
        return project_id(sim[0])

    @pytest.fixture
    async def writer(self, sim: tuple[Any, str]) -> AsyncIterator[AzureDevOpsWriter]:
        w = AzureDevOpsWriter(make_client(sim[1]), poll_s=0.01)
        yield w
        await w.aclose()

    @pytest.fixture
    def dest_workspace(self) -> str:
        return ORG

    @pytest.fixture
    def read_back(self, sim: tuple[Any, str]):  # type: ignore[no-untyped-def]
        async def get(kind: Kind, dest_id: str) -> Record | None:
            return await read_task(sim[1], dest_id) if kind is Kind.TASK else None

        return get


# --- reading ------------------------------------------------------------------------------------


async def _all(reader: AzureDevOpsReader, kind: Kind, scope: str, limit: int = 4) -> list[Any]:
    out: list[Any] = []
    cursor: str | None = None
    while True:
        page = await reader.read(kind, scope, cursor, limit)
        out.extend(page.records)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def test_reads_rich_text_states_areas_tags_and_late_children(sim: tuple[Any, str]) -> None:
    app, base = sim
    scope = project_id(app)
    reader = AzureDevOpsReader(make_client(base))
    try:
        sections = {s.source_id: s.name for s in await _all(reader, Kind.SECTION, scope)}
        assert list(sections.values()) == ["To Do", "Doing", "Done"]  # the board's columns
        tasks = await _all(reader, Kind.TASK, scope)
        store = app.state.ado.store
        live = [w for w in store.work_items.values() if w.project_id == scope and not w.deleted]
        assert sorted(int(t.source_id) for t in tasks) == sorted(w.id for w in live)
        rich = next(t for t in tasks if t.description.startswith("## Goal"))
        assert "- first step" in rich.description and "1. one" in rich.description
        assert "[spec](https://example.com/spec)" in rich.description
        assert '```\nprint("hello")\n```' in rich.description
        assert "`inline`" in rich.description and "@" in rich.description
        assert "data-vss-mention" not in rich.description
        by_state = {w.id: w.fields["System.State"] for w in live}
        for t in tasks:
            assert t.completed == (by_state[int(t.source_id)] == "Done")
            assert sections[str(t.section_id)] == by_state[int(t.source_id)]
        early = next(t for t in tasks if t.name.startswith("Early child"))
        order = [t.source_id for t in tasks]
        assert early.parent_id and order.index(early.parent_id) < order.index(early.source_id)
        labels = {lab.name for lab in await _all(reader, Kind.LABEL, scope)}
        assert {"backend", "urgent", "ünïcode ✓"} <= labels
        tagged = next(t for t in tasks if t.labels)
        assert {lab.source_id for lab in tagged.labels} <= {
            lab.source_id for lab in await _all(reader, Kind.LABEL, scope)
        }
        comments = await _all(reader, Kind.COMMENT, scope, limit=3)
        assert comments and all(isinstance(c, Comment) and c.author and c.author.email for c in comments)
        assert len(comments) == sum(len([c for c in store.comments.get(w.id, []) if not c.deleted]) for w in live)
        atts = await _all(reader, Kind.ATTACHMENT, scope, limit=1)
        assert {a.is_link for a in atts} == {True, False}
    finally:
        await reader.aclose()


async def test_a_foreign_cursor_is_invalid(sim: tuple[Any, str]) -> None:
    reader = AzureDevOpsReader(make_client(sim[1]))
    try:
        for kind in (Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT, Kind.SECTION):
            with pytest.raises(InvalidCursor):
                await reader.read(kind, project_id(sim[0]), '{"offset": "x"}', 5)
    finally:
        await reader.aclose()


async def test_refused_pat_pauses_the_run(sim: tuple[Any, str]) -> None:
    client = make_client(sim[1], pat="revoked")
    try:
        with pytest.raises(AuthRequiredError):
            await client.whoami()
    finally:
        await client.aclose()


# --- writing ------------------------------------------------------------------------------------


async def _project(writer: AzureDevOpsWriter, run: str) -> tuple[str, DestRefs]:
    made = await writer.create(
        Kind.PROJECT,
        Project(source_id=f"{run}-p", version="1", name=f"ADO {run}"),
        DestRefs(workspace=ORG),
        make_marker("m", Kind.PROJECT, run),
    )
    pid = made if isinstance(made, str) else made.dest_id
    return pid, DestRefs(workspace=ORG, project=pid)


async def test_labels_written_at_once_read_the_projects_tags_once(sim: tuple[Any, str]) -> None:
    """A page's labels are written concurrently: one read of the project's tags serves them
    all, and of the labels that differ in case only all but the first spelling are
    reported as that tag (``label.collision``)."""
    from shared.contract.model import Label

    writer = AzureDevOpsWriter(make_client(sim[1]), poll_s=0.01)
    run = uuid.uuid4().hex[:8]
    try:
        _, refs = await _project(writer, run)
        paths = record_calls(writer.client, "get")
        names = ["Backend", "backend", "Frontend", "BACKEND"]
        made = await asyncio.gather(
            *(
                writer.create(Kind.LABEL, Label(source_id=f"l{i}", version="1", project_id="p", name=n), refs, f"m{i}")
                for i, n in enumerate(names)
            )
        )
    finally:
        await writer.client.aclose()
    assert len([p for p in paths if p.endswith("/_apis/wit/tags")]) == 1, paths
    collided = [n for n, m in zip(names, made, strict=True) if isinstance(m, Written)]
    assert len(collided) == 2 and "Frontend" not in collided, collided
    assert len({m if isinstance(m, str) else m.dest_id for m in made}) == 2  # backend and frontend


async def test_task_round_trip_rich_text_status_and_assignee(sim: tuple[Any, str]) -> None:
    app, base = sim
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    run = uuid.uuid4().hex[:8]
    try:
        pid, refs = await _project(writer, run)
        section = await writer.create(
            Kind.SECTION,
            Section(source_id="s", version="1", project_id="p", name="In progress / review"),
            refs,
            make_marker("m", Kind.SECTION, "s"),
        )
        assert isinstance(section, str)
        refs = refs.model_copy(update={"section": section, "labels": {"l1": "tag:urgent"}})
        description = (
            "# Plan\n\nSome **bold** text with `code` and a "
            "[link](https://example.com/a?b=1&c=2).\n\n- one\n- two\n  - nested\n\n"
            "```\nx = '<y>'\n```"
        )
        task = Task(
            source_id=f"{run}-t",
            version="1",
            project_id="p",
            name="Rich ✓",
            description=description,
            completed=True,
            assignees=(UserRef(email="nobody@example.com"),),
            due_at=datetime(2030, 1, 15, 16, 30, tzinfo=UTC),
            due_on=date(2030, 1, 15),
            start_on=date(2030, 1, 2),
            labels=(_label("l1", "urgent"),),
        )
        marker = make_marker("m", Kind.TASK, task.source_id)
        made = await writer.create(Kind.TASK, task, refs, marker)
        assert isinstance(made, Written)
        assert [n.code for n in made.notes] == ["task.assignee_not_member"]
        stored = app.state.ado.store.work_items[int(made.dest_id)]
        html = stored.fields["System.Description"]
        assert "<h1>Plan</h1>" in html and "<ul>" in html and "<code>code</code>" in html
        assert html.endswith(f"<p>[{marker}]</p>")
        # new projects get the organization's default process (Agile here)
        assert stored.fields["System.WorkItemType"] == "User Story"
        assert stored.fields["System.State"] == "Closed"
        assert stored.fields["System.AreaPath"] == f"ADO {run}\\In progress - review"
        assert stored.fields["System.Tags"] == "urgent"
        got = await read_task(base, made.dest_id)
        assert got is not None
        assert got.description == description and got.completed and got.due_at == task.due_at
        assert got.start_on == date(2030, 1, 2) and got.section_id == "state:closed"
        reopened = task.model_copy(update={"completed": False, "assignees": (UserRef(email="linus@example.com"),)})
        await writer.update(Kind.TASK, made.dest_id, reopened, refs, marker)
        assert stored is not app.state.ado.store.work_items[int(made.dest_id)]
        now = app.state.ado.store.work_items[int(made.dest_id)].fields
        assert now["System.State"] == "New"
        assert app.state.ado.store.identities[now["System.AssignedTo"]].email == "linus@example.com"
        assert await writer.find_by_marker(Kind.TASK, marker, reopened, refs) == made.dest_id
    finally:
        await writer.aclose()


async def test_sections_are_board_columns_when_they_name_a_state(sim: tuple[Any, str]) -> None:
    app, base = sim
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    run = uuid.uuid4().hex[:8]
    try:
        pid, refs = await _project(writer, run)  # Agile: New, Active, Resolved, Closed
        doing = await writer.create(
            Kind.SECTION, Section(source_id="s", version="1", project_id="p", name="Doing"), refs, "m"
        )
        assert isinstance(doing, Written) and doing.dest_id == "state:active"
        assert [n.code for n in doing.notes] == ["section.mapped_to_state"]
        assert (
            await writer.find_by_marker(
                Kind.SECTION, "m", Section(source_id="s", version="1", project_id="p", name="doing"), refs
            )
            == "state:active"
        )
        assert (
            await writer.create(
                Kind.SECTION, Section(source_id="r", version="1", project_id="p", name="resolved"), refs, "m"
            )
            == "state:resolved"
        )
        refs = refs.model_copy(update={"section": doing.dest_id})
        store = app.state.ado.store
        open_id = await writer.create(
            Kind.TASK,
            Task(source_id="o", version="1", project_id="p", name="open"),
            refs,
            make_marker("m", Kind.TASK, f"{run}o"),
        )
        assert store.work_items[int(str(open_id))].fields["System.State"] == "Active"
        done = await writer.create(
            Kind.TASK,
            Task(source_id="d", version="1", project_id="p", name="done", completed=True),
            refs,
            make_marker("m", Kind.TASK, f"{run}d"),
        )
        assert isinstance(done, Written)
        assert [n.code for n in done.notes] == ["task.state_from_completion"]
        assert store.work_items[int(done.dest_id)].fields["System.State"] == "Closed"
        assert store.work_items[int(done.dest_id)].fields["System.AreaPath"] == f"ADO {run}"
        await writer.delete(Kind.SECTION, doing.dest_id)  # a column is not deleted
        states = await writer.client.get(f"{pid}/_apis/wit/workitemtypes/User Story/states")
        assert "Active" in {x["name"] for x in states["value"]}
    finally:
        await writer.aclose()


async def test_writer_answers_the_ids_the_reader_reads(sim: tuple[Any, str]) -> None:
    """Verify pairs items through the id map: what the writer answered must be what the
    reader reads back from the destination."""
    from shared.contract.model import Attachment, Label

    _, base = sim
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    reader = AzureDevOpsReader(writer.client)
    run = uuid.uuid4().hex[:8]
    try:
        pid, refs = await _project(writer, run)
        column = str(
            await writer.create(
                Kind.SECTION, Section(source_id="s", version="1", project_id="p", name="Active"), refs, "m"
            )
        )
        label = str(
            await writer.create(
                Kind.LABEL, Label(source_id="l", version="1", project_id="p", name="Needs Review"), refs, "m"
            )
        )
        refs = refs.model_copy(update={"section": column, "labels": {"l": label}})
        task = str(
            await writer.create(
                Kind.TASK,
                Task(source_id="t", version="1", project_id="p", name="t", labels=(_label("l", "x"),)),
                refs,
                make_marker("m", Kind.TASK, f"{run}t"),
            )
        )
        refs = refs.model_copy(update={"task": task})
        comment = str(
            await writer.create(
                Kind.COMMENT,
                Comment(source_id="c", version="1", project_id="p", task_id="t", text="hi"),
                refs,
                make_marker("m", Kind.COMMENT, f"{run}c"),
            )
        )

        async def one() -> AsyncIterator[bytes]:
            yield b"x"

        att = Attachment(source_id="a", version="1", project_id="p", task_id="t", name="a.txt", size=1)
        file_id = str(await writer.upload_attachment(att, refs, make_marker("m", Kind.ATTACHMENT, f"{run}a"), one()))
        link_id = str(
            await writer.upload_attachment(
                att.model_copy(update={"is_link": True, "url": "https://example.com/l", "size": None}),
                refs,
                make_marker("m", Kind.ATTACHMENT, f"{run}l"),
                None,
            )
        )
        read = {kind: {r.source_id for r in await _all(reader, kind, pid)} for kind in Kind}
        assert read[Kind.PROJECT] == {pid}
        assert column in read[Kind.SECTION] and label in read[Kind.LABEL]
        assert read[Kind.TASK] == {task} and read[Kind.COMMENT] == {comment}
        assert read[Kind.ATTACHMENT] == {file_id, link_id}
        tasks = await _all(reader, Kind.TASK, pid)
        assert tasks[0].section_id == column
        assert [lab.source_id for lab in tasks[0].labels] == [label]
    finally:
        await writer.aclose()


def _label(source_id: str, name: str) -> Any:
    from shared.contract.model import LabelRef

    return LabelRef(source_id=source_id, name=name)


async def test_subtask_moves_to_another_parent_on_update(sim: tuple[Any, str]) -> None:
    app, base = sim
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    run = uuid.uuid4().hex[:8]
    try:
        pid, refs = await _project(writer, run)
        parents = [
            await writer.create(
                Kind.TASK,
                Task(source_id=f"{run}-{i}", version="1", project_id="p", name=f"parent {i}"),
                refs,
                make_marker("m", Kind.TASK, f"{run}-{i}"),
            )
            for i in range(2)
        ]
        first, second = (str(p) for p in parents)
        child = Task(source_id=f"{run}-c", version="1", project_id="p", name="child", parent_id=f"{run}-0")
        marker = make_marker("m", Kind.TASK, child.source_id)
        cid = await writer.create(Kind.TASK, child, refs.model_copy(update={"parent_task": first}), marker)
        store = app.state.ado.store
        assert store.work_items[int(str(cid))].fields["System.WorkItemType"] == "Task"
        assert store.work_items[int(str(cid))].fields["System.Parent"] == int(first)
        await writer.update(Kind.TASK, str(cid), child, refs.model_copy(update={"parent_task": second}), marker)
        assert store.work_items[int(str(cid))].fields["System.Parent"] == int(second)
        parent_rels = [r.rel for r in store.work_items[int(first)].relations]
        assert parent_rels == []
    finally:
        await writer.aclose()


async def test_lost_create_answer_is_found_by_marker_once(sim: tuple[Any, str]) -> None:
    app, base = sim
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    run = uuid.uuid4().hex[:8]
    try:
        pid, refs = await _project(writer, run)
        async with httpx.AsyncClient(base_url=base) as control:
            await control.post(
                "/_sim/faults",
                json={"faults": [{"kind": "apply_then_drop", "method": "POST", "path": "/_apis/wit/workitems/\\$"}]},
            )
            task = Task(source_id=f"{run}-t", version="1", project_id="p", name="lost answer")
            marker = make_marker("m", Kind.TASK, task.source_id)
            with pytest.raises(Exception) as failed:
                await writer.create(Kind.TASK, task, refs, marker)
            assert not isinstance(failed.value, AssertionError)
            await control.delete("/_sim/faults")
        found = await writer.find_by_marker(Kind.TASK, marker, task, refs)
        made = [
            w
            for w in app.state.ado.store.work_items.values()
            if w.project_id == pid and w.fields["System.Title"] == "lost answer"
        ]
        assert len(made) == 1 and found == str(made[0].id)
    finally:
        await writer.aclose()


async def test_comments_attachments_and_idempotent_deletes(sim: tuple[Any, str]) -> None:
    app, base = sim
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    run = uuid.uuid4().hex[:8]
    try:
        pid, refs = await _project(writer, run)
        tid = str(
            await writer.create(
                Kind.TASK,
                Task(source_id="t", version="1", project_id="p", name="host"),
                refs,
                make_marker("m", Kind.TASK, f"{run}t"),
            )
        )
        refs = refs.model_copy(update={"task": tid})
        comment = Comment(
            source_id="c",
            version="1",
            project_id="p",
            task_id="t",
            text="Ada wrote on 2025-05-01 09:30 UTC:\n\nHello *there*",
        )
        cmark = make_marker("m", Kind.COMMENT, f"{run}c")
        cid = str(await writer.create(Kind.COMMENT, comment, refs, cmark))
        assert await writer.find_by_marker(Kind.COMMENT, cmark, comment, refs) == cid
        await writer.update(Kind.COMMENT, cid, comment.model_copy(update={"text": "edited"}), refs, cmark)
        from shared.connectors.azure_devops.mapping import attachment_records, comment_record

        client = writer.client
        page = await client.json("GET", f"{pid}/_apis/wit/workItems/{tid}/comments", preview=True)
        assert comment_record(page["comments"][0], pid, tid).text == "edited"

        async def chunks() -> AsyncIterator[bytes]:
            for part in (b"a" * 1000, b"b" * 70_000, b"c" * 5):
                yield part

        from shared.contract.model import Attachment

        att = Attachment(source_id="a", version="1", project_id="p", task_id="t", name="notes ü.txt", size=71_005)
        amark = make_marker("m", Kind.ATTACHMENT, f"{run}a")
        aid = str(await writer.upload_attachment(att, refs, amark, chunks()))
        assert await writer.find_by_marker(Kind.ATTACHMENT, amark, att, refs) == aid
        link = att.model_copy(update={"is_link": True, "url": "https://example.com/x", "size": None, "name": "Spec"})
        lmark = make_marker("m", Kind.ATTACHMENT, f"{run}l")
        lid = str(await writer.upload_attachment(link, refs, lmark, None))
        item = await client.get(f"{pid}/_apis/wit/workitems/{tid}", **{"$expand": "relations"})
        read = attachment_records(item, pid)
        assert {(a.name, a.size, a.is_link) for a in read} == {("notes ü.txt", 71_005, False), ("Spec", None, True)}
        reader = AzureDevOpsReader(writer.client)
        body = b"".join([c async for c in reader.open_attachment(next(a for a in read if not a.is_link))])
        assert body == b"a" * 1000 + b"b" * 70_000 + b"c" * 5
        for kind, dest in ((Kind.COMMENT, cid), (Kind.ATTACHMENT, aid), (Kind.ATTACHMENT, lid), (Kind.TASK, tid)):
            await writer.delete(kind, dest)
            await writer.delete(kind, dest)  # idempotent
        assert app.state.ado.store.work_items[int(tid)].deleted
        await writer.delete(Kind.PROJECT, pid)
        await writer.delete(Kind.PROJECT, pid)
        assert app.state.ado.store.projects[pid].state == "deleted"
    finally:
        await writer.aclose()


async def test_duplicate_project_name_is_renamed_and_reported(sim: tuple[Any, str]) -> None:
    _, base = sim
    writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
    try:
        record = Project(source_id="dup", version="1", name="Ferry Basic")
        made = await writer.create(
            Kind.PROJECT, record, DestRefs(workspace=ORG), make_marker("m", Kind.PROJECT, uuid.uuid4().hex)
        )
        assert isinstance(made, Written)
        assert [n.code for n in made.notes] == ["project.renamed_duplicate"]
        await writer.delete(Kind.PROJECT, made.dest_id)
    finally:
        await writer.aclose()


def test_tstu_429s_are_paced_without_failed_writes() -> None:
    """A low TSTU budget: writes meet 429 + Retry-After, the pacer waits, none fails."""
    import asyncio

    app = create_app(SeedConfig(items_per_project=1, attachment_sizes=()), tstu_limit=0.5, tstu_window_s=2.0)
    app.state.ado.runtime.limiters["tstu"].configure(costs={"write": 0.1, "read": 0.01, "query": 0.01})

    async def run(base: str) -> list[str]:
        writer = AzureDevOpsWriter(make_client(base), poll_s=0.01)
        try:
            refs = DestRefs(workspace=ORG, project=project_id(app))
            out = []
            for i in range(12):
                made = await writer.create(
                    Kind.TASK,
                    Task(source_id=f"t{i}", version="1", project_id="p", name=f"paced {i}"),
                    refs,
                    make_marker("m", Kind.TASK, f"t{i}"),
                )
                out.append(str(made))
            return out
        finally:
            await writer.aclose()

    with serve(app) as base:
        made = asyncio.run(run(base))
        stats = httpx.get(f"{base}/_sim/stats").json()
    assert len(set(made)) == 12
    assert stats["throttled"] >= 1
    store = app.state.ado.store
    assert sum(1 for w in store.work_items.values() if w.fields["System.Title"].startswith("paced ")) == 12


async def test_runtime_through_the_registry(sim: tuple[Any, str]) -> None:
    runtime = await open_runtime(connection(sim[1]), allow_loopback=True)
    try:
        assert runtime.reader is not None and runtime.writer is not None
        me = await runtime.reader.whoami()
        assert me.email == "ada@example.com"
        containers = await runtime.writer.list_containers()
        assert ORG in {c.id for c in containers}
        assert project_id(sim[0]) in {c.id for c in containers}
    finally:
        await runtime.aclose()


async def test_a_stored_entra_app_connection_opens_through_the_registry(sim: tuple[Any, str]) -> None:
    """The connection model's Entra auth type reaches the service principal's tokens (the
    token endpoint on the simulator's origin when base_url points at it)."""
    conn = parse_connection(
        {
            "kind": "azure_devops",
            "organization_url": f"https://dev.azure.com/{ORG}",
            "base_url": f"{sim[1]}/{ORG}",
            "auth": {
                "type": "client_credentials",
                "entra_tenant_id": SEED.tenant_id,
                "client_id": SEED.client_id,
                "client_secret": SEED.client_secret,
            },
        }
    )
    runtime = await open_runtime(conn, allow_loopback=True)
    try:
        assert runtime.reader is not None
        assert (await runtime.reader.whoami()).display_name == "Ferry migration app"
    finally:
        await runtime.aclose()
    wrong = conn.model_copy(update={"auth": conn.auth.model_copy(update={"client_secret": SecretStr("no")})})
    runtime = await open_runtime(wrong, allow_loopback=True)
    try:
        assert runtime.reader is not None
        with pytest.raises(AuthRequiredError):
            await runtime.reader.whoami()
    finally:
        await runtime.aclose()


async def test_entra_service_principal_token(sim: tuple[Any, str]) -> None:
    _, base = sim
    http = build_client("azure_devops", allow_loopback=True, base_url=f"{base}/{ORG}/")
    login = build_client("azure_devops", allow_loopback=True)
    credential = entra_credential(
        login, tenant=SEED.tenant_id, client_id=SEED.client_id, client_secret=SEED.client_secret, login_base=base
    )
    client = AdoClient(http, credential, pacer=Pacer(FAST))
    try:
        me = await client.whoami()
        assert me.display_name == "Ferry migration app"
    finally:
        await client.aclose()
        await login.aclose()
    bad = entra_credential(
        login, tenant=SEED.tenant_id, client_id=SEED.client_id, client_secret="wrong", login_base=base
    )
    login2 = build_client("azure_devops", allow_loopback=True)
    bad = entra_credential(
        login2, tenant=SEED.tenant_id, client_id=SEED.client_id, client_secret="wrong", login_base=base
    )
    try:
        with pytest.raises(AuthRequiredError):
            await bad.headers()
    finally:
        await login2.aclose()
