"""Canonical model: what every connector reads into and writes from.

Workspace → project → section → task (subtasks are tasks with ``parent_id``; checklists are
embedded in the task) with labels, comments and attachments. Every record carries the
vendor's ``source_id`` and a ``version`` (etag, update time or content hash) that the id map
compares on re-runs. Parents are referenced by *source* ids; the engine resolves them to
destination ids (:class:`shared.contract.connector.DestRefs`) before a write.

Records are frozen: an adaptation makes a copy (``record.model_copy(update=...)``).
Item content lives only in memory, never in the store.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    """Record kinds, declared in dependency order (a kind's parents come earlier)."""

    PROJECT = "project"
    SECTION = "section"
    LABEL = "label"
    TASK = "task"
    COMMENT = "comment"
    ATTACHMENT = "attachment"


#: Kinds in the order a run processes them within one project scope.
KIND_ORDER: tuple[Kind, ...] = tuple(Kind)


class ContainerKind(StrEnum):
    WORKSPACE = "workspace"  # Trello workspace/organization, Asana workspace, M365 group
    PROJECT = "project"  # Asana project
    BOARD = "board"  # Trello board
    PLAN = "plan"  # Planner plan


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Container(_Frozen):
    """A selectable scope: a workspace, or a project-level container inside one.

    ``id`` is the vendor id; a migration selects project-level containers (project, board,
    plan) and each becomes one independent scope of the run.
    """

    id: str
    name: str
    kind: ContainerKind
    parent_id: str | None = None


class UserRef(_Frozen):
    """A person as the source knows them. Writers resolve by e-mail; unknown → adapted."""

    email: str | None = None
    display_name: str | None = None
    source_id: str | None = None

    def label(self) -> str:
        """Best human label for notes ("Ada Lovelace <ada@example.com>")."""
        if self.display_name and self.email:
            return f"{self.display_name} <{self.email}>"
        return self.display_name or self.email or self.source_id or "unknown user"


class CustomFieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOL = "bool"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    PEOPLE = "people"


class CustomFieldValue(_Frozen):
    """A custom field's value on a task; definitions are not migrated as separate records."""

    name: str
    type: CustomFieldType = CustomFieldType.TEXT
    value: str | float | bool | list[str] | None = None
    source_id: str | None = None

    def holds_number(self) -> bool:
        """Whether the value can go into a number field: a number (not a yes/no) or empty."""
        if self.value is None:
            return True
        if isinstance(self.value, bool | list):
            return False
        try:
            float(self.value)
        except (TypeError, ValueError):
            return False
        return True

    def as_text(self) -> str:
        v = self.value
        if isinstance(v, list):
            v = ", ".join(v)
        return f"{self.name}: {'' if v is None else v}"


class ChecklistItem(_Frozen):
    source_id: str
    name: str
    checked: bool = False
    position: float = 0.0
    due_on: date | None = None
    assignee: UserRef | None = None


class Checklist(_Frozen):
    name: str
    items: tuple[ChecklistItem, ...] = ()
    source_id: str | None = None


class LabelRef(_Frozen):
    """A task's reference to a label of its project (source id + name for adaptations)."""

    source_id: str
    name: str


class Record(_Frozen):
    """Fields every record has. ``version`` is opaque; equal versions mean unchanged."""

    kind: Kind
    source_id: str
    version: str


class Project(Record):
    kind: Literal[Kind.PROJECT] = Kind.PROJECT
    name: str
    description: str = ""
    workspace_id: str | None = None
    archived: bool = False
    color: str | None = None
    members: tuple[UserRef, ...] = ()
    created_at: datetime | None = None


class Section(Record):
    """Trello list, Asana section, Planner bucket."""

    kind: Literal[Kind.SECTION] = Kind.SECTION
    project_id: str
    name: str
    position: float = 0.0
    archived: bool = False


class Label(Record):
    """Trello label, Asana tag, Planner category (per plan, 25 max)."""

    kind: Literal[Kind.LABEL] = Kind.LABEL
    project_id: str
    name: str
    color: str | None = None


class Task(Record):
    """A task or (with ``parent_id``) a subtask. Readers yield a parent before its subtasks."""

    kind: Literal[Kind.TASK] = Kind.TASK
    project_id: str
    section_id: str | None = None
    parent_id: str | None = None
    name: str
    description: str = ""
    completed: bool = False
    completed_at: datetime | None = None
    start_on: date | None = None
    due_on: date | None = None
    due_at: datetime | None = None  # when the source holds a time, due_on is its date
    assignees: tuple[UserRef, ...] = ()
    labels: tuple[LabelRef, ...] = ()
    checklists: tuple[Checklist, ...] = ()
    custom_fields: tuple[CustomFieldValue, ...] = ()
    position: float = 0.0
    created_at: datetime | None = None
    created_by: UserRef | None = None
    archived: bool = False


class Comment(Record):
    kind: Literal[Kind.COMMENT] = Kind.COMMENT
    project_id: str
    task_id: str
    text: str
    author: UserRef | None = None
    created_at: datetime | None = None


class Attachment(Record):
    """A file (``size`` bytes, streamed) or a link (``is_link``: links to other clouds stay links)."""

    kind: Literal[Kind.ATTACHMENT] = Kind.ATTACHMENT
    project_id: str
    task_id: str
    name: str
    size: int | None = None
    mime_type: str | None = None
    is_link: bool = False
    url: str | None = None
    created_at: datetime | None = None
    author: UserRef | None = None


AnyRecord = Annotated[Project | Section | Label | Task | Comment | Attachment, Field(discriminator="kind")]

RECORD_TYPES: dict[Kind, type[Record]] = {
    Kind.PROJECT: Project,
    Kind.SECTION: Section,
    Kind.LABEL: Label,
    Kind.TASK: Task,
    Kind.COMMENT: Comment,
    Kind.ATTACHMENT: Attachment,
}


def content_version(payload: object) -> str:
    """A stable content hash for sources that expose no etag or update time.

    ``payload`` is any JSON-serialisable value (typically the vendor's raw item, or
    ``record.model_dump(mode="json", exclude={"version"})``).
    """
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:32]


def parent_source_ids(record: Record) -> dict[Kind, str]:
    """The source ids a record depends on, by kind (project, section, parent/owning task)."""
    out: dict[Kind, str] = {}
    for attr, kind in (("project_id", Kind.PROJECT), ("section_id", Kind.SECTION)):
        value = getattr(record, attr, None)
        if value:
            out[kind] = value
    task_ref = getattr(record, "task_id", None) or getattr(record, "parent_id", None)
    if task_ref:
        out[Kind.TASK] = task_ref
    return out
