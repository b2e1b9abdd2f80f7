"""The one conformance suite every connector runs (rclone ``fstest/fstests`` style).

Subclass :class:`ConnectorConformance` in ``tests/connectors/test_<vendor>.py`` and override
the fixtures below (start your simulator in a fixture on a free port and stop it):

* ``reader``        → a ``SourceReader`` over seeded data (or ``pytest.skip`` if write-only)
* ``source_scope``  → id of a seeded project-level container that holds at least one record
                      of every kind the reader declares (several tasks, one file attachment)
* ``writer``        → a ``DestinationWriter`` (or ``pytest.skip`` if read-only)
* ``dest_workspace``→ destination container id under which the suite may create a project
* ``read_back``     → optional: ``async (kind, dest_id) -> Record | None`` reading an item the
                      writer created, to check content; default ``None`` (content unchecked)

Override ``sample_records`` to give records your vendor accepts. Class attributes tune
paging (``page_limit``) and upload sizes (``upload_chunks``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.connectors.kit.cursor import InvalidCursor
from shared.contract.connector import (
    MAX_CHUNK_BYTES,
    RECORD_ID,
    Capabilities,
    ChecklistSupport,
    DestinationWriter,
    DestRefs,
    MarkerLocation,
    SourceReader,
    Written,
)
from shared.contract.model import (
    Attachment,
    Checklist,
    ChecklistItem,
    Comment,
    Container,
    CustomFieldType,
    CustomFieldValue,
    Kind,
    Label,
    LabelRef,
    Project,
    Record,
    Section,
    Task,
    UserRef,
)
from shared.contract.text import make_marker

ReadBack = Callable[[Kind, str], Awaitable[Record | None]]


def _id(value: str | Written) -> str:
    """A writer's answer as a destination id (writers may return ``Written``)."""
    return value if isinstance(value, str) else value.dest_id


async def _chunks(sizes: list[int]) -> AsyncIterator[bytes]:
    for i, n in enumerate(sizes):
        yield bytes([65 + i % 26]) * n


