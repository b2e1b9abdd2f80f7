"""Connectors of an organisation: the credentials Ferry uses to read and write a vendor.

Secrets are write-only: send them in `connection.auth` on create (or PATCH to replace
them); answers show only which secret fields are set (`secretFields`). Admins and internal
members manage connectors, read keys list them, external members never see them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http_api.connector_consent import router as consent_router
from functions.http_api.deps import authorize
from functions.http_api.idempotency import IdempotencyKey, idempotent
from functions.http_api.ids import ConnectorId
from functions.http_api.paging import Continuation, PageSize, page_body
from shared.connections import people, service
from shared.connectors.settings import registered_kinds
from shared.display_names import DisplayName
from shared.identity.access import Action
from shared.tenancy.auth import OrgAccess
from shared.tenancy.idempotency import IdempotencyRepository

router = APIRouter(prefix="/orgs/{orgId}/connectors", tags=["connectors"])
Read = Annotated[OrgAccess, Depends(authorize(Action.CONNECTORS_READ))]
Manage = Annotated[OrgAccess, Depends(authorize(Action.CONNECTORS_MANAGE))]

_CONNECTION_DOC = (
    "The connection: `kind` (one of " + ", ".join(f"`{k}`" for k in registered_kinds()) + "), "
    '`auth` (`{"type": …, <credentials>}`), the kind\'s own fields (`site_url` for Jira, '
    "`organization_url` for Azure DevOps) and an optional `base_url` (local simulators only)."
)
_EXAMPLE = {"kind": "trello", "auth": {"type": "api_key_token", "api_key": "…", "token": "…"}}


class ConnectorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName = Field(min_length=1, max_length=200)
    connection: dict[str, Any] = Field(description=_CONNECTION_DOC, examples=[_EXAMPLE])


class ConnectorPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName | None = Field(default=None, min_length=1, max_length=200)
    connection: dict[str, Any] | None = Field(
        default=None,
        description="Fields to change. Secret fields left out keep their value while "
        "`auth.type` stays the same; the kind cannot change.",
    )


class Person(BaseModel):
    id: str | None = Field(description="the vendor's id of the person")
    name: str | None = Field(description="the name the vendor shows (vendor-supplied text)")
    email: str | None = Field(description="the e-mail, when the vendor shows it to this credential")


class PeoplePage(BaseModel):
    items: list[Person]
    continuation: str | None = Field(default=None, description="token of the next page; null on the last")


ContainerParam = Annotated[
    str | None,
    Query(
        max_length=people.MAX_CONTAINER_CHARS,
        description="a container id from `/containers`: a workspace (its users) or a board, project or "
        "plan (its members); left out: everyone the connector can see",
    ),
]


class ConnectorTest(BaseModel):
    status: str = Field(description="ok, authentication_failed, unreachable or error")
    message: str | None = Field(default=None, description="the vendor's message, redacted")
    account: dict[str, Any] | None = Field(default=None, description="who the credentials act as")
    testedAt: str


@router.post("", status_code=201, summary="Create a connector (secrets are stored encrypted, never shown)")
async def create_connector(body: ConnectorCreate, access: Manage, request: Request, key: IdempotencyKey = None) -> Any:
    async def create() -> dict[str, Any]:
        return service.public_connector(
            await service.create_connector(
                access.ctx,
                name=body.name,
                connection=body.connection,
                actor=access.caller.actor,
                request=access.request,
            )
        )

    async def show(connector_id: str) -> dict[str, Any]:
        return service.public_connector(await service.get_connector(access.ctx, connector_id))

    return await idempotent(request, key, access.ctx.repo(IdempotencyRepository), status=201, create=create, show=show)


@router.get("", summary="List connectors (never their secrets)")
async def list_connectors(access: Read, pageSize: PageSize = 50, continuation: Continuation = None) -> dict[str, Any]:
    page = await service.list_connectors(access.ctx, page_size=pageSize, continuation=continuation)
    return page_body(page, service.public_connector)


@router.get("/{connectorId}", summary="Show a connector (never its secrets)")
async def get_connector(connectorId: ConnectorId, access: Read) -> dict[str, Any]:
    return service.public_connector(await service.get_connector(access.ctx, connectorId))


@router.patch("/{connectorId}", summary="Rename a connector or change its connection (replaces sent secrets)")
async def patch_connector(connectorId: ConnectorId, body: ConnectorPatch, access: Manage) -> dict[str, Any]:
    doc = await service.update_connector(
        access.ctx,
        connectorId,
        name=body.name,
        connection=body.connection,
        actor=access.caller.actor,
        request=access.request,
    )
    return service.public_connector(doc)


@router.delete("/{connectorId}", status_code=204, summary="Delete a connector and its encrypted secrets")
async def delete_connector(connectorId: ConnectorId, access: Manage) -> Response:
    await service.delete_connector(access.ctx, connectorId, actor=access.caller.actor, request=access.request)
    return Response(status_code=204)


@router.post("/{connectorId}/test", summary="Test the credentials against the vendor's identity endpoint")
async def check_connector(connectorId: ConnectorId, access: Manage) -> ConnectorTest:
    return ConnectorTest(**await service.run_connection_test(access.ctx, connectorId))


@router.get("/{connectorId}/containers", summary="Workspaces and projects/boards/plans the connector can read")
async def list_containers(connectorId: ConnectorId, access: Read) -> dict[str, Any]:
    containers = await service.list_containers(access.ctx, connectorId)
    return {"items": [{"id": c.id, "name": c.name, "kind": c.kind.value, "parentId": c.parent_id} for c in containers]}


@router.get(
    "/{connectorId}/people",
    summary="People the connector can see in a container, for the user mapping (nothing is stored)",
    description="Each person's vendor id, name and e-mail (when the vendor shows it), sorted by name. "
    "Asked of the vendor at every call and never stored or logged: people are personal data. "
    "Errors as `/containers`: 424 when the vendor refuses the credentials, 502 when it cannot be "
    "reached; a container it does not know is a 422 naming `container`.",
)
async def list_people(
    connectorId: ConnectorId,
    access: Read,
    container: ContainerParam = None,
    pageSize: PageSize = 100,
    continuation: Continuation = None,
) -> PeoplePage:
    page = await people.list_people(
        access.ctx, connectorId, container=container, page_size=pageSize, continuation=continuation
    )
    return PeoplePage(
        items=[Person(id=p.source_id, name=p.display_name, email=p.email) for p in page.items],
        continuation=page.continuation,
    )


# The OAuth consent routes (functions/http_api/connector_consent.py) live under the same prefix.
router.include_router(consent_router)
