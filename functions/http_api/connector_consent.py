"""The consent step of a connector whose sign-in is an OAuth app (Asana's `oauth_app`): the
authorization code flow with PKCE (`shared.connections.consent`).

`POST …/connectors/{id}/consent` answers the vendor's authorize URL; the browser goes there,
the person allows access, the vendor sends the browser back to the console's
`/console/oauth/callback` with `code` and `state`, and the console — signed in as the same
person — posts both to `POST …/connectors/{id}/consent/callback`, which keeps the refresh
token sealed in the vault. A state is bound to the org, the connector and the caller, is used
once and expires after ten minutes. Mounted under the connectors router.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from functions.http_api.deps import authorize
from functions.http_api.ids import ConnectorId
from shared.connections import consent, service
from shared.identity.access import Action
from shared.tenancy.auth import OrgAccess

router = APIRouter()
Manage = Annotated[OrgAccess, Depends(authorize(Action.CONNECTORS_MANAGE))]


class ConsentStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    redirectUri: str | None = Field(
        default=None,
        max_length=2000,
        description="where the vendor sends the browser back: the connector's `redirect_uri`, or this "
        f"app's console callback (`{consent.CONSOLE_CALLBACK_PATH}` on the API's origin, the default)",
    )


class ConsentStarted(BaseModel):
    authorizeUrl: str = Field(description="open it in the browser: the vendor's consent page")
    redirectUri: str
    expiresAt: str = Field(description="the consent must be finished before this time")


class ConsentCallback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=4096, description="the `code` the vendor sent back")
    state: str = Field(min_length=1, max_length=512, description="the `state` the vendor sent back")


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


@router.post(
    "/{connectorId}/consent",
    summary="Start the OAuth consent of an OAuth-app connector (answers the vendor's authorize URL)",
)
async def start_consent(
    connectorId: ConnectorId, access: Manage, request: Request, body: ConsentStart | None = None
) -> ConsentStarted:
    started = await consent.start_consent(
        access.ctx,
        connectorId,
        actor=access.caller.actor,
        api_origin=_origin(request),
        redirect_uri=body.redirectUri if body else None,
    )
    return ConsentStarted(**started)


@router.post(
    "/{connectorId}/consent/callback",
    summary="Finish the OAuth consent: exchange the code, keep the refresh token sealed",
    description="The same caller who started the consent, with the `code` and `state` the vendor sent back. "
    "422 naming `state` when it was not started here, has expired or was used; 403 for another caller; "
    "424 when the vendor refuses the code or the app's credentials.",
)
async def finish_consent(connectorId: ConnectorId, body: ConsentCallback, access: Manage) -> dict[str, Any]:
    doc = await consent.finish_consent(
        access.ctx,
        connectorId,
        code=body.code,
        state=body.state,
        actor=access.caller.actor,
        request=access.request,
    )
    return service.public_connector(doc)
