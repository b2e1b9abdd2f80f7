"""Who is calling, resolved against one organisation before any handler runs.

Two credentials: an OIDC bearer token (a person) or an org API key (automation). A key
is sent as `Authorization: Bearer ferry_…` (primary) or `X-Ferry-Key: ferry_…`. Tenant
ids in bodies or headers are never trusted: the org comes from the path, and the caller
must be an active member of it (or hold one of its keys). An org the caller does not
belong to answers exactly like a missing one (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import AuthenticationError, FerryError, NotFoundError, PermissionDeniedError
from shared.identity import apikeys
from shared.identity.access import Action, Caller, MemberStatus, require
from shared.identity.activity import ActivityThrottle
from shared.identity.apikeys import Credential
from shared.identity.oidc import OidcValidator, Principal
from shared.identity.ratelimit import RequestRateLimits
from shared.identity.throttle import AuthFailureThrottle
from shared.store.repository import iso, utcnow
from shared.store.stores import Stores
from shared.tenancy import audit
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import region_of
from shared.tenancy.repositories import ApiKeysRepository, Directory, MembersRepository, TenantsRepository


@dataclass(frozen=True)
class OrgAccess:
    caller: Caller
    ctx: TenantContext
    org: dict[str, Any]
    request: RequestInfo
    #: When the credential stops being valid (a token's `exp`, Unix seconds); None for keys.
    expires_at: float | None = None


class Authenticator:
    def __init__(
        self,
        stores: Stores,
        validator: OidcValidator,
        *,
        throttle: AuthFailureThrottle | None = None,
        activity: ActivityThrottle | None = None,
        key_use: ActivityThrottle | None = None,
        rates: RequestRateLimits | None = None,
    ) -> None:
        self.stores = stores
        self.validator = validator
        self.throttle = throttle or AuthFailureThrottle()
        self.rates = rates or RequestRateLimits()
        self.activity = activity or ActivityThrottle()
        self.key_use = key_use or ActivityThrottle(interval=timedelta(minutes=1))

    async def principal(self, cred: Credential, request: RequestInfo) -> Principal:
        """A signed-in person (routes outside an org: `/api/me`, creating an org)."""
        principal = await self._validated(cred, request)
        self.rates.take(caller=f"person:{principal.issuer} {principal.subject}")
        return principal

    async def _validated(self, cred: Credential, request: RequestInfo) -> Principal:
        client = request.ip or "unknown"
        if cred.kind == "api_key":
            raise AuthenticationError("API keys act for one organisation; use them on /api/orgs/{orgId}/… routes")
        try:
            return await self.validator.validate(cred.value)
        except AuthenticationError:
            self._count_failure(client)
            raise

    def _count_failure(self, client: str, *, key_prefix: str | None = None) -> None:
        """Count a failed attempt; past the address's limit the failure answers 429.

        Only failures are refused: a valid credential from an address that failed often
        still signs in (a shared NAT must not lock a whole office out)."""
        self.throttle.record_failure(client, key_prefix=key_prefix)
        self.throttle.check_client(client)

    async def org_access(
        self, org_id: str, cred: Credential, request: RequestInfo, *, counted: bool = True
    ) -> OrgAccess:
        """The caller's access to `org_id`; `counted` requests spend the caller's and the org's
        request rate (429 + Retry-After past it)."""
        client = request.ip or "unknown"
        expires_at: float | None = None
        if cred.kind == "api_key":
            caller, ctx = await self._key_caller(org_id, cred.value, client)
        else:
            principal = await self._validated(cred, request)
            expires_at = principal.expires_at
            caller, ctx = await self._member_caller(org_id, principal, request)
        org = await ctx.repo(TenantsRepository).find(org_id)
        if org is None or org.get("status") != "active":
            raise NotFoundError("organisation not found")
        if counted:
            self.rates.take(caller=caller.actor, org=org_id)
        await self._touch(ctx, org)
        return OrgAccess(caller, ctx, org, request, expires_at)

    async def reauthorise(self, access: OrgAccess, cred: Credential, action: Action) -> None:
        """Raise as the request would now if `cred` no longer reaches `action` in the org of
        `access` (key revoked, member deactivated or removed, org deleted, token expired):
        what a long response checks while it runs."""
        again = await self.org_access(access.ctx.tenant_id, cred, access.request, counted=False)
        require(again.caller, action)

    async def _member_caller(
        self, org_id: str, principal: Principal, request: RequestInfo
    ) -> tuple[Caller, TenantContext]:
        ctx = self._context(org_id)
        members = ctx.repo(MembersRepository)
        member = await members.for_principal(
            principal.issuer, principal.subject, principal.email, email_verified=principal.email_verified
        )
        if member is None:
            raise NotFoundError("organisation not found")
        if member["status"] != MemberStatus.ACTIVE.value:
            raise PermissionDeniedError("your membership of this organisation is deactivated")
        today = datetime.now(UTC).date().isoformat()
        if member.get("subject") is None or member.get("lastSignInDay") != today:
            # First sign-in binds the invitation to this identity; then one audit event a day.
            member = await members.replace(
                {
                    **member,
                    "issuer": principal.issuer,
                    "subject": principal.subject,
                    "name": member.get("name") or principal.name,
                    "lastSignInDay": today,
                    "lastSignInAt": iso(utcnow()),
                },
                etag=member["_etag"],
            )
            await audit.record(ctx, "signin", actor=f"user:{member['id']}", target=member["id"], request=request)
        caller = Caller.user(
            tenant_id=org_id,
            subject=member["id"],
            email=member["email"],
            role=member["role"],
            member_type=member["memberType"],
            status=member["status"],
        )
        return caller, ctx

    async def _key_caller(self, org_id: str, key: str, client: str) -> tuple[Caller, TenantContext]:
        try:
            parsed = apikeys.parse(key)
        except AuthenticationError:
            self._count_failure(client)
            raise
        ctx = self._context(org_id)
        # The digest is compared before any per-prefix limit is consulted: the prefix is not
        # secret, so a flood of guesses at it must never lock its genuine holder out.
        owner = await self._key_owner(ctx, parsed.prefix)
        doc = await self._key_doc(ctx, owner, org_id)
        if doc is None or not apikeys.digests_match(parsed.digest, doc["digest"]):
            if owner and owner.get("tenantId") != org_id and await self._genuine_elsewhere(owner, parsed.digest):
                # A real key of another org (of any region) is no guess: it must not lock its
                # own key out. To this caller the org simply does not exist.
                self._count_failure(client)
                raise NotFoundError("organisation not found")
            self._count_failure(client, key_prefix=parsed.prefix)
            self.throttle.check_prefix(parsed.prefix)  # a flood at one prefix shows as 429
            raise AuthenticationError("unknown API key")
        if doc.get("revokedAt"):
            raise AuthenticationError("this API key was revoked")
        stamp = self.key_use.should_write(doc["id"], doc.get("lastUsedAt"))
        if stamp is not None:
            await ctx.repo(ApiKeysRepository).patch(
                doc["id"], [{"op": "set", "path": "/lastUsedAt", "value": iso(stamp)}]
            )
        return Caller.api_key(tenant_id=org_id, key_id=doc["id"], scopes=doc["scopes"]), ctx

    async def _key_owner(self, ctx: TenantContext, prefix: str) -> dict[str, Any] | None:
        """Which org holds the key with this prefix: the path org's region first, then the
        others (a key's index lives in its own org's region, which may not be the path's)."""
        regions = [ctx.region] + [r for r in self.stores.settings.regions if r != ctx.region]
        for region in regions:
            owner = await Directory(self.stores.cosmos(region)).key_owner(prefix)
            if owner is not None:
                return owner
        return None

    @staticmethod
    async def _key_doc(ctx: TenantContext, owner: dict[str, Any] | None, org_id: str) -> dict[str, Any] | None:
        if not owner or owner.get("tenantId") != org_id:
            return None
        return await ctx.repo(ApiKeysRepository).find(owner["keyId"])

    async def _genuine_elsewhere(self, owner: dict[str, Any], digest: str) -> bool:
        try:
            other = TenantContext.for_org(self.stores, owner["tenantId"])
        except FerryError:
            return False  # an index entry of a region this deployment no longer serves
        doc = await other.repo(ApiKeysRepository).find(owner["keyId"])
        return bool(doc and not doc.get("revokedAt") and apikeys.digests_match(digest, doc["digest"]))

    def _context(self, org_id: str) -> TenantContext:
        if region_of(org_id) not in self.stores.settings.regions:
            raise NotFoundError("organisation not found")
        return TenantContext.for_org(self.stores, org_id)

    async def _touch(self, ctx: TenantContext, org: dict[str, Any]) -> None:
        """Authenticated activity keeps the org alive (at most about once an hour)."""
        stamp = self.activity.should_write(ctx.tenant_id, org.get("lastActivityAt"))
        if stamp is None:
            return
        try:
            await ctx.repo(TenantsRepository).patch(
                ctx.tenant_id, [{"op": "set", "path": "/lastActivityAt", "value": iso(stamp)}]
            )
        except Exception:
            self.activity.forget(ctx.tenant_id)
            raise
