"""The people an Azure DevOps credential can see, for mapping users before a run.

A project's people are the members of its teams: ``GET _apis/projects/{id}/teams`` then
``GET _apis/projects/{id}/teams/{team}/members`` (core 7.1, ``$top`` / ``$skip`` paging;
https://learn.microsoft.com/rest/api/azure/devops/core/teams/get-team-members-with-extended-properties).
The organization (the console's workspace) and no scope give the team members of every
project. ``uniqueName`` is the sign-in name: an e-mail for Entra and Microsoft accounts, a
``DOMAIN\\user`` name otherwise (then no e-mail is given). Nothing here is cached beyond the
call or logged.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.connectors.azure_devops.client import AdoClient, segment
from shared.connectors.kit.paging import OffsetPaging, fetch_all
from shared.contract.model import UserRef

PAGE_TEAMS = OffsetPaging(records_at=("value",), offset_param="$skip", size_param="$top", max_size=100)


async def _all(client: AdoClient, path: str) -> list[dict[str, Any]]:
    async def fetch(where: str, query: dict[str, Any]) -> httpx.Response:
        return await client.call("GET", where, params=query)

    return await fetch_all(fetch, PAGE_TEAMS, path, page_size=100, params={})


def person(member: dict[str, Any]) -> UserRef | None:
    """A team member's identity; groups (``isContainer``) are not people."""
    identity = member.get("identity") or {}
    if not identity.get("id") or identity.get("isContainer"):
        return None
    unique = str(identity.get("uniqueName") or "")
    return UserRef(
        email=unique if "@" in unique else None,
        display_name=identity.get("displayName") or None,
        source_id=str(identity["id"]),
    )


async def team_members(client: AdoClient, project: str) -> list[UserRef]:
    """Members of every team of ``project``, each person once."""
    found: dict[str, UserRef] = {}
    for team in await _all(client, f"_apis/projects/{segment(project)}/teams"):
        path = f"_apis/projects/{segment(project)}/teams/{segment(str(team['id']))}/members"
        for member in await _all(client, path):
            ref = person(member)
            if ref is not None:
                found.setdefault(ref.source_id or "", ref)
    return list(found.values())


async def list_people(client: AdoClient, scope: str | None) -> list[UserRef]:
    """Team members of project ``scope``, or of every project (organization or no scope)."""
    if scope is not None and scope != client.organization:
        return await team_members(client, scope)
    found: dict[str, UserRef] = {}
    for project in await client.projects():
        for ref in await team_members(client, str(project["id"])):
            found.setdefault(ref.source_id or "", ref)
    return list(found.values())
