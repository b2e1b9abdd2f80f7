"""Members of an organisation: admins add, change, deactivate, reactivate and remove."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from functions.http_api.deps import authorize
from functions.http_api.idempotency import IdempotencyKey, idempotent
from functions.http_api.ids import MemberId
from functions.http_api.paging import Continuation, PageSize, page_body
from shared.identity.access import Action, MemberChange, MemberStatus, MemberType, Role
from shared.tenancy import orgs
from shared.tenancy.auth import OrgAccess
from shared.tenancy.idempotency import IdempotencyRepository
from shared.tenancy.repositories import MembersRepository

router = APIRouter(prefix="/orgs/{orgId}/members", tags=["members"])
Read = Annotated[OrgAccess, Depends(authorize(Action.MEMBERS_READ))]
Manage = Annotated[OrgAccess, Depends(authorize(Action.MEMBERS_MANAGE))]


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    role: Role = Role.MEMBER
    memberType: MemberType = MemberType.INTERNAL


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    memberType: MemberType | None = None
    status: MemberStatus | None = Field(default=None, description="active or deactivated")


@router.get("", summary="List members")
async def list_members(access: Read, pageSize: PageSize = 50, continuation: Continuation = None) -> dict[str, Any]:
    page = await access.ctx.repo(MembersRepository).query_page(
        order_by="c.email", page_size=pageSize, continuation=continuation
    )
    return page_body(page, orgs.public_member)


@router.post("", status_code=201, summary="Add a member by email")
async def add_member(body: MemberAdd, access: Manage, request: Request, key: IdempotencyKey = None) -> Any:
    async def create() -> dict[str, Any]:
        return orgs.public_member(
            await orgs.add_member(
                access.ctx,
                email=str(body.email),
                role=body.role,
                member_type=body.memberType,
                actor=access.caller.actor,
                request=access.request,
            )
        )

    async def show(member_id: str) -> dict[str, Any]:
        return orgs.public_member(await access.ctx.repo(MembersRepository).get(member_id))

    return await idempotent(request, key, access.ctx.repo(IdempotencyRepository), status=201, create=create, show=show)


@router.get("/{memberId}", summary="Show a member")
async def get_member(memberId: MemberId, access: Read) -> dict[str, Any]:
    return orgs.public_member(await access.ctx.repo(MembersRepository).get(memberId))


@router.patch("/{memberId}", summary="Change role or type, deactivate or reactivate")
async def patch_member(memberId: MemberId, body: MemberPatch, access: Manage) -> dict[str, Any]:
    change = MemberChange(member_id=memberId, role=body.role, member_type=body.memberType, status=body.status)
    doc = await orgs.change_member(access.ctx, memberId, change, actor=access.caller.actor, request=access.request)
    assert doc is not None
    return orgs.public_member(doc)


@router.delete("/{memberId}", status_code=204, summary="Remove a member")
async def remove_member(memberId: MemberId, access: Manage) -> Response:
    await orgs.change_member(
        access.ctx,
        memberId,
        MemberChange(member_id=memberId, remove=True),
        actor=access.caller.actor,
        request=access.request,
    )
    return Response(status_code=204)
