"""Is the org still there? The check every queue worker makes before touching an org.

Messages of an org that is being (or has been) deleted cannot be removed from a storage
queue selectively; they are dropped when dequeued. The migration worker calls
`org_is_active(ctx)` at the start of each chunk and completes the message without work
when it answers False.
"""

from __future__ import annotations

from shared.tenancy.context import TenantContext
from shared.tenancy.repositories import TenantsRepository


async def org_is_active(ctx: TenantContext) -> bool:
    """True only while the org document exists with status `active` (one point read)."""
    org = await ctx.repo(TenantsRepository).find(ctx.tenant_id)
    return org is not None and org.get("status") == "active"
