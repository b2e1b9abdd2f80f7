"""Migrations and runs: create, list, run (full, delta, dry run, retry failed), roll back,
pause, resume, cancel, the run view with its ETA, and the per-item report as JSON or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict
from starlette.responses import StreamingResponse

from functions.http_api.deps import authorize
from functions.http_api.idempotency import IdempotencyKey, idempotent
from functions.http_api.ids import MigrationId, RunId
from functions.http_api.paging import Continuation, PageSize, page_body
from shared.identity.access import Action
from shared.migrations import service
from shared.migrations.service import MigrationSpec, RunMode
from shared.tenancy.auth import OrgAccess
from shared.tenancy.idempotency import IdempotencyRepository
from shared.tenancy.limits import ensure_room

router = APIRouter(prefix="/orgs/{orgId}/migrations", tags=["migrations"])
Read = Annotated[OrgAccess, Depends(authorize(Action.MIGRATIONS_READ))]
Manage = Annotated[OrgAccess, Depends(authorize(Action.MIGRATIONS_MANAGE))]
RunsRead = Annotated[OrgAccess, Depends(authorize(Action.RUNS_READ))]
RunsManage = Annotated[OrgAccess, Depends(authorize(Action.RUNS_MANAGE))]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: RunMode = "full"


@router.post("", status_code=201, summary="Create a migration")
async def create_migration(body: MigrationSpec, access: Manage, request: Request, key: IdempotencyKey = None) -> Any:
    async def create() -> dict[str, Any]:
        await ensure_room(access.ctx.repo(service.MigrationsRepository), "migrations")
        return service.public_migration(await service.create_migration(access.ctx, body, actor=access.caller.actor))

    async def show(migration_id: str) -> dict[str, Any]:
        return service.public_migration(await service.get_migration(access.ctx, migration_id))

    return await idempotent(request, key, access.ctx.repo(IdempotencyRepository), status=201, create=create, show=show)


@router.get("", summary="List migrations")
async def list_migrations(access: Read, pageSize: PageSize = 50, continuation: Continuation = None) -> dict[str, Any]:
    page = await service.list_migrations(access.ctx, page_size=pageSize, continuation=continuation)
    return page_body(page, service.public_migration)


@router.get("/{migrationId}", summary="Show a migration")
async def get_migration(migrationId: MigrationId, access: Read) -> dict[str, Any]:
    return service.public_migration(await service.get_migration(access.ctx, migrationId))


@router.delete("/{migrationId}", status_code=204, summary="Delete a migration, its runs and its id map")
async def delete_migration(migrationId: MigrationId, access: Manage) -> Response:
    await service.delete_migration(access.ctx, migrationId)
    return Response(status_code=204)


@router.post(
    "/{migrationId}/runs",
    status_code=202,
    summary="Start a run (full, delta, dry_run, retry_failed)",
    description=(
        "`full` and `delta` are incremental through the id map (unchanged items cost no destination "
        "write); `dry_run` plans and counts without writing. `retry_failed` runs only the items earlier runs "
        "failed or skipped (and creates an interrupted run left unconfirmed): the id map names them, only the "
        "scopes and kinds holding them are read — the vendors cannot fetch single items, so their pages are "
        "read and every other item is passed over untouched and uncounted — and only they are written. 409 "
        "when nothing failed, or while another run of the migration is active."
    ),
)
async def start_run(
    migrationId: MigrationId,
    body: RunCreate,
    access: RunsManage,
    request: Request,
    key: IdempotencyKey = None,
) -> Any:
    async def create() -> dict[str, Any]:
        return service.public_run(
            await service.start_run(
                access.ctx, migrationId, body.mode, actor=access.caller.actor, request=access.request
            )
        )

    return await idempotent(
        request,
        key,
        access.ctx.repo(IdempotencyRepository),
        status=202,
        create=create,
        show=_show_run(access, migrationId),
    )


@router.post(
    "/{migrationId}/rollback",
    status_code=202,
    summary="Roll back: delete at the destination what Ferry created",
    description=(
        "Queues a run with mode `rollback` (same status, counters, report and logs as other runs). It deletes "
        "the destination items recorded in the migration's id map, in reverse dependency order: attachments, "
        "comments, tasks (subtasks before their parents), labels, sections, projects. An item already gone "
        "(404) counts as deleted, so redelivered chunks and a second rollback are harmless. Items that existed "
        "at the destination before the migration are never deleted (a label matched by name is reported "
        "`kept`). Id-map entries are marked rolled back, so a later full run creates the items anew. "
        "409 while another run of the migration is active."
    ),
)
async def rollback(
    migrationId: MigrationId,
    access: RunsManage,
    request: Request,
    key: IdempotencyKey = None,
) -> Any:
    async def create() -> dict[str, Any]:
        return service.public_run(
            await service.start_rollback(access.ctx, migrationId, actor=access.caller.actor, request=access.request)
        )

    return await idempotent(
        request,
        key,
        access.ctx.repo(IdempotencyRepository),
        status=202,
        create=create,
        show=_show_run(access, migrationId),
    )


def _show_run(access: OrgAccess, migration_id: str) -> Callable[[str], Awaitable[dict[str, Any]]]:
    async def show(run_id: str) -> dict[str, Any]:
        return service.public_run(await service.get_run(access.ctx, migration_id, run_id))

    return show


@router.get("/{migrationId}/runs", summary="List runs, newest first")
async def list_runs(
    migrationId: MigrationId,
    access: RunsRead,
    pageSize: PageSize = 50,
    continuation: Continuation = None,
) -> dict[str, Any]:
    # A missing or foreign migration is a 404, not an empty list: a client must not take "no
    # runs yet" for an answer about a migration that is not there (or not its org's).
    await service.get_migration(access.ctx, migrationId)
    page = await service.list_runs(access.ctx, migrationId, page_size=pageSize, continuation=continuation)
    return page_body(page, service.public_run)


@router.get(
    "/{migrationId}/runs/{runId}",
    summary="Run status, counters per kind, throughput, ETA",
    description=(
        "`eta` estimates the time left as destination requests left ÷ the destination's documented rate "
        "limit (the pacer's budget per credential, `requestsPerSecond`). The work left comes from a plan: "
        "for full and delta runs the migration's latest succeeded dry run (`basis` = `dry_run:<runId>`: per "
        "kind, the items it counted minus those this run has processed, times the share that needed a write "
        "— `would_create` + `would_update` — at one request per write); for `retry_failed` and `rollback` "
        "runs the items the run planned at its start (one write each). Without a plan (no dry run yet, or a "
        "dry run itself, whose time is source reads) `seconds` is null and `basis` is `unknown`; a finished "
        "run has `seconds` 0. It is a floor: 429 slow-downs and other users of the same credential make the "
        "run slower. `waitingForRedelivery` (`count`, `until`, `reason`) appears while chunks of a worker that "
        "died wait to run again (`until`: when their scopes are free; null once only the queue's redelivery "
        "is awaited); `eta.reason` then says why the run is not moving."
    ),
)
async def get_run(migrationId: MigrationId, runId: RunId, access: RunsRead) -> dict[str, Any]:
    return await service.get_run_view(access.ctx, migrationId, runId)


@router.post("/{migrationId}/runs/{runId}/pause", summary="Pause a run (in-flight chunks finish)")
async def pause_run(migrationId: MigrationId, runId: RunId, access: RunsManage) -> dict[str, Any]:
    return service.run_view(await service.pause_run(access.ctx, migrationId, runId))


@router.post("/{migrationId}/runs/{runId}/resume", summary="Resume a paused run from its checkpoints")
async def resume_run(migrationId: MigrationId, runId: RunId, access: RunsManage) -> dict[str, Any]:
    return service.run_view(await service.resume_run(access.ctx, migrationId, runId))


@router.post("/{migrationId}/runs/{runId}/cancel", summary="Cancel a run")
async def cancel_run(migrationId: MigrationId, runId: RunId, access: RunsManage) -> dict[str, Any]:
    run = await service.cancel_run(access.ctx, migrationId, runId, actor=access.caller.actor, request=access.request)
    return service.run_view(run)


@router.get(
    "/{migrationId}/runs/{runId}/report",
    summary="Per-item report as JSON lines or CSV",
    response_class=StreamingResponse,
)
async def report(
    migrationId: MigrationId,
    runId: RunId,
    access: RunsRead,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    action: Annotated[str | None, Query(description="only rows with this action")] = None,
) -> StreamingResponse:
    await service.get_run(access.ctx, migrationId, runId)  # 404 before the stream starts
    rows = service.report_rows(access.ctx, migrationId, runId, status=action)
    if format == "csv":
        return StreamingResponse(
            _csv(rows), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{runId}.csv"'}
        )
    return StreamingResponse(_json(rows), media_type="application/json")


async def _json(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    import json

    yield b'{"items":['
    first = True
    async for row in rows:
        yield (b"" if first else b",") + json.dumps(row, ensure_ascii=False).encode()
        first = False
    yield b"]}"


async def _csv(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    columns = ["kind", "sourceId", "destinationId", "action", "reason", "adaptations", "scope"]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    yield buf.getvalue().encode()
    async for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([";".join(row[c]) if c == "adaptations" else (row[c] or "") for c in columns])
        yield buf.getvalue().encode()
