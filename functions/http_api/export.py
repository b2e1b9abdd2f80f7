"""GDPR export of the organisation's own data (admins): one zip archive, downloadable for
a short time. In Azure the download answers 307 to a 15-minute user-delegation SAS URL
(the Function never carries the bytes); locally it streams the blob."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import RedirectResponse, StreamingResponse

from functions.http_api.deps import authorize
from functions.http_api.idempotency import IdempotencyKey, idempotent
from functions.http_api.ids import ExportId
from shared.identity.access import Action
from shared.retention.deletion import utcnow
from shared.retention.export import describe_export, download_url, export_org
from shared.store.stores import get_stores
from shared.tenancy.auth import OrgAccess
from shared.tenancy.idempotency import IdempotencyRepository

router = APIRouter(prefix="/orgs/{orgId}/exports", tags=["export"])
Admin = Annotated[OrgAccess, Depends(authorize(Action.EXPORT_REQUEST))]


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["zip"] = "zip"


def _links(org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "download": f"/api/orgs/{org_id}/exports/{body['id']}/download"}


@router.post("", status_code=201, summary="Export the organisation's data as a zip archive (audited)")
async def create_export(body: ExportRequest, access: Admin, request: Request, key: IdempotencyKey = None) -> Any:
    async def create() -> dict[str, Any]:
        done = await export_org(access.ctx, actor=access.caller.actor, request=access.request, now=utcnow())
        return _links(access.ctx.tenant_id, done)

    async def show(export_id: str) -> dict[str, Any]:
        return _links(access.ctx.tenant_id, (await describe_export(access.ctx, export_id, now=utcnow()))[0])

    return await idempotent(request, key, access.ctx.repo(IdempotencyRepository), status=201, create=create, show=show)


@router.get("/{exportId}", summary="An export and its download link, while it lasts")
async def get_export(exportId: ExportId, access: Admin) -> dict[str, Any]:
    body, _ = await describe_export(access.ctx, exportId, now=utcnow())
    return _links(access.ctx.tenant_id, body)


@router.get(
    "/{exportId}/download",
    summary="Download the archive (Azure: redirect to a short-lived SAS URL)",
    response_class=StreamingResponse,  # the archive, not JSON (the document said application/json)
    responses={
        200: {"description": "the zip archive (local runs)", "content": {"application/zip": {}}},
        307: {"description": "Azure: the archive's short-lived SAS URL in `Location`"},
    },
)
async def download_export(exportId: ExportId, access: Admin) -> Any:
    _, blob = await describe_export(access.ctx, exportId, now=utcnow())
    if not get_stores().settings.is_local:
        return RedirectResponse(await download_url(access.ctx, blob, now=utcnow()), status_code=307)
    stream = await blob.download_blob()
    return StreamingResponse(
        stream.chunks(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{exportId}.zip"', "Cache-Control": "no-store"},
    )
