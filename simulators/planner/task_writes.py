"""Applying create/update payloads to Planner tasks and task details, with Planner's rules."""

from __future__ import annotations

from typing import Any

from simulators.planner.errors import bad_request
from simulators.planner.rules import (
    check_categories,
    check_int_range,
    check_known,
    check_title,
    check_typed_value,
    decode_reference_key,
    parse_datetime,
    resolve_order_hint,
    strip_annotations,
    too_many,
)
from simulators.planner.state import SimState
from simulators.planner.store import (
    Assignment,
    ChecklistItem,
    ExternalReference,
    Principal,
    Task,
)

TASK_WRITABLE = {
    "planId",
    "bucketId",
    "title",
    "orderHint",
    "assigneePriority",
    "percentComplete",
    "priority",
    "startDateTime",
    "dueDateTime",
    "appliedCategories",
    "assignments",
    "conversationThreadId",
    "previewType",
}
TASK_READ_ONLY = {
    "id",
    "createdDateTime",
    "createdBy",
    "completedDateTime",
    "completedBy",
    "hasDescription",
    "referenceCount",
    "checklistItemCount",
    "activeChecklistItemCount",
    "details",
    "assignedToTaskBoardFormat",
    "bucketTaskBoardFormat",
    "progressTaskBoardFormat",
}
DETAILS_WRITABLE = {"description", "previewType", "checklist", "references"}
PREVIEW_TYPES = {"automatic", "noPreview", "checklist", "description", "reference"}


def apply_task_fields(
    state: SimState, task: Task, body: dict[str, Any], principal: Principal, *, creating: bool
) -> None:
    """Validate and apply writable plannerTask properties (the body is already an object)."""
    check_known(body, TASK_WRITABLE, TASK_READ_ONLY, "plannerTask")
    data = strip_annotations(body)
    store = state.store
    if "title" in data or creating:
        task.title = check_title(data.get("title"), state.limits, required=True) or task.title
    if "planId" in data and not creating and data["planId"] != task.plan_id:
        raise bad_request("Moving a task to another plan is not supported in v1.0.")
    if "bucketId" in data:
        bucket_id = data["bucketId"]
        if bucket_id is not None:
            bucket = store.buckets.get(bucket_id)
            if bucket is None or bucket.deleted or bucket.plan_id != task.plan_id:
                raise bad_request(f"The bucket '{bucket_id}' is not in the plan of the task.")
        task.bucket_id = bucket_id
    if "orderHint" in data:
        task.order_hint = resolve_order_hint(data["orderHint"])
    if "assigneePriority" in data:
        task.assignee_priority = resolve_order_hint(data["assigneePriority"])
    if "priority" in data:
        task.priority = check_int_range(data["priority"], "priority", 0, 10)
    if "startDateTime" in data:
        task.start = parse_datetime(data["startDateTime"], "startDateTime")
    if "dueDateTime" in data:
        task.due = parse_datetime(data["dueDateTime"], "dueDateTime")
    if "previewType" in data:
        task.preview_type = _preview_type(data["previewType"])
    if "conversationThreadId" in data:
        thread_id = data["conversationThreadId"]
        plan = store.plans[task.plan_id]
        thread = store.threads.get(thread_id or "")
        if thread_id is not None and (thread is None or thread.group_id != plan.group_id):
            raise bad_request(f"The conversation thread '{thread_id}' is not in the plan's group.")
        task.conversation_thread_id = thread_id
    if "appliedCategories" in data:
        for key, flag in check_categories(data["appliedCategories"], state.limits).items():
            if flag:
                task.applied_categories[key] = True
            else:
                task.applied_categories.pop(key, None)
    if "assignments" in data:
        _apply_assignments(state, task, data["assignments"], principal)
    if "percentComplete" in data:
        _set_percent(state, task, data["percentComplete"], principal)


def _preview_type(value: Any) -> str:
    if value not in PREVIEW_TYPES:
        raise bad_request(f"The value '{value}' is not valid for 'previewType'.")
    return str(value)


def _set_percent(state: SimState, task: Task, value: Any, principal: Principal) -> None:
    # Graph accepts 0..100; the Planner apps show 0 = not started, 1..99 = in progress,
    # 100 = completed (which stamps completedDateTime / completedBy).
    percent = check_int_range(value, "percentComplete", 0, 100)
    if percent == 100 and task.percent_complete != 100:
        task.completed_at = state.now()
        task.completed_by = principal.identity
    elif percent < 100:
        task.completed_at = None
        task.completed_by = None
    task.percent_complete = percent


