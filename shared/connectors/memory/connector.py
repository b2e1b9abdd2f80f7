"""The reference connector: reader and writer over a :class:`MemoryVendor`.

It follows the contract of ``shared.contract.connector`` exactly and is what the conformance
suite, the engine tests, crash tests and benchmarks run on. Vendor connectors copy its
shape. Items it writes are stored in the vendor in canonical form with destination ids,
so a ``MemoryReader`` over the same vendor reads them back.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.kit.cursor import CursorCodec
from shared.connectors.memory.vendor import MemoryVendor, StoredAttachment, SyntheticBlob
from shared.contract.connector import (
    MAX_CHUNK_BYTES,
    Capabilities,
    ChecklistSupport,
    DestRefs,
    ListedParents,
    MarkerLocation,
    Page,
)
from shared.contract.limits import RateLimit
from shared.contract.model import (
    Attachment,
    Container,
    ContainerKind,
    Kind,
    Label,
    Record,
    Task,
    UserRef,
)
from shared.contract.pacer import Pacer
from shared.errors import NotFoundError, SkippableItemError

T = TypeVar("T")

ALL_KINDS = frozenset(Kind)


def memory_capabilities(**overrides: object) -> Capabilities:
    """Capabilities of the reference connector; override fields to imitate a vendor."""
    base: dict[str, object] = {
        "vendor": "memory",
        "read_kinds": ALL_KINDS,
        "write_kinds": ALL_KINDS,
        "comment_author_kept": True,
        "comment_time_kept": True,
        "checklists": ChecklistSupport.NATIVE,
        "subtasks": True,
        "custom_fields": True,
        "marker_location": MarkerLocation.EXTERNAL_ID,
        "marker_kinds": ALL_KINDS - {Kind.LABEL},
        "natural_key_kinds": frozenset({Kind.LABEL}),
        "archived_kinds": frozenset({Kind.PROJECT, Kind.SECTION, Kind.TASK}),  # it stores records as given
        "rate_limit": RateLimit(requests=1500, per_seconds=60, burst=25, concurrency=16),
    }
    base.update(overrides)
    return Capabilities.model_validate(base)


def _depth(tasks: dict[str, Record], task: Task) -> int:
    depth, seen, cur = 0, set(), task
    while cur.parent_id and cur.parent_id in tasks and cur.source_id not in seen:
        seen.add(cur.source_id)
        cur = tasks[cur.parent_id]  # type: ignore[assignment]
        depth += 1
    return depth


class _Offset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset: int = Field(default=0, ge=0)


_OFFSET = CursorCodec("memory", _Offset)


class _ChildPos(BaseModel):
    """``read_changed``: the parent ``t`` (index in the scope's parents), its children read
    so far ``c``, and the parent's version ``v`` read before its listing began."""

    model_config = ConfigDict(extra="forbid")
    t: int = Field(default=0, ge=0)
    c: int = Field(default=0, ge=0)
    v: str | None = None


_CHILDREN = CursorCodec("memory", _ChildPos)


class _MemoryBase:
    def __init__(
        self, vendor: MemoryVendor, *, pacer: Pacer | None = None, capabilities: Capabilities | None = None
    ) -> None:
        self.vendor = vendor
        self.pacer = pacer
        self.capabilities = capabilities or memory_capabilities()

    async def _call(
        self,
        op: str,
        fn: Callable[[], Awaitable[T]],
        subject: object = None,
        *,
        idempotent: bool = True,
        replayable: bool = True,
    ) -> T:
        async def attempt() -> T:
            await self.vendor.enter(op, subject)
            result = await fn()
            self.vendor.leave(op, subject)
            return result

        if self.pacer is None:
            return await attempt()
        return await self.pacer.call(attempt, idempotent=idempotent, replayable=replayable)

    async def whoami(self) -> UserRef:
        async def run() -> UserRef:
            return self.vendor.me

        return await self._call("whoami", run)

    async def list_containers(self) -> list[Container]:
        async def run() -> list[Container]:
            out = list(self.vendor.workspaces.values())
            for project in self.vendor.items[Kind.PROJECT].values():
                out.append(
                    Container(
                        id=project.source_id,
                        name=project.name,  # type: ignore[attr-defined]
                        kind=ContainerKind.PROJECT,
                        parent_id=project.workspace_id,  # type: ignore[attr-defined]
                    )
                )
            return out

        return await self._call("list", run)


class MemoryReader(_MemoryBase):
    """Reads a memory vendor page by page; the cursor is an offset (opaque to the engine)."""

    def __init__(
        self, vendor: MemoryVendor, *, pacer: Pacer | None = None, capabilities: Capabilities | None = None
    ) -> None:
        super().__init__(vendor, pacer=pacer, capabilities=capabilities)
        self._cache: dict[tuple[Kind, str], tuple[int, list[Record]]] = {}

    def _scoped(self, kind: Kind, scope: str) -> list[Record]:
        key = (kind, scope)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == self.vendor.mutations:
            return cached[1]
        rows = self._list(kind, scope)
        self._cache[key] = (self.vendor.mutations, rows)
        return rows

    def _list(self, kind: Kind, scope: str) -> list[Record]:
        items = self.vendor.items[kind]
        if kind is Kind.PROJECT:
            return [items[scope]] if scope in items else []
        rows = [r for r in items.values() if getattr(r, "project_id", None) == scope]
        if kind is Kind.TASK:  # contract: a parent task before its subtasks
            rows.sort(key=lambda t: _depth(items, t))  # type: ignore[arg-type]
        return rows

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        """Up to ``limit`` records of ``kind`` in project ``scope`` from offset ``cursor``."""
        return await self._read(kind, scope, cursor, limit)

    async def _read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        async def run() -> Page:
            if kind is not Kind.PROJECT and scope not in self.vendor.items[Kind.PROJECT]:
                raise NotFoundError(f"project {scope} not found")
            rows = self._scoped(kind, scope)
            start = _OFFSET.load(cursor).offset
            page = rows[start : start + limit]
            end = start + len(page)
            return Page(
                records=tuple(page), next_cursor=_OFFSET.encode(_Offset(offset=end)) if end < len(rows) else None
            )

        return await self._call("read", run, kind)

    async def read_changed(self, kind: Kind, scope: str, cursor: str | None, limit: int, listed: ListedParents) -> Page:
        """``read`` for kinds the vendor does not version on the parent; for those it does
        (``MemoryVendor.bumps_parent``) children parent by parent, leaving out the parents
        whose version ``listed`` answers (``ChildSkipReader``)."""
        if kind not in self.vendor.bumps_parent:
            return await self._read(kind, scope, cursor, limit)

        async def run() -> Page:
            if scope not in self.vendor.items[Kind.PROJECT]:
                raise NotFoundError(f"project {scope} not found")
            children: dict[str, list[Record]] = {}
            for rec in self._scoped(kind, scope):
                children.setdefault(rec.task_id, []).append(rec)  # type: ignore[attr-defined]
            versions = {t.source_id: t.version for t in self._scoped(Kind.TASK, scope)}
            # parents in task order; children of a task not in the scope come last, always read
            parents = list(versions) + [p for p in children if p not in versions]
            pos = _CHILDREN.load(cursor)
            answer = await listed(parents[pos.t : pos.t + limit])
            records: list[Record] = []
            unchanged: list[str] = []
            complete: dict[str, str] = {}
            t, c, v = pos.t, pos.c, pos.v
            while t < len(parents) and t < pos.t + limit and len(records) < limit:
                parent = parents[t]
                if c == 0:
                    v = versions.get(parent)  # read before its children are listed
                    if v is not None and answer.get(parent) == v:
                        unchanged.append(parent)
                        t += 1
                        continue
                kids = children.get(parent, [])
                take = kids[c : c + limit - len(records)]
                records.extend(take)
                c += len(take)
                if c >= len(kids):
                    if v is not None:
                        complete[parent] = v
                    t, c, v = t + 1, 0, None
            nxt = _CHILDREN.encode(_ChildPos(t=t, c=c, v=v)) if t < len(parents) else None
            return Page(
                records=tuple(records),
                next_cursor=nxt,
                unchanged_parents=tuple(unchanged),
                listed_parents=complete,
            )

        return await self._call("read", run, kind)

    async def open_attachment(self, attachment: Attachment) -> AsyncIterator[bytes]:
        """Stream the stored body in chunks of at most ``MAX_CHUNK_BYTES`` (1 MiB here)."""
        await self._call("open", self._noop, attachment.source_id)
        blob = self.vendor.blobs.get(attachment.source_id)
        if blob is None:
            raise NotFoundError(f"attachment {attachment.source_id} has no body")
        chunk = min(MAX_CHUNK_BYTES, 1024 * 1024)
        if isinstance(blob, SyntheticBlob):
            for part in blob.iter_chunks(chunk):
                yield part
        else:
            for i in range(0, len(blob), chunk):
                yield blob[i : i + chunk]

    @staticmethod
    async def _noop() -> None:
        return None


class MemoryWriter(_MemoryBase):
    """Writes canonical records into a memory vendor, enforcing its ``Capabilities``."""

    def _place(self, kind: Kind, record: Record, refs: DestRefs, dest_id: str, version: str) -> Record:
        """The record as the destination stores it: destination ids everywhere."""
        update: dict[str, object] = {"source_id": dest_id, "version": version}
        if kind is Kind.PROJECT:
            update["workspace_id"] = refs.workspace
        else:
            if refs.project is None:
                raise SkippableItemError(f"{kind} needs a destination project", status=400)
            update["project_id"] = refs.project
        if kind is Kind.TASK:
            assert isinstance(record, Task)
            update["section_id"] = refs.section
            update["parent_id"] = refs.parent_task
            update["labels"] = tuple(
                lab.model_copy(update={"source_id": refs.labels[lab.source_id]})
                for lab in record.labels
                if lab.source_id in refs.labels
            )
        if kind in (Kind.COMMENT, Kind.ATTACHMENT):
            if refs.task is None:
                raise SkippableItemError(f"{kind} needs a destination task", status=400)
            update["task_id"] = refs.task
        return record.model_copy(update=update)

    def _check(self, kind: Kind, record: Record) -> None:
        caps = self.capabilities
        if kind not in caps.write_kinds:
            raise SkippableItemError(f"{caps.vendor} cannot hold {kind}", status=400)
        if isinstance(record, Task):
            if caps.max_assignees is not None and len(record.assignees) > caps.max_assignees:
                raise SkippableItemError("too many assignees", status=422)
            if record.parent_id and not caps.subtasks:
                raise SkippableItemError("subtasks not supported", status=422)
            n_items = sum(len(c.items) for c in record.checklists)
            if caps.max_checklist_items is not None and n_items > caps.max_checklist_items:
                raise SkippableItemError("too many checklist items", status=422)
        name = getattr(record, "name", None)
        if name is not None and caps.max_name_chars and len(name) > caps.max_name_chars:
            raise SkippableItemError("name too long", status=422)

    async def create(self, kind: Kind, record: Record, refs: DestRefs, marker: str) -> str:
        """Create the item with ``marker`` kept as its external id."""
        self._check(kind, record)

        async def run() -> str:
            dest_id = self.vendor.new_id("d")
            self.vendor.put(self._place(kind, record, refs, dest_id, self.vendor.new_version()))
            self.vendor.markers[(kind, marker)] = dest_id
            return dest_id

        return await self._call("create", run, record, idempotent=False)

    async def update(self, kind: Kind, dest_id: str, record: Record, refs: DestRefs, marker: str) -> None:
        """Replace the item's fields, keeping its id and marker."""
        self._check(kind, record)

        async def run() -> None:
            self.vendor.get(kind, dest_id)  # NotFoundError when gone
            self.vendor.put(self._place(kind, record, refs, dest_id, self.vendor.new_version()))
            self.vendor.markers[(kind, marker)] = dest_id

        await self._call("update", run, record)

    async def find_by_marker(self, kind: Kind, marker: str, record: Record, refs: DestRefs) -> str | None:
        """By marker; labels (no marker possible) by name within the destination project."""

        async def run() -> str | None:
            found = self.vendor.markers.get((kind, marker))
            if found is not None and found in self.vendor.items[kind]:
                return found
            if kind in self.capabilities.natural_key_kinds and isinstance(record, Label):
                for item in self.vendor.items[kind].values():
                    if isinstance(item, Label) and item.name == record.name and item.project_id == refs.project:
                        return item.source_id
            return None

        return await self._call("find", run, record)

    async def delete(self, kind: Kind, dest_id: str) -> None:
        """Idempotent delete."""

        async def run() -> None:
            self.vendor.remove(kind, dest_id)

        await self._call("delete", run, dest_id)

    async def upload_attachment(
        self, record: Attachment, refs: DestRefs, marker: str, chunks: AsyncIterator[bytes] | None
    ) -> str:
        """Consume the stream keeping only a digest and size (memory stays flat)."""
        self._check(Kind.ATTACHMENT, record)
        if record.is_link != (chunks is None):
            raise SkippableItemError("a link has no body and a file needs one", status=400)
        limit = self.capabilities.max_attachment_bytes

        async def run() -> str:
            digest = hashlib.sha256()
            size = 0
            max_chunk = 0
            if chunks is not None:
                async for part in chunks:
                    size += len(part)
                    max_chunk = max(max_chunk, len(part))
                    if limit is not None and size > limit:
                        raise SkippableItemError("attachment too large", status=413)
                    digest.update(part)
            dest_id = self.vendor.new_id("d")
            self.vendor.put(self._place(Kind.ATTACHMENT, record, refs, dest_id, self.vendor.new_version()))
            self.vendor.uploads[dest_id] = StoredAttachment(digest.hexdigest(), size, max_chunk)
            self.vendor.markers[(Kind.ATTACHMENT, marker)] = dest_id
            return dest_id

        return await self._call("upload", run, record, idempotent=False, replayable=False)
