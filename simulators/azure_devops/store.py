"""In-memory state of one Azure DevOps Services organization (work item tracking + core).

Plain dataclasses; the routes own the rules. Ids follow the service: projects, processes,
identities and attachments are GUIDs, work items and classification nodes are integers
unique in the organization, comments are integers unique per work item.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from simulators.common import Blob


def new_guid() -> str:
    return str(uuid.uuid4())


@dataclass
class Identity:
    """A user of the organization (``IdentityRef``: id, displayName, uniqueName)."""

    id: str
    display_name: str
    email: str
    #: personal access tokens of this user (sent as the password of basic auth)
    pats: list[str] = field(default_factory=list)

    def ref(self, origin: str) -> dict[str, Any]:
        """The ``IdentityRef`` the service answers in fields and comments."""
        return {
            "displayName": self.display_name,
            "url": f"{origin}/_apis/Identities/{self.id}",
            "id": self.id,
            "uniqueName": self.email,
            "imageUrl": f"{origin}/_apis/GraphProfile/MemberAvatars/aad.{self.id}",
            "descriptor": f"aad.{self.id}",
        }


@dataclass
class StateDef:
    name: str
    category: str  # Proposed | InProgress | Resolved | Completed | Removed
    color: str


@dataclass
class WorkItemTypeDef:
    name: str
    reference_name: str
    color: str
    states: list[StateDef]

    def state(self, name: str) -> StateDef | None:
        return next((s for s in self.states if s.name.lower() == name.lower()), None)


@dataclass
class Process:
    id: str
    name: str
    types: list[WorkItemTypeDef]
    #: the field that orders its backlogs (``Microsoft.VSTS.Common.StackRank``, Scrum's
    #: ``BacklogPriority``); the other order field is not on its types
    rank_field: str = "Microsoft.VSTS.Common.StackRank"

    def type(self, name: str) -> WorkItemTypeDef | None:
        return next((t for t in self.types if t.name.lower() == name.lower()), None)


@dataclass
class Node:
    """A classification node: an area or an iteration path."""

    id: int
    identifier: str
    name: str
    structure: str  # "area" | "iteration"
    children: list[Node] = field(default_factory=list)
    attributes: dict[str, Any] | None = None

    def find(self, names: list[str]) -> Node | None:
        node: Node = self
        for name in names:
            nxt = next((c for c in node.children if c.name.lower() == name.lower()), None)
            if nxt is None:
                return None
            node = nxt
        return node


@dataclass
class Project:
    id: str
    name: str
    description: str
    process_id: str
    area: Node
    iteration: Node
    state: str = "wellFormed"
    visibility: str = "private"
    revision: int = 1
    last_update: str = ""
    tags: dict[str, str] = field(default_factory=dict)  # tag name (lower) → tag id
    #: tag name (lower) → its spelling: the first one used (tags are case-insensitive)
    tag_names: dict[str, str] = field(default_factory=dict)

    def root(self, structure: str) -> Node:
        return self.area if structure == "area" else self.iteration


@dataclass
class Relation:
    rel: str
    url: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class WorkItem:
    id: int
    project_id: str
    rev: int
    fields: dict[str, Any]
    relations: list[Relation] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Comment:
    id: int
    work_item_id: int
    text: str
    created_by: str  # identity id
    created: str
    modified: str
    version: int = 1
    deleted: bool = False
    format: str = "html"


@dataclass
class Attachment:
    id: str
    project_id: str
    name: str
    data: bytearray | None = None
    blob: Blob | None = None
    #: chunked uploads: the declared total size until the last chunk has arrived
    expected: int | None = None
    complete: bool = True

    @property
    def size(self) -> int:
        if self.blob is not None:
            return self.blob.size
        return len(self.data or b"")


@dataclass
class Operation:
    id: str
    status: str
    project_id: str | None = None


@dataclass
class EntraApp:
    client_id: str
    client_secret: str
    #: the identity the service principal acts as (added to the organization as a user)
    identity_id: str


@dataclass
class Store:
    organization: str
    tenant_id: str
    identities: dict[str, Identity] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    work_items: dict[int, WorkItem] = field(default_factory=dict)
    comments: dict[int, list[Comment]] = field(default_factory=dict)
    attachments: dict[str, Attachment] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    apps: dict[str, EntraApp] = field(default_factory=dict)
    #: Entra access tokens → (identity id, expiry on the monotonic clock)
    bearer_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    next_work_item: int = 1
    next_node: int = 100
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- lookups ---------------------------------------------------------------------

    def project(self, key: str) -> Project | None:
        """A project by id or (case-insensitive) name, as every route accepts both."""
        found = self.projects.get(key)
        if found is not None:
            return found
        return next((p for p in self.projects.values() if p.name.lower() == key.lower()), None)

    def identity_by_pat(self, pat: str) -> Identity | None:
        return next((i for i in self.identities.values() if pat in i.pats), None)

    def identity_by_email(self, value: str) -> Identity | None:
        """Resolve what a client may write into an identity field: an e-mail, a display
        name, or ``Display Name <email>`` (the forms the service accepts)."""
        text = value.strip()
        if text.endswith(">") and "<" in text:
            text = text[text.rindex("<") + 1 : -1]
        low = text.lower()
        return next(
            (i for i in self.identities.values() if i.email.lower() == low or i.display_name.lower() == low), None
        )

    def process_of(self, project: Project) -> Process:
        return self.processes[project.process_id]

    def new_node_id(self) -> int:
        self.next_node += 1
        return self.next_node

    def new_work_item_id(self) -> int:
        wid = self.next_work_item
        self.next_work_item += 1
        return wid
