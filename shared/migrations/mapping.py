"""A migration's user and label mappings, applied to records as they are read.

The source reader is wrapped, so the engine and every writer see mapped records and
nothing else changes: assignees, members, checklist assignees and comment authors get the
destination email the migration maps them to; a person with no email (some vendors hide
it) goes to the migration's fallback user; labels are renamed by `labelMapping`. A non-empty
mapping is folded into each record's version, so changing the mapping makes the next delta
run update the affected items instead of skipping them.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from shared.connectors.base import Page, SourceReader
from shared.engine.model import Comment, Kind, LabelRef, Project, Record, Task, UserRef


class MappedReader:
    def __init__(self, reader: SourceReader, migration: Mapping[str, Any]) -> None:
        self._reader = reader
        users = migration.get("userMapping") or {}
        self.emails: dict[str, str] = {k.lower(): v.lower() for k, v in (users.get("emails") or {}).items()}
        self.fallback: str | None = (users.get("fallback") or None)
        self.labels: dict[str, str] = dict(migration.get("labelMapping") or {})
        active = bool(self.emails or self.fallback or self.labels)
        spec = json.dumps([self.emails, self.fallback, self.labels], sort_keys=True)
        self.fingerprint = hashlib.sha256(spec.encode()).hexdigest()[:8] if active else None

    def __getattr__(self, name: str) -> Any:
        # capabilities, whoami, list_containers, open_attachment, optional features…
        return getattr(self._reader, name)

    async def read(self, kind: Kind, scope: str, cursor: str | None, limit: int) -> Page:
        page = await self._reader.read(kind, scope, cursor, limit)
        if self.fingerprint is None:
            return page
        return page.model_copy(update={"records": tuple(self.map_record(r) for r in page.records)})

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
            update["labels"] = tuple(LabelRef(source_id=lab.source_id, name=self.labels.get(lab.name, lab.name))
                                     for lab in record.labels)
            update["checklists"] = tuple(
                cl.model_copy(update={"items": tuple(it.model_copy(update={"assignee": self.map_user(it.assignee)})
                                                     for it in cl.items)})
                for cl in record.checklists)
        elif isinstance(record, Project):
            update["members"] = tuple(u for u in (self.map_user(m) for m in record.members) if u is not None)
        elif isinstance(record, Comment):
            update["author"] = self.map_user(record.author)
        elif record.kind is Kind.LABEL:
            name = getattr(record, "name", None)
            if name in self.labels:
                update["name"] = self.labels[name]
        return record.model_copy(update=update)
