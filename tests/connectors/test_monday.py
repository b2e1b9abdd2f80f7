"""monday.com connector: the conformance suite and monday-specific behaviour, against the
monday simulator served on a free loopback port. Every GraphQL operation the connector sends
is validated against monday's official SDL, and every answer it receives against the
operation's selection on that SDL (``simulators.monday.spec``).

Time: the simulator runs on a fake clock that the pacer's sleeps advance (``LinkedClock``),
so waiting for the complexity budget to reset costs no real time.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from shared.connectors.kit.cursor import InvalidCursor
from shared.connectors.monday import MONDAY_RATE_LIMIT, MondayClient, MondayReader, MondayWriter
from shared.connectors.monday import operations as ops
from shared.connectors.monday.auth import api_token
from shared.connectors.monday.mapping import Columns, item_to_task
from shared.connectors.registry import has_runtime, open_runtime
from shared.connectors.settings import parse_connection
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.connector import DestRefs, Written
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
from shared.contract.pacer import Pacer, PacerSettings
from shared.contract.text import make_marker
from shared.errors import AuthRequiredError, TransientError
from shared.net.http import build_client
from simulators.common import FakeClock as SimFakeClock
from simulators.common import serve
from simulators.monday import DEFAULT_TOKEN, SeedConfig, create_app
from simulators.monday.spec import check_request, check_response
from tests.connectors.conformance import ConnectorConformance, ReadBack, digest_of

SEED = SeedConfig(seed=7, boards=2, items_per_board=12, groups_per_board=3, many_updates=7, file_sizes=(2_048, 300_000))


class LinkedClock(EngineClock):
    """The pacer's fake clock; its sleeps also move the simulator's clock."""

    def __init__(self, sim_clock: SimFakeClock) -> None:
        super().__init__()
        self.sim_clock = sim_clock

    async def sleep(self, seconds: float) -> None:
        self.sim_clock.advance(max(0.0, seconds))
        await super().sleep(seconds)


class Sim:
    def __init__(self, base: str, app: Any, clock: SimFakeClock) -> None:
        self.base, self.app, self.clock = base, app, clock
        self.store = app.state.monday_store

    def boards(self) -> list[str]:
        return [
            b.id
            for b in self.store.boards.values()
            if b.type == "board" and b.state == "active" and b.name.startswith("Board")
        ]

    def workspace(self) -> str:
        return next(iter(self.store.workspaces))

    def get(self, path: str) -> dict[str, Any]:
        """A control call (the server runs in its own thread, so blocking here is fine)."""
        with httpx.Client(base_url=self.base, timeout=10) as http:
            out: dict[str, Any] = http.get(path).json()
            return out

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            r = http.post(path, json=body)
            assert r.status_code == 200, r.text
            out: dict[str, Any] = r.json()
            return out


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    clock = SimFakeClock()
    app = create_app(SEED, clock=clock)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        with serve(app) as base:
            yield Sim(base, app, clock)
    finally:
        sys.setswitchinterval(interval)


async def _validate(response: httpx.Response) -> None:
    """Every operation and answer checked against the official SDL."""
    path = response.request.url.path
    if not path.startswith("/v2") or response.status_code != 200:
        return
    await response.aread()
    body = response.json()
    if path == "/v2/file":
        check_response(ops.OPERATIONS["add_file"], body)
        return
    sent = json.loads(response.request.content)
    check_request(sent["query"])
    check_response(sent["query"], body)


def make_client(sim: Sim, *, token: str = DEFAULT_TOKEN, settings: PacerSettings | None = None) -> MondayClient:
    http = build_client("monday", allow_loopback=True, base_url=f"{sim.base}/v2", event_hooks={"response": [_validate]})
    clock = LinkedClock(sim.clock)
    pacer = Pacer(MONDAY_RATE_LIMIT, clock=clock, settings=settings)
    return MondayClient(http, api_token(token), pacer=pacer, clock=clock)


async def read_task(client: MondayClient, item: str) -> Task | None:
    rows = (await client.run("items_by_id", {"ids": [item]}))["items"] or []
    if not rows:
        return None
    row = rows[0]
    md = ""
    if row.get("description"):
        got = await client.run("docs_markdown", {"d0": row["description"]["id"]}, query=ops.docs_markdown(1))
        md = got["d0"]["markdown"] or ""
    parent = (row.get("parent_item") or {}).get("id")
    return item_to_task(
        row,
        str(row["board"]["id"]),
        Columns.of(row["board"]["columns"]),
        {},
        {},
        description=md,
        position=0,
        parent_id=parent,
    )


class TestMondayConformance(ConnectorConformance):
    @pytest.fixture
    async def reader(self, sim: Sim) -> AsyncIterator[MondayReader]:
        r = MondayReader(make_client(sim))
        yield r
        await r.aclose()

    @pytest.fixture
    def source_scope(self, sim: Sim) -> str:
        return sim.boards()[0]

    @pytest.fixture
    async def writer(self, sim: Sim) -> AsyncIterator[MondayWriter]:
        w = MondayWriter(make_client(sim))
        yield w
        await w.aclose()

    @pytest.fixture
    def dest_workspace(self, sim: Sim) -> str:
        return sim.workspace()

    @pytest.fixture
    def read_back(self, writer: MondayWriter) -> ReadBack:
        async def back(kind: Kind, dest_id: str) -> Record | None:
            assert kind is Kind.TASK
            return await read_task(writer.client, dest_id)

        return back


# -- monday-specific behaviour -----------------------------------------------------------------


def test_every_operation_is_valid_against_the_sdl() -> None:
    for name, query in ops.OPERATIONS.items():
        try:
            check_request(query)
        except AssertionError as exc:  # pragma: no cover - the message names the operation
            raise AssertionError(f"{name}: {exc}") from exc
    check_request(ops.docs_markdown(ops.NESTED_PAGE))


@pytest.fixture
async def writer(sim: Sim) -> AsyncIterator[MondayWriter]:
    w = MondayWriter(make_client(sim))
    yield w
    await w.aclose()


@pytest.fixture
async def reader(sim: Sim) -> AsyncIterator[MondayReader]:
    r = MondayReader(make_client(sim))
    yield r
    await r.aclose()


async def _read_all(reader: MondayReader, kind: Kind, scope: str, limit: int = 500) -> list[Any]:
    out: list[Any] = []
    cursor: str | None = None
    while True:
        page = await reader.read(kind, scope, cursor, limit)
        out += page.records
        cursor = page.next_cursor
        if cursor is None:
            return out


def _id(value: str | Written) -> str:
    return value if isinstance(value, str) else value.dest_id


async def _project(writer: MondayWriter, sim: Sim, run: str) -> tuple[DestRefs, str]:
    mk = make_marker(f"m{run}", Kind.PROJECT, f"{run}-p")
    project = _id(
        await writer.create(
            Kind.PROJECT,
            Project(source_id=f"{run}-p", version="1", name=f"Monday {run}"),
            DestRefs(workspace=sim.workspace()),
            mk,
        )
    )
    refs = DestRefs(workspace=sim.workspace(), project=project)
    section = _id(
        await writer.create(
            Kind.SECTION,
            Section(source_id=f"{run}-s", version="1", project_id=f"{run}-p", name="Doing"),
            refs,
            make_marker(f"m{run}", Kind.SECTION, f"{run}-s"),
        )
    )
    label = _id(
        await writer.create(
            Kind.LABEL,
            Label(source_id=f"{run}-l", version="1", project_id=f"{run}-p", name=f"tag-{run}"),
            refs,
            make_marker(f"m{run}", Kind.LABEL, f"{run}-l"),
        )
    )
    return refs.model_copy(update={"section": section, "labels": {f"{run}-l": label}}), project


RICH = (
    "# Goal\n\nShip it, see [the runbook](https://example.com/runbook) and `ferry plan`.\n\n"
    "- one\n- two\n\n1. first\n2. second\n\n```\nferry run --full\n```"
)


async def test_task_fields_round_trip(sim: Sim, writer: MondayWriter, reader: MondayReader) -> None:
    run = uuid.uuid4().hex[:10]
    refs, board = await _project(writer, sim, run)
    task = Task(
        source_id=f"{run}-t",
        version="1",
        project_id=f"{run}-p",
        section_id=f"{run}-s",
        name="Tâche 🚀",
        description=RICH,
        completed=True,
        due_on=date(2030, 1, 15),
        due_at=datetime(2030, 1, 15, 16, 30, tzinfo=UTC),
        assignees=(UserRef(email="User2@monday.example.com"),),
        labels=(LabelRef(source_id=f"{run}-l", name=f"tag-{run}"),),
    )
    written = await writer.create(Kind.TASK, task, refs, make_marker(f"m{run}", Kind.TASK, task.source_id))
    assert isinstance(written, Written) and not written.notes
    got = [t for t in await _read_all(reader, Kind.TASK, board) if t.source_id == written.dest_id]
    assert len(got) == 1
    back = got[0]
    assert (back.name, back.description, back.completed, back.due_at) == (task.name, RICH, True, task.due_at)
    assert [a.email for a in back.assignees] == ["user2@monday.example.com"]
    assert [lbl.name for lbl in back.labels] == [f"tag-{run}"]
    assert back.section_id == refs.section
    sections = await _read_all(reader, Kind.SECTION, board)
    assert [s.name for s in sections] == ["Doing"]  # the new board's default group went
    # an update clears what the task no longer has
    plain = task.model_copy(
        update={"completed": False, "due_on": None, "due_at": None, "labels": (), "assignees": (), "description": ""}
    )
    await writer.update(Kind.TASK, written.dest_id, plain, refs, make_marker(f"m{run}", Kind.TASK, task.source_id))
    again = next(t for t in await _read_all(reader, Kind.TASK, board) if t.source_id == written.dest_id)
    assert (again.completed, again.due_on, again.labels, again.assignees, again.description) == (
        False,
        None,
        (),
        (),
        "",
    )


async def test_unknown_assignee_is_named_in_the_description(sim: Sim, writer: MondayWriter) -> None:
    run = uuid.uuid4().hex[:10]
    refs, _ = await _project(writer, sim, run)
    task = Task(
        source_id=f"{run}-t",
        version="1",
        project_id=f"{run}-p",
        name="x",
        assignees=(UserRef(email="ada@example.com", display_name="Ada"),),
    )
    written = await writer.create(Kind.TASK, task, refs, make_marker(f"m{run}", Kind.TASK, "t"))
    assert isinstance(written, Written)
    assert [n.code for n in written.notes] == ["task.assignee_not_in_account"]
    back = await read_task(writer.client, written.dest_id)
    assert back is not None and "Ada <ada@example.com>" in back.description
    assert back.assignees == ()


async def test_comment_rich_text_and_time_round_trip(sim: Sim, writer: MondayWriter, reader: MondayReader) -> None:
    run = uuid.uuid4().hex[:10]
    refs, board = await _project(writer, sim, run)
    task = _id(
        await writer.create(
            Kind.TASK,
            Task(source_id=f"{run}-t", version="1", project_id=f"{run}-p", name="t"),
            refs,
            make_marker(f"m{run}", Kind.TASK, "t"),
        )
    )
    refs = refs.model_copy(update={"task": task})
    when = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    comment = Comment(
        source_id=f"{run}-c", version="1", project_id=f"{run}-p", task_id=f"{run}-t", text=RICH, created_at=when
    )
    mk = make_marker(f"m{run}", Kind.COMMENT, comment.source_id)
    cid = _id(await writer.create(Kind.COMMENT, comment, refs, mk))
    stored = sim.store.updates[cid].body
    for tag in ("<h1>", "<ul>", "<ol>", '<a href="https://example.com/runbook">', "<code>", "<pre>"):
        assert tag in stored
    comments = [c for c in await _read_all(reader, Kind.COMMENT, board) if c.source_id == cid]
    assert [(c.text, c.created_at) for c in comments] == [(RICH, when)]
    assert await writer.find_by_marker(Kind.COMMENT, mk, comment, refs) == cid


async def test_seeded_mentions_and_links_read_as_text(sim: Sim, reader: MondayReader) -> None:
    comments = await _read_all(reader, Kind.COMMENT, sim.boards()[0])
    rich = [c for c in comments if c.text.startswith("## Status update")]
    assert rich, "the seed has rich updates"
    assert "[the spec](https://example.com/spec)" in rich[0].text
    assert "`ferry run`" in rich[0].text and "- first point" in rich[0].text
    assert rich[0].text.endswith("Thanks @User Two")


async def test_subitems_come_after_their_parent(sim: Sim, writer: MondayWriter, reader: MondayReader) -> None:
    run = uuid.uuid4().hex[:10]
    refs, board = await _project(writer, sim, run)
    parent = _id(
        await writer.create(
            Kind.TASK,
            Task(source_id=f"{run}-p1", version="1", project_id=f"{run}-p", name="parent"),
            refs,
            make_marker(f"m{run}", Kind.TASK, "p1"),
        )
    )
    sub_refs = refs.model_copy(update={"parent_task": parent})
    subs = []
    for i in range(2):  # the first creates the subitems board, the second uses it
        sub = Task(
            source_id=f"{run}-s{i}",
            version="1",
            project_id=f"{run}-p",
            parent_id=f"{run}-p1",
            name=f"sub {i}",
            completed=i == 1,
            due_on=date(2030, 2, 1),
        )
        mk = make_marker(f"m{run}", Kind.TASK, sub.source_id)
        subs.append(_id(await writer.create(Kind.TASK, sub, sub_refs, mk)))
        assert await writer.find_by_marker(Kind.TASK, mk, sub, sub_refs) == subs[-1]
    deep = await writer.create(
        Kind.TASK,
        Task(source_id=f"{run}-deep", version="1", project_id=f"{run}-p", name="deep"),
        refs.model_copy(update={"parent_task": subs[0]}),
        make_marker(f"m{run}", Kind.TASK, "deep"),
    )
    assert isinstance(deep, Written)
    assert [n.code for n in deep.notes] == ["task.subtask_lifted"]
    tasks = await _read_all(reader, Kind.TASK, board, limit=2)
    order = [t.source_id for t in tasks]
    assert order == [parent, *subs, deep.dest_id]
    assert {t.parent_id for t in tasks[1:]} == {parent}
    assert [t.completed for t in tasks[1:3]] == [False, True]
    assert tasks[1].due_on == date(2030, 2, 1)


async def test_a_lost_create_answer_is_found_by_marker(sim: Sim, writer: MondayWriter) -> None:
    run = uuid.uuid4().hex[:10]
    refs, board = await _project(writer, sim, run)
    task = Task(source_id=f"{run}-t", version="1", project_id=f"{run}-p", name="lost answer")
    mk = make_marker(f"m{run}", Kind.TASK, task.source_id)
    sim.post("/_sim/faults", {"faults": [{"kind": "apply_then_drop", "path": "/v2/mutation/create_item$"}]})
    with pytest.raises(TransientError):
        await writer.create(Kind.TASK, task, refs, mk)
    found = await writer.find_by_marker(Kind.TASK, mk, task, refs)
    assert found is not None
    names = [i.name for i in sim.store.items.values() if i.board_id == board]
    assert names == ["lost answer"]
    await writer.update(Kind.TASK, found, task, refs, mk)  # what the engine does next
    assert sim.post("/_sim/faults", {})["faults"] == []


async def test_complexity_budget_is_waited_for_not_exceeded(sim: Sim) -> None:
    """A tight budget: the client waits for the reset (on the linked fake clock) before an
    operation the budget cannot pay, so monday never answers COMPLEXITY_BUDGET_EXHAUSTED and
    every record is read."""
    sim.post("/_sim/limits", {"limiters": {"complexity": {"limit": 150_000}}, "reset": True})
    sim.post("/_sim/stats/reset", {})
    start = sim.clock.monotonic()
    patient = PacerSettings(defer_threshold_s=120)
    reader = MondayReader(make_client(sim, settings=patient))
    try:
        board = sim.boards()[1]
        counts = {
            kind: len(await _read_all(reader, kind, board, limit=3))
            for kind in (Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT)
        }
    finally:
        await reader.aclose()
        sim.post("/_sim/limits", {"limiters": {"complexity": {"limit": 10_000_000}}, "reset": True})
    stats = sim.get("/_sim/stats")
    assert stats["throttled"] == 0, stats["by_status"]
    assert counts[Kind.TASK] >= 12 and counts[Kind.COMMENT] == 7 + 11 * 2
    assert sim.clock.monotonic() - start >= 60, "the budget was never waited for"


async def test_an_expired_cursor_continues_where_it_was(sim: Sim, reader: MondayReader) -> None:
    board = sim.boards()[0]
    everything = [t.source_id for t in await _read_all(reader, Kind.TASK, board)]
    seen: list[str] = []
    cursor: str | None = None
    while True:  # up to a checkpoint that holds one of monday's cursors
        page = await reader.read(Kind.TASK, board, cursor, 2)
        seen += [t.source_id for t in page.records]
        cursor = page.next_cursor
        assert cursor is not None
        if json.loads(cursor).get("c"):
            break
    sim.clock.advance(3601)  # monday's cursors live 60 minutes
    streams: list[str] = []
    page = reader._page

    async def spy(scope: str, stream: str, *args: Any) -> Any:
        streams.append(stream)
        return await page(scope, stream, *args)

    reader._page = spy  # type: ignore[method-assign]
    rest = await _read_all_from(reader, board, cursor)
    assert seen + rest == everything
    assert "ids" in streams, "the expired cursor was not replaced by walking again"


async def _read_all_from(reader: MondayReader, board: str, cursor: str | None) -> list[str]:
    out: list[str] = []
    while cursor is not None:
        page = await reader.read(Kind.TASK, board, cursor, 4)
        out += [t.source_id for t in page.records]
        cursor = page.next_cursor
    return out


async def test_a_foreign_cursor_is_invalid(sim: Sim, reader: MondayReader) -> None:
    with pytest.raises(InvalidCursor):
        await reader.read(Kind.TASK, sim.boards()[0], '{"after": "x"}', 5)


async def test_a_refused_token_pauses_the_run(sim: Sim) -> None:
    client = make_client(sim, token="not-a-token")
    try:
        with pytest.raises(AuthRequiredError):
            await client.whoami()
    finally:
        await client.aclose()


async def test_files_stream_both_ways_and_delete_is_idempotent(
    sim: Sim, writer: MondayWriter, reader: MondayReader
) -> None:
    run = uuid.uuid4().hex[:10]
    refs, board = await _project(writer, sim, run)
    task = _id(
        await writer.create(
            Kind.TASK,
            Task(source_id=f"{run}-t", version="1", project_id=f"{run}-p", name="t"),
            refs,
            make_marker(f"m{run}", Kind.TASK, "t"),
        )
    )
    refs = refs.model_copy(update={"task": task})
    sizes = [70_000, 1_000_000, 3]

    async def chunks() -> AsyncIterator[bytes]:
        for i, n in enumerate(sizes):
            yield bytes([65 + i % 26]) * n

    att = Attachment(
        source_id=f"{run}-a",
        version="1",
        project_id=f"{run}-p",
        task_id=f"{run}-t",
        name="Überblick – 日本.bin",
        size=sum(sizes),
    )
    aid = _id(await writer.upload_attachment(att, refs, "m", chunks()))
    assert await writer.find_by_marker(Kind.ATTACHMENT, "m", att, refs) == aid
    read = [a for a in await _read_all(reader, Kind.ATTACHMENT, board) if a.task_id == task]
    assert [(a.name, a.size) for a in read] == [(att.name, sum(sizes))]
    digest = hashlib.sha256()
    async for part in reader.open_attachment(read[0]):
        digest.update(part)
    assert digest.hexdigest() == digest_of(sizes)
    for _ in range(2):
        await writer.delete(Kind.ATTACHMENT, aid)
    assert await writer.find_by_marker(Kind.ATTACHMENT, "m", att, refs) is None
    for kind, dest in ((Kind.TASK, task), (Kind.SECTION, refs.section or ""), (Kind.PROJECT, board)):
        await writer.delete(kind, dest)
        await writer.delete(kind, dest)


async def test_the_runtime_opens_from_a_stored_connection(sim: Sim) -> None:
    """The registry finds ``shared.connectors.monday.runtime`` by kind, as for the others;
    every field of the connection model is used (token, base URL)."""
    conn = parse_connection(
        {"kind": "monday", "base_url": f"{sim.base}/v2", "auth": {"type": "api_token", "api_token": DEFAULT_TOKEN}}
    )
    assert has_runtime("monday")
    runtime = await open_runtime(conn, allow_loopback=True)
    try:
        assert runtime.reader is not None and runtime.writer is not None
        assert (await runtime.reader.whoami()).email == "user1@monday.example.com"
        containers = await runtime.writer.list_containers()
        assert set(sim.boards()) <= {c.id for c in containers}
        assert sim.workspace() in {c.id for c in containers}
    finally:
        await runtime.aclose()


WRITE_ROUTES = [
    "create_board",
    "create_group",
    "create_or_get_tag",
    "create_item",
    "create_subitem",
    "create_update",
    "add_file_to_column",
]


@pytest.mark.parametrize("kind", ["apply_then_drop", "apply_then_status"])
@pytest.mark.parametrize("route", WRITE_ROUTES)
async def test_every_write_lost_after_it_applied_is_found_again(
    sim: Sim, writer: MondayWriter, route: str, kind: str
) -> None:
    """The fault matrix's case for each write route: monday applied the write and the answer
    was lost (reset or 502). The write raises an ambiguous error and ``find_by_marker`` finds
    exactly the one item it made, as the engine's reconciliation needs."""
    run = uuid.uuid4().hex[:10]
    mig = f"f{run}"
    proj = Project(source_id=f"{run}-p", version="1", name=f"Faults {run}")
    refs = DestRefs(workspace=sim.workspace())
    if route != "create_board":
        refs, _ = await _project(writer, sim, run)
    parent = Task(source_id=f"{run}-parent", version="1", project_id=f"{run}-p", name="parent")
    if route in ("create_subitem", "create_update", "add_file_to_column"):
        task = _id(await writer.create(Kind.TASK, parent, refs, make_marker(mig, Kind.TASK, parent.source_id)))
        refs = refs.model_copy(update={"task": task, "parent_task": task})
        if route == "create_subitem":  # the subitems board exists: one call per subitem
            await writer.create(
                Kind.TASK,
                parent.model_copy(update={"source_id": f"{run}-first", "parent_id": parent.source_id}),
                refs,
                make_marker(mig, Kind.TASK, f"{run}-first"),
            )
    records: dict[str, tuple[Kind, Record]] = {
        "create_board": (Kind.PROJECT, proj),
        "create_group": (
            Kind.SECTION,
            Section(source_id=f"{run}-s2", version="1", project_id=proj.source_id, name="Lost group"),
        ),
        "create_or_get_tag": (
            Kind.LABEL,
            Label(source_id=f"{run}-l2", version="1", project_id=proj.source_id, name=f"lost-{run}"),
        ),
        "create_item": (
            Kind.TASK,
            Task(source_id=f"{run}-t", version="1", project_id=proj.source_id, name="lost item"),
        ),
        "create_subitem": (
            Kind.TASK,
            Task(
                source_id=f"{run}-sub",
                version="1",
                project_id=proj.source_id,
                name="lost sub",
                parent_id=parent.source_id,
            ),
        ),
        "create_update": (
            Kind.COMMENT,
            Comment(
                source_id=f"{run}-c", version="1", project_id=proj.source_id, task_id=parent.source_id, text="lost"
            ),
        ),
        "add_file_to_column": (
            Kind.ATTACHMENT,
            Attachment(
                source_id=f"{run}-a",
                version="1",
                project_id=proj.source_id,
                task_id=parent.source_id,
                name="lost.txt",
                size=5,
            ),
        ),
    }
    rkind, record = records[route]
    if rkind is not Kind.TASK or route == "create_item":
        refs = refs.model_copy(update={"parent_task": None})
    marker = make_marker(mig, rkind, record.source_id)
    fault: dict[str, Any] = {"kind": kind, "path": f"/mutation/{route}$"}
    if kind == "apply_then_status":
        fault["status"] = 502
    sim.post("/_sim/faults", {"faults": [fault]})

    async def body() -> AsyncIterator[bytes]:
        yield b"lost!"

    try:
        with pytest.raises(TransientError):
            if isinstance(record, Attachment):
                await writer.upload_attachment(record, refs, marker, body())
            else:
                await writer.create(rkind, record, refs, marker)
    finally:
        plan = sim.get("/_sim/faults")
        sim.post("/_sim/faults", {})
    assert [(i["kind"], i["applied_status"]) for i in plan["injected"]] == [(kind, 200)]
    found = await writer.find_by_marker(rkind, marker, record, refs)
    assert found is not None
    if rkind is Kind.TASK:
        assert (
            sum(
                1
                for i in sim.store.items.values()
                if i.name == record.name
                and i.state == "active"  # type: ignore[attr-defined]
                and i.board_id in {b.id for b in sim.store.boards.values()}
                and i.values.get("ferry_marker") == marker
            )
            == 1
        )


