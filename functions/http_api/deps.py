"""The one authorization dependency every route under /api/orgs/{orgId} declares.

`authorize(action)` resolves the caller's active membership (or API key) of the org in
the path and checks the permission table before any handler code runs.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Callable

from fastapi import Depends, Path, Request

from shared.identity.access import Action, require
from shared.identity.apikeys import API_KEY_HEADER, Credential, credential_from_headers
from shared.identity.oidc import OidcValidator, Principal
from shared.store.stores import get_stores
from shared.tenancy.audit import RequestInfo
from shared.tenancy.auth import Authenticator, OrgAccess


@lru_cache(maxsize=1)
def get_authenticator() -> Authenticator:
    stores = get_stores()
    validator = OidcValidator(stores.settings.oidc_issuers, stores.settings.oidc_audience)
    return Authenticator(stores, validator)


def request_info(request: Request) -> RequestInfo:
    # Behind Azure Front Door / App Service the client is the first X-Forwarded-For hop.
    forwarded = request.headers.get("x-forwarded-for", "")
    ip = forwarded.split(",")[0].strip() if forwarded else (request.client.host if request.client else None)
    return RequestInfo(ip=ip, user_agent=request.headers.get("user-agent"))


def credentials(request: Request) -> Credential:
    return credential_from_headers(request.headers.get("authorization"), request.headers.get(API_KEY_HEADER))


async def signed_in(request: Request) -> Principal:
    await get_stores().start()
    return await get_authenticator().principal(credentials(request), request_info(request))


OrgId = Annotated[str, Path(description="Organisation id (names its region, e.g. org_eu_…)")]


def authorize(action: Action) -> Callable[..., object]:
    async def dependency(request: Request, orgId: OrgId) -> OrgAccess:  # noqa: N803 (path name)
        await get_stores().start()
        access = await get_authenticator().org_access(orgId, credentials(request), request_info(request))
        require(access.caller, action)
        request.state.ferry_action = action
        return access

    dependency.ferry_action = action  # type: ignore[attr-defined]
    return dependency


SignedIn = Annotated[Principal, Depends(signed_in)]
