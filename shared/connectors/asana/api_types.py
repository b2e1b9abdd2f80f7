"""Asana wire types (the fields Ferry asks for with ``opt_fields``), parsed leniently.

Names follow asana_oas.yaml (``TaskResponse``, ``StoryResponse``, ...). Unknown fields are
ignored so that Asana adding fields never breaks a read. These types never leave the
``shared.connectors.asana`` package: ``mapping.py`` turns them into canonical records.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Compact(_Wire):
    """Any compact reference ``{gid, name?}``."""

    gid: str
    name: str | None = None


class AsanaUser(_Wire):
    gid: str
    name: str | None = None
    email: str | None = None


class AsanaWorkspace(_Wire):
    gid: str
    name: str = ""
    is_organization: bool = False


class AsanaProject(_Wire):
    gid: str
    name: str = ""
    notes: str = ""
    archived: bool = False
    color: str | None = None
    created_at: str | None = None
    modified_at: str | None = None
    workspace: Compact | None = None
    members: list[AsanaUser] = Field(default_factory=list)


class AsanaSection(_Wire):
    gid: str
    name: str = ""


class AsanaTag(_Wire):
    gid: str
    name: str = ""
    color: str | None = None
    notes: str = ""


class Membership(_Wire):
    project: Compact | None = None
    section: Compact | None = None


class AsanaNamed(_Wire):
    gid: str | None = None
    name: str = ""


class AsanaCustomField(_Wire):
    gid: str | None = None
    name: str = ""
    resource_subtype: str | None = None
    display_value: str | None = None
    number_value: float | None = None
    text_value: str | None = None
    date_value: dict[str, str | None] | None = None  # {"date": "YYYY-MM-DD", "date_time": …}
    enum_value: AsanaNamed | None = None
    multi_enum_values: list[AsanaNamed] = Field(default_factory=list)


class AsanaTask(_Wire):
    gid: str
    name: str = ""
    notes: str = ""
    resource_subtype: str = "default_task"
    completed: bool = False
    completed_at: str | None = None
    created_at: str | None = None
    modified_at: str | None = None
    start_on: str | None = None
    start_at: str | None = None
    due_on: str | None = None
    due_at: str | None = None
    assignee: AsanaUser | None = None
    tags: list[AsanaTag] = Field(default_factory=list)
    memberships: list[Membership] = Field(default_factory=list)
    parent: Compact | None = None
    num_subtasks: int = 0
    custom_fields: list[AsanaCustomField] = Field(default_factory=list)


class AsanaStory(_Wire):
    gid: str
    type: str | None = None  # "comment" | "system"
    resource_subtype: str | None = None
    text: str = ""
    created_at: str | None = None
    created_by: AsanaUser | None = None
    is_edited: bool = False


class AsanaAttachment(_Wire):
    gid: str
    name: str = ""
    resource_subtype: str | None = None
    host: str | None = None
    size: int | None = None
    created_at: str | None = None
    view_url: str | None = None
    download_url: str | None = None
    permanent_url: str | None = None


# opt_fields per resource: exactly what mapping.py reads, and only values the spec's
# opt_fields enums list (e-mails are not among them for nested users: they come from the
# workspace's user list, fetched once per scope).
TASK_FIELDS = (
    "name,notes,resource_subtype,completed,completed_at,created_at,modified_at,"
    "start_on,start_at,due_on,due_at,assignee,assignee.name,tags,tags.name,"
    "memberships.project,memberships.section,parent,num_subtasks,"
    "custom_fields.name,custom_fields.resource_subtype,custom_fields.display_value,"
    "custom_fields.number_value,custom_fields.date_value.date,custom_fields.enum_value.name,"
    "custom_fields.multi_enum_values.name"
)
PROJECT_FIELDS = "name,notes,archived,color,created_at,modified_at,workspace,members,members.name"
STORY_FIELDS = "type,resource_subtype,text,created_at,created_by,created_by.name,is_edited"
# download_url: a presigned link valid ~2 minutes, used if the file is opened soon after
ATTACHMENT_FIELDS = "name,resource_subtype,host,size,created_at,view_url,download_url"
TAG_FIELDS = "name,color,notes"
USER_FIELDS = "name,email"
