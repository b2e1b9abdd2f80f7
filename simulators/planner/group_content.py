"""Group content next to Planner: conversation threads (task comments) and the group's
document library (files behind task references), plus upload sessions."""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from simulators.planner.store_base import iso

if TYPE_CHECKING:
    from simulators.planner.store import PlannerStore


@dataclass
class Post:
    id: str
    thread_id: str
    content: str
    content_type: str
    author_id: str | None
    created: datetime

    def to_graph(self, store: PlannerStore, conversation_id: str) -> dict[str, Any]:
        author = store.users.get(self.author_id or "")
        address = {"emailAddress": {"name": author.display_name, "address": author.mail}} if author else None
        return {
            "id": self.id,
            "createdDateTime": iso(self.created),
            "lastModifiedDateTime": iso(self.created),
            "receivedDateTime": iso(self.created),
            "changeKey": base64.b64encode(self.id.encode()).decode()[:24],
            "categories": [],
            "hasAttachments": False,
            "body": {"contentType": self.content_type, "content": self.content},
            "from": address,
            "sender": address,
            "conversationThreadId": self.thread_id,
            "conversationId": conversation_id,
            "newParticipants": [],
        }


@dataclass
class Thread:
    id: str
    group_id: str
    topic: str
    conversation_id: str
    posts: list[Post] = field(default_factory=list)

    def to_graph(self, store: PlannerStore) -> dict[str, Any]:
        last = self.posts[-1] if self.posts else None
        senders: list[str] = []
        for post in self.posts:
            user = store.users.get(post.author_id or "")
            if user and user.display_name not in senders:
                senders.append(user.display_name)
        return {
            "id": self.id,
            "topic": self.topic,
            "hasAttachments": False,
            "isLocked": False,
            "lastDeliveredDateTime": iso(last.created) if last else None,
            "uniqueSenders": senders,
            "preview": (last.content[:255] if last else ""),
            "toRecipients": [],
            "ccRecipients": [],
        }


@dataclass
class BlobSource:
    """Seeded file content, generated on demand from a seed (no memory held)."""

    size: int
    seed: int


@dataclass
class DriveItem:
    id: str
    drive_id: str
    group_id: str
    name: str
    parent_path: str  # "" for the root folder, else "a/b"
    size: int
    mime_type: str
    created: datetime
    modified: datetime
    created_by: dict[str, Any] | None
    content: BlobSource | BinaryIO
    version: int = 1

    @property
    def path(self) -> str:
        return f"{self.parent_path}/{self.name}" if self.parent_path else self.name


def _spool() -> BinaryIO:
    """A temporary byte store that moves to disk past 8 MiB (large uploads stay off-heap)."""
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # type: ignore[return-value]


@dataclass
class UploadSession:
    id: str
    drive_id: str
    group_id: str
    path: str
    conflict_behavior: str
    expires: datetime
    created_by: dict[str, Any] | None
    total: int | None = None
    received: int = 0
    buffer: BinaryIO = field(default_factory=lambda: _spool())
