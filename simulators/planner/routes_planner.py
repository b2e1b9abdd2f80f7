"""Planner routes: plans, plan details, buckets, tasks, task details (Graph v1.0 paths).

Writes follow Planner's concurrency model: PATCH and DELETE need `If-Match` with the last
known etag (400 when absent or malformed, 412 when stale); PATCH answers 204, or 200 with the
resource when the client sends `Prefer: return=representation`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from simulators.planner.auth import graph_principal, require_user
from simulators.planner.errors import GraphError, bad_request, not_found
from simulators.planner.odata import collection
from simulators.planner.rules import (
    check_known,
    check_title,
    require_object,
    resolve_order_hint,
    strip_annotations,
    too_many,
)
from simulators.planner.state import SimState, sim_state
from simulators.planner.store import Bucket, Plan, Principal, Task
from simulators.planner.task_writes import apply_details, apply_task_fields
from simulators.planner.views import (
    CATEGORY_KEYS,
    bucket_json,
    plan_details_json,
    plan_json,
    task_details_json,
    task_json,
)

router = APIRouter(prefix="/v1.0")
Caller = Depends(graph_principal)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise bad_request("Invalid JSON in the request body.") from exc
    return require_object(body)


def check_if_match(request: Request, current: str) -> None:
    """Planner requires the last known etag on updates and deletes."""
    value = request.headers.get("if-match")
    if value is None:
        raise bad_request("The If-Match header must be specified for this kind of request.")
    value = value.strip()
    if not value.startswith(('W/"', '"')) or not value.endswith('"'):
        raise bad_request("The If-Match header contains an invalid value.")
    if value.removeprefix("W/") != current.removeprefix("W/"):
        raise GraphError(
            412,
            "PreconditionFailed",
            "The request is not valid as the If-Match etag is not the current version of the resource.",
        )


def _written(request: Request, body: dict[str, Any], etag: str) -> Response:
    if "return=representation" in request.headers.get("prefer", ""):
        return JSONResponse(body, headers={"ETag": etag, "Preference-Applied": "return=representation"})
    return Response(status_code=204, headers={"ETag": etag})


def _entity(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"ETag": body["@odata.etag"]})


def _check_member(state: SimState, group_id: str, principal: Principal) -> None:
    # Group-contained plans are visible to group members (app-only tokens see all plans).
    group = state.store.groups.get(group_id)
    if group is None:
        raise not_found()
    if principal.user_id is not None and principal.user_id not in group.members:
        raise GraphError(403, "", "You do not have the required permissions to access this item.")


def get_plan(state: SimState, plan_id: str, principal: Principal) -> Plan:
    plan = state.store.plans.get(plan_id)
    if plan is None or plan.deleted:
        raise not_found()
    _check_member(state, plan.group_id, principal)
    return plan


def get_bucket(state: SimState, bucket_id: str, principal: Principal) -> Bucket:
    bucket = state.store.buckets.get(bucket_id)
    if bucket is None or bucket.deleted:
        raise not_found()
    get_plan(state, bucket.plan_id, principal)
    return bucket


def get_task(state: SimState, task_id: str, principal: Principal) -> Task:
    task = state.store.tasks.get(task_id)
    if task is None or task.deleted:
        raise not_found()
    get_plan(state, task.plan_id, principal)
    return task


# --- plans ---


@router.get("/groups/{group_id}/planner/plans")
async def list_group_plans(group_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    _check_member(state, group_id, who)
    plans = [plan_json(p) for p in state.store.live_plans(group_id)]
    return JSONResponse(collection(request, state, plans, f"groups('{group_id}')/planner/plans"))


@router.post("/planner/plans")
async def create_plan(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    body = await _json_body(request)
    check_known(body, {"title", "container", "owner"}, {"id", "createdDateTime", "createdBy"}, "plannerPlan")
    container = body.get("container") or {}
    group_id = container.get("containerId") or body.get("owner")
    if not group_id and isinstance(container.get("url"), str):
        group_id = container["url"].rstrip("/").rsplit("/", 1)[-1]
    if not group_id:
        raise bad_request("The plan container must be specified.")
    if container.get("type", "group") != "group":
        raise bad_request("Only group containers are supported.")
    _check_member(state, group_id, who)
    title = check_title(body.get("title"), state.limits, required=True)
    store = state.store
    plan = Plan(
        store.ids.planner(),
        group_id,
        title or "",
        state.now(),
        who.identity,
        version=store.next_version(),
        details_version=store.next_version(),
    )
    store.plans[plan.id] = plan
    return _entity(plan_json(plan), 201)


@router.get("/planner/plans/{plan_id}")
async def read_plan(plan_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    return _entity(plan_json(get_plan(sim_state(request), plan_id, who)))


@router.patch("/planner/plans/{plan_id}")
async def update_plan(plan_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    plan = get_plan(state, plan_id, who)
    check_if_match(request, plan.etag())
    body = await _json_body(request)
    check_known(body, {"title"}, {"id", "container", "owner", "createdDateTime", "createdBy"}, "plannerPlan")
    if "title" in body:
        plan.title = check_title(body["title"], state.limits, required=True) or plan.title
    plan.version = state.store.next_version()
    return _written(request, plan_json(plan), plan.etag())


@router.delete("/planner/plans/{plan_id}")
async def delete_plan(plan_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    plan = get_plan(state, plan_id, who)
    check_if_match(request, plan.etag())
    plan.deleted = True
    for bucket in state.store.live_buckets(plan.id):
        bucket.deleted = True
    for task in state.store.live_tasks(plan_id=plan.id):
        task.deleted = True
    return Response(status_code=204)


@router.get("/planner/plans/{plan_id}/details")
async def read_plan_details(plan_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    plan = get_plan(sim_state(request), plan_id, who)
    body = plan_details_json(plan)
    return _entity(body)


@router.patch("/planner/plans/{plan_id}/details")
async def update_plan_details(plan_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    plan = get_plan(state, plan_id, who)
    check_if_match(request, plan.details_etag())
    body = await _json_body(request)
    check_known(body, {"categoryDescriptions", "sharedWith"}, {"id"}, "plannerPlanDetails")
    labels = body.get("categoryDescriptions")
    if labels is not None:
        if not isinstance(labels, dict):
            raise bad_request("categoryDescriptions must be an object.")
        for key, name in strip_annotations(labels).items():
            if key not in CATEGORY_KEYS:
                raise bad_request(
                    f"Invalid JSON. A property with the name '{key}' was not found "
                    "on type 'microsoft.graph.plannerCategoryDescriptions'."
                )
            if name is not None and not isinstance(name, str):
                raise bad_request(f"The value of '{key}' must be a string or null.")
            plan.category_descriptions[key] = name
    shared = body.get("sharedWith")
    if shared is not None:
        for user_id, flag in strip_annotations(shared).items():
            if not isinstance(flag, bool):
                raise bad_request("sharedWith values must be booleans.")
            plan.shared_with[user_id] = flag
    plan.details_version = state.store.next_version()
    return _written(request, plan_details_json(plan), plan.details_etag())


@router.get("/planner/plans/{plan_id}/buckets")
async def list_plan_buckets(plan_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    plan = get_plan(state, plan_id, who)
    items = [bucket_json(b) for b in state.store.live_buckets(plan.id)]
    return JSONResponse(collection(request, state, items, f"planner/plans('{plan_id}')/buckets"))


@router.get("/planner/plans/{plan_id}/tasks")
async def list_plan_tasks(plan_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    plan = get_plan(state, plan_id, who)
    items = [task_json(t) for t in state.store.live_tasks(plan_id=plan.id)]
    return JSONResponse(collection(request, state, items, f"planner/plans('{plan_id}')/tasks"))


# --- buckets ---


@router.post("/planner/buckets")
async def create_bucket(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    body = await _json_body(request)
    check_known(body, {"name", "planId", "orderHint"}, {"id"}, "plannerBucket")
    plan = get_plan(state, str(body.get("planId") or ""), who)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("The 'name' property is required.")
    existing = state.store.live_buckets(plan.id)
    if len(existing) >= state.limits.buckets_per_plan:
        raise too_many("MaximumBucketsInProject", "buckets per plan", state.limits.buckets_per_plan)
    # Without a hint the service puts the new bucket first (before the current first one).
    first = existing[0].order_hint if existing else None
    hint = (
        resolve_order_hint(body["orderHint"])
        if body.get("orderHint")
        else resolve_order_hint(f" {first}!" if first else " !")
    )
    bucket = Bucket(state.store.ids.planner(), plan.id, name, hint, version=state.store.next_version())
    state.store.buckets[bucket.id] = bucket
    return _entity(bucket_json(bucket), 201)


@router.get("/planner/buckets/{bucket_id}")
async def read_bucket(bucket_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    return _entity(bucket_json(get_bucket(sim_state(request), bucket_id, who)))


@router.patch("/planner/buckets/{bucket_id}")
async def update_bucket(bucket_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    bucket = get_bucket(state, bucket_id, who)
    check_if_match(request, bucket.etag())
    body = await _json_body(request)
    check_known(body, {"name", "orderHint"}, {"id", "planId"}, "plannerBucket")
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise bad_request("The 'name' property must be a non-empty string.")
        bucket.name = body["name"]
    if "orderHint" in body:
        bucket.order_hint = resolve_order_hint(body["orderHint"])
    bucket.version = state.store.next_version()
    return _written(request, bucket_json(bucket), bucket.etag())


@router.delete("/planner/buckets/{bucket_id}")
async def delete_bucket(bucket_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    bucket = get_bucket(state, bucket_id, who)
    check_if_match(request, bucket.etag())
    bucket.deleted = True
    for task in state.store.live_tasks(bucket_id=bucket.id):
        task.deleted = True  # deleting a bucket deletes its tasks, as in the Planner apps
    return Response(status_code=204)


@router.get("/planner/buckets/{bucket_id}/tasks")
async def list_bucket_tasks(bucket_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    bucket = get_bucket(state, bucket_id, who)
    items = [task_json(t) for t in state.store.live_tasks(bucket_id=bucket.id)]
    return JSONResponse(collection(request, state, items, f"planner/buckets('{bucket_id}')/tasks"))


# --- tasks ---


@router.post("/planner/tasks")
async def create_task(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    body = await _json_body(request)
    plan = get_plan(state, str(body.get("planId") or ""), who)
    store = state.store
    if len(store.live_tasks(plan_id=plan.id)) >= state.limits.tasks_per_plan:
        raise too_many("MaximumTasksInProject", "tasks per plan", state.limits.tasks_per_plan)
    first = min((t.order_hint for t in store.live_tasks(plan_id=plan.id)), default=None)
    task = Task(store.ids.planner(), plan.id, None, "", "", state.now(), who.identity)
    task.order_hint = resolve_order_hint(f" {first}!" if first else " !")
    task.assignee_priority = resolve_order_hint(" !")
    apply_task_fields(state, task, body, who, creating=True)
    task.version = store.next_version()
    task.details_version = store.next_version()
    store.tasks[task.id] = task
    return _entity(task_json(task), 201)


@router.get("/planner/tasks/{task_id}")
async def read_task(task_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    return _entity(task_json(get_task(sim_state(request), task_id, who)))


@router.patch("/planner/tasks/{task_id}")
async def update_task(task_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    task = get_task(state, task_id, who)
    check_if_match(request, task.etag())
    body = await _json_body(request)
    apply_task_fields(state, task, body, who, creating=False)
    task.version = state.store.next_version()
    return _written(request, task_json(task), task.etag())


@router.delete("/planner/tasks/{task_id}")
async def delete_task(task_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    task = get_task(state, task_id, who)
    check_if_match(request, task.etag())
    task.deleted = True
    return Response(status_code=204)


@router.get("/planner/tasks/{task_id}/details")
async def read_task_details(task_id: str, request: Request, who: Principal = Caller) -> JSONResponse:
    return _entity(task_details_json(get_task(sim_state(request), task_id, who)))


@router.patch("/planner/tasks/{task_id}/details")
async def update_task_details(task_id: str, request: Request, who: Principal = Caller) -> Response:
    state = sim_state(request)
    task = get_task(state, task_id, who)
    check_if_match(request, task.details_etag())
    body = await _json_body(request)
    apply_details(state, task, body, who)
    task.details_version = state.store.next_version()
    task.version = state.store.next_version()  # counts and hasDescription live on the task
    return _written(request, task_details_json(task), task.details_etag())


@router.get("/me/planner/tasks")
async def my_tasks(request: Request, who: Principal = Caller) -> JSONResponse:
    state = sim_state(request)
    user_id = require_user(who)
    items = [task_json(t) for t in state.store.live_tasks() if user_id in t.assignments]
    return JSONResponse(collection(request, state, items, "users('me')/planner/tasks"))