def _apply_assignments(state: SimState, task: Task, value: Any, principal: Principal) -> None:
    if not isinstance(value, dict):
        raise bad_request("assignments must be an object keyed by user id.")
    for user_id, entry in strip_annotations(value).items():
        if entry is None:
            task.assignments.pop(user_id, None)
            continue
        if user_id not in state.store.users:
            raise bad_request(f"The user '{user_id}' in assignments is not a valid user id.")
        check_typed_value(entry, "microsoft.graph.plannerAssignment", f"assignments/{user_id}")
        existing = task.assignments.get(user_id)
        if existing is None:
            if "@odata.type" not in entry:
                raise bad_request("New assignments must carry '@odata.type': '#microsoft.graph.plannerAssignment'.")
            if len(task.assignments) >= state.limits.assignees_per_task:
                raise too_many("MaximumAssigneesInTasks", "assignees per task", state.limits.assignees_per_task)
            hint = resolve_order_hint(entry.get("orderHint", " !"))
            task.assignments[user_id] = Assignment(principal.identity, state.now(), hint)
        elif "orderHint" in entry:
            existing.order_hint = resolve_order_hint(entry["orderHint"])


def apply_details(state: SimState, task: Task, body: dict[str, Any], principal: Principal) -> None:
    """Validate and apply a plannerTaskDetails update."""
    check_known(body, DETAILS_WRITABLE, {"id"}, "plannerTaskDetails")
    data = strip_annotations(body)
    if "description" in data:
        text = data["description"]
        if text is not None and not isinstance(text, str):
            raise bad_request("description must be a string.")
        task.description = text or ""
    if "previewType" in data:
        task.preview_type = _preview_type(data["previewType"])
    if "checklist" in data:
        _apply_checklist(state, task, data["checklist"], principal)
    if "references" in data:
        _apply_references(state, task, data["references"], principal)


def _apply_checklist(state: SimState, task: Task, value: Any, principal: Principal) -> None:
    if not isinstance(value, dict):
        raise bad_request("checklist must be an object keyed by checklist item id.")
    for key, entry in strip_annotations(value).items():
        if entry is None:
            task.checklist.pop(key, None)
            continue
        check_typed_value(entry, "microsoft.graph.plannerChecklistItem", f"checklist/{key}")
        item = task.checklist.get(key)
        if item is None:
            if "@odata.type" not in entry:
                raise bad_request(
                    "New checklist items must carry '@odata.type': '#microsoft.graph.plannerChecklistItem'."
                )
            if len(task.checklist) >= state.limits.checklist_items_per_task:
                raise too_many(
                    "MaximumChecklistItemsOnTask", "checklist items per task", state.limits.checklist_items_per_task
                )
            title = entry.get("title")
            if not isinstance(title, str) or not title:
                raise bad_request(f"The checklist item '{key}' needs a title.")
            last = max((i.order_hint for i in task.checklist.values()), default="")
            item = ChecklistItem(
                title, False, resolve_order_hint(None, default_after=last), principal.identity, state.now()
            )
            task.checklist[key] = item
        if "title" in entry:
            if not isinstance(entry["title"], str) or not entry["title"]:
                raise bad_request(f"The checklist item '{key}' needs a title.")
            item.title = entry["title"]
        if "isChecked" in entry:
            if not isinstance(entry["isChecked"], bool):
                raise bad_request("isChecked must be a boolean.")
            item.is_checked = entry["isChecked"]
        if "orderHint" in entry:
            item.order_hint = resolve_order_hint(entry["orderHint"])
        item.modified_by = principal.identity
        item.modified_at = state.now()


def _apply_references(state: SimState, task: Task, value: Any, principal: Principal) -> None:
    if not isinstance(value, dict):
        raise bad_request("references must be an object keyed by encoded URL.")
    for key, entry in strip_annotations(value).items():
        decode_reference_key(key)
        if entry is None:
            task.references.pop(key, None)
            continue
        check_typed_value(entry, "microsoft.graph.plannerExternalReference", f"references/{key}")
        ref = task.references.get(key)
        if ref is None:
            if "@odata.type" not in entry:
                raise bad_request(
                    "New references must carry '@odata.type': '#microsoft.graph.plannerExternalReference'."
                )
            if len(task.references) >= state.limits.references_per_task:
                raise too_many("MaximumReferencesOnTask", "references per task", state.limits.references_per_task)
            last = max((r.preview_priority for r in task.references.values()), default="")
            ref = ExternalReference(
                None, None, resolve_order_hint(None, default_after=last), principal.identity, state.now()
            )
            task.references[key] = ref
        if "alias" in entry:
            ref.alias = entry["alias"]
        if "type" in entry:
            ref.type = entry["type"]
        if "previewPriority" in entry:
            ref.preview_priority = resolve_order_hint(entry["previewPriority"])
        ref.modified_by = principal.identity
        ref.modified_at = state.now()
