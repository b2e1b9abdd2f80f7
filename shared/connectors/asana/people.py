"""The people an Asana credential can see, for mapping users before a run.

A workspace's users: ``GET /workspaces/{gid}/users`` (all of them in one answer, with
``opt_fields=name,email``); a project's: its ``members``
(https://developers.asana.com/reference/getproject), whose e-mails come from the workspace
list (nested users carry no e-mail). Nothing here is cached beyond the call or logged.
"""

from __future__ import annotations

from shared.connectors.asana.api_types import USER_FIELDS, AsanaUser
from shared.connectors.asana.client import AsanaClient
from shared.connectors.asana.mapping import user_ref
from shared.contract.model import UserRef


async def workspace_users(client: AsanaClient, workspace: str) -> list[AsanaUser]:
    users = await client.get(f"/workspaces/{workspace}/users", opt_fields=USER_FIELDS)
    return [AsanaUser.model_validate(u) for u in users or []]


def _refs(users: list[AsanaUser]) -> list[UserRef]:
    return [ref for ref in (user_ref(u) for u in users) if ref is not None]


async def list_people(client: AsanaClient, scope: str | None) -> list[UserRef]:
    """Users of workspace ``scope``, members of project ``scope``, or (``None``) the users of
    every workspace the credential belongs to, each person once."""
    workspaces = [str(w["gid"]) for w in await client.all("/workspaces", opt_fields="name")]
    if scope is None:
        found: dict[str, AsanaUser] = {}
        for ws in workspaces:
            for u in await workspace_users(client, ws):
                found.setdefault(u.gid, u)
        return _refs(list(found.values()))
    if scope in workspaces:
        return _refs(await workspace_users(client, scope))
    project = await client.get(f"/projects/{scope}", opt_fields="members,workspace")
    members = [str(m["gid"]) for m in project.get("members") or []]
    everyone = {u.gid: u for u in await workspace_users(client, str(project["workspace"]["gid"]))}
    return _refs([everyone.get(gid) or AsanaUser(gid=gid) for gid in members])
