"""Migrations and their runs: create, start, pause, resume, cancel, report.

A migration names a source and a destination connector of the same org, the source
containers to move (scopes), where they go, and the user and label mappings. A run is one
pass of the engine over those scopes: `full`, `delta` (both incremental through the id map:
unchanged items cost no destination write), `dry_run` (plan and counts, no writes),
`retry_failed` (only the items earlier runs failed or skipped: the id map names them, and
the run reads only the scopes and kinds that hold them, writing nothing else) or
`rollback` (delete at the destination what the migration created, see
`shared.engine.rollback`; started by `start_rollback`, not `start_run`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from pydantic_core import PydanticCustomError

from shared.connections.service import get_connector
from shared.contract.limits import RateLimit
from shared.contract.model import Kind
from shared.contract.runs import FINAL_STATUSES, RunStatus
from shared.display_names import DisplayName
from shared.engine.eta import Eta, estimate, plan_from_dry_run, plan_of_writes
from shared.engine.idmap import RETRY_STATES, retry_plan
from shared.engine.plan import DEFAULT_PAGE_SIZE, RunSettings, begin, resume_messages
from shared.engine.status_map import StatusRule, key_problems, parse_status_map
from shared.errors import ConflictError, NotFoundError, ValidationFailed
from shared.migrations.ports_cosmos import (
    CosmosRunState,
    IdMapRepository,
    RunItemsRepository,
    RunsRepository,
    StorageChunkQueue,
    lease_stalled,
)
from shared.store.repository import QueryPage, TenantRepository, iso, utcnow
from shared.tenancy import audit
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_id, sortable_id

RunMode = Literal["full", "delta", "dry_run", "retry_failed", "verify"]

STATUS_MAPPING_DOC = (
    "Where tasks go by their source status. Key: a source section (Trello list, Asana section, Planner "
    "bucket) by id or by name (names compare trimmed and case-insensitively; an id wins over a name), or "
    "`@completed` / `@open` for tasks by their source completion when no section key matched. Value: "
    '`{"section": "<destination section name>", "completed": true|false}` (either or both); a bare '
    'string is the older form of `{"section": …}` and is answered as an object. A target section the '
    "source scope has (by name) receives the tasks; any other is created once per scope, after the source "
    "sections. Subtasks keep their parent: only their completion is mapped. Without a rule a task keeps its "
    "section and its completion. The dry run counts what the mapping does (`adapt.task.status_*`); changing "
    "the mapping makes the next delta update the affected tasks."
)


class MigrationsRepository(TenantRepository):
    container_name = "migrations"


class Scope(BaseModel):
    """A source container to move. Only its id is kept: Ferry stores ids, not names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=512, description="source container id (board, project, plan)")
    # Accepted so that clients written for earlier versions keep working, never stored nor
    # answered (exclude=True keeps it out of model_dump): names are read live from
    # GET …/connectors/{id}/containers.
    name: str | None = Field(
        default=None,
        max_length=500,
        exclude=True,
        deprecated=True,
        description=(
            "accepted for compatibility and not stored: Ferry keeps only the id; read names live from "
            "`GET /api/orgs/{orgId}/connectors/{connectorId}/containers`"
        ),
    )


class UserMapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    emails: dict[str, EmailStr] = Field(default_factory=dict, description="source email → destination email")
    fallback: EmailStr | None = Field(default=None, description="who gets what maps to nobody")

    @field_validator("emails")
    @classmethod
    def _lower(cls, v: dict[str, str]) -> dict[str, str]:
        return {k.strip().lower(): str(e).lower() for k, e in v.items()}


