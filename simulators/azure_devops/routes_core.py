"""Core routes: who am I (connectionData), processes, projects and their async operations.

Projects are created and deleted asynchronously (``POST``/``DELETE …/_apis/projects`` answer
**202** with an ``OperationReference``; ``GET …/_apis/operations/{id}`` reports its status).
The simulator applies the change at once and reports ``inProgress`` on the first poll and
``succeeded`` from the second, so a client must poll as it must against the service.
Listing pages with ``$top`` and the ``x-ms-continuationtoken`` header (``continuationToken``
on the next call); collections are ``{"count", "value"}`` as on the wire.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse

from simulators.azure_devops.auth import caller
from simulators.azure_devops.errors import AdoError, project_not_found
from simulators.azure_devops.state import SimState, origin, sim_state
from simulators.azure_devops.store import Identity, Node, Operation, Project, new_guid

router = APIRouter()

#: characters a project name may not hold, and its length (Azure DevOps naming restrictions)
_BAD_NAME = re.compile(r"[\\/:*?\"<>;#$*{},+=\[\]|%&@\x00-\x1f]")
NAME_MAX = 64


def project_ref(state: SimState, base: str, project: Project) -> dict[str, Any]:
    org = state.store.organization
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "url": f"{base}/{org}/_apis/projects/{project.id}",
        "state": project.state,
        "revision": project.revision,
        "visibility": project.visibility,
        "lastUpdateTime": project.last_update,
    }


def get_project(state: SimState, key: str) -> Project:
    found = state.store.project(key)
    if found is None or found.state != "wellFormed":
        raise project_not_found(key)
    return found


@router.get("/{organization}/_apis/connectiondata")
async def connection_data(request: Request, who: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    """The location service's connection data: the authenticated user (not in the copied
    specs; https://learn.microsoft.com/rest/api/azure/devops — "Location")."""
    state = sim_state(request)
    user = {
        "id": who.id,
        "descriptor": f"aad.{who.id}",
        "subjectDescriptor": f"aad.{who.id}",
        "providerDisplayName": who.display_name,
        "isActive": True,
        "properties": {"Account": {"$type": "System.String", "$value": who.email}},
    }
    return JSONResponse(
        {
            "authenticatedUser": user,
            "authorizedUser": user,
            "instanceId": state.store.tenant_id,
            "locationServiceData": {"serviceOwner": new_guid()},
        }
    )


