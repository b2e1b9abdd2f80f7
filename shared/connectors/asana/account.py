"""What reader and writer both answer about the credential (the contract's ``Connection``):
who it acts as, and the workspaces and projects it can see."""

from __future__ import annotations

from shared.connectors.asana.api_types import USER_FIELDS, AsanaUser, AsanaWorkspace
from shared.connectors.asana.client import AsanaClient
from shared.connectors.asana.mapping import user_ref
from shared.contract.model import Container, ContainerKind, UserRef


async def whoami(client: AsanaClient) -> UserRef:
    me = AsanaUser.model_validate(await client.get("/users/me", opt_fields=USER_FIELDS))
    ref = user_ref(me)
    assert ref is not None  # a user is never None
    return ref


async def list_containers(client: AsanaClient) -> list[Container]:
    """Workspaces, and every project (archived too) inside each."""
    out: list[Container] = []
    for raw in await client.all("/workspaces", opt_fields="name,is_organization"):
        ws = AsanaWorkspace.model_validate(raw)
        out.append(Container(id=ws.gid, name=ws.name, kind=ContainerKind.WORKSPACE))
        for p in await client.all(f"/workspaces/{ws.gid}/projects", opt_fields="name"):
            out.append(Container(id=p["gid"], name=p.get("name") or "", kind=ContainerKind.PROJECT, parent_id=ws.gid))
    return out
