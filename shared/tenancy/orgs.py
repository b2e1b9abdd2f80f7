"""Organisations and their members."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.errors import ConflictError, ValidationFailed
from shared.identity.access import MemberChange, MemberStatus, MemberType, Role, check_member_change
from shared.identity.oidc import Principal
from shared.identity.regions import region_for_country, validate_region
from shared.store.repository import iso, utcnow
from shared.store.stores import Stores
from shared.tenancy import audit
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_id, new_org_id
from shared.tenancy.limits import ensure_room, ensure_room_for_org
from shared.tenancy.repositories import Directory, MembersRepository, TenantsRepository


def public_org(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc.get(k) for k in ("id", "name", "country", "region", "createdAt", "lastActivityAt", "status")}


def public_member(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "email": doc["email"],
        "name": doc.get("name"),
        "role": doc["role"],
        "memberType": doc["memberType"],
        "status": doc["status"],
        "addedAt": doc.get("addedAt"),
        "signedInAt": doc.get("lastSignInAt"),
    }


async def create_org(
    stores: Stores, principal: Principal, *, name: str, country: str, region: str | None, request: RequestInfo
) -> dict[str, Any]:
    """Create an org in the region of its country (or the creator's explicit choice) with
    the creator as its first admin."""
    placed = validate_region(region) if region else region_for_country(country)
    if placed not in stores.settings.regions:
        raise ValidationFailed(f"region {placed} is not served by this deployment", field="region")
    await ensure_room_for_org(stores, principal.email)
    org_id = new_org_id(placed)
    ctx = TenantContext.for_org(stores, org_id)
    now = iso(utcnow())
    org = await ctx.repo(TenantsRepository).create(
        {
            "id": org_id,
            "name": name,
            "country": country.upper(),
            "region": placed,
            "status": "active",
            "createdAt": now,
            "createdBy": principal.email,
            "lastActivityAt": now,
            "membersVersion": 0,
        }
    )
    member = await ctx.repo(MembersRepository).create(
        {
            "id": new_id("mem"),
            "email": principal.email,
            "name": principal.name,
            "role": Role.ADMIN.value,
            "memberType": MemberType.INTERNAL.value,
            "status": MemberStatus.ACTIVE.value,
            "addedAt": now,
            "addedBy": principal.email,
            "issuer": principal.issuer,
            "subject": principal.subject,
        }
    )
    await Directory(ctx.cosmos).add_membership(principal.email, org_id, member["id"])
    await audit.record(
        ctx,
        "org.created",
        actor=f"user:{member['id']}",
        target=org_id,
        request=request,
        detail={"region": placed, "country": country.upper()},
    )
    return org


async def orgs_of(stores: Stores, principal: Principal) -> list[dict[str, Any]]:
    """Every org, in every region, where this person is a member (active or not): bound to
    their (issuer, subject), or an invitation to their e-mail if the issuer verified it.
    The e-mail index only finds candidates; a token that merely carries someone's e-mail
    lists nothing of theirs."""
    out: list[dict[str, Any]] = []
    for region in stores.regions:
        for org_id in await Directory(stores.cosmos(region)).orgs_of(principal.email):
            ctx = TenantContext.for_org(stores, org_id)
            org, member = await asyncio.gather(
                ctx.repo(TenantsRepository).find(org_id),
                ctx.repo(MembersRepository).for_principal(
                    principal.issuer, principal.subject, principal.email, email_verified=principal.email_verified
                ),
            )
            if org and member and org.get("status") == "active":
                out.append(
                    {
                        **public_org(org),
                        "role": member["role"],
                        "memberType": member["memberType"],
                        "memberStatus": member["status"],
                    }
                )
    return out


async def _claim_members_version(ctx: TenantContext) -> None:
    """Serialise member changes of one org: two admins demoting each other at once must
    not both pass the last-admin check. Bumping the org document under its ETag makes the
    slower of two concurrent changes fail with a conflict."""
    tenants = ctx.repo(TenantsRepository)
    org = await tenants.get(ctx.tenant_id)
    await tenants.replace({**org, "membersVersion": int(org.get("membersVersion", 0)) + 1}, etag=org["_etag"])


async def add_member(
    ctx: TenantContext, *, email: str, role: Role, member_type: MemberType, actor: str, request: RequestInfo
) -> dict[str, Any]:
    if role is Role.ADMIN and member_type is MemberType.EXTERNAL:
        raise ValidationFailed("external members cannot be admins", field="role")
    members = ctx.repo(MembersRepository)
    email = email.lower()
    if await members.by_email(email):
        raise ConflictError(f"{email} is already a member")
    await ensure_room(members, "members")
    await _claim_members_version(ctx)
    doc = await members.create(
        {
            "id": new_id("mem"),
            "email": email,
            "role": role.value,
            "memberType": member_type.value,
            "status": MemberStatus.ACTIVE.value,
            "addedAt": iso(utcnow()),
            "addedBy": actor,
        }
    )
    await Directory(ctx.cosmos).add_membership(email, ctx.tenant_id, doc["id"])
    await audit.record(
        ctx,
        "member.added",
        actor=actor,
        target=doc["id"],
        request=request,
        detail={"role": role.value, "memberType": member_type.value},
    )
    return doc


async def change_member(
    ctx: TenantContext, member_id: str, change: MemberChange, *, actor: str, request: RequestInfo
) -> dict[str, Any] | None:
    """Apply a role/type/status change or a removal, refusing to lose the last admin."""
    members = ctx.repo(MembersRepository)
    current = await members.query_all()
    snapshot = [_MemberView(m) for m in current]
    check_member_change(snapshot, change)
    await _claim_members_version(ctx)
    target = next(m for m in current if m["id"] == member_id)
    if change.remove:
        await members.delete(member_id)
        await Directory(ctx.cosmos).remove_membership(target["email"], ctx.tenant_id)
        await audit.record(ctx, "member.removed", actor=actor, target=member_id, request=request)
        return None
    updated = dict(target)
    events: list[tuple[str, dict[str, Any]]] = []
    if change.role and change.role.value != target["role"]:
        updated["role"] = change.role.value
        events.append(("member.role_changed", {"from": target["role"], "to": change.role.value}))
    if change.member_type and change.member_type.value != target["memberType"]:
        updated["memberType"] = change.member_type.value
        events.append(("member.type_changed", {"from": target["memberType"], "to": change.member_type.value}))
    if change.status and change.status.value != target["status"]:
        updated["status"] = change.status.value
        name = "member.deactivated" if change.status is MemberStatus.DEACTIVATED else "member.reactivated"
        events.append((name, {}))
    if not events:
        unchanged: dict[str, Any] = target
        return unchanged
    saved: dict[str, Any] = await members.replace(updated, etag=target["_etag"])
    for name, detail in events:
        await audit.record(ctx, name, actor=actor, target=member_id, request=request, detail=detail)
    return saved


class _MemberView:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.id = doc["id"]
        self.role = doc["role"]
        self.member_type = doc["memberType"]
        self.status = doc["status"]