@router.get("/{organization}/_apis/process/processes")
async def list_processes(request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    base = origin(request)
    value = [
        {
            "id": p.id,
            "name": p.name,
            "type": "system",
            "isDefault": p.name == "Agile",
            "url": f"{base}/{state.store.organization}/_apis/process/processes/{p.id}",
        }
        for p in state.store.processes.values()
    ]
    return JSONResponse({"count": len(value), "value": value})


@router.get("/{organization}/_apis/projects")
async def list_projects(request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    params = request.query_params
    top = int(params.get("$top") or state.project_page)
    skip = int(params.get("$skip") or 0) + int(params.get("continuationToken") or 0)
    live = sorted((p for p in state.store.projects.values() if p.state == "wellFormed"), key=lambda p: p.name.lower())
    page = live[skip : skip + top]
    headers = {}
    if skip + top < len(live):
        headers["x-ms-continuationtoken"] = str(skip + top)
    value = [project_ref(state, origin(request), p) for p in page]
    return JSONResponse({"count": len(value), "value": value}, headers=headers)


@router.get("/{organization}/_apis/projects/{project_id}")
async def get_project_route(project_id: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    project = get_project(state, project_id)
    body = project_ref(state, origin(request), project)
    if request.query_params.get("includeCapabilities", "").lower() == "true":
        process = state.store.process_of(project)
        body["capabilities"] = {
            "processTemplate": {"templateName": process.name, "templateTypeId": process.id},
            "versioncontrol": {"sourceControlType": "Git"},
        }
    return JSONResponse(body)


def _operation(state: SimState, base: str, op: Operation) -> dict[str, Any]:
    return {"id": op.id, "status": op.status, "url": f"{base}/{state.store.organization}/_apis/operations/{op.id}"}


@router.post("/{organization}/_apis/projects")
async def create_project(request: Request, who: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    body = await request.json()
    name = str(body.get("name") or "").strip() if isinstance(body, dict) else ""
    if not name or len(name) > NAME_MAX or _BAD_NAME.search(name) or name.startswith(("_", ".")) or name.endswith("."):
        raise AdoError(
            400,
            f"TF200021: The project name '{name}' is not valid: project names "
            f"are at most {NAME_MAX} characters, cannot start with an underscore or "
            "a period and cannot contain special characters.",
            "ProjectNameNotValidException",
        )
    caps = body.get("capabilities") or {}
    template = ((caps.get("processTemplate") or {}).get("templateTypeId") or "").lower()
    if template not in state.store.processes:
        raise AdoError(
            400,
            "TF200030: The process template is required and must be one of "
            "the organization's processes (capabilities.processTemplate."
            "templateTypeId).",
            "ProcessTemplateNotFoundException",
        )
    if not (caps.get("versioncontrol") or {}).get("sourceControlType"):
        raise AdoError(
            400,
            "TF200031: capabilities.versioncontrol.sourceControlType is required (Git or Tfvc).",
            "ProjectCapabilityMissingException",
        )
    with state.store.lock:
        if state.store.project(name) is not None:
            raise AdoError(
                409,
                f"TF200019: The following project already exists on the Azure DevOps Server: {name}.",
                "ProjectAlreadyExistsException",
            )
        project = new_project(
            state, name, str(body.get("description") or ""), template, str(body.get("visibility") or "private")
        )
        op = Operation(new_guid(), "queued", project.id)
        state.store.operations[op.id] = op
    return JSONResponse(_operation(state, origin(request), op), status_code=202)


def new_project(state: SimState, name: str, description: str, process_id: str, visibility: str = "private") -> Project:
    store = state.store
    project = Project(
        id=new_guid(),
        name=name,
        description=description,
        process_id=process_id,
        area=Node(store.new_node_id(), new_guid(), name, "area"),
        iteration=Node(store.new_node_id(), new_guid(), name, "iteration"),
        visibility=visibility,
        last_update=state.now(),
    )
    store.projects[project.id] = project
    return project


@router.patch("/{organization}/_apis/projects/{project_id}")
async def update_project(project_id: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    project = get_project(state, project_id)
    body = await request.json()
    if not isinstance(body, dict):
        raise AdoError(400, "VS403420: The body must be a project.", "ArgumentException")
    with state.store.lock:
        if "description" in body:
            project.description = str(body["description"] or "")
        if body.get("name"):
            name = str(body["name"]).strip()
            other = state.store.project(name)
            if other is not None and other.id != project.id:
                raise AdoError(
                    409,
                    f"TF200019: The following project already exists on the Azure DevOps Server: {name}.",
                    "ProjectAlreadyExistsException",
                )
            project.name = name
            project.area.name = project.iteration.name = name
        project.revision += 1
        project.last_update = state.now()
        op = Operation(new_guid(), "queued", project.id)
        state.store.operations[op.id] = op
    return JSONResponse(_operation(state, origin(request), op), status_code=202)


@router.delete("/{organization}/_apis/projects/{project_id}")
async def delete_project(project_id: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    with state.store.lock:
        project = state.store.projects.get(project_id)  # by id only, as the service
        if project is None or project.state != "wellFormed":
            raise project_not_found(project_id)
        project.state = "deleted"
        for wi in state.store.work_items.values():
            if wi.project_id == project.id:
                wi.deleted = True
        op = Operation(new_guid(), "queued", project.id)
        state.store.operations[op.id] = op
    return JSONResponse(_operation(state, origin(request), op), status_code=202)


@router.get("/{organization}/_apis/operations/{operation_id}")
async def get_operation(operation_id: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    op = state.store.operations.get(operation_id)
    if op is None:
        raise AdoError(404, f"VS800075: The operation '{operation_id}' does not exist.", "OperationNotFoundException")
    op.status = "inProgress" if op.status == "queued" else "succeeded"
    body = _operation(state, origin(request), op)
    body["resultMessage"] = None
    return JSONResponse(body)
