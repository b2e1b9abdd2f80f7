"""A migration's user and label mappings, applied to records as they are read.

The source reader is wrapped, so the engine and every writer see mapped records and
nothing else changes: assignees, members, checklist assignees and comment authors get the
destination email the migration maps them to; a person with no email (some vendors hide
it) goes to the migration's fallback user; labels are renamed by `labelMapping`. A non-empty
mapping is folded into each record's version, so changing the mapping makes the next delta
run update the affected items instead of skipping them.

The `statusMapping` is applied by the engine (`shared.engine.status_map`); this wrapper gives
it what it needs from the source: the sections of a scope by id and name
(`section_names`, read live, once per chunk), and the *status sections* — mapping targets
the source scope has no section of that name for — appended to the scope's last SECTION
page, so the engine creates each once and tasks resolve to it like to any other section.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from shared.contract.connector import Page, SourceReader
from shared.contract.model import Comment, Kind, LabelRef, Project, Record, Section, Task, UserRef
from shared.engine.status_map import parse_status_map, status_sections

#: Page size used to read a scope's sections for the status mapping.
SECTION_PAGE = 200


class MappedReader:
    def __init__(self, reader: SourceReader, migration: Mapping[str, Any]) -> None:
        self._reader = reader
        users = migration.get("userMapping") or {}
        self.emails: dict[str, str] = {k.lower(): v.lower() for k, v in (users.get("emails") or {}).items()}
        self.fallback: str | None = users.get("fallback") or None
        self.labels: dict[str, str] = dict(migration.get("labelMapping") or {})
        self.status_map = parse_status_map(migration.get("statusMapping"))
        active = bool(self.emails or self.fallback or self.labels or self.status_map)
        status = {k: r.model_dump(mode="json") for k, r in self.status_map.items()}
        spec = json.dumps([self.emails, self.fallback, self.labels] + ([status] if status else []), sort_keys=True)
        self.fingerprint = hashlib.sha256(spec.encode()).hexdigest()[:8] if active else None
        self._sections: dict[str, dict[str, Section]] = {}  # scope → source sections by id
        self._sections_lock = asyncio.Lock()

    def __getattr__(self, name: str) -> Any:
        # capabilities, whoami, list_containers, open_attachment, optional features…
        return getattr(self._reader, name)

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        page = await self._reader.read(kind, scope, cursor, limit)
        if kind is Kind.SECTION and page.next_cursor is None and self.status_map:
            # the scope's last section page: add the status sections after the source ones
            if cursor is None and scope not in self._sections:  # the whole scope in one page
                self._sections[scope] = _in_order(r for r in page.records if isinstance(r, Section))
            added = status_sections(self.status_map, scope, await self._source_sections(scope))
            page = page.model_copy(update={"records": page.records + tuple(added)})
        if self.fingerprint is None:
            return page
        return page.model_copy(update={"records": tuple(self.map_record(r) for r in page.records)})

    async def section_names(self, scope: str) -> dict[str, str]:
        """Every section of ``scope`` by source id → name: the source's, in their order, then
        the status sections. Read live from the source once per chunk (this wrapper lives for
        one chunk); empty when the source has no sections."""
        existing = await self._source_sections(scope)
        names = {sid: sec.name for sid, sec in existing.items()}
        names.update((sec.source_id, sec.name) for sec in status_sections(self.status_map, scope, existing))
        return names

    async def _source_sections(self, scope: str) -> dict[str, Section]:
        async with self._sections_lock:  # a page's tasks ask at once: read the sections once
            if scope not in self._sections:
                found: list[Section] = []
                if Kind.SECTION in self._reader.capabilities.read_kinds:
                    cursor: str | None = None
                    while True:
                        page = await self._reader.read(Kind.SECTION, scope, cursor, SECTION_PAGE)
                        found.extend(r for r in page.records if isinstance(r, Section))
                        if page.next_cursor is None or page.next_cursor == cursor:
                            break
                        cursor = page.next_cursor
                self._sections[scope] = _in_order(found)
            return self._sections[scope]

    def map_user(self, user: UserRef | None) -> UserRef | None:
        if user is None:
            return None
        if user.email:
            mapped = self.emails.get(user.email.lower())
            return user.model_copy(update={"email": mapped}) if mapped else user
        return user.model_copy(update={"email": self.fallback}) if self.fallback else user

    def map_record(self, record: Record) -> Record:
        update: dict[str, Any] = {"version": f"{record.version}+m{self.fingerprint}"}
        if isinstance(record, Task):
            update["assignees"] = tuple(u for u in (self.map_user(a) for a in record.assignees) if u is not None)
            update["created_by"] = self.map_user(record.created_by)
            update["labels"] = tuple(
                LabelRef(source_id=lab.source_id, name=self.labels.get(lab.name, lab.name)) for lab in record.labels
            )
            update["checklists"] = tuple(
                cl.model_copy(
                    update={
                        "items": tuple(
                            it.model_copy(update={"assignee": self.map_user(it.assignee)}) for it in cl.items
                        )
                    }
                )
                for cl in record.checklists
            )
        elif isinstance(record, Project):
            update["members"] = tuple(u for u in (self.map_user(m) for m in record.members) if u is not None)
        elif isinstance(record, Comment):
            update["author"] = self.map_user(record.author)
        elif record.kind is Kind.LABEL:
            name = getattr(record, "name", None)
            if name in self.labels:
                update["name"] = self.labels[name]
        return record.model_copy(update=update)


def _in_order(sections: Iterable[Section]) -> dict[str, Section]:
    """Sections by id, open ones first, each group in source order: a mapping target named
    like an archived and an open section goes to the open one."""
    return {s.source_id: s for s in sorted(sections, key=lambda s: (s.archived, s.position))}
