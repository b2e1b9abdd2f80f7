"""Teams and their members (core 7.1, ``Teams_Get Teams`` and ``Teams_Get Team Members With
Extended Properties`` in vendor-api/azure-devops/core-7.1/core.json).

Every project has one team, its default team ``<project> Team`` (as a new project does), whose
members are the organization's people: the identities of service principals (Entra apps) are
users of the organization but members of no team. Paged by ``$top`` / ``$skip``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse

from simulators.azure_devops.auth import caller
from simulators.azure_devops.errors import AdoError
from simulators.azure_devops.routes_core import get_project
from simulators.azure_devops.state import SimState, origin, sim_state
from simulators.azure_devops.store import Identity, Project

router = APIRouter()
_TEAM_NS = uuid.UUID("6f1c6c53-2b0e-4c55-9d7e-0b5f3f6a1e10")
DEFAULT_TOP = 100


def team_id(project: Project) -> str:
    """The default team's GUID, stable for a project."""
    return str(uuid.uuid5(_TEAM_NS, project.id))


def _page(request: Request, items: list[Any]) -> list[Any]:
    top = int(request.query_params.get("$top") or DEFAULT_TOP)
    skip = int(request.query_params.get("$skip") or 0)
    if top < 1 or skip < 0:
        raise AdoError(400, "VS403212: $top and $skip must be positive.", "ArgumentOutOfRangeException")
    return items[skip : skip + top]


def _team(state: SimState, base: str, project: Project) -> dict[str, Any]:
    org = state.store.organization
    tid = team_id(project)
    return {
        "id": tid,
        "name": f"{project.name} Team",
        "url": f"{base}/{org}/_apis/projects/{project.id}/teams/{tid}",
        "description": "The default project team.",
        "identityUrl": f"{base}/{org}/_apis/Identities/{tid}",
        "projectName": project.name,
        "projectId": project.id,
    }


def _people(state: SimState) -> list[Identity]:
    apps = {a.identity_id for a in state.store.apps.values()}
    return [i for i in state.store.identities.values() if i.id not in apps]


@router.get("/{organization}/_apis/projects/{project_id}/teams")
async def list_teams(project_id: str, request: Request, _: Annotated[Identity, Depends(caller)]) -> JSONResponse:
    state = sim_state(request)
    value = _page(request, [_team(state, origin(request), get_project(state, project_id))])
    return JSONResponse({"count": len(value), "value": value})


@router.get("/{organization}/_apis/projects/{project_id}/teams/{team}/members")
async def team_members(
    project_id: str, team: str, request: Request, _: Annotated[Identity, Depends(caller)]
) -> JSONResponse:
    state = sim_state(request)
    project = get_project(state, project_id)
    if team not in (team_id(project), f"{project.name} Team"):
        raise AdoError(404, f"VS800075: The team with id '{team}' does not exist.", "TeamNotFoundException")
    base = origin(request)
    people = _people(state)
    value = [{"isTeamAdmin": person is people[0], "identity": person.ref(base)} for person in _page(request, people)]
    return JSONResponse({"count": len(value), "value": value})