class MigrationSpec(BaseModel):
    """What a client sends to create (or replace the settings of) a migration."""

    model_config = ConfigDict(extra="forbid")  # an unknown field is a 422 naming it, never ignored

    name: DisplayName = Field(min_length=1, max_length=200)
    sourceConnectorId: str
    destinationConnectorId: str
    scopes: list[Scope] = Field(min_length=1, max_length=500)
    destinationWorkspace: str | None = Field(default=None, max_length=512)
    userMapping: UserMapping = Field(default_factory=UserMapping)
    labelMapping: dict[str, str] = Field(default_factory=dict, max_length=1000)
    statusMapping: dict[str, StatusRule | str] = Field(
        default_factory=dict, max_length=1000, description=STATUS_MAPPING_DOC
    )
    pageSize: int = Field(
        default=DEFAULT_PAGE_SIZE, ge=1, le=500, description="records per chunk (one page of the source)"
    )
    verifyAfterRun: bool = Field(
        default=False,
        description=(
            "when a full, delta or retry_failed run ends, start a `verify` run that reads both sides "
            "and compares every migrated item (no writes)"
        ),
    )

    @field_validator("statusMapping")
    @classmethod
    def _status_rules(cls, v: dict[str, StatusRule | str]) -> dict[str, StatusRule | str]:
        # stored as rule objects (a bare string is the legacy form of {"section": …})
        for key, message in key_problems(v):
            raise PydanticCustomError("status_mapping_key", "{key}: {message}", {"key": key, "message": message})
        for key, value in v.items():
            if isinstance(value, str) and not value.strip():
                raise PydanticCustomError("status_mapping_section", "{key}: the section name is blank", {"key": key})
        return dict(parse_status_map(v))


def public_migration(doc: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "name",
        "sourceConnectorId",
        "destinationConnectorId",
        "scopes",
        "destinationWorkspace",
        "userMapping",
        "labelMapping",
        "statusMapping",
        "pageSize",
        "verifyAfterRun",
        "createdAt",
        "createdBy",
        "lastRunId",
    )
    out = {k: doc.get(k) for k in keys}
    out["scopes"] = scope_ids(doc.get("scopes") or [])
    return out


