"""In-memory state of the simulated Microsoft 365 tenant: directory, Planner, group content.

Everything lives for the life of the process. Each Planner resource carries a version that
feeds its `@odata.etag`; Planner versions every resource with etags and requires `If-Match`
on updates and deletes (https://learn.microsoft.com/graph/api/resources/planner-overview).
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulators.planner.group_content import BlobSource, DriveItem, Post, Thread, UploadSession
from simulators.planner.store_base import identity_set, iso

GRAPH_ROOT = "https://graph.microsoft.com/v1.0"

# Re-exported: routes and the seed import every entity from here.
__all__ = [
    "App",
    "Assignment",
    "BlobSource",
    "Bucket",
    "ChecklistItem",
    "DriveItem",
    "ExternalReference",
    "Group",
    "IdFactory",
    "Plan",
    "PlannerStore",
    "Post",
    "Principal",
    "Task",
    "Thread",
    "Token",
    "UploadSession",
    "User",
    "identity_set",
    "iso",
]


class IdFactory:
    """Deterministic ids: GUIDs for directory objects, 28-char opaque ids for Planner."""

    _ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def planner(self) -> str:
        return "".join(self.rng.choice(self._ALPHABET) for _ in range(28))

    def checklist_key(self) -> str:
        # Planner clients use short random numbers or GUIDs as checklist keys.
        return str(self.rng.randint(10000, 99999))


@dataclass
class Principal:
    """Who is calling: a user (delegated token) or an application (app-only token)."""

    app_id: str
    user_id: str | None = None

    @property
    def identity(self) -> dict[str, Any] | None:
        if self.user_id:
            return identity_set(self.user_id)
        return identity_set(self.app_id, is_app=True)

    @property
    def actor_id(self) -> str:
        return self.user_id or self.app_id


@dataclass
class User:
    id: str
    display_name: str
    mail: str
    user_principal_name: str
    password: str
    given_name: str | None = None
    surname: str | None = None
    job_title: str | None = None
    mfa_required: bool = False
    account_enabled: bool = True

    def to_graph(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.display_name,
            "givenName": self.given_name,
            "surname": self.surname,
            "mail": self.mail,
            "userPrincipalName": self.user_principal_name,
            "jobTitle": self.job_title,
            "businessPhones": [],
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
        }


@dataclass
class App:
    client_id: str
    client_secret: str
    display_name: str


@dataclass
class Group:
    id: str
    display_name: str
    mail_nickname: str
    mail: str
    description: str | None
    created: datetime
    drive_id: str
    members: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)
    visibility: str = "Private"

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.group",
            "id": self.id,
            "displayName": self.display_name,
            "description": self.description,
            "mail": self.mail,
            "mailNickname": self.mail_nickname,
            "mailEnabled": True,
            "securityEnabled": False,
            "groupTypes": ["Unified"],
            "visibility": self.visibility,
            "createdDateTime": iso(self.created),
        }


class Versioned:
    """Mixin: a monotonically growing version rendered as a weak etag."""

    version: int
    kind: str = "Entity"

    def etag(self) -> str:
        raw = f"'{self.version}-{self.kind} @@@@@@@@@@@@@@@@@@@@@@@@'"
        return 'W/"' + base64.b64encode(raw.encode()).decode() + '"'


@dataclass
class Plan(Versioned):
    id: str
    group_id: str
    title: str
    created: datetime
    created_by: dict[str, Any] | None
    version: int = 1
    details_version: int = 1
    category_descriptions: dict[str, str | None] = field(default_factory=dict)
    shared_with: dict[str, bool] = field(default_factory=dict)
    deleted: bool = False
    kind: str = "Plan"

    def details_etag(self) -> str:
        raw = f"'{self.details_version}-PlanDetails @@@@@@@@@@@@@@@@@@@@'"
        return 'W/"' + base64.b64encode(raw.encode()).decode() + '"'


@dataclass
class Bucket(Versioned):
    id: str
    plan_id: str
    name: str
    order_hint: str
    version: int = 1
    deleted: bool = False
    kind: str = "Bucket"


@dataclass
class Assignment:
    assigned_by: dict[str, Any] | None
    assigned_at: datetime
    order_hint: str

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.plannerAssignment",
            "assignedDateTime": iso(self.assigned_at),
            "orderHint": self.order_hint,
            "assignedBy": self.assigned_by,
        }


@dataclass
class ChecklistItem:
    title: str
    is_checked: bool
    order_hint: str
    modified_by: dict[str, Any] | None
    modified_at: datetime

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.plannerChecklistItem",
            "isChecked": self.is_checked,
            "title": self.title,
            "orderHint": self.order_hint,
            "lastModifiedDateTime": iso(self.modified_at),
            "lastModifiedBy": self.modified_by,
        }


@dataclass
class ExternalReference:
    alias: str | None
    type: str | None
    preview_priority: str
    modified_by: dict[str, Any] | None
    modified_at: datetime

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.plannerExternalReference",
            "alias": self.alias,
            "type": self.type,
            "previewPriority": self.preview_priority,
            "lastModifiedDateTime": iso(self.modified_at),
            "lastModifiedBy": self.modified_by,
        }


@dataclass
class Task(Versioned):
    id: str
    plan_id: str
    bucket_id: str | None
    title: str
    order_hint: str
    created: datetime
    created_by: dict[str, Any] | None
    version: int = 1
    details_version: int = 1
    assignee_priority: str = ""
    percent_complete: int = 0
    priority: int = 5
    start: datetime | None = None
    due: datetime | None = None
    completed_at: datetime | None = None
    completed_by: dict[str, Any] | None = None
    conversation_thread_id: str | None = None
    applied_categories: dict[str, bool] = field(default_factory=dict)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    description: str = ""
    checklist: dict[str, ChecklistItem] = field(default_factory=dict)
    references: dict[str, ExternalReference] = field(default_factory=dict)
    preview_type: str = "automatic"
    deleted: bool = False
    kind: str = "Task"

    def details_etag(self) -> str:
        raw = f"'{self.details_version}-TaskDetails @@@@@@@@@@@@@@@@@@@@'"
        return 'W/"' + base64.b64encode(raw.encode()).decode() + '"'


@dataclass
class Token:
    app_id: str
    user_id: str | None
    expires_at: float  # on the simulator clock
    scope: str


class PlannerStore:
    """All tenant state plus id generation. Routes mutate it; /_sim/state dumps it."""

    def __init__(self, seed: int = 42) -> None:
        self.ids = IdFactory(random.Random(seed * 7919 + 1))
        self.tenant_id = ""
        self.tenant_domain = "contoso.onmicrosoft.com"
        self.sharepoint_host = "contoso.sharepoint.com"
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.plans: dict[str, Plan] = {}
        self.buckets: dict[str, Bucket] = {}
        self.tasks: dict[str, Task] = {}
        self.threads: dict[str, Thread] = {}
        self.drive_items: dict[str, DriveItem] = {}
        self.upload_sessions: dict[str, UploadSession] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.download_tokens: dict[str, str] = {}  # tempauth -> drive item id
        self._version = 1

    def next_version(self) -> int:
        """A store-wide counter: an etag once superseded never matches again."""
        self._version += 1
        return self._version

    # --- lookups ---

    def user_by_key(self, key: str) -> User | None:
        """Users are addressable by id or userPrincipalName (as in Graph)."""
        if key in self.users:
            return self.users[key]
        low = key.lower()
        for user in self.users.values():
            if user.user_principal_name.lower() == low:
                return user
        return None

    def group_of_drive(self, drive_id: str) -> Group | None:
        return next((g for g in self.groups.values() if g.drive_id == drive_id), None)

    def live_plans(self, group_id: str) -> list[Plan]:
        return [p for p in self.plans.values() if p.group_id == group_id and not p.deleted]

    def live_buckets(self, plan_id: str) -> list[Bucket]:
        found = [b for b in self.buckets.values() if b.plan_id == plan_id and not b.deleted]
        return sorted(found, key=lambda b: b.order_hint)

    def live_tasks(self, *, plan_id: str | None = None, bucket_id: str | None = None) -> list[Task]:
        found = [
            t
            for t in self.tasks.values()
            if not t.deleted
            and (plan_id is None or t.plan_id == plan_id)
            and (bucket_id is None or t.bucket_id == bucket_id)
        ]
        return found

    def find_item_by_path(self, drive_id: str, path: str) -> DriveItem | None:
        path = path.strip("/")
        return next(
            (i for i in self.drive_items.values() if i.drive_id == drive_id and i.path == path),
            None,
        )

    def find_item_by_web_url(self, url: str) -> DriveItem | None:
        return next((i for i in self.drive_items.values() if self.web_url(i) == url), None)

    def web_url(self, item: DriveItem) -> str:
        """The SharePoint address of a file, as a Planner reference key points at it."""
        from urllib.parse import quote

        group = self.groups[item.group_id]
        return f"https://{self.sharepoint_host}/sites/{group.mail_nickname}/Shared%20Documents/" + quote(item.path)
