"""Deleting an organisation on request, and the job's status after the org is gone.

`DELETE /api/orgs/{orgId}` (admins; the body confirms the org's name) answers 202 at once:
the org is marked deleting (every route now answers 404 for it) and a job on the
`deletions` queue destroys its data. The answer carries the job's status URL and a job
token, shown only there. The org and its members are gone when the job ends, so the
status cannot be guarded by membership: `GET /api/deletions/{jobId}` with header
`X-Ferry-Job-Token` shows progress and then the receipt (hashed org id, times, counts per
store — no names, no e-mails). Only the token's SHA-256 is stored; a wrong token and an
unknown job answer the same 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from functions.http_api.deps import authorize
from functions.http_api.ids import JobId
from shared.errors import AuthenticationError, NotFoundError, ValidationFailed
from shared.identity.access import Action
from shared.retention.deletion import begin_deletion, utcnow
from shared.retention.jobs import job_region, public_job, read_status
from shared.store.stores import get_stores
from shared.tenancy import audit
from shared.tenancy.auth import OrgAccess

router = APIRouter(tags=["deletion"])
JOB_TOKEN_HEADER = "X-Ferry-Job-Token"


class OrgDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: str = Field(min_length=1, description="the organisation's name, exactly as shown")


@router.delete("/orgs/{orgId}", status_code=202, summary="Delete the organisation and all its data (admins)")
async def delete_org(
    body: OrgDeletion, access: Annotated[OrgAccess, Depends(authorize(Action.ORG_DELETE))]
) -> JSONResponse:
    if body.confirm != access.org.get("name"):
        raise ValidationFailed("confirm must be the organisation's name, exactly", field="confirm")
    await audit.record(
        access.ctx, "deletion.requested", actor=access.caller.actor, target=access.ctx.tenant_id, request=access.request
    )
    started = await begin_deletion(access.ctx, reason="request", now=utcnow(), with_token=True)
    url = f"/api/deletions/{started.job['id']}"
    body_out = {**public_job(started.job), "statusUrl": url, "token": started.token, "tokenHeader": JOB_TOKEN_HEADER}
    return JSONResponse(body_out, status_code=202, headers={"Location": url, "Cache-Control": "no-store"})


async def job_token(token: Annotated[str | None, Header(alias=JOB_TOKEN_HEADER)] = None) -> str:
    """The job token, required before anything else about the request is looked at (as the
    credential of an org route is)."""
    if not token:
        raise AuthenticationError(f"send the deletion job token in {JOB_TOKEN_HEADER}")
    return token


@router.get("/deletions/{jobId}", summary="Progress and receipt of an org deletion (job token required)")
async def deletion_status(jobId: JobId, token: Annotated[str, Depends(job_token)]) -> dict[str, Any]:
    stores = get_stores()
    region = job_region(jobId)
    if region not in stores.settings.regions:
        raise NotFoundError("deletion job not found")
    await stores.start()
    return await read_status(stores.cosmos(region), jobId, token)
