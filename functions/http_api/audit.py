"""The org's audit trail (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from functions.http_api.deps import authorize
from functions.http_api.paging import Continuation, PageSize, page_body
from shared.identity.access import Action
from shared.tenancy import audit
from shared.tenancy.auth import OrgAccess

router = APIRouter(prefix="/orgs/{orgId}/audit", tags=["audit"])


def _event(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("id", "at", "action", "actor", "target", "ip", "userAgent", "detail")}


@router.get("", summary="Audit events, newest first")
async def list_audit(
    access: Annotated[OrgAccess, Depends(authorize(Action.AUDIT_READ))],
    pageSize: PageSize = 50,
    continuation: Continuation = None,
) -> dict[str, Any]:
    return page_body(await audit.list_events(access.ctx, page_size=pageSize, continuation=continuation), _event)
