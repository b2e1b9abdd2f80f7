"""The one authorization dependency every route under /api/orgs/{orgId} declares.

`authorize(action)` resolves the caller's active membership (or API key) of the org in
the path and checks the permission table before any handler code runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from functions.http_api.ids import OrgId
from shared.identity.access import Action, require
from shared.identity.apikeys import API_KEY_HEADER, Credential, credential_from_headers
from shared.identity.oidc import OidcValidator, Principal
from shared.store.stores import get_stores
from shared.tenancy.audit import RequestInfo
from shared.tenancy.auth import Authenticator, OrgAccess


@lru_cache(maxsize=1)
def get_authenticator() -> Authenticator:
    stores = get_stores()
    validator = OidcValidator(
        stores.settings.oidc_issuers,
        stores.settings.oidc_audience,
        domain_verified_issuers=stores.settings.oidc_domain_verified_issuers,
    )
    return Authenticator(stores, validator)


def request_info(request: Request) -> RequestInfo:
    return RequestInfo(
        ip=client_ip(request, behind_proxy=not get_stores().settings.is_local),
        user_agent=request.headers.get("user-agent"),
    )


def client_ip(request: Request, *, behind_proxy: bool) -> str | None:
    """The caller's address for throttling and audit. In Azure the platform's front end
    appends the address it saw to `X-Forwarded-For`, so only the LAST entry is trusted
    (earlier ones are whatever the client sent). Locally there is no proxy: the socket peer."""
    peer = request.client.host if request.client else None
    if not behind_proxy:
        return peer
    last = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
    if last.startswith("[") and "]" in last:  # [IPv6]:port
        return last[1 : last.index("]")]
    if last.count(":") == 1:  # IPv4:port
        last = last.split(":")[0]
    return last or peer


def credentials(request: Request) -> Credential:
    return credential_from_headers(request.headers.get("authorization"), request.headers.get(API_KEY_HEADER))


async def signed_in(request: Request) -> Principal:
    await get_stores().start()
    return await get_authenticator().principal(credentials(request), request_info(request))


def authorize(action: Action) -> Callable[..., object]:
    async def dependency(request: Request, orgId: OrgId) -> OrgAccess:
        await get_stores().start()
        access = await get_authenticator().org_access(orgId, credentials(request), request_info(request))
        require(access.caller, action)
        request.state.ferry_action = action
        return access

    dependency.ferry_action = action  # type: ignore[attr-defined]
    return dependency


SignedIn = Annotated[Principal, Depends(signed_in)]
