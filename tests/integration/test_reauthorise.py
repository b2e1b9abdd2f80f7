"""What a live log stream re-checks, against the real stores: a revoked key, a deactivated
or removed member, a deleted org each refuse; an unchanged credential passes."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest

from shared.errors import AuthenticationError, FerryError, NotFoundError, PermissionDeniedError
from shared.identity.access import Action, MemberChange, MemberStatus, MemberType, Role, Scope
from shared.identity.apikeys import Credential
from shared.identity.oidc import OidcValidator, Principal
from shared.tenancy import keys, orgs
from shared.tenancy.audit import RequestInfo
from shared.tenancy.auth import Authenticator
from shared.tenancy.context import TenantContext
from shared.tenancy.repositories import TenantsRepository

REQUEST = RequestInfo(ip="192.0.2.10")


class _Tokens:
    """Bearer tokens are the principal's e-mail here; the real validator is tested elsewhere."""

    def __init__(self) -> None:
        self.people: dict[str, Principal] = {}

    async def validate(self, token: str) -> Principal:
        if token not in self.people:
            raise AuthenticationError("invalid token")
        return self.people[token]


def _person(tokens: _Tokens, expires_at: float | None = None) -> Principal:
    tag = uuid.uuid4().hex[:8]
    # the issuer vouches for the address: only then may a person claim an invitation
    p = Principal(
        subject=f"sub-{tag}",
        issuer="https://issuer.example",
        email=f"{tag}@example.com",
        expires_at=expires_at,
        email_verified=True,
    )
    tokens.people[p.email] = p
    return p


async def _setup(stores: Any) -> tuple[Authenticator, _Tokens, str, Principal, Principal]:
    tokens = _Tokens()
    admin = _person(tokens)
    reader = _person(tokens, expires_at=4_102_444_800.0)
    org = await orgs.create_org(stores, admin, name="Acme", country="DE", region=None, request=REQUEST)
    ctx = TenantContext.for_org(stores, org["id"])
    await orgs.add_member(
        ctx, email=reader.email, role=Role.MEMBER, member_type=MemberType.INTERNAL, actor="test", request=REQUEST
    )
    return Authenticator(stores, cast(OidcValidator, tokens)), tokens, org["id"], admin, reader


async def test_a_revoked_key_is_refused_on_recheck(stores: Any) -> None:
    auth, _, org_id, _, _ = await _setup(stores)
    ctx = TenantContext.for_org(stores, org_id)
    doc, key = await keys.create_key(ctx, name="ci", scopes=[Scope.READ], actor="test", request=REQUEST)
    cred = Credential("api_key", key)
    access = await auth.org_access(org_id, cred, REQUEST)
    assert access.expires_at is None
    await auth.reauthorise(access, cred, Action.LOGS_READ)
    await keys.revoke_key(ctx, doc["id"], actor="test", request=REQUEST)
    with pytest.raises(AuthenticationError, match="revoked"):
        await auth.reauthorise(access, cred, Action.LOGS_READ)


@pytest.mark.parametrize(
    ("change", "refusal"),
    [("deactivate", PermissionDeniedError), ("remove", NotFoundError), ("delete org", NotFoundError)],
)
async def test_a_member_who_lost_access_is_refused_on_recheck(
    stores: Any, change: str, refusal: type[FerryError]
) -> None:
    auth, _, org_id, _, reader = await _setup(stores)
    cred = Credential("bearer", reader.email)
    access = await auth.org_access(org_id, cred, REQUEST)
    assert access.expires_at == reader.expires_at  # the stream also ends at the token's expiry
    await auth.reauthorise(access, cred, Action.LOGS_READ)
    ctx = TenantContext.for_org(stores, org_id)
    member_id = access.caller.subject
    if change == "deactivate":
        await orgs.change_member(
            ctx,
            member_id,
            MemberChange(member_id=member_id, status=MemberStatus.DEACTIVATED),
            actor="test",
            request=REQUEST,
        )
    elif change == "remove":
        await orgs.change_member(
            ctx, member_id, MemberChange(member_id=member_id, remove=True), actor="test", request=REQUEST
        )
    else:
        await ctx.repo(TenantsRepository).patch(org_id, [{"op": "set", "path": "/status", "value": "deleting"}])
    with pytest.raises(refusal):
        await auth.reauthorise(access, cred, Action.LOGS_READ)
