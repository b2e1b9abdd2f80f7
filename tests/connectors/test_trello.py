"""Trello connector: the conformance suite and Trello-specific behaviour, against the Trello
simulator served on a free loopback port. Every ``/1`` response the connector receives is
validated against Trello's published OpenAPI (``simulators.trello.spec_check``).

Time: the simulator runs on a fake clock that the pacer's sleeps advance (``LinkedClock``),
so the suite runs at "Trello speed" (100 requests / 10 s) without waiting for real.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from shared.connectors.settings import TrelloConnection, parse_connection
from shared.connectors.trello import (
    TRELLO_RATE_LIMIT,
    TrelloClient,
    TrelloReader,
    TrelloWriter,
    trello_client,
)
from shared.connectors.trello import reader as trello_reader
from shared.connectors.trello.api_types import TCard
from shared.connectors.trello.auth import key_and_token
from shared.connectors.trello.mapping import card_to_task
from shared.connectors.trello.writer import FIRST_POS, trello_pos
from shared.contract.clock import FakeClock as EngineClock
from shared.contract.connector import DestRefs, SourceReader, Written
from shared.contract.model import Attachment, Kind, Label, Project, Record, Section, Task
from shared.contract.pacer import Pacer
from shared.contract.text import make_marker
from shared.errors import AuthRequiredError, NotFoundError
from shared.net.http import build_client
from simulators.common import FakeClock as SimFakeClock
from simulators.common import make_blob, serve
from simulators.trello import SeedConfig, create_app
from simulators.trello.spec_check import is_api_path, validate_exchange, validate_request
from tests.connectors.conformance import ConnectorConformance, ReadBack

SEED = SeedConfig(
    seed=11,
    boards=2,
    cards_per_board=14,
    many_comments=7,
    members=4,
    attachment_sizes=(2_048, 300_000),
    lists_per_board=3,
)


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
        summary = app.state.trello.summary
        self.key, self.token = summary["key"], summary["token"]
        self.state = app.state.trello.store.dump()

    def connection(self, token: str | None = None) -> TrelloConnection:
        conn = parse_connection(
            {
                "kind": "trello",
                "base_url": f"{self.base}/1",
                "auth": {"type": "api_key_token", "api_key": self.key, "token": token or self.token},
            }
        )
        assert isinstance(conn, TrelloConnection)
        return conn


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    clock = SimFakeClock()
    app = create_app(SEED, clock=clock)
    # The server runs in a thread of this process: hand the GIL over sooner than the 5 ms
    # default, or every request waits for the switch interval.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        with serve(app) as base:
            yield Sim(base, app, clock)
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture(autouse=True)
def _fresh_rate_window(request: pytest.FixtureRequest) -> None:
    """The module's simulator keeps one fake clock, moved only by the pacers' sleeps; a test
    starts in a fresh 10 s window so the requests of the tests before it (and the random
    backoff of their retries) cannot leave it near Trello's 100 / 10 s and make it flaky."""
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").clock.advance(11.0)


async def _validate(response: httpx.Response) -> None:
    if is_api_path(response.request.url.path):
        validate_request(response.request)
        await response.aread()
        validate_exchange(response)


def make_client(sim: Sim, *, token: str | None = None, clock: Any = None) -> TrelloClient:
    http = build_client("trello", allow_loopback=True, base_url=f"{sim.base}/1/", event_hooks={"response": [_validate]})
    pacer = Pacer(TRELLO_RATE_LIMIT, clock=clock or LinkedClock(sim.clock))
    return TrelloClient(http, key_and_token(sim.key, token or sim.token), pacer=pacer)


class TestTrelloConformance(ConnectorConformance):
    @pytest.fixture
    async def reader(self, sim: Sim) -> AsyncIterator[TrelloReader]:
        r = TrelloReader(make_client(sim))
        yield r
        await r.aclose()

    @pytest.fixture
    def source_scope(self, sim: Sim) -> str:
        return str(sim.state["boards"][0]["id"])

    @pytest.fixture
    async def writer(self, sim: Sim) -> AsyncIterator[TrelloWriter]:
        w = TrelloWriter(make_client(sim))
        yield w
        await w.aclose()

    @pytest.fixture
    def dest_workspace(self, sim: Sim) -> str:
        return str(sim.state["organizations"][0]["id"])

    @pytest.fixture
    def read_back(self, sim: Sim) -> ReadBack:
        async def get(kind: Kind, dest_id: str) -> Record | None:
            client = make_client(sim)
            try:
                raw = await client.get(f"/cards/{dest_id}", checklists="all")
                return card_to_task(TCard.model_validate(raw), {})
            except NotFoundError:
                return None
            finally:
                await client.aclose()

        return get


def _dest(value: str | Written) -> str:
    return value if isinstance(value, str) else value.dest_id


