"""Microsoft Graph wire types the Planner connector reads (v1.0 field names).

Only the fields the connector uses are declared; everything else is ignored. Open-type
dictionaries (`assignments`, `checklist`, `references`, `appliedCategories`) are typed after
the CSDL complex types plannerAssignment / plannerChecklistItem / plannerExternalReference.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Identity(_Wire):
    id: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")


class IdentitySet(_Wire):
    user: Identity | None = None
    application: Identity | None = None


class GraphUser(_Wire):
    id: str
    display_name: str | None = Field(default=None, alias="displayName")
    mail: str | None = None
    user_principal_name: str | None = Field(default=None, alias="userPrincipalName")


class GraphGroup(_Wire):
    id: str
    display_name: str | None = Field(default=None, alias="displayName")
    group_types: list[str] = Field(default_factory=list, alias="groupTypes")
    odata_type: str | None = Field(default=None, alias="@odata.type")


class PlanContainer(_Wire):
    container_id: str | None = Field(default=None, alias="containerId")
    type: str | None = None


class PlannerPlan(_Wire):
    id: str
    etag: str = Field(alias="@odata.etag")
    title: str
    owner: str | None = None
    container: PlanContainer | None = None
    created: datetime | None = Field(default=None, alias="createdDateTime")

    @property
    def group_id(self) -> str | None:
        """The Microsoft 365 group that contains the plan."""
        if self.container and self.container.container_id:
            return self.container.container_id
        return self.owner


class PlannerPlanDetails(_Wire):
    id: str
    etag: str = Field(alias="@odata.etag")
    category_descriptions: dict[str, str | None] = Field(default_factory=dict, alias="categoryDescriptions")


class PlannerBucket(_Wire):
    id: str
    etag: str = Field(alias="@odata.etag")
    name: str
    plan_id: str | None = Field(default=None, alias="planId")
    order_hint: str | None = Field(default=None, alias="orderHint")


class PlannerAssignment(_Wire):
    order_hint: str | None = Field(default=None, alias="orderHint")
    assigned_at: datetime | None = Field(default=None, alias="assignedDateTime")


class PlannerTask(_Wire):
    id: str
    etag: str = Field(alias="@odata.etag")
    plan_id: str = Field(alias="planId")
    bucket_id: str | None = Field(default=None, alias="bucketId")
    title: str
    order_hint: str | None = Field(default=None, alias="orderHint")
    percent_complete: int = Field(default=0, alias="percentComplete")
    priority: int | None = None
    start: datetime | None = Field(default=None, alias="startDateTime")
    due: datetime | None = Field(default=None, alias="dueDateTime")
    created: datetime | None = Field(default=None, alias="createdDateTime")
    created_by: IdentitySet | None = Field(default=None, alias="createdBy")
    completed: datetime | None = Field(default=None, alias="completedDateTime")
    has_description: bool | None = Field(default=None, alias="hasDescription")
    conversation_thread_id: str | None = Field(default=None, alias="conversationThreadId")
    applied_categories: dict[str, bool] = Field(default_factory=dict, alias="appliedCategories")
    assignments: dict[str, PlannerAssignment] = Field(default_factory=dict)


class PlannerChecklistItem(_Wire):
    title: str
    is_checked: bool = Field(default=False, alias="isChecked")
    order_hint: str | None = Field(default=None, alias="orderHint")


class PlannerExternalReference(_Wire):
    alias: str | None = None
    type: str | None = None
    preview_priority: str | None = Field(default=None, alias="previewPriority")
    modified: datetime | None = Field(default=None, alias="lastModifiedDateTime")


class PlannerTaskDetails(_Wire):
    id: str
    etag: str = Field(alias="@odata.etag")
    description: str | None = None
    checklist: dict[str, PlannerChecklistItem] = Field(default_factory=dict)
    references: dict[str, PlannerExternalReference] = Field(default_factory=dict)


class EmailAddress(_Wire):
    name: str | None = None
    address: str | None = None


class Recipient(_Wire):
    email_address: EmailAddress | None = Field(default=None, alias="emailAddress")


class ItemBody(_Wire):
    content_type: str = Field(default="html", alias="contentType")
    content: str = ""


class GroupPost(_Wire):
    id: str
    body: ItemBody
    sender: Recipient | None = Field(default=None, alias="from")
    created: datetime | None = Field(default=None, alias="createdDateTime")
    modified: datetime | None = Field(default=None, alias="lastModifiedDateTime")
    change_key: str | None = Field(default=None, alias="changeKey")


class FileFacet(_Wire):
    mime_type: str | None = Field(default=None, alias="mimeType")


class DriveItem(_Wire):
    id: str
    name: str
    size: int | None = None
    web_url: str | None = Field(default=None, alias="webUrl")
    etag: str | None = Field(default=None, alias="eTag")
    file: FileFacet | None = None
    created: datetime | None = Field(default=None, alias="createdDateTime")
    created_by: IdentitySet | None = Field(default=None, alias="createdBy")


def parse_list(model: type[BaseModel], payload: dict[str, Any]) -> list[Any]:
    """The `value` array of a Graph collection, parsed into `model` instances."""
    return [model.model_validate(item) for item in payload.get("value", [])]