async def test_a_link_attachment_becomes_an_update(sim: Sim, writer: MondayWriter, reader: MondayReader) -> None:
    run = uuid.uuid4().hex[:10]
    refs, board = await _project(writer, sim, run)
    task = _id(
        await writer.create(
            Kind.TASK,
            Task(source_id=f"{run}-t", version="1", project_id=f"{run}-p", name="t"),
            refs,
            make_marker(f"m{run}", Kind.TASK, "t"),
        )
    )
    refs = refs.model_copy(update={"task": task})
    link = Attachment(
        source_id=f"{run}-l",
        version="1",
        project_id=f"{run}-p",
        task_id=f"{run}-t",
        name="Spec",
        is_link=True,
        url="https://docs.google.com/document/d/1",
    )
    mk = make_marker(f"m{run}", Kind.ATTACHMENT, link.source_id)
    written = await writer.upload_attachment(link, refs, mk, None)
    assert isinstance(written, Written)
    assert [n.code for n in written.notes] == ["attachment.link_as_update"]
    assert await writer.find_by_marker(Kind.ATTACHMENT, mk, link, refs) == written.dest_id
    comments = [c for c in await _read_all(reader, Kind.COMMENT, board) if c.task_id == task]
    assert [c.text for c in comments] == ["Link: [Spec](https://docs.google.com/document/d/1)"]
    for _ in range(2):
        await writer.delete(Kind.ATTACHMENT, written.dest_id)
    assert await writer.find_by_marker(Kind.ATTACHMENT, mk, link, refs) is None


def test_a_colour_only_label_is_named_after_its_colour(writer: MondayWriter) -> None:
    label = Label(source_id="l", version="1", project_id="p", name=" ", color="green")
    adapted, notes = writer.adapt(Kind.LABEL, label)
    assert isinstance(adapted, Label) and adapted.name == "green"
    assert [n.code for n in notes] == ["label.renamed_empty"]