async def _read_all(reader: SourceReader, kind: Kind, scope: str, limit: int) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page = await reader.read(kind, scope, cursor, limit)
        out += page.records
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def test_reader_maps_the_seeded_board(sim: Sim) -> None:
    board = sim.state["boards"][0]
    reader = TrelloReader(make_client(sim))
    try:
        me = await reader.whoami()
        assert (me.email, me.display_name) == ("user0@example.com", "Ada Lovelace")
        containers = {c.id: c for c in await reader.list_containers()}
        assert containers[board["id"]].parent_id == board["idOrganization"]
        tasks = await _read_all(reader, Kind.TASK, board["id"], 5)
        cards = [c for c in sim.state["cards"] if c["idBoard"] == board["id"]]
        assert sorted(t.source_id for t in tasks) == sorted(c["id"] for c in cards)
        by_id = {t.source_id: t for t in tasks}
        checklists = [cl for cl in sim.state["checklists"] if cl["idCard"] in by_id]
        assert sum(len(t.checklists) for t in tasks) == len(checklists)
        long_one = next(t for t in tasks if len(t.description) == 16_384)  # Trello's maximum
        assert any(ord(ch) > 0xFFFF for ch in long_one.description)  # astral-plane text
        assert any(t.archived for t in tasks) and any(t.due_at for t in tasks)
        assert any(t.start_on for t in tasks) and any(t.completed for t in tasks)
        me_assigned = [a for t in tasks for a in t.assignees if a.source_id == me.source_id]
        assert all(a.email == "user0@example.com" for a in me_assigned)
        comments = await _read_all(reader, Kind.COMMENT, board["id"], 3)
        seeded = [a for a in sim.state["actions"] if a["type"] == "commentCard" and a["idCard"] in by_id]
        assert sorted(c.source_id for c in comments) == sorted(a["id"] for a in seeded)
        first_card = [c for c in comments if c.task_id == cards[0]["id"]]
        assert len(first_card) == 7
        assert [c.created_at for c in first_card] == sorted(c.created_at for c in first_card)
        sections = await _read_all(reader, Kind.SECTION, board["id"], 2)
        assert any(s.archived for s in sections)
        labels = await _read_all(reader, Kind.LABEL, board["id"], 2)
        seeded_labels = {x["id"]: x for x in sim.state["labels"] if x["idBoard"] == board["id"]}
        assert seeded_labels and {lab.source_id for lab in labels} == set(seeded_labels)
        # names as Trello holds them: a colour-only label stays nameless (not its colour)
        assert all(lab.name == (seeded_labels[lab.source_id]["name"] or "") for lab in labels)
        assert any(lab.name == "" and lab.color for lab in labels)
    finally:
        await reader.aclose()


async def test_comments_and_attachments_are_read_board_wide_not_per_card(sim: Sim) -> None:
    """Issue 19: the child streams cost a few requests per page, whatever the number of cards
    (they used to cost one request per card with a comment or an attachment)."""
    board = sim.state["boards"][0]
    cards = [c for c in sim.state["cards"] if c["idBoard"] == board["id"]]
    client = make_client(sim)
    reader = TrelloReader(client)
    try:
        for kind in (Kind.COMMENT, Kind.ATTACHMENT):
            pacer = client.pacer
            before = pacer.calls - pacer.throttled - pacer.retried
            page = await reader.read(kind, board["id"], None, 500)
            assert page.next_cursor is None and len(page.records) > 3
            assert {r.task_id for r in page.records} <= {c["id"] for c in cards}
            # requests answered (retries of a 429 aside): members (first read only) + card
            # ids + one page of actions / one card listing
            assert pacer.calls - pacer.throttled - pacer.retried - before <= 3, kind
        assert len(cards) > 3
    finally:
        await reader.aclose()


async def test_a_streams_later_pages_reuse_the_listing_its_first_page_read(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the pages after a board-wide stream's first read no more requests (every
    page of 50 re-read the whole board: 9 of 17 requests per board in an unchanged delta),
    yet give the same records; a first page reads afresh, and so does a page whose listing
    is older than ``LISTING_TTL_S``."""
    board = sim.state["boards"][0]["id"]
    client = make_client(sim)
    reader = TrelloReader(client)

    def answered() -> int:  # requests answered, retries of a 429 aside
        return client.pacer.calls - client.pacer.throttled - client.pacer.retried

    try:
        for kind in (Kind.COMMENT, Kind.ATTACHMENT):
            whole = await reader.read(kind, board, None, 500)
            assert whole.next_cursor is None and len(whole.records) > 3
            first = await reader.read(kind, board, None, 2)
            after_first = answered()
            records, cursor = list(first.records), first.next_cursor
            while cursor is not None:
                page = await reader.read(kind, board, cursor, 2)
                records += page.records
                cursor = page.next_cursor
            assert answered() == after_first, kind
            assert [r.source_id for r in records] == [r.source_id for r in whole.records]
            await reader.read(kind, board, None, 2)
            assert answered() > after_first, kind  # a new stream does not start from the old listing
        monkeypatch.setattr(trello_reader, "LISTING_TTL_S", -1.0)
        first = await reader.read(Kind.COMMENT, board, None, 2)
        before = answered()
        await reader.read(Kind.COMMENT, board, first.next_cursor, 2)
        assert answered() > before  # too old: read again
    finally:
        await reader.aclose()


async def test_attachment_stream_matches_the_seeded_bytes(sim: Sim) -> None:
    reader = TrelloReader(make_client(sim))
    try:
        board = sim.state["boards"][1]["id"]
        atts = await _read_all(reader, Kind.ATTACHMENT, board, 2)
        files = [a for a in atts if not a.is_link]
        links = [a for a in atts if a.is_link]
        assert files and links and all(a.url and a.url.startswith("https://") for a in links)
        big = max(files, key=lambda a: a.size or 0)
        digest = hashlib.sha256()
        sizes = []
        async for chunk in reader.open_attachment(big):
            digest.update(chunk)
            sizes.append(len(chunk))
        assert sum(sizes) == big.size == 300_000 and max(sizes) <= 1024 * 1024
        stored = sim.app.state.trello.store.attachments[big.source_id].blob
        assert digest.hexdigest() == stored.sha256()
    finally:
        await reader.aclose()


async def test_board_copy_round_trip(sim: Sim) -> None:
    """Read a seeded board and write it into a new board; read the copy back."""
    source = sim.state["boards"][1]["id"]
    client = make_client(sim)  # one client and pacer per credential, as in runtime
    reader, writer = TrelloReader(client), TrelloWriter(client)
    mig = "copytest"
    try:
        project = (await reader.read(Kind.PROJECT, source, None, 1)).records[0]
        org = sim.state["organizations"][0]["id"]
        dest_board = _dest(
            await writer.create(
                Kind.PROJECT, project, DestRefs(workspace=org), make_marker(mig, Kind.PROJECT, project.source_id)
            )
        )
        refs = DestRefs(workspace=org, project=dest_board)
        section_ids: dict[str, str] = {}
        for sec in await _read_all(reader, Kind.SECTION, source, 50):
            section_ids[sec.source_id] = _dest(
                await writer.create(Kind.SECTION, sec, refs, make_marker(mig, Kind.SECTION, sec.source_id))
            )
        label_ids: dict[str, str] = {}
        for lab in await _read_all(reader, Kind.LABEL, source, 50):
            label_ids[lab.source_id] = _dest(
                await writer.create(Kind.LABEL, lab, refs, make_marker(mig, Kind.LABEL, lab.source_id))
            )
        refs = refs.model_copy(update={"labels": label_ids})
        task_ids: dict[str, str] = {}
        tasks = await _read_all(reader, Kind.TASK, source, 50)
        for task in tasks:
            trefs = refs.model_copy(update={"section": section_ids[task.section_id]})
            task_ids[task.source_id] = _dest(
                await writer.create(Kind.TASK, task, trefs, make_marker(mig, Kind.TASK, task.source_id))
            )
        comments = await _read_all(reader, Kind.COMMENT, source, 50)
        for com in comments:
            await writer.create(
                Kind.COMMENT,
                com,
                refs.model_copy(update={"task": task_ids[com.task_id]}),
                make_marker(mig, Kind.COMMENT, com.source_id),
            )
        atts = await _read_all(reader, Kind.ATTACHMENT, source, 50)
        for att in atts:
            arefs = refs.model_copy(update={"task": task_ids[att.task_id]})
            body = None if att.is_link else reader.open_attachment(att)
            await writer.upload_attachment(att, arefs, make_marker(mig, Kind.ATTACHMENT, att.source_id), body)

        copy_tasks = {t.name: t for t in await _read_all(reader, Kind.TASK, dest_board, 50)}
        me = await reader.whoami()
        for task in tasks:
            got = copy_tasks[task.name]
            kept = [a.source_id for a in task.assignees if a.source_id == me.source_id]
            # The new board has only the token's member: others are named in the description.
            assert [a.source_id for a in got.assignees] == kept
            note = "" if len(kept) == len(task.assignees) else "\n\nAssigned in the source: "
            if len(task.description) < 16_000:
                assert got.description.startswith(task.description + note)  # footer stripped
            else:  # cut to make room for the note: reported as a loss by the writer
                assert task.description.startswith(got.description.split(note)[0])
            assert (got.completed, got.archived, got.due_at, got.start_on) == (
                task.completed,
                task.archived,
                task.due_at,
                task.start_on,
            )
            assert [lab.name for lab in got.labels] == [lab.name for lab in task.labels]
            assert [[(i.name, i.checked) for i in cl.items] for cl in got.checklists] == [
                [(i.name, i.checked) for i in cl.items] for cl in task.checklists
            ]
        copy_comments = await _read_all(reader, Kind.COMMENT, dest_board, 50)
        assert sorted(c.text for c in copy_comments) == sorted(c.text for c in comments)
        copy_atts = await _read_all(reader, Kind.ATTACHMENT, dest_board, 50)
        assert sorted((a.name, a.size, a.is_link) for a in copy_atts) == sorted(
            (a.name, a.size, a.is_link) for a in atts
        )
        uploaded = [a for a in copy_atts if not a.is_link]
        store = sim.app.state.trello.store
        for att in uploaded:
            source_task = next(k for k, v in task_ids.items() if v == att.task_id)
            original = next(a for a in atts if a.task_id == source_task and a.name == att.name and a.size == att.size)
            assert store.attachments[att.source_id].sha256 == store.attachments[original.source_id].blob.sha256()
        again = await writer.find_by_marker(Kind.TASK, make_marker(mig, Kind.TASK, tasks[0].source_id), tasks[0], refs)
        assert again == task_ids[tasks[0].source_id]
    finally:
        await client.aclose()


async def test_big_upload_streams_with_exact_length(sim: Sim) -> None:
    writer = TrelloWriter(make_client(sim))
    card = sim.state["cards"][2]["id"]
    size = 5 * 1024 * 1024 + 3
    blob = make_blob(size, "big-upload")

    async def chunks() -> AsyncIterator[bytes]:
        for part in blob.iter_bytes():
            yield part

    att = Attachment(
        source_id="big",
        version="1",
        project_id="p",
        task_id="t",
        name="Grand fichier – ü.bin",
        size=size,
        mime_type="application/x-test",
    )
    try:
        dest = _dest(await writer.upload_attachment(att, DestRefs(task=card), "m", chunks()))
        stored = sim.app.state.trello.store.attachments[dest.split(":")[1]]
        assert (stored.size, stored.sha256, stored.name) == (size, blob.sha256(), att.name)
        assert await writer.find_by_marker(Kind.ATTACHMENT, "m", att, DestRefs(task=card)) == dest
        await writer.delete(Kind.ATTACHMENT, dest)
        await writer.delete(Kind.ATTACHMENT, dest)
        assert dest.split(":")[1] not in sim.app.state.trello.store.attachments
    finally:
        await writer.aclose()


async def test_pacer_recovers_from_trello_429s(sim: Sim) -> None:
    """Trello's 429 has no Retry-After: the pacer backs off until the window moves."""
    async with httpx.AsyncClient(base_url=sim.base) as ctl:
        await ctl.post("/_sim/limits", json={"reset": True, "limiters": {"token": {"limit": 5, "window_s": 2.0}}})
        before = (await ctl.get("/_sim/stats")).json()["throttled"]
        clock = LinkedClock(sim.clock)
        client = make_client(sim, clock=clock)
        reader = TrelloReader(client)
        try:
            tasks = await _read_all(reader, Kind.TASK, sim.state["boards"][0]["id"], 2)
            assert len(tasks) == 14
            assert client.pacer.throttled > 0
            assert (await ctl.get("/_sim/stats")).json()["throttled"] > before
        finally:
            await ctl.post(
                "/_sim/limits", json={"reset": True, "limiters": {"token": {"limit": 100, "window_s": 10.0}}}
            )
            await reader.aclose()


async def test_transient_faults_are_retried_and_bad_tokens_pause(sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=sim.base) as ctl:
        await ctl.post(
            "/_sim/faults",
            json={
                "faults": [
                    {"kind": "status", "status": 502, "path": "^/1/boards/[0-9a-f]+/lists", "count": 2},
                    {"kind": "drop", "path": "^/1/boards/[0-9a-f]+/labels", "count": 1},
                ]
            },
        )
        reader = TrelloReader(make_client(sim))
        try:
            board = sim.state["boards"][0]["id"]
            assert await _read_all(reader, Kind.SECTION, board, 50)
            assert await _read_all(reader, Kind.LABEL, board, 50)
            assert (await ctl.get("/_sim/stats")).json()["faults_injected"] >= 3
        finally:
            await ctl.post("/_sim/faults", json={})
            await reader.aclose()
    bad = TrelloReader(make_client(sim, token="not-a-token"))
    try:
        with pytest.raises(AuthRequiredError):
            await bad.whoami()
    finally:
        await bad.aclose()


async def test_factory_builds_a_guarded_client(sim: Sim) -> None:
    client = trello_client(
        sim.connection(), allow_loopback=True, pacer=Pacer(TRELLO_RATE_LIMIT, clock=LinkedClock(sim.clock))
    )
    reader = TrelloReader(client)
    try:
        assert (await reader.whoami()).email == "user0@example.com"
    finally:
        await reader.aclose()
    from shared.errors import UnsafeDestinationError

    with pytest.raises(UnsafeDestinationError):
        trello_client(sim.connection())  # loopback refused outside local mode


def test_adapt_maps_colours_and_notes_archived_boards(sim: Sim) -> None:
    writer = TrelloWriter(make_client(sim))
    label = Label(source_id="l", version="1", project_id="p", name="x", color="dark-green")
    adapted, notes = writer.adapt(Kind.LABEL, label)
    assert isinstance(adapted, Label) and adapted.color == "green"
    assert notes[0].code == "label.color_mapped" and not notes[0].loss
    odd, notes = writer.adapt(Kind.LABEL, label.model_copy(update={"color": "#123456"}))
    assert isinstance(odd, Label) and odd.color is None and notes[0].loss
    same, none = writer.adapt(Kind.SECTION, Section(source_id="s", version="1", project_id="p", name="n"))
    assert none == [] and isinstance(same, Section)


# -- pure mapping ------------------------------------------------------------------------


def test_mapping_of_a_card_with_everything() -> None:
    from datetime import UTC, date, datetime

    from shared.connectors.trello.mapping import (
        date_as_due,
        format_dt,
        id_time,
        label_name,
        trello_color,
    )
    from shared.contract.model import UserRef
    from shared.contract.text import marker_footer

    raw = {
        "id": "5abbe4b7ddc1b351ef961414",
        "name": "Ünïcödé ✅",
        "idBoard": "b",
        "idList": "l",
        "desc": "body" + marker_footer("ferry:abc:task:0123"),
        "closed": True,
        "pos": 3.5,
        "due": "2026-03-01T16:30:00.000Z",
        "start": "2026-02-01T12:00:00.000Z",
        "dueComplete": True,
        "idMembers": ["m1", "m2"],
        "labels": [{"id": "lab1", "name": "", "color": "red"}],
        "checklists": [
            {
                "id": "c1",
                "name": "Steps",
                "pos": 2,
                "checkItems": [
                    {"id": "i2", "name": "two", "state": "incomplete", "pos": 20},
                    {
                        "id": "i1",
                        "name": "one",
                        "state": "complete",
                        "pos": 10,
                        "due": "2026-02-10T12:00:00.000Z",
                        "idMember": "m1",
                    },
                ],
            }
        ],
        "unknownField": {"ignored": True},
    }
    ada = UserRef(email="ada@example.com", display_name="Ada", source_id="m1")
    task = card_to_task(TCard.model_validate(raw), {"m1": ada})
    assert task.description == "body"  # marker footer stripped
    assert task.due_at == datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    assert task.due_on == date(2026, 3, 1) and task.start_on == date(2026, 2, 1)
    assert task.completed and task.archived and task.position == 3.5
    assert task.assignees == (ada, UserRef(source_id="m2"))
    assert [lab.name for lab in task.labels] == ["red"]  # nameless label → its colour
    items = task.checklists[0].items
    assert [(i.name, i.checked) for i in items] == [("one", True), ("two", False)]
    assert items[0].due_on == date(2026, 2, 10) and items[0].assignee == ada
    assert task.created_at == id_time("5abbe4b7ddc1b351ef961414")
    assert task.created_at == datetime(2018, 3, 28, 18, 53, 43, tzinfo=UTC)  # 0x5abbe4b7
    again = card_to_task(TCard.model_validate({**raw, "badges": {"comments": 9}}), {"m1": ada})
    assert again.version == task.version  # badges are not content
    renamed = card_to_task(TCard.model_validate({**raw, "name": "x"}), {"m1": ada})
    assert renamed.version != task.version
    assert format_dt(datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    assert date_as_due(date(2026, 5, 1)) == "2026-05-01T12:00:00.000Z"
    assert [trello_color(c) for c in ("Red", "grey", "light-green", "#abcdef", None)] == [
        "red",
        "black",
        "lime",
        None,
        None,
    ]
    from shared.connectors.trello.api_types import TLabel

    assert label_name(TLabel(id="x", name=None, color=None)) == "label"


# -- through the engine --------------------------------------------------------------------


async def test_engine_migrates_a_board_and_reruns_idempotently(sim: Sim) -> None:
    """The chunk runner moves a seeded board into a new board of the same Trello; a second
    run writes nothing new; an edit at the source is carried over by a third run."""
    from shared.contract.runs import RunStatus
    from shared.engine.chunk import ChunkRunner
    from shared.engine.inmemory import InMemoryIdMap, InMemoryQueue, InMemoryRunState, drain
    from shared.engine.plan import RunSettings, first_messages

    clock = LinkedClock(sim.clock)
    client = make_client(sim, clock=clock)
    reader, writer = TrelloReader(client), TrelloWriter(client)
    id_map, state, queue = InMemoryIdMap(), InMemoryRunState(now=clock.now), InMemoryQueue()
    source = sim.state["boards"][0]["id"]
    org = sim.state["organizations"][0]["id"]

    async def run(n: int) -> tuple[RunStatus, dict[str, int]]:
        settings = RunSettings(
            tenant_id="t1", migration_id="mig-trello", run_id=f"r{n}", dest_workspace=org, page_size=10
        )
        await state.start(settings.run_id, [source])
        for msg in first_messages(settings, [source]):
            await queue.enqueue(msg)
        runner = ChunkRunner(
            reader=reader, writer=writer, id_map=id_map, run_state=state, queue=queue, settings=settings, clock=clock
        )

        async def wait(seconds: float) -> None:
            clock.advance(seconds)
            sim.clock.advance(seconds)

        await drain(queue, runner.run, on_wait=wait)
        return state.status[settings.run_id], dict(state.counts[settings.run_id])

    try:
        status, counts = await run(1)
        assert status is RunStatus.SUCCEEDED, counts
        assert counts["task.created"] == 14 and counts["attachment.created"] == 7
        assert counts["comment.created"] == counts["adapt.comment.author_prepended"]
        boards_before = len(sim.app.state.trello.store.boards)
        dest = [
            b
            for b in sim.app.state.trello.store.boards.values()
            if b.name == sim.state["boards"][0]["name"] and b.id != source
        ]
        assert len(dest) == 1
        copy = dest[0].id
        store = sim.app.state.trello.store
        assert len(store.board_cards(copy)) == len(store.board_cards(source))
        src_comments = sum(1 for a in store.actions.values() if a.id_board == source and a.type == "commentCard")
        assert sum(1 for a in store.actions.values() if a.id_board == copy and a.type == "commentCard") == src_comments
        assert len([a for a in store.attachments.values() if store.cards[a.id_card].id_board == copy]) == len(
            [a for a in store.attachments.values() if store.cards[a.id_card].id_board == source]
        )

        status, counts = await run(2)
        assert status is RunStatus.SUCCEEDED
        assert not [k for k in counts if k.endswith((".created", ".updated", ".failed"))]
        assert len(store.boards) == boards_before
        assert len(store.board_cards(copy)) == len(store.board_cards(source))

        card = next(c for c in store.board_cards(source) if not c.closed)
        card.name = "Renamed at the source ✏️"
        status, counts = await run(3)
        assert status is RunStatus.SUCCEEDED
        assert counts.get("task.updated") == 1 and "task.created" not in counts
        assert any(c.name == "Renamed at the source ✏️" for c in store.board_cards(copy))
        assert len(store.board_cards(copy)) == len(store.board_cards(source))
    finally:
        await client.aclose()


async def test_streaming_a_large_attachment_keeps_memory_flat() -> None:
    """A 32 MiB file goes from the simulator through the reader with a bounded footprint
    (both sides of the stream run in this process, so tracemalloc sees them all)."""
    import tracemalloc

    size = 32 * 1024 * 1024
    clock = SimFakeClock()
    app = create_app(
        SeedConfig(
            seed=5, boards=1, cards_per_board=3, many_comments=0, attachment_sizes=(size,), link_attachment_every=0
        ),
        clock=clock,
    )
    with serve(app) as base:
        big = Sim(base, app, clock)
        reader = TrelloReader(make_client(big))
        try:
            atts = await _read_all(reader, Kind.ATTACHMENT, big.state["boards"][0]["id"], 10)
            att = next(a for a in atts if a.size == size)
            tracemalloc.start()
            total = 0
            async for chunk in reader.open_attachment(att):
                total += len(chunk)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        finally:
            await reader.aclose()
    assert total == size
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB while streaming 32 MiB"


async def test_registry_runtime_reads_and_downloads(sim: Sim) -> None:
    """``open_runtime`` (registry + ``runtime.py``) gives a working reader and writer."""
    from shared.connectors.registry import open_runtime

    pacer = Pacer(TRELLO_RATE_LIMIT, clock=LinkedClock(sim.clock))
    runtime = await open_runtime(sim.connection(), allow_loopback=True, pacer=pacer)
    try:
        assert runtime.reader is not None and runtime.writer is not None
        assert (await runtime.writer.whoami()).email == "user0@example.com"
        board = sim.state["boards"][0]["id"]
        atts = await _read_all(runtime.reader, Kind.ATTACHMENT, board, 50)
        first = next(a for a in atts if not a.is_link)
        body = b"".join([part async for part in runtime.reader.open_attachment(first)])
        assert len(body) == first.size
    finally:
        await runtime.aclose()


async def test_half_written_card_is_removed_so_a_retry_creates_it_whole(sim: Sim) -> None:
    from shared.contract.model import Checklist, ChecklistItem, Task
    from shared.errors import TransientError

    writer = TrelloWriter(make_client(sim))
    board = sim.state["boards"][0]
    lst = next(x["id"] for x in sim.state["lists"] if x["idBoard"] == board["id"])
    task = Task(
        source_id="half",
        version="1",
        project_id="p",
        name="Half-written",
        checklists=(Checklist(name="c", items=(ChecklistItem(source_id="i", name="one"),)),),
    )
    refs = DestRefs(project=board["id"], section=lst)
    marker = make_marker("half", Kind.TASK, "half")
    async with httpx.AsyncClient(base_url=sim.base) as ctl:
        await ctl.post(
            "/_sim/faults",
            json={"faults": [{"kind": "status", "status": 502, "method": "POST", "path": "/checkItems$", "count": 1}]},
        )
        try:
            with pytest.raises(TransientError):
                await writer.create(Kind.TASK, task, refs, marker)
            assert await writer.find_by_marker(Kind.TASK, marker, task, refs) is None
            card = _dest(await writer.create(Kind.TASK, task, refs, marker))
            assert await writer.find_by_marker(Kind.TASK, marker, task, refs) == card
            assert len(sim.app.state.trello.store.cards[card].id_checklists) == 1
        finally:
            await ctl.post("/_sim/faults", json={})
            await writer.aclose()


async def test_upload_over_the_workspace_limit_skips_the_item(sim: Sim) -> None:
    """A free workspace takes 10 MB per file; Trello answers 413 and the item is skipped."""
    from shared.errors import SkippableItemError

    config = sim.app.state.trello.config
    saved = config.max_upload_bytes
    config.max_upload_bytes = 100_000
    writer = TrelloWriter(make_client(sim))
    att = Attachment(source_id="toobig", version="1", project_id="p", task_id="t", name="too-big.bin", size=150_000)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * 150_000

    try:
        with pytest.raises(SkippableItemError) as info:
            await writer.upload_attachment(att, DestRefs(task=sim.state["cards"][0]["id"]), "m", chunks())
        assert info.value.extra.get("status") == 413
    finally:
        config.max_upload_bytes = saved
        await writer.aclose()


async def test_lists_and_cards_written_at_once_keep_source_order(sim: Sim) -> None:
    """Positions are sent as they are (0, the first Asana item, as a small positive pos):
    written last-first, lists and cards still come back in source order."""
    assert trello_pos(0.0) == FIRST_POS and 0 < FIRST_POS < 1 / 96
    assert trello_pos(3.5) == 3.5
    writer = TrelloWriter(make_client(sim))
    reader = TrelloReader(make_client(sim))
    try:
        project = Project(source_id="order", version="1", name="Order")
        board = _dest(
            await writer.create(
                Kind.PROJECT,
                project,
                DestRefs(workspace=str(sim.state["organizations"][0]["id"])),
                make_marker("order", Kind.PROJECT, "order"),
            )
        )
        lists: dict[float, str] = {}
        for pos in (2.0, 1.0, 0.0):  # the later ones first: what a concurrent page may do
            section = Section(source_id=f"s{pos}", version="1", project_id="order", name=f"List {pos}", position=pos)
            lists[pos] = _dest(
                await writer.create(
                    Kind.SECTION,
                    section,
                    DestRefs(project=board),
                    make_marker("order", Kind.SECTION, section.source_id),
                )
            )
        tasks = [
            Task(source_id=f"t{n}", version="1", project_id="order", name=f"Card {n}", position=float(n))
            for n in (2, 1, 0)
        ]
        await asyncio.gather(
            *(
                writer.create(
                    Kind.TASK,
                    t,
                    DestRefs(project=board, section=lists[0.0]),
                    make_marker("order", Kind.TASK, t.source_id),
                )
                for t in tasks
            )
        )
        read_lists = sorted(await _read_all(reader, Kind.SECTION, board, 50), key=lambda s: s.position)
        assert [s.name for s in read_lists] == ["List 0.0", "List 1.0", "List 2.0"]
        cards = sorted(await _read_all(reader, Kind.TASK, board, 50), key=lambda t: t.position)
        assert [t.name for t in cards] == ["Card 0", "Card 1", "Card 2"]
    finally:
        await writer.aclose()
        await reader.aclose()


# --------------------------------------------------------------------------- parts, containers


async def _new_board(writer: TrelloWriter, sim: Sim, name: str) -> str:
    project = Project(source_id=name, version="1", name=name)
    return _dest(
        await writer.create(
            Kind.PROJECT,
            project,
            DestRefs(workspace=str(sim.state["organizations"][0]["id"])),
            make_marker(name, Kind.PROJECT, name),
        )
    )


def _card_parts(sim: Sim, card: str) -> list[tuple[str, list[tuple[str, bool]]]]:
    """The card's checklists and items as the simulator holds them, in position order."""
    store = sim.app.state.trello.store
    lists = sorted((store.checklists[i] for i in store.cards[card].id_checklists), key=lambda cl: cl.pos)
    return [(cl.name, [(i.name, i.state == "complete") for i in sorted(cl.items, key=lambda i: i.pos)]) for cl in lists]


async def test_update_finishes_exactly_the_missing_parts_of_a_card(sim: Sim) -> None:
    """A create whose response was lost leaves a card with part of its checklists; the
    engine finds it by marker and calls update, which writes only what is missing. A later
    update that fails on a check item is finished by the next update, nothing written
    twice, and every part (list, labels, footer, checklists, items) is in line."""
    from shared.contract.model import Checklist, ChecklistItem, LabelRef
    from shared.errors import TransientError

    writer = TrelloWriter(make_client(sim))
    try:
        board = await _new_board(writer, sim, "parts")
        red, orange = [
            _dest(
                await writer.create(
                    Kind.LABEL,
                    Label(source_id=f"l{c}", version="1", project_id="parts", name="bug", color=c),
                    DestRefs(project=board),
                    make_marker("parts", Kind.LABEL, f"l{c}"),
                )
            )
            for c in ("red", "orange")
        ]
        task = Task(
            source_id="t",
            version="1",
            project_id="parts",
            name="Card with parts",
            description="About it",
            labels=(LabelRef(source_id="lred", name="bug"), LabelRef(source_id="lorange", name="bug")),
            checklists=(
                Checklist(
                    name="A",
                    items=tuple(ChecklistItem(source_id=f"a{n}", name=f"a{n}", checked=n == 2) for n in range(3)),
                ),
                Checklist(name="", items=(ChecklistItem(source_id="b0", name="b0"),)),
            ),
        )
        refs = DestRefs(project=board, labels={"lred": red, "lorange": orange})
        marker = make_marker("parts", Kind.TASK, "t")
        # what an applied create with a dropped response can leave: the card (with its
        # marker) and the first checklist with its first item, nothing more
        lst = await writer._list_for(refs)
        made = await writer.client.post(
            "/cards", json={"idList": lst, "name": task.name, "desc": "About it\n\n[" + marker + "]"}
        )
        partial = await writer.client.post(f"/cards/{made['id']}/checklists", json={"name": "A"})
        await writer.client.post(f"/checklists/{partial['id']}/checkItems", json={"name": "a0", "checked": False})
        assert await writer.find_by_marker(Kind.TASK, marker, task, refs) == made["id"]
        found = str(made["id"])
        await writer.update(Kind.TASK, found, task, refs, marker)
        assert _card_parts(sim, found) == [
            ("A", [("a0", False), ("a1", False), ("a2", True)]),
            ("Checklist", [("b0", False)]),
        ]
        card = sim.app.state.trello.store.cards[found]
        assert card.id_list == lst and sorted(card.id_labels) == sorted([red, orange])
        assert card.desc.endswith(f"[{marker}]") and card.desc.count(marker) == 1
        kept = {i.id for cl in card.id_checklists for i in sim.app.state.trello.store.checklists[cl].items}

        # the source changes (an item first, one checked, a checklist added); the first
        # check item write fails, the next update finishes it
        changed = task.model_copy(
            update={
                "checklists": (
                    Checklist(
                        name="A",
                        items=(
                            ChecklistItem(source_id="new", name="first"),
                            *(ChecklistItem(source_id=f"a{n}", name=f"a{n}", checked=n >= 1) for n in range(3)),
                        ),
                    ),
                    task.checklists[1],
                    Checklist(name="C", items=(ChecklistItem(source_id="c0", name="c0"),)),
                )
            }
        )
        async with httpx.AsyncClient(base_url=sim.base) as ctl:
            await ctl.post(
                "/_sim/faults",
                json={
                    "faults": [{"kind": "status", "status": 503, "method": "POST", "path": "/checkItems$", "count": 1}]
                },
            )
            try:
                with pytest.raises(TransientError):
                    await writer.update(Kind.TASK, found, changed, refs, marker)
            finally:
                await ctl.post("/_sim/faults", json={})
        await writer.update(Kind.TASK, found, changed, refs, marker)
        want = [
            ("A", [("first", False), ("a0", False), ("a1", True), ("a2", True)]),
            ("Checklist", [("b0", False)]),
            ("C", [("c0", False)]),
        ]
        assert _card_parts(sim, found) == want
        now = {i.id for cl in card.id_checklists for i in sim.app.state.trello.store.checklists[cl].items}
        assert kept <= now  # the items already there were kept, not written again
        await writer.update(Kind.TASK, found, changed, refs, marker)  # idempotent
        assert _card_parts(sim, found) == want
        assert [c.id for c in sim.app.state.trello.store.board_cards(board)] == [found]
    finally:
        await writer.aclose()


class _Paused:
    """Holds a writer's first look at a board's lists until ``release`` (forced order)."""

    def __init__(self, writer: TrelloWriter, barrier: asyncio.Barrier | None = None) -> None:
        self.looked = asyncio.Event()
        self.release = asyncio.Event()
        self.barrier = barrier
        self._first = True
        original = writer.client.get

        async def get(path: str, **params: Any) -> Any:
            out = await original(path, **params)
            if path.endswith("/lists") and self._first:
                self._first = False
                self.looked.set()
                if self.barrier is not None:
                    await self.barrier.wait()
                else:
                    await self.release.wait()
            return out

        writer.client.get = get  # type: ignore[method-assign]


def _default_lists(sim: Sim, board: str) -> tuple[list[str], list[str]]:
    """(open, archived) ids of the board's lists named like the default list."""
    lists = [x for x in sim.app.state.trello.store.lists.values() if x.id_board == board and x.name == "Tasks"]
    return [x.id for x in lists if not x.closed], [x.id for x in lists if x.closed]


async def test_default_list_is_created_once_by_writers_of_two_processes(sim: Sim) -> None:
    """Two writers (two worker processes) place cards without a section on one board, in
    the interleavings that made duplicates: both look before either creates; one looks,
    the other creates and uses its list, then the first creates. One open "Tasks" list
    holds every card; a writer whose list lost archived it, empty."""
    setup = TrelloWriter(make_client(sim))
    try:
        for case in ("both-look-first", "one-done-first"):
            board = await _new_board(setup, sim, f"default-{case}")
            one, two = TrelloWriter(make_client(sim)), TrelloWriter(make_client(sim))
            try:

                async def write(w: TrelloWriter, n: int, case: str = case, board: str = board) -> str:
                    card = Task(
                        source_id=f"{case}{n}", version="1", project_id="d", name=f"Card {n}", position=float(n + 1)
                    )
                    return _dest(
                        await w.create(
                            Kind.TASK, card, DestRefs(project=board), make_marker(case, Kind.TASK, f"{case}{n}")
                        )
                    )

                if case == "both-look-first":
                    barrier = asyncio.Barrier(2)
                    _Paused(one, barrier), _Paused(two, barrier)
                    ids = await asyncio.gather(*(write(w, n) for n, w in enumerate((one, two, one, two, one, two))))
                else:
                    held = _Paused(two)
                    late = asyncio.create_task(write(two, 0))
                    await held.looked.wait()  # two saw no list ...
                    ids = [await write(one, 1), await write(one, 2)]  # ... one made its own
                    held.release.set()
                    ids.append(await late)
                opened, archived = _default_lists(sim, board)
                assert len(opened) == 1, (case, opened)
                assert len(archived) == 1, case  # the loser's own list, archived
                store = sim.app.state.trello.store
                assert {store.cards[i].id_list for i in ids} == {opened[0]}
                assert not [c for c in store.board_cards(board) if c.id_list in archived]
            finally:
                await one.aclose()
                await two.aclose()
        # within one process: a page written at once asks for the list once
        board = await _new_board(setup, sim, "default-one-process")
        await asyncio.gather(
            *(
                setup.create(
                    Kind.TASK,
                    Task(source_id=f"p{n}", version="1", project_id="d", name=f"P{n}"),
                    DestRefs(project=board),
                    make_marker("p", Kind.TASK, f"p{n}"),
                )
                for n in range(6)
            )
        )
        assert [len(x) for x in _default_lists(sim, board)] == [1, 0]
    finally:
        await setup.aclose()


async def test_labels_of_one_name_stay_distinct_and_nameless_ones_are_named_reported(sim: Sim) -> None:
    """Trello holds two labels "bug" (red, orange): each source label finds only its own
    (name and colour). The reader keeps a colour-only label nameless; the writer names it
    after its colour (the API requires a non-empty name) and reports it."""
    from shared.connectors.trello.api_types import TLabel
    from shared.connectors.trello.mapping import label_to_label

    writer = TrelloWriter(make_client(sim))
    try:
        board = await _new_board(writer, sim, "labels")
        refs = DestRefs(project=board)
        labels = []
        for n, (name, color) in enumerate((("bug", "red"), ("bug", "orange"), ("", "green"))):
            adapted, notes = writer.adapt(
                Kind.LABEL, Label(source_id=f"l{n}", version="1", project_id="x", name=name, color=color)
            )
            assert [a.code for a in notes] == (["label.renamed_empty"] if not name else [])
            assert isinstance(adapted, Label)
            labels.append(adapted)
        assert labels[2].name == "green"
        red = _dest(await writer.create(Kind.LABEL, labels[0], refs, "m0"))
        assert await writer.find_by_marker(Kind.LABEL, "m1", labels[1], refs) is None
        orange = _dest(await writer.create(Kind.LABEL, labels[1], refs, "m1"))
        green = _dest(await writer.create(Kind.LABEL, labels[2], refs, "m2"))
        assert len({red, orange, green}) == 3
        for label, dest in zip(labels, (red, orange, green), strict=True):
            assert await writer.find_by_marker(Kind.LABEL, "m", label, refs) == dest
        read = label_to_label(TLabel(id=green, name="", color="green"), board)
        assert read.name == "" and read.color == "green"
    finally:
        await writer.aclose()


async def test_flattened_subtask_names_its_parent_and_headers_do_not_stack(sim: Sim) -> None:
    """A subtask Trello holds as a card says which card it came from; a comment that
    Ferry moved before keeps its original author header only (not a second one on top)."""
    from shared.contract.model import Comment, UserRef
    from shared.engine.adapt import adapt

    writer = TrelloWriter(make_client(sim))
    try:
        board = await _new_board(writer, sim, "flattened")
        refs = DestRefs(project=board)
        parent = _dest(
            await writer.create(
                Kind.TASK,
                Task(source_id="parent", version="1", project_id="f", name="Write the report"),
                refs,
                make_marker("f", Kind.TASK, "parent"),
            )
        )
        sub = Task(
            source_id="sub",
            version="1",
            project_id="f",
            parent_id="parent",
            name="Find sources",
            description="Before Friday",
        )
        adapted, _ = adapt(sub, writer.capabilities, writer)
        assert isinstance(adapted, Task) and adapted.parent_id is None
        marker = make_marker("f", Kind.TASK, "sub")
        card = _dest(
            await writer.create(Kind.TASK, adapted, refs.model_copy(update={"flattened_parent": parent}), marker)
        )
        desc = sim.app.state.trello.store.cards[card].desc
        assert desc == 'Before Friday\n\nOriginally a subtask of "Write the report".' + f"\n\n[{marker}]"
        # second hop: the text already starts with the first hop's header
        hop1 = "Ada <ada@example.com> wrote on 2025-05-01 09:30 UTC:\n\nLooks good"
        from datetime import UTC, datetime

        again = Comment(
            source_id="c",
            version="1",
            project_id="f",
            task_id="sub",
            text=hop1,
            author=UserRef(display_name="Ferry bot"),
            created_at=datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
        )
        out, _ = adapt(again, writer.capabilities, writer)
        assert isinstance(out, Comment) and out.text == hop1
        first = again.model_copy(update={"text": "Looks good"})
        out, _ = adapt(first, writer.capabilities, writer)
        assert isinstance(out, Comment)
        assert out.text == "Ferry bot wrote on 2025-06-01 10:00 UTC:\n\nLooks good"
    finally:
        await writer.aclose()
