"""Organisations: create, list mine, show one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.http_api.deps import SignedIn, authorize, request_info
from functions.http_api.idempotency import IdempotencyKey, idempotent
from shared.display_names import DisplayName
from shared.identity.access import Action, allowed_actions
from shared.identity.regions import normalize_country
from shared.store.stores import get_stores
from shared.tenancy import orgs
from shared.tenancy.auth import OrgAccess
from shared.tenancy.context import TenantContext
from shared.tenancy.idempotency import IdempotencyRepository, principal_scope
from shared.tenancy.repositories import TenantsRepository

router = APIRouter(tags=["organisations"])


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName = Field(min_length=1, max_length=200)
    country: str = Field(description="ISO 3166-1 alpha-2 country of sign-up; decides the region")
    region: str | None = Field(default=None, description="eu or us: overrides the country's region, at creation only")

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        return normalize_country(v)


@router.post("/orgs", status_code=201, summary="Create an organisation (you become its first admin)")
async def create_org(body: OrgCreate, principal: SignedIn, request: Request, key: IdempotencyKey = None) -> Any:
    stores = get_stores()

    async def create() -> dict[str, Any]:
        return orgs.public_org(
            await orgs.create_org(
                stores,
                principal,
                name=body.name,
                country=body.country,
                region=body.region,
                request=request_info(request),
            )
        )

    async def show(org_id: str) -> dict[str, Any]:
        return orgs.public_org(await TenantContext.for_org(stores, org_id).repo(TenantsRepository).get(org_id))

    # No org yet: the person's keys live in this stamp's region, scoped by (issuer, subject).
    repo = IdempotencyRepository(
        stores.cosmos(stores.settings.stamp_region), principal_scope(principal.issuer, principal.subject)
    )
    return await idempotent(request, key, repo, status=201, create=create, show=show)


@router.get("/me", summary="Who I am and my organisations")
async def me(principal: SignedIn) -> dict[str, Any]:
    return {
        "email": principal.email,
        "name": principal.name,
        "issuer": principal.issuer,
        "organisations": await orgs.orgs_of(get_stores(), principal),
    }


@router.get("/orgs/{orgId}", summary="Show an organisation")
async def get_org(access: Annotated[OrgAccess, Depends(authorize(Action.ORG_READ))]) -> dict[str, Any]:
    c = access.caller
    return {
        **orgs.public_org(access.org),
        "you": {
            "kind": c.kind.value,
            "id": c.subject,
            "role": c.role.value if c.role else None,
            "memberType": c.member_type.value if c.member_type else None,
            "scopes": sorted(s.value for s in c.scopes),
            "allowed": sorted(a.value for a in allowed_actions(c)),
        },
    }
