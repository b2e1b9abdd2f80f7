"""What the log routes need to know of a run: whether it exists and whether it ended.

The runs container belongs to the engine; this reads one document, scoped to the tenant.
"""

from __future__ import annotations

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


async def run_finished(ctx: TenantContext, run_id: str) -> bool:
    """True when the run reached a final status (a missing run counts as finished)."""
    doc = await run_document(ctx, run_id)
    return doc is None or str(doc.get("status")) in FINAL_STATUSES


async def delete_run_logs(ctx: TenantContext, run_id: str) -> int:
    """Delete every segment of the run's log; idempotent; returns blobs deleted."""
    return await delete_prefix(logs_container(ctx.storage), run_prefix(ctx.tenant_id, run_id))