def scope_ids(scopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scopes as Ferry keeps them: ids only (earlier versions also stored the names sent)."""
    return [{"id": s["id"]} for s in scopes]


def public_run(doc: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "migrationId",
        "mode",
        "status",
        "statusReason",
        "createdAt",
        "createdBy",
        "startedAt",
        "finishedAt",
        "lastActivityAt",
        "counts",
        "scopes",
    )
    return {k: doc.get(k) for k in keys}


async def create_migration(ctx: TenantContext, spec: MigrationSpec, *, actor: str) -> dict[str, Any]:
    if spec.sourceConnectorId == spec.destinationConnectorId and not spec.destinationWorkspace:
        raise ValidationFailed("moving within one connector needs a destinationWorkspace", field="destinationWorkspace")
    for field, connector_id in (
        ("sourceConnectorId", spec.sourceConnectorId),
        ("destinationConnectorId", spec.destinationConnectorId),
    ):
        try:
            await get_connector(ctx, connector_id)
        except Exception as exc:
            raise ValidationFailed(f"{field}: no such connector in this organisation", field=field) from exc
    doc = {
        "id": new_id("mig"),
        **spec.model_dump(mode="json"),
        "createdAt": iso(utcnow()),
        "createdBy": actor,
        "lastRunId": None,
    }
    return await ctx.repo(MigrationsRepository).create(doc)


async def get_migration(ctx: TenantContext, migration_id: str) -> dict[str, Any]:
    doc = await ctx.repo(MigrationsRepository).get(migration_id)
    if any(set(s) - {"id"} for s in doc.get("scopes") or []):
        # a migration stored before Ferry kept ids only: drop the scope names it holds
        doc["scopes"] = scope_ids(doc["scopes"])
        await ctx.repo(MigrationsRepository).patch(
            migration_id, [{"op": "set", "path": "/scopes", "value": doc["scopes"]}]
        )
    return doc


async def list_migrations(ctx: TenantContext, *, page_size: int, continuation: str | None) -> QueryPage[dict[str, Any]]:
    return await ctx.repo(MigrationsRepository).query_page(
        order_by="c.createdAt DESC", page_size=page_size, continuation=continuation
    )


async def delete_migration(ctx: TenantContext, migration_id: str) -> None:
    """Delete the migration, its runs and its id map (destination items stay where they are)."""
    await get_migration(ctx, migration_id)
    runs = ctx.repo(RunsRepository)
    active = await runs.query_all(
        "c.migrationId = @m AND c.status IN ('queued','running','paused')", {"m": migration_id}
    )
    if active:
        raise ConflictError("cancel the migration's active run first")
    for kind in (IdMapRepository, RunItemsRepository):
        repo = ctx.repo(kind, migration_id)
        for doc in await repo.query_all(select="c.id"):
            await repo.delete(doc["id"])
    for run in await runs.query_all("c.migrationId = @m", {"m": migration_id}, select="c.id"):
        await runs.delete(run["id"])
    await ctx.repo(MigrationsRepository).delete(migration_id)


def run_settings(ctx: TenantContext, migration: dict[str, Any], run: dict[str, Any]) -> RunSettings:
    mode = run["mode"]
    plan = run.get("retryPlan")
    return RunSettings(
        tenant_id=ctx.tenant_id,
        migration_id=migration["id"],
        run_id=run["id"],
        dest_workspace=migration.get("destinationWorkspace"),
        dry_run=mode == "dry_run",
        mode=mode,
        sweep=mode in ("full", "delta"),
        retry_plan={scope: frozenset(Kind(k) for k in kinds) for scope, kinds in plan.items()}
        if plan is not None
        else None,
        page_size=int(migration.get("pageSize") or DEFAULT_PAGE_SIZE),
        status_map=parse_status_map(migration.get("statusMapping")),
        lease_s=ctx.stores.settings.chunk_lease_s,
    )


async def _refuse_if_active(ctx: TenantContext, migration_id: str) -> None:
    active = await ctx.repo(RunsRepository).query_all(
        "c.migrationId = @m AND c.status IN ('queued','running','paused')", {"m": migration_id}, select="c.id"
    )
    if active:
        raise ConflictError(f"run {active[0]['id']} of this migration is still active", runId=active[0]["id"])


async def _retry_plan(ctx: TenantContext, migration_id: str) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Scopes and kinds holding items earlier runs failed or skipped, and how many per kind."""
    repo = ctx.repo(IdMapRepository, migration_id)
    states = [str(s) for s in RETRY_STATES]
    pairs = await repo.query_all("ARRAY_CONTAINS(@states, c.state)", {"states": states}, select="c.scope, c.kind")
    per_kind: dict[str, int] = {}
    for row in pairs:
        per_kind[row["kind"]] = per_kind.get(row["kind"], 0) + 1
    plan = retry_plan((row["scope"], row["kind"]) for row in pairs)
    return {scope: sorted(str(k) for k in kinds) for scope, kinds in plan.items()}, per_kind


async def _rollback_scope_plan(ctx: TenantContext, migration: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
    """The migration's scopes (every id-map entry belongs to one: scopes cannot be edited), and
    the deletes per kind."""
    repo = ctx.repo(IdMapRepository, migration["id"])
    scopes = [s["id"] for s in migration["scopes"]]
    per_kind: dict[str, int] = {}
    for kind in Kind:
        n = await repo.count(
            "c.kind = @k AND IS_DEFINED(c.destId) AND NOT IS_NULL(c.destId) "
            "AND c.state != 'rolled_back' AND (NOT IS_DEFINED(c.adopted) OR c.adopted = false)",
            {"k": str(kind)},
        )
        if n:
            per_kind[str(kind)] = n
    return list(dict.fromkeys(scopes)), per_kind


async def _create_and_enqueue(
    ctx: TenantContext,
    migration: dict[str, Any],
    mode: str,
    scopes: list[str],
    *,
    actor: str,
    request: RequestInfo | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    runs = ctx.repo(RunsRepository)
    now = iso(utcnow())
    run = await runs.create(
        {
            "id": sortable_id("run"),
            "migrationId": migration["id"],
            "mode": mode,
            "status": RunStatus.QUEUED.value,
            "counts": {},
            "scopes": scopes,
            "createdAt": now,
            "createdBy": actor,
            "lastActivityAt": now,
            **extra,
        }
    )
    queue = StorageChunkQueue(ctx)
    for message in await begin(CosmosRunState(ctx, migration["id"]), run_settings(ctx, migration, run), scopes):
        await queue.enqueue(message)
    await ctx.repo(MigrationsRepository).patch(
        migration["id"], [{"op": "set", "path": "/lastRunId", "value": run["id"]}]
    )
    await audit.record(
        ctx,
        "run.started",
        actor=actor,
        target=run["id"],
        request=request,
        detail={"migrationId": migration["id"], "mode": mode},
    )
    return await runs.get(run["id"])


async def start_run(
    ctx: TenantContext, migration_id: str, mode: RunMode, *, actor: str, request: RequestInfo | None
) -> dict[str, Any]:
    """Create a run and enqueue the first chunk of every scope (scopes fan out).

    ``retry_failed`` plans from the id map: only scopes holding failed or skipped items are
    started, and in them only the phases of those kinds are read (ConflictError when
    nothing failed).
    """
    migration = await get_migration(ctx, migration_id)
    await _refuse_if_active(ctx, migration_id)
    scopes = [s["id"] for s in migration["scopes"]]
    extra: dict[str, Any] = {}
    if mode == "retry_failed":
        plan, per_kind = await _retry_plan(ctx, migration_id)
        if not plan:
            raise ConflictError("no item of this migration failed or was skipped: nothing to retry")
        scopes = [s for s in scopes if s in plan] + [s for s in plan if s not in scopes]
        extra = {"retryPlan": plan, "plan": per_kind}
    return await _create_and_enqueue(ctx, migration, mode, scopes, actor=actor, request=request, extra=extra)


async def start_rollback(
    ctx: TenantContext, migration_id: str, *, actor: str, request: RequestInfo | None
) -> dict[str, Any]:
    """Queue a rollback run: delete at the destination what the migration created there.

    Same lifecycle, counters, report and logs as any run (mode ``rollback``). Items that
    existed at the destination before are never deleted; deleting again is harmless, so a
    second rollback finds nothing left to do.
    """
    migration = await get_migration(ctx, migration_id)
    await _refuse_if_active(ctx, migration_id)
    scopes, per_kind = await _rollback_scope_plan(ctx, migration)
    return await _create_and_enqueue(
        ctx, migration, "rollback", scopes, actor=actor, request=request, extra={"plan": per_kind}
    )


async def get_run(ctx: TenantContext, migration_id: str, run_id: str) -> dict[str, Any]:
    run = await ctx.repo(RunsRepository).get(run_id)
    if run.get("migrationId") != migration_id:
        raise NotFoundError(f"run {run_id} not found")
    return run


async def list_runs(
    ctx: TenantContext, migration_id: str, *, page_size: int, continuation: str | None
) -> QueryPage[dict[str, Any]]:
    return await ctx.repo(RunsRepository).query_page(
        "c.migrationId = @m", {"m": migration_id}, order_by="c.id DESC", page_size=page_size, continuation=continuation
    )


async def pause_run(ctx: TenantContext, migration_id: str, run_id: str) -> dict[str, Any]:
    run = await get_run(ctx, migration_id, run_id)
    if RunStatus(run["status"]) not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise ConflictError(f"a {run['status']} run cannot be paused")
    await CosmosRunState(ctx, migration_id).set_status(run_id, RunStatus.PAUSED, "paused by a user")
    return await get_run(ctx, migration_id, run_id)


async def resume_run(ctx: TenantContext, migration_id: str, run_id: str) -> dict[str, Any]:
    """Continue a paused run from each open scope's checkpoint (also after "reconnect")."""
    run = await get_run(ctx, migration_id, run_id)
    if RunStatus(run["status"]) is not RunStatus.PAUSED:
        raise ConflictError(f"a {run['status']} run cannot be resumed")
    migration = await get_migration(ctx, migration_id)
    state = CosmosRunState(ctx, migration_id)
    await state.set_status(run_id, RunStatus.RUNNING)
    queue = StorageChunkQueue(ctx)
    # A chunk still in flight from before the pause finds its checkpoint moved or leased: the
    # duplicate is dropped (STALE) or deferred (BUSY), never run twice.
    for message in resume_messages(run_settings(ctx, migration, run), await state.checkpoints(run_id)):
        await queue.enqueue(message)
    return await get_run(ctx, migration_id, run_id)


async def cancel_run(
    ctx: TenantContext, migration_id: str, run_id: str, *, actor: str, request: RequestInfo | None
) -> dict[str, Any]:
    run = await get_run(ctx, migration_id, run_id)
    if RunStatus(run["status"]) in FINAL_STATUSES:
        raise ConflictError(f"the run is already {run['status']}")
    await CosmosRunState(ctx, migration_id).set_status(run_id, RunStatus.CANCELLED, "cancelled by a user")
    await audit.record(ctx, "run.cancelled", actor=actor, target=run_id, request=request)
    return await get_run(ctx, migration_id, run_id)


async def report_rows(
    ctx: TenantContext, migration_id: str, run_id: str, status: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Every per-item row of a run (kind, source id, destination id, action, reason)."""
    await get_run(ctx, migration_id, run_id)
    repo = ctx.repo(RunItemsRepository, migration_id)
    where = "c.runId = @r" + (" AND c.status = @s" if status else "")
    params: dict[str, Any] = {"r": run_id, **({"s": status} if status else {})}
    token = None
    while True:
        page = await repo.query_page(where, params, page_size=200, continuation=token)
        for doc in page.items:
            yield {
                "kind": doc["kind"],
                "sourceId": doc["sourceId"],
                "destinationId": doc.get("destId"),
                "action": doc["status"],
                "reason": doc.get("reason"),
                "adaptations": doc.get("adaptations") or [],
                "scope": doc.get("scope"),
            }
        token = page.continuation
        if not token:
            return


async def _destination_limit(ctx: TenantContext, migration: dict[str, Any]) -> RateLimit | None:
    """The documented rate limit of the destination connector's kind (the pacer's budget)."""
    from shared.connectors.registry import rate_limit_of

    try:
        connector = await get_connector(ctx, migration["destinationConnectorId"])
        return rate_limit_of(connector["kind"])
    except (NotFoundError, ValidationFailed, KeyError):
        return None


async def latest_dry_run(ctx: TenantContext, migration_id: str) -> dict[str, Any] | None:
    """The migration's newest succeeded dry run, or None."""
    page = await ctx.repo(RunsRepository).query_page(
        "c.migrationId = @m AND c.mode = 'dry_run' AND c.status = 'succeeded'",
        {"m": migration_id},
        order_by="c.id DESC",
        page_size=1,
    )
    return page.items[0] if page.items else None


async def run_eta(ctx: TenantContext, migration: dict[str, Any], run: dict[str, Any]) -> Eta:
    """ETA of a run, see `shared.engine.eta`: work left from the plan (the latest succeeded
    dry run for full and delta runs; the run's own plan for retry_failed and rollback), priced
    in destination requests, over the destination's documented rate limit."""
    limit = await _destination_limit(ctx, migration)
    counts = {k: int(v) for k, v in (run.get("counts") or {}).items()}
    if RunStatus(run["status"]) in FINAL_STATUSES:
        return estimate(None, counts, limit, basis="finished", finished=True)
    mode = run["mode"]
    if mode in ("retry_failed", "rollback"):
        return estimate(plan_of_writes(run.get("plan") or {}), counts, limit, basis=f"{mode.split('_')[0]}_plan")
    if mode in ("dry_run", "verify"):  # no writes: its time is reads, which we do not price
        return estimate(None, counts, limit, basis="unknown")
    dry = await latest_dry_run(ctx, migration["id"])
    if dry is None:
        return estimate(None, counts, limit, basis="unknown")
    return estimate(plan_from_dry_run(dry.get("counts") or {}), counts, limit, basis=f"dry_run:{dry['id']}")


async def redelivery_wait(ctx: TenantContext, migration_id: str, run: dict[str, Any]) -> dict[str, Any] | None:
    """Chunks of a running run whose worker stopped (died) while it ran them, or None.

    Read from the scope leases: a running chunk's worker renews its scope's lease every few
    seconds, so a lease still held but no longer renewed belongs to a dead worker. Its message
    runs again once the queue delivers it again (the host fails a dead worker's invocations and
    releases their messages after host.json `visibilityTimeout`) and the scope lease is free:
    `until`, the latest lease end, is when every such scope is free again; null once it passed
    (then only the queue's redelivery is awaited)."""
    if RunStatus(run["status"]) is not RunStatus.RUNNING:
        return None
    lease_s = ctx.stores.settings.chunk_lease_s
    now = utcnow()
    held = await CosmosRunState(ctx, migration_id).held_leases(run["id"])
    stalled = [until for _, until in held if lease_stalled(until, lease_s, now)]
    if not stalled:
        return None
    until = max(stalled)
    free = (
        f"their scopes are free again at {iso(until)}, then their redelivered messages run"
        if until > now
        else "their scopes are free; waiting for the queue to deliver their messages again"
    )
    return {
        "count": len(stalled),
        "until": iso(until) if until > now else None,
        "reason": f"the worker running {len(stalled)} chunk(s) stopped; {free}",
    }


async def get_run_view(ctx: TenantContext, migration_id: str, run_id: str) -> dict[str, Any]:
    """`run_view` with the run's ETA and the chunks waiting for redelivery."""
    run = await get_run(ctx, migration_id, run_id)
    migration = await get_migration(ctx, migration_id)
    return run_view(run, eta=await run_eta(ctx, migration, run), waiting=await redelivery_wait(ctx, migration_id, run))


def run_view(run: dict[str, Any], *, eta: Eta | None = None, waiting: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run as clients see it: counters grouped per kind, throughput so far, the ETA, and
    `waitingForRedelivery` (`{count, until, reason}`, see `redelivery_wait`) while chunks of a
    dead worker wait; the ETA's `reason` then says why the run is not moving."""
    from datetime import datetime

    view = public_run(run)
    if eta is not None:
        why = f"waiting for redelivery: {waiting['reason']}" if waiting else None
        view["eta"] = {**eta.model_dump(), "reason": why}
    if waiting is not None:
        view["waitingForRedelivery"] = waiting
    per_kind: dict[str, dict[str, int]] = {}
    processed = 0
    for name, n in (run.get("counts") or {}).items():
        kind, _, action = name.partition(".")
        per_kind.setdefault(kind, {})[action or "count"] = int(n)
        if kind != "scope":
            processed += int(n)
    view["counts"] = per_kind
    started, ended = run.get("startedAt"), run.get("finishedAt") or run.get("lastActivityAt")
    if started and ended:
        seconds = (
            datetime.fromisoformat(ended.replace("Z", "+00:00"))
            - datetime.fromisoformat(started.replace("Z", "+00:00"))
        ).total_seconds()
        view["throughput"] = {
            "items": processed,
            "seconds": round(seconds, 1),
            "itemsPerMinute": round(processed * 60 / seconds, 1) if seconds > 0 else None,
        }
    return view
