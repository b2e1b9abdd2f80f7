"""Read one project-level container through a connector's reader into canonical records.

Both sides of a pair are read the same way (the destination through its own reader), so
the comparison is between canonical records, field by field. File attachments are streamed
through ``open_attachment`` and kept as a SHA-256 of their bytes only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from shared.contract.connector import Capabilities, SourceReader
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
from shared.errors import FatalRunError

READ_PAGE = 50


@dataclass
class Snapshot:
    """Everything one reader returns for one scope, by kind and source id."""

    vendor: str
    scope: str
    project: Project
    sections: dict[str, Section] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    comments: dict[str, Comment] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    #: attachment source id → (bytes streamed, sha256) for files
    digests: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: what the vendor holds (its reader's, the same as its writer's): the comparison asks
    #: it, not the vendor's name, what a destination keeps
    capabilities: Capabilities | None = None

    def of(self, kind: Kind) -> dict[str, Record]:
        if kind is Kind.PROJECT:
            return {self.project.source_id: self.project}
        table: dict[Kind, Mapping[str, Record]] = {
            Kind.SECTION: self.sections,
            Kind.LABEL: self.labels,
            Kind.TASK: self.tasks,
            Kind.COMMENT: self.comments,
            Kind.ATTACHMENT: self.attachments,
        }
        # the live table (snapshot() fills it through this view)
        return cast("dict[str, Record]", table[kind])


async def read_all(reader: SourceReader, kind: Kind, scope: str) -> list[Record]:
    """Every record of ``kind`` in ``scope``, following cursors to the end."""
    out: list[Record] = []
    cursor: str | None = None
    for _ in range(1_000):
        page = await reader.read(kind, scope, cursor, READ_PAGE)
        out.extend(page.records)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
    raise FatalRunError(f"{kind} pages of {scope} never ended")


async def digest(reader: SourceReader, attachment: Attachment) -> tuple[int, str]:
    """(size, sha256) of a file attachment, streamed."""
    h = hashlib.sha256()
    size = 0
    async for chunk in reader.open_attachment(attachment):
        h.update(chunk)
        size += len(chunk)
    return size, h.hexdigest()


async def snapshot(vendor: str, reader: SourceReader, scope: str, *, with_bytes: bool = True) -> Snapshot:
    """Read every kind of ``scope`` through ``reader`` and, ``with_bytes``, stream every file
    to a digest (without it, files compare by name and size only)."""
    found = await read_all(reader, Kind.PROJECT, scope)
    if len(found) != 1 or not isinstance(found[0], Project):
        raise FatalRunError(f"{vendor} returned {len(found)} projects for one container")
    project = found[0]
    snap = Snapshot(vendor, scope, project, capabilities=reader.capabilities)
    for kind in (Kind.SECTION, Kind.LABEL, Kind.TASK, Kind.COMMENT, Kind.ATTACHMENT):
        table = snap.of(kind)
        for rec in await read_all(reader, kind, scope):
            if rec.source_id in table:
                raise FatalRunError(f"{vendor} returned {kind} {rec.source_id} twice in one read")
            table[rec.source_id] = rec
    for att in snap.attachments.values():
        if with_bytes and not att.is_link:
            snap.digests[att.source_id] = await digest(reader, att)
    return snap
