"""Tenant-bound repositories of identity data, and the two small cross-tenant indexes
that sign-in needs (a user's organisations, an API key's organisation).

The indexes hold ids only (email → org id + member id, key prefix → org id + key id):
no tenant content. They live in the org's region like everything else of the org.
"""

from __future__ import annotations

from typing import Any

from shared.store.cosmos import CosmosRegion
from shared.store.repository import TenantRepository


class TenantsRepository(TenantRepository):
    """The organisation document itself (id = tenant id)."""

    container_name = "tenants"


class MembersRepository(TenantRepository):
    container_name = "members"

    async def by_email(self, email: str) -> dict[str, Any] | None:
        found = await self.query_all("c.email = @email", {"email": email.lower()})
        return found[0] if found else None

    async def for_principal(
        self, issuer: str, subject: str, email: str, *, email_verified: bool
    ) -> dict[str, Any] | None:
        """The member a signed-in person is. Once claimed, a member is bound to one
        (issuer, subject): another token carrying the same e-mail is someone else. An
        invitation not yet claimed is claimed by e-mail, and only when the issuer verified it."""
        bound = await self.query_all("c.issuer = @iss AND c.subject = @sub", {"iss": issuer, "sub": subject})
        if bound:
            member: dict[str, Any] = bound[0]
            return member
        if not email_verified:
            return None
        pending = await self.query_all(
            "c.email = @email AND (NOT IS_DEFINED(c.subject) OR IS_NULL(c.subject))", {"email": email.lower()}
        )
        return pending[0] if pending else None


class ApiKeysRepository(TenantRepository):
    container_name = "apiKeys"


class AuditRepository(TenantRepository):
    container_name = "audit"


class Directory:
    """Cross-tenant lookups of one region: by email for `GET /api/me`, by key prefix for
    API keys. Index documents are partitioned by the lookup value, not by tenant."""

    def __init__(self, region: CosmosRegion) -> None:
        self.users = region.container("userOrgs")
        self.keys = region.container("keyIndex")

    @staticmethod
    def user_pk(email: str) -> str:
        return f"email:{email.lower()}"

    async def add_membership(self, email: str, org_id: str, member_id: str) -> None:
        pk = self.user_pk(email)
        await self.users.upsert_item({"id": org_id, "pk": pk, "tenantId": org_id, "memberId": member_id})

    async def remove_membership(self, email: str, org_id: str) -> None:
        try:
            await self.users.delete_item(org_id, partition_key=self.user_pk(email))
        except Exception as exc:
            if getattr(exc, "status_code", None) != 404:
                raise

    async def orgs_of(self, email: str) -> list[str]:
        pk = self.user_pk(email)
        items = self.users.query_items(
            "SELECT c.id FROM c WHERE c.pk = @pk", parameters=[{"name": "@pk", "value": pk}], partition_key=pk
        )
        return [i["id"] async for i in items]

    async def add_key(self, prefix: str, org_id: str, key_id: str) -> None:
        await self.keys.create_item({"id": prefix, "pk": prefix, "tenantId": org_id, "keyId": key_id})

    async def key_owner(self, prefix: str) -> dict[str, Any] | None:
        try:
            return dict(await self.keys.read_item(prefix, partition_key=prefix))
        except Exception as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise
