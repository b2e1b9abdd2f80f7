"""Asana deltas that skip the attachment listings of tasks whose ``modified_at`` has not
moved (``AsanaReader.read_changed``, ``shared.engine.child_skip``), through the engine with
in-memory ports, from the Asana simulator in process into a memory destination."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from shared.connectors.asana import AsanaClient, AsanaReader, AsanaWriter
from shared.connectors.asana.reader import CHILDREN, SKIPPED_WHEN_UNCHANGED, ChildrenCursor
from shared.connectors.kit.auth import bearer
from shared.connectors.memory import MemoryVendor, MemoryWriter, memory_capabilities
from shared.contract.clock import FakeClock
from shared.contract.limits import RateLimit
from shared.contract.model import Kind
from shared.contract.pacer import Pacer
from shared.contract.runs import RunStatus
from shared.engine.chunk import ChunkRunner
from shared.engine.inmemory import InMemoryIdMap, InMemoryQueue, InMemoryRunState, drain
from shared.engine.plan import RunSettings, begin
from simulators.asana import DEFAULT_TOKEN, SeedConfig, create_app
from simulators.asana.attachments import add_external_attachment
from simulators.common import FakeClock as SimClock

pytestmark = pytest.mark.filterwarnings("ignore:Use of allowEmptyValue:DeprecationWarning")


class _World:
    """An Asana source in process, a memory destination, the engine's in-memory ports, and
    the requests the reader sent, by path."""

    def __init__(self, *, page_size: int = 50, dest: str = "memory") -> None:
        self.app = create_app(
            SeedConfig(
                projects=1,
                tasks_per_project=14,
                subtasks_every=3,
                comments_per_task=1,
                attachment_sizes=[2048, 5000, 9000],
                external_links=2,
                deleted_per_project=0,
                archived_projects=0,
            ),
            clock=SimClock(wall_start=1_770_000_000.0),
        )
        self.store = self.app.state.asana_store
        self.sent: Counter[str] = Counter()

        async def count(request: httpx.Request) -> None:
            self.sent[_route(request.url.path)] += 1

        transport = httpx.ASGITransport(app=self.app)
        self.clock = FakeClock()
        self.client = AsanaClient(
            "http://sim/api/1.0",
            bearer(DEFAULT_TOKEN, vendor="Asana"),
            http=httpx.AsyncClient(
                transport=transport, base_url="http://sim/api/1.0", event_hooks={"request": [count]}
            ),
            files_http=httpx.AsyncClient(transport=transport, event_hooks={"request": [count]}),
            pacer=Pacer(RateLimit(requests=100_000, per_seconds=60), clock=self.clock),
        )
        self.reader = AsanaReader(self.client)
        self.scope = next(iter(self.store.projects))
        self.dst = MemoryVendor(name="dst", clock=self.clock)
        self.dst.add_workspace("dws", "Destination")
        self.dest_workspace = "dws"
        self.writer: Any = MemoryWriter(self.dst, capabilities=memory_capabilities())
        if dest == "asana":  # a second simulator, read back by a verify
            dst_app = create_app(SeedConfig(projects=0, tags_per_workspace=0), clock=SimClock(wall_start=1.77e9))
            dst_transport = httpx.ASGITransport(app=dst_app)
            self.dest_client = AsanaClient(
                "http://dst/api/1.0",
                bearer(DEFAULT_TOKEN, vendor="Asana"),
                http=httpx.AsyncClient(transport=dst_transport, base_url="http://dst/api/1.0"),
                files_http=httpx.AsyncClient(transport=dst_transport),
                pacer=Pacer(RateLimit(requests=100_000, per_seconds=60), clock=self.clock),
            )
            self.writer = AsanaWriter(self.dest_client)
            self.dest_workspace = next(iter(dst_app.state.asana_store.workspaces))
        self.id_map = InMemoryIdMap()
        self.state = InMemoryRunState(now=self.clock.now)
        self.queue = InMemoryQueue()
        self.page_size = page_size
        self.runs = 0

    async def run(self, mode: str = "full") -> dict[str, int]:
        self.runs += 1
        self.sent.clear()
        settings = RunSettings(
            tenant_id="t1",
            migration_id="mig-asana",
            run_id=f"r{self.runs}",
            dest_workspace=self.dest_workspace,
            page_size=self.page_size,
            mode=mode,  # type: ignore[arg-type]
        )
        for msg in await begin(self.state, settings, [self.scope]):
            await self.queue.enqueue(msg)
        runner = ChunkRunner(
            reader=self.reader,
            writer=self.writer,
            id_map=self.id_map,
            run_state=self.state,
            queue=self.queue,
            settings=settings,
            clock=self.clock,
        )

        async def wait(seconds: float) -> None:
            self.clock.advance(seconds)

        await drain(self.queue, runner.run, on_wait=wait)
        assert self.state.status[settings.run_id] is RunStatus.SUCCEEDED, self.state.reasons.get(settings.run_id)
        return dict(self.state.counts[settings.run_id])

    def live_tasks(self) -> list[Any]:
        return [t for t in self.store.tasks.values() if not t.deleted]

    def live_attachments(self) -> list[Any]:
        return [a for a in self.store.attachments.values() if not a.deleted and a.parent in self.store.tasks]

    async def close(self) -> None:
        await self.reader.aclose()


def _route(path: str) -> str:
    """A request path with its gids taken out (``/tasks/{gid}/stories``)."""
    parts = path.split("/")
    return "/".join("{gid}" if p.isdigit() else p for p in parts).removeprefix("/api/1.0")


@pytest.fixture
async def world() -> Any:
    w = _World()
    yield w
    await w.close()


async def test_an_unchanged_delta_lists_no_attachments_and_keeps_them(world: _World) -> None:
    first = await world.run()
    tasks, files = len(world.live_tasks()), len(world.live_attachments())
    assert first["task.created"] == tasks and first["attachment.created"] == files and files >= 3
    assert world.sent["/attachments"] == tasks  # one listing per task and subtask

    second = await world.run("delta")
    assert world.sent["/attachments"] == 0, world.sent
    assert world.sent["/tasks/{gid}/stories"] == tasks  # an edited comment moves no version
    assert second["attachment.unchanged"] == files
    assert not any(k.endswith((".created", ".updated", ".deleted_at_source")) for k in second), second


async def test_an_attachment_added_or_trashed_is_found_and_nothing_else_is_listed(world: _World) -> None:
    await world.run()
    tasks = [t for t in world.live_tasks() if not t.parent]
    with_file = next(a for a in world.live_attachments() if a.resource_subtype != "external")
    plain = next(t for t in tasks if t.gid != with_file.parent)
    me = next(iter(world.store.users))  # as POST /attachments (multipart) does it
    add_external_attachment(world.store, me, plain.gid, "Spec", "https://x.test/spec")
    await world.client.delete(f"/attachments/{with_file.gid}")

    delta = await world.run("delta")
    assert delta["attachment.created"] == 1 and delta["attachment.deleted_at_source"] == 1, delta
    assert world.sent["/attachments"] == 2  # the two tasks whose modified_at moved
    assert delta["task.updated"] == 2
    again = await world.run("delta")
    assert world.sent["/attachments"] == 0 and not any(k.endswith(".created") for k in again)


async def test_a_comment_edited_without_moving_its_task_is_migrated(world: _World) -> None:
    """Asana's spec lists no ``modified_at`` move for an edited comment: comments are read
    under every task, so the edit arrives although the task's version stands still."""
    await world.run()
    story = next(s for s in world.store.stories.values() if s.type == "comment" and not s.deleted)
    task = world.store.tasks[story.target]
    before = task.modified_at
    story.text = "edited at the source"
    assert task.modified_at == before
    delta = await world.run("delta")
    assert delta["comment.updated"] == 1 and not delta.get("task.updated"), delta
    assert any(
        getattr(c, "text", "").startswith("edited at the source") for c in world.dst.items[Kind.COMMENT].values()
    )


async def test_listing_spread_over_pages_keeps_each_tasks_version_in_the_cursor() -> None:
    w = _World(page_size=1)
    try:
        await w.run()
        listed = {e.source_id: e.children_listed for e in w.id_map.entries.values() if e.kind is Kind.TASK}
        assert all(v.get("attachment") for v in listed.values()), listed
        delta = await w.run("delta")
        assert w.sent["/attachments"] == 0 and delta["attachment.unchanged"] == len(w.live_attachments())
    finally:
        await w.close()


async def test_a_cursor_written_before_versions_resumes_and_reports_nothing_listed(world: _World) -> None:
    first = await world.reader.read(Kind.ATTACHMENT, world.scope, None, 1)
    assert first.next_cursor is not None
    state = CHILDREN.load(first.next_cursor)
    old = CHILDREN.encode(ChildrenCursor(w=state.w, t=state.t, c=state.c))  # no "v"
    asked: list[list[str]] = []

    async def listed(parents: Any) -> dict[str, str]:
        asked.append(list(parents))
        return {}

    page = await world.reader.read_changed(Kind.ATTACHMENT, world.scope, old, 50, listed)
    # the tasks pending in the old cursor are listed, but without a version to report
    assert not set(page.listed_parents) & set(state.t)
    assert page.records


async def test_comments_never_ask_for_listed_versions(world: _World) -> None:
    assert Kind.COMMENT not in SKIPPED_WHEN_UNCHANGED

    async def listed(parents: Any) -> dict[str, str]:
        raise AssertionError("comments must not be skipped")

    page = await world.reader.read_changed(Kind.COMMENT, world.scope, None, 50, listed)
    assert page.records and not page.unchanged_parents and not page.listed_parents


async def test_verify_after_a_skipping_delta_finds_every_attachment() -> None:
    """A verify reads both sides in full (never ``read_changed``): every attachment the delta
    left unlisted is proven at the destination."""
    from shared.engine.ports import VERIFY_DEFECTS
    from shared.verify.scope import verify_scope

    world = _World(dest="asana")
    dest_reader = AsanaReader(world.dest_client)
    try:
        await world.run()
        trashed = next(a for a in world.live_attachments() if a.resource_subtype == "external")
        await world.client.delete(f"/attachments/{trashed.gid}")
        delta = await world.run("delta")
        assert world.sent["/attachments"] == 1 and delta["attachment.deleted_at_source"] == 1
        verdict = await verify_scope(
            world.reader, dest_reader, world.id_map, migration_id="mig-asana", scope=world.scope
        )
        assert verdict.counts["attachment.ok"] == len(world.live_attachments()), verdict.counts
        defects = [(r.kind, r.dest_id, r.status) for r in verdict.rows if r.status in VERIFY_DEFECTS]
        # the trashed one is kept at the destination (a delta deletes nothing there), and a
        # verify names that copy: the only difference, as without skipping
        kept = world.id_map.entries[("mig-asana", Kind.ATTACHMENT, trashed.gid)].dest_id
        assert defects == [(Kind.ATTACHMENT, kept, "unexpected")], defects
    finally:
        await world.close()
        await dest_reader.aclose()


async def _all_pages(world: _World, listed: Any) -> tuple[list[str], list[str], dict[str, str]]:
    records: list[str] = []
    unchanged: list[str] = []
    complete: dict[str, str] = {}
    cursor = None
    while True:
        page = await world.reader.read_changed(Kind.ATTACHMENT, world.scope, cursor, 2, listed)
        records += [r.source_id for r in page.records]
        unchanged += page.unchanged_parents
        complete.update(page.listed_parents)
        if page.next_cursor is None:
            return records, unchanged, complete
        cursor = page.next_cursor


async def test_read_changed_reads_what_read_reads_and_skips_what_it_is_told(world: _World) -> None:
    plain = []
    cursor = None
    while True:
        page = await world.reader.read(Kind.ATTACHMENT, world.scope, cursor, 2)
        plain += [r.source_id for r in page.records]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    async def nothing(parents: Any) -> dict[str, str]:
        return {}

    records, unchanged, complete = await _all_pages(world, nothing)
    assert records == plain and not unchanged
    assert set(complete) == {t.gid for t in world.live_tasks()}  # every task listed to its end

    async def all_as_listed(parents: Any) -> dict[str, str]:
        return {p: complete[p] for p in parents}

    records, unchanged, _ = await _all_pages(world, all_as_listed)
    assert records == [] and sorted(unchanged) == sorted(complete)

    one = next(a for a in world.live_attachments())
    world.store.tasks[one.parent].modified_at = world.store.stamp()  # that task moved
    # the next run's walk (a reader replays its labels scan's walk for the rest of a run:
    # within a run the engine itself stops vouching for a task the task phase rewrote)
    world.reader = AsanaReader(world.client)

    records, unchanged, moved = await _all_pages(world, all_as_listed)
    assert one.gid in records and set(moved) == {one.parent} and one.parent not in unchanged