class ConnectorConformance:
    """Contract tests; every test skips cleanly for a side (reader/writer) not offered."""

    page_limit = 2
    upload_chunks: tuple[int, ...] = (1000, 70_000, 5)

    # -- fixtures to override ---------------------------------------------------------

    @pytest.fixture
    async def reader(self) -> SourceReader:
        pytest.skip("connector has no reader")

    @pytest.fixture
    def source_scope(self) -> str:
        pytest.skip("no source scope given")

    @pytest.fixture
    async def writer(self) -> DestinationWriter:
        pytest.skip("connector has no writer")

    @pytest.fixture
    def dest_workspace(self) -> str | None:
        return None

    @pytest.fixture
    def read_back(self) -> ReadBack | None:
        return None

    def sample_records(self, run: str) -> dict[Kind, Record]:
        """One record per kind, source ids unique to this test (``run``)."""
        ada = UserRef(email="ada@example.com", display_name="Ada Lovelace")
        return {
            Kind.PROJECT: Project(source_id=f"{run}-p", version="1", name=f"Conformance {run}"),
            Kind.SECTION: Section(source_id=f"{run}-s", version="1", project_id=f"{run}-p", name="À faire"),
            Kind.LABEL: Label(
                source_id=f"{run}-l", version="1", project_id=f"{run}-p", name=f"lbl-{run[:6]}", color="red"
            ),
            Kind.TASK: Task(
                source_id=f"{run}-t",
                version="1",
                project_id=f"{run}-p",
                section_id=f"{run}-s",
                name="Tâche ünïcödé 🚀",
                description="Line one\nLine two",
                assignees=(ada,),
                labels=(LabelRef(source_id=f"{run}-l", name=f"lbl-{run[:6]}"),),
            ),
            Kind.COMMENT: Comment(
                source_id=f"{run}-c",
                version="1",
                project_id=f"{run}-p",
                task_id=f"{run}-t",
                text="Un commentaire 💬",
                author=ada,
            ),
            Kind.ATTACHMENT: Attachment(
                source_id=f"{run}-a",
                version="1",
                project_id=f"{run}-p",
                task_id=f"{run}-t",
                name="notes.txt",
                size=sum(self.upload_chunks),
                mime_type="text/plain",
            ),
        }

    # -- helpers ----------------------------------------------------------------------

    async def _read_all(self, reader: SourceReader, kind: Kind, scope: str, limit: int) -> list[Record]:
        out: list[Record] = []
        cursor: str | None = None
        seen_cursors: set[str] = set()
        for _ in range(10_000):
            page = await reader.read(kind, scope, cursor, limit)
            assert len(page.records) <= limit, "page larger than the limit"
            out.extend(page.records)
            if page.next_cursor is None:
                return out
            assert page.next_cursor not in seen_cursors, "cursor repeated (pagination loop)"
            seen_cursors.add(page.next_cursor)
            cursor = page.next_cursor
        raise AssertionError("pagination did not end")

    async def _make_parents(
        self,
        writer: DestinationWriter,
        dest_workspace: str | None,
        recs: dict[Kind, Record],
        marker: Callable[[Kind], str],
    ) -> DestRefs:
        caps = writer.capabilities
        project = _id(
            await writer.create(
                Kind.PROJECT, recs[Kind.PROJECT], DestRefs(workspace=dest_workspace), marker(Kind.PROJECT)
            )
        )
        refs = DestRefs(workspace=dest_workspace, project=project)
        section = None
        if Kind.SECTION in caps.write_kinds:
            section = _id(await writer.create(Kind.SECTION, recs[Kind.SECTION], refs, marker(Kind.SECTION)))
        labels: dict[str, str] = {}
        if Kind.LABEL in caps.write_kinds:
            labels[recs[Kind.LABEL].source_id] = _id(
                await writer.create(Kind.LABEL, recs[Kind.LABEL], refs, marker(Kind.LABEL))
            )
        refs = refs.model_copy(update={"section": section, "labels": labels})
        task = _id(await writer.create(Kind.TASK, recs[Kind.TASK], refs, marker(Kind.TASK)))
        return refs.model_copy(update={"task": task})

    # -- tests: both sides ------------------------------------------------------------

    def _caps_ok(self, caps: Capabilities) -> None:
        assert isinstance(caps, Capabilities)
        assert caps.vendor
        assert caps.marker_kinds <= caps.write_kinds
        if caps.marker_location is MarkerLocation.NONE:
            assert not caps.marker_kinds
        if caps.rate_limit is not None:
            assert caps.rate_limit.rate > 0

    async def test_reader_capabilities(self, reader: SourceReader) -> None:
        self._caps_ok(reader.capabilities)
        assert reader.capabilities.read_kinds, "a reader reads at least one kind"

    async def test_writer_capabilities(self, writer: DestinationWriter) -> None:
        caps = writer.capabilities
        self._caps_ok(caps)
        assert Kind.PROJECT in caps.write_kinds and Kind.TASK in caps.write_kinds

    async def test_whoami(self, reader: SourceReader) -> None:
        me = await reader.whoami()
        assert isinstance(me, UserRef)
        assert me.email or me.source_id

    async def test_scope_is_listed(self, reader: SourceReader, source_scope: str) -> None:
        containers = await reader.list_containers()
        assert all(isinstance(c, Container) for c in containers)
        assert source_scope in {c.id for c in containers}

    async def test_writer_whoami_and_containers(self, writer: DestinationWriter, dest_workspace: str | None) -> None:
        me = await writer.whoami()
        assert isinstance(me, UserRef) and (me.email or me.source_id)
        containers = await writer.list_containers()
        if dest_workspace is not None:
            assert dest_workspace in {c.id for c in containers}

    # -- tests: reader ------------------------------------------------------------------

    async def test_pages_to_exhaustion_without_repeats(self, reader: SourceReader, source_scope: str) -> None:
        for kind in sorted(reader.capabilities.read_kinds, key=list(Kind).index):
            small = await self._read_all(reader, kind, source_scope, self.page_limit)
            ids = [r.source_id for r in small]
            assert len(ids) == len(set(ids)), f"{kind}: a record repeated across pages"
            big = await self._read_all(reader, kind, source_scope, 500)
            assert sorted(ids) == sorted(r.source_id for r in big), f"{kind}: pages differ"
            for rec in small:
                assert rec.kind is kind and rec.source_id and rec.version
                # ids travel in queue messages, id-map keys and log lines (their grammar)
                refs = [rec.source_id, getattr(rec, "section_id", None) or "x"]
                refs += [ref.source_id for ref in getattr(rec, "labels", ())]
                assert all(RECORD_ID.match(ref) for ref in refs), f"{kind}: an id breaks the id grammar: {refs}"
            if kind is Kind.PROJECT:
                assert [r.source_id for r in small] == [source_scope]

    async def test_a_cursor_it_did_not_write_is_invalid(self, reader: SourceReader, source_scope: str) -> None:
        """One failure for every vendor: a cursor that is not the reader's own (corrupt, from
        another connector or an older format) is ``InvalidCursor``, never a read from an
        arbitrary place or an unhandled decoding error."""
        for kind in sorted(reader.capabilities.read_kinds - {Kind.PROJECT}, key=list(Kind).index):
            for foreign in ("not json {", '{"unknown": [1, 2]}', "[]"):
                with pytest.raises(InvalidCursor):
                    await reader.read(kind, source_scope, foreign, self.page_limit)

    async def test_parent_task_comes_first(self, reader: SourceReader, source_scope: str) -> None:
        if Kind.TASK not in reader.capabilities.read_kinds:
            pytest.skip("no tasks")
        seen: set[str] = set()
        tasks = await self._read_all(reader, Kind.TASK, source_scope, self.page_limit)
        ids = {t.source_id for t in tasks}
        for task in tasks:
            assert isinstance(task, Task)
            if task.parent_id in ids:
                assert task.parent_id in seen, "subtask read before its parent"
            seen.add(task.source_id)

    async def test_versions_stable_without_changes(self, reader: SourceReader, source_scope: str) -> None:
        for kind in reader.capabilities.read_kinds:
            first = {r.source_id: r.version for r in await self._read_all(reader, kind, source_scope, 500)}
            again = {r.source_id: r.version for r in await self._read_all(reader, kind, source_scope, 500)}
            assert first == again, f"{kind}: versions changed with no edit (delta would redo)"

    async def test_attachment_streams_in_bounded_chunks(self, reader: SourceReader, source_scope: str) -> None:
        if Kind.ATTACHMENT not in reader.capabilities.read_kinds:
            pytest.skip("no attachments")
        atts = [
            a
            for a in await self._read_all(reader, Kind.ATTACHMENT, source_scope, 500)
            if isinstance(a, Attachment) and not a.is_link
        ]
        assert atts, "the seeded scope needs one file attachment"
        att = atts[0]
        total = 0
        async for part in reader.open_attachment(att):
            assert 0 < len(part) <= MAX_CHUNK_BYTES
            total += len(part)
        if att.size is not None:
            assert total == att.size

    # -- tests: writer -------------------------------------------------------------------

    async def test_create_find_update_delete(
        self, writer: DestinationWriter, dest_workspace: str | None, read_back: ReadBack | None
    ) -> None:
        run = uuid.uuid4().hex[:12]
        recs = self.sample_records(run)
        mid = f"conf{run}"

        def marker(kind: Kind) -> str:
            return make_marker(mid, kind, recs[kind].source_id)

        refs = await self._make_parents(writer, dest_workspace, recs, marker)
        caps = writer.capabilities
        task_id = refs.task
        assert task_id
        for kind in (Kind.PROJECT, Kind.TASK):
            if kind in caps.marker_kinds:
                found = await writer.find_by_marker(kind, marker(kind), recs[kind], refs)
                want = refs.project if kind is Kind.PROJECT else task_id
                assert found == want, f"{kind}: find_by_marker did not find the created item"
        if read_back is not None:
            got = await read_back(Kind.TASK, task_id)
            assert got is not None and getattr(got, "name", None) == recs[Kind.TASK].name

        changed = recs[Kind.TASK].model_copy(update={"name": "Renamed ✓", "version": "2"})
        await writer.update(Kind.TASK, task_id, changed, refs, marker(Kind.TASK))
        if Kind.TASK in caps.marker_kinds:
            found = await writer.find_by_marker(Kind.TASK, marker(Kind.TASK), changed, refs)
            assert found == task_id, "update lost the marker"
        if read_back is not None:
            got = await read_back(Kind.TASK, task_id)
            assert got is not None and getattr(got, "name", None) == "Renamed ✓"

        if Kind.COMMENT in caps.write_kinds:
            cid = _id(await writer.create(Kind.COMMENT, recs[Kind.COMMENT], refs, marker(Kind.COMMENT)))
            assert cid
            if Kind.COMMENT in caps.marker_kinds:
                assert await writer.find_by_marker(Kind.COMMENT, marker(Kind.COMMENT), recs[Kind.COMMENT], refs) == cid

        await writer.delete(Kind.TASK, task_id)
        await writer.delete(Kind.TASK, task_id)  # idempotent
        if Kind.TASK in caps.marker_kinds:
            assert await writer.find_by_marker(Kind.TASK, marker(Kind.TASK), changed, refs) is None

    async def test_declared_features_are_accepted(
        self, writer: DestinationWriter, dest_workspace: str | None, read_back: ReadBack | None
    ) -> None:
        """Capabilities honesty: a task using every declared feature up to its limits is
        accepted (the engine only adapts what the capabilities exclude). Unknown assignee
        e-mails must not fail a write: the writer drops them and says so (``Written``)."""
        caps = writer.capabilities
        run = uuid.uuid4().hex[:12]
        recs = self.sample_records(run)

        def marker(kind: Kind, sid: str = "") -> str:
            return make_marker(f"conf{run}", kind, sid or recs[kind].source_id)

        refs = await self._make_parents(writer, dest_workspace, recs, marker)
        base = recs[Kind.TASK]
        assert isinstance(base, Task)
        people = (
            UserRef(email="ada@example.com", display_name="Ada"),
            UserRef(email="grace@example.com", display_name="Grace"),
        )
        n_items = min(2, caps.max_checklist_items or 2)
        update: dict[str, Any] = {
            "source_id": f"{run}-full",
            "assignees": people[: min(2, caps.max_assignees or 2)],
            "due_on": date(2030, 1, 15),
            "completed": caps.completion,
        }
        if caps.due_times:
            update["due_at"] = datetime(2030, 1, 15, 16, 30, tzinfo=UTC)
        if caps.start_dates:
            update["start_on"] = date(2030, 1, 2)
        if caps.checklists is not ChecklistSupport.NONE:
            update["checklists"] = (
                Checklist(
                    name="Steps",
                    items=tuple(
                        ChecklistItem(source_id=f"{run}-ci{i}", name=f"step {i}", checked=i == 0, position=float(i))
                        for i in range(n_items)
                    ),
                ),
            )
        if caps.custom_fields:  # one value of each type a source may hold
            update["custom_fields"] = (
                CustomFieldValue(name="Conf text", value="T-1"),
                CustomFieldValue(name="Conf number", type=CustomFieldType.NUMBER, value=2.5),
                CustomFieldValue(name="Conf date", type=CustomFieldType.DATE, value="2030-01-15"),
                CustomFieldValue(name="Conf flag", type=CustomFieldType.BOOL, value=True),
                CustomFieldValue(name="Conf choice", type=CustomFieldType.ENUM, value="High"),
                CustomFieldValue(name="Conf tags", type=CustomFieldType.MULTI_ENUM, value=["a", "b"]),
            )
        full = base.model_copy(update=update)
        dest_id = _id(await writer.create(Kind.TASK, full, refs, marker(Kind.TASK, full.source_id)))
        assert dest_id
        if caps.subtasks:
            sub = base.model_copy(update={"source_id": f"{run}-sub", "parent_id": full.source_id, "name": "Sous-tâche"})
            sub_refs = refs.model_copy(update={"parent_task": dest_id})
            assert await writer.create(Kind.TASK, sub, sub_refs, marker(Kind.TASK, sub.source_id))
        if read_back is not None:
            got = await read_back(Kind.TASK, dest_id)
            assert isinstance(got, Task)
            assert got.completed == full.completed
            if caps.checklists is ChecklistSupport.NATIVE:
                assert sum(len(c.items) for c in got.checklists) == n_items

    async def test_unknown_marker_is_not_found(self, writer: DestinationWriter, dest_workspace: str | None) -> None:
        run = uuid.uuid4().hex[:12]
        rec = self.sample_records(run)[Kind.PROJECT]
        marker = make_marker(f"none{run}", Kind.PROJECT, rec.source_id)
        assert await writer.find_by_marker(Kind.PROJECT, marker, rec, DestRefs(workspace=dest_workspace)) is None

    async def test_label_reconciles(self, writer: DestinationWriter, dest_workspace: str | None) -> None:
        caps = writer.capabilities
        if Kind.LABEL not in caps.write_kinds:
            pytest.skip("no labels")
        if Kind.LABEL not in caps.marker_kinds | caps.natural_key_kinds:
            pytest.skip("labels cannot be reconciled")
        run = uuid.uuid4().hex[:12]
        recs = self.sample_records(run)
        mk = make_marker(f"conf{run}", Kind.LABEL, recs[Kind.LABEL].source_id)
        pid = _id(
            await writer.create(
                Kind.PROJECT,
                recs[Kind.PROJECT],
                DestRefs(workspace=dest_workspace),
                make_marker(f"conf{run}", Kind.PROJECT, f"{run}-p"),
            )
        )
        refs = DestRefs(workspace=dest_workspace, project=pid)
        lid = _id(await writer.create(Kind.LABEL, recs[Kind.LABEL], refs, mk))
        assert await writer.find_by_marker(Kind.LABEL, mk, recs[Kind.LABEL], refs) == lid

    async def test_upload_attachment_stream(self, writer: DestinationWriter, dest_workspace: str | None) -> None:
        caps = writer.capabilities
        if Kind.ATTACHMENT not in caps.write_kinds:
            pytest.skip("no attachments")
        run = uuid.uuid4().hex[:12]
        recs = self.sample_records(run)

        def marker(kind: Kind) -> str:
            return make_marker(f"conf{run}", kind, recs[kind].source_id)

        refs = await self._make_parents(writer, dest_workspace, recs, marker)
        att = recs[Kind.ATTACHMENT]
        assert isinstance(att, Attachment)
        aid = _id(await writer.upload_attachment(att, refs, marker(Kind.ATTACHMENT), _chunks(list(self.upload_chunks))))
        assert aid
        if Kind.ATTACHMENT in caps.marker_kinds:
            assert await writer.find_by_marker(Kind.ATTACHMENT, marker(Kind.ATTACHMENT), att, refs) == aid
        if caps.link_attachments:
            link = att.model_copy(
                update={"source_id": f"{run}-link", "is_link": True, "url": "https://example.com/doc", "size": None}
            )
            lid = _id(
                await writer.upload_attachment(
                    link, refs, make_marker(f"conf{run}", Kind.ATTACHMENT, link.source_id), None
                )
            )
            assert lid and lid != aid


def digest_of(sizes: list[int]) -> str:
    """The sha256 of what ``_chunks(sizes)`` yields (for read_back checks)."""
    h = hashlib.sha256()
    for i, n in enumerate(sizes):
        h.update(bytes([65 + i % 26]) * n)
    return h.hexdigest()


__all__: list[Any] = ["ConnectorConformance", "ReadBack", "digest_of"]
