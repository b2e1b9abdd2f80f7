"""Org API keys. Send one as `Authorization: Bearer ferry_…` (or `X-Ferry-Key: ferry_…`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from functions.http_api.deps import authorize
from functions.http_api.idempotency import IdempotencyKey, idempotent
from functions.http_api.ids import KeyId
from functions.http_api.paging import Continuation, PageSize, page_body
from shared.display_names import DisplayName
from shared.identity.access import Action, Scope
from shared.tenancy import keys
from shared.tenancy.auth import OrgAccess
from shared.tenancy.idempotency import IdempotencyRepository
from shared.tenancy.repositories import ApiKeysRepository

router = APIRouter(prefix="/orgs/{orgId}/keys", tags=["api keys"])
Manage = Annotated[OrgAccess, Depends(authorize(Action.KEYS_MANAGE))]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayName = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, description="read, write and/or admin")


@router.post("", status_code=201, summary="Create an API key (the key is shown only in this answer)")
async def create_key(body: KeyCreate, access: Manage, request: Request, key: IdempotencyKey = None) -> Any:
    async def create() -> dict[str, Any]:
        doc, plaintext = await keys.create_key(
            access.ctx, name=body.name, scopes=body.scopes, actor=access.caller.actor, request=access.request
        )
        return {**keys.public_key(doc), "key": plaintext}

    async def show(key_id: str) -> dict[str, Any]:
        # The secret exists only in the first answer (Ferry keeps its digest): a replay names the key.
        return keys.public_key(await access.ctx.repo(ApiKeysRepository).get(key_id))

    return await idempotent(request, key, access.ctx.repo(IdempotencyRepository), status=201, create=create, show=show)


@router.get("", summary="List API keys (never the keys themselves)")
async def list_keys(access: Manage, pageSize: PageSize = 50, continuation: Continuation = None) -> dict[str, Any]:
    page = await access.ctx.repo(ApiKeysRepository).query_page(
        order_by="c.createdAt DESC", page_size=pageSize, continuation=continuation
    )
    return page_body(page, keys.public_key)


@router.delete("/{keyId}", summary="Revoke an API key, effective immediately")
async def revoke_key(keyId: KeyId, access: Manage) -> dict[str, Any]:
    return keys.public_key(await keys.revoke_key(access.ctx, keyId, actor=access.caller.actor, request=access.request))
