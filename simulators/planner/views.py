"""Graph JSON renderings of Planner resources (field names as in Graph v1.0)."""

from __future__ import annotations

import secrets
from typing import Any

from simulators.planner.store import (
    GRAPH_ROOT,
    Bucket,
    DriveItem,
    Plan,
    PlannerStore,
    Task,
    iso,
)

CATEGORY_KEYS = tuple(f"category{i}" for i in range(1, 26))


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "@odata.etag": plan.etag(),
        "id": plan.id,
        "title": plan.title,
        "owner": plan.group_id,
        "createdDateTime": iso(plan.created),
        "createdBy": plan.created_by,
        "container": {
            "containerId": plan.group_id,
            "type": "group",
            "url": f"{GRAPH_ROOT}/groups/{plan.group_id}",
        },
    }


def plan_details_json(plan: Plan) -> dict[str, Any]:
    return {
        "@odata.etag": plan.details_etag(),
        "id": plan.id,
        "sharedWith": dict(plan.shared_with),
        "categoryDescriptions": {key: plan.category_descriptions.get(key) for key in CATEGORY_KEYS},
    }


def bucket_json(bucket: Bucket) -> dict[str, Any]:
    return {
        "@odata.etag": bucket.etag(),
        "id": bucket.id,
        "name": bucket.name,
        "planId": bucket.plan_id,
        "orderHint": bucket.order_hint,
    }


def task_json(task: Task) -> dict[str, Any]:
    active = sum(1 for item in task.checklist.values() if not item.is_checked)
    return {
        "@odata.etag": task.etag(),
        "id": task.id,
        "planId": task.plan_id,
        "bucketId": task.bucket_id,
        "title": task.title,
        "orderHint": task.order_hint,
        "assigneePriority": task.assignee_priority,
        "percentComplete": task.percent_complete,
        "priority": task.priority,
        "startDateTime": iso(task.start),
        "dueDateTime": iso(task.due),
        "createdDateTime": iso(task.created),
        "createdBy": task.created_by,
        "completedDateTime": iso(task.completed_at),
        "completedBy": task.completed_by,
        "hasDescription": bool(task.description),
        "previewType": task.preview_type,
        "referenceCount": len(task.references),
        "checklistItemCount": len(task.checklist),
        "activeChecklistItemCount": active,
        "conversationThreadId": task.conversation_thread_id,
        "appliedCategories": {k: v for k, v in task.applied_categories.items() if v},
        "assignments": {uid: a.to_graph() for uid, a in task.assignments.items()},
    }


def task_details_json(task: Task) -> dict[str, Any]:
    return {
        "@odata.etag": task.details_etag(),
        "id": task.id,
        "description": task.description,
        "previewType": task.preview_type,
        "checklist": {key: item.to_graph() for key, item in task.checklist.items()},
        "references": {key: ref.to_graph() for key, ref in task.references.items()},
    }


def download_url(store: PlannerStore, item: DriveItem, base_url: str) -> str:
    """A pre-authenticated download address (SharePoint's `download.aspx?...&tempauth=`)."""
    token = secrets.token_urlsafe(24)
    store.download_tokens[token] = item.id
    return f"{base_url.rstrip('/')}/_layouts/15/download.aspx?UniqueId={item.id}&tempauth={token}"


def drive_item_json(store: PlannerStore, item: DriveItem, base_url: str) -> dict[str, Any]:
    """A driveItem; `@microsoft.graph.downloadUrl` is a short-lived pre-authenticated URL."""
    parent_path = f"/drives/{item.drive_id}/root:" + (f"/{item.parent_path}" if item.parent_path else "")
    return {
        "@microsoft.graph.downloadUrl": download_url(store, item, base_url),
        "id": item.id,
        "name": item.name,
        "size": item.size,
        "webUrl": store.web_url(item),
        "eTag": f'"{{{item.id}}},{item.version}"',
        "cTag": f'"c:{{{item.id}}},{item.version}"',
        "createdDateTime": iso(item.created),
        "lastModifiedDateTime": iso(item.modified),
        "createdBy": item.created_by,
        "lastModifiedBy": item.created_by,
        "file": {"mimeType": item.mime_type},
        "parentReference": {
            "driveType": "documentLibrary",
            "driveId": item.drive_id,
            "path": parent_path,
        },
    }
