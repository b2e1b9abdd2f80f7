"""What the log routes need to know of a run: whether it exists and whether it ended.

The runs container belongs to the engine; this reads one document, scoped to the tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contract.runs import FINAL_STATUSES
from shared.logs.segments import delete_prefix, logs_container, run_prefix
from shared.store.repository import TenantRepository
from shared.tenancy.context import TenantContext


class _Runs(TenantRepository):
    container_name = "runs"


async def run_document(ctx: TenantContext, run_id: str) -> dict[str, Any] | None:
    """The run's document of this tenant, or None."""
    return await ctx.repo(_Runs).find(run_id)


#: A run that ended this long ago counts as finished for its log even if the worker that ended
#: it died before marking its log complete (the last lines are then as stored as they get).
LOG_COMPLETE_GRACE = timedelta(seconds=30)


async def run_finished(ctx: TenantContext, run_id: str, *, now: datetime | None = None) -> bool:
    """True when no more lines will come: the run reached a final status and the worker that
    ended it stored its last lines (``logComplete``), or ended it over a grace period ago. A
    follower that stopped at the final status alone lost the run's end event. A missing run
    counts as finished."""
    doc = await run_document(ctx, run_id)
    if doc is None:
        return True
    if str(doc.get("status")) not in FINAL_STATUSES:
        return False
    if doc.get("logComplete"):
        return True
    ended = doc.get("finishedAt")
    if not isinstance(ended, str):
        return True
    try:
        at = datetime.fromisoformat(ended.replace("Z", "+00:00"))
    except ValueError:
        return True
    return (now or datetime.now(UTC)) - at >= LOG_COMPLETE_GRACE


async def mark_log_complete(ctx: TenantContext, run_id: str) -> None:
    """The run's last lines are stored (called by the worker after the final flush)."""
    await ctx.repo(_Runs).patch(run_id, [{"op": "set", "path": "/logComplete", "value": True}])


async def delete_run_logs(ctx: TenantContext, run_id: str) -> int:
    """Delete every segment of the run's log; idempotent; returns blobs deleted."""
    return await delete_prefix(logs_container(ctx.storage), run_prefix(ctx.tenant_id, run_id))
