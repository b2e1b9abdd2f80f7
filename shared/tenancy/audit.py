"""Append-only audit trail of security-relevant actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.store.repository import QueryPage, iso, utcnow
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import sortable_id
from shared.tenancy.repositories import AuditRepository

#: The events Ferry records; anything else is a programming error.
EVENTS = frozenset(
    {
        "org.created",
        "signin",
        "member.added",
        "member.role_changed",
        "member.type_changed",
        "member.deactivated",
        "member.reactivated",
        "member.removed",
        "key.created",
        "key.revoked",
        "connector.created",
        "connector.updated",
        "connector.deleted",
        "run.started",
        "run.cancelled",
        "deletion.requested",
        "export.requested",
        "logs.deleted",
    }
)


@dataclass(frozen=True)
class RequestInfo:
    """Where a request came from, for the audit trail."""

    ip: str | None = None
    user_agent: str | None = None


async def record(
    ctx: TenantContext,
    action: str,
    *,
    actor: str,
    target: str | None = None,
    request: RequestInfo | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if action not in EVENTS:
        raise ValueError(f"unknown audit event {action!r}")
    at = utcnow()
    doc = {
        "id": sortable_id("aud", at),
        "at": iso(at),
        "action": action,
        "actor": actor,
        "target": target,
        "ip": request.ip if request else None,
        "userAgent": (request.user_agent or "")[:256] if request else None,
        "detail": detail or {},
    }
    # create (never upsert): an audit event is written once and never changed.
    return await ctx.repo(AuditRepository).create(doc)


async def list_events(ctx: TenantContext, *, page_size: int, continuation: str | None) -> QueryPage[dict[str, Any]]:
    return await ctx.repo(AuditRepository).query_page(
        order_by="c.id DESC", page_size=page_size, continuation=continuation
    )
