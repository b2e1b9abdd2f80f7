"""Count and size limits against the real stores (limits lowered so the tests stay small)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.connections import service as connectors
from shared.errors import LimitExceededError, ValidationFailed
from shared.identity.access import MemberType, Role, Scope
from shared.identity.oidc import Principal
from shared.migrations.service import MigrationsRepository
from shared.tenancy import keys, limits, orgs
from shared.tenancy.audit import RequestInfo
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id

REQUEST = RequestInfo()


def _person() -> Principal:
    tag = uuid.uuid4().hex[:8]
    return Principal(subject=f"sub-{tag}", issuer="https://issuer.example", email=f"{tag}@example.com")


def _trello(token: str = "tok-0123456789") -> dict[str, Any]:
    return {
        "kind": "trello",
        "base_url": "http://127.0.0.1:9/1",
        "auth": {"type": "api_key_token", "api_key": "key-0123456789", "token": token},
    }


async def test_connectors_per_org(stores: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(limits.LIMITS, "connectors", 2)
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    made = [
        await connectors.create_connector(ctx, name=f"c{i}", connection=_trello(), actor="t", allow_loopback=True)
        for i in range(2)
    ]
    with pytest.raises(LimitExceededError) as caught:
        await connectors.create_connector(ctx, name="c3", connection=_trello(), actor="t", allow_loopback=True)
    assert caught.value.status == 409 and caught.value.extra == {"limit": 2, "resource": "connectors"}
    await connectors.delete_connector(ctx, made[0]["id"], actor="t")  # deleting makes room
    await connectors.create_connector(ctx, name="c3", connection=_trello(), actor="t", allow_loopback=True)


async def test_active_keys_per_org_revoked_ones_make_room(stores: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(limits.LIMITS, "apiKeys", 2)
    ctx = TenantContext.for_org(stores, new_org_id("us"))
    first, _ = await keys.create_key(ctx, name="a", scopes=[Scope.READ], actor="t", request=REQUEST)
    await keys.create_key(ctx, name="b", scopes=[Scope.READ], actor="t", request=REQUEST)
    with pytest.raises(LimitExceededError):
        await keys.create_key(ctx, name="c", scopes=[Scope.READ], actor="t", request=REQUEST)
    await keys.revoke_key(ctx, first["id"], actor="t", request=REQUEST)
    await keys.create_key(ctx, name="c", scopes=[Scope.READ], actor="t", request=REQUEST)


async def test_members_per_org_and_orgs_per_person(stores: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(limits.LIMITS, "members", 2)
    monkeypatch.setitem(limits.LIMITS, "organisations", 2)
    person = _person()
    org = await orgs.create_org(stores, person, name="One", country="DE", region=None, request=REQUEST)
    await orgs.create_org(stores, person, name="Two", country="US", region=None, request=REQUEST)  # both regions count
    with pytest.raises(LimitExceededError, match="organisations"):
        await orgs.create_org(stores, person, name="Three", country="FR", region=None, request=REQUEST)
    ctx = TenantContext.for_org(stores, org["id"])
    await orgs.add_member(
        ctx, email=_person().email, role=Role.MEMBER, member_type=MemberType.INTERNAL, actor="t", request=REQUEST
    )
    with pytest.raises(LimitExceededError, match="members"):
        await orgs.add_member(
            ctx, email=_person().email, role=Role.MEMBER, member_type=MemberType.INTERNAL, actor="t", request=REQUEST
        )


async def test_migrations_per_org(stores: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(limits.LIMITS, "migrations", 1)
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    repo = ctx.repo(MigrationsRepository)
    await limits.ensure_room(repo, "migrations")
    await repo.create({"id": "mig_1", "name": "m"})
    with pytest.raises(LimitExceededError):
        await limits.ensure_room(repo, "migrations")


@pytest.mark.parametrize(
    ("connection", "field"),
    [
        (_trello(token="x" * 10_000_000), "connection.auth.token"),
        (
            {**_trello(), "auth": {**_trello()["auth"], "extra": {"a": {"b": {"c": {"d": "deep"}}}}}},
            "connection.auth.extra.a.b.c",
        ),
        ({**_trello(), "auth": {**_trello()["auth"], **{f"f{i}": "y" * 8000 for i in range(5)}}}, "connection"),
    ],
)
async def test_oversized_secrets_are_refused_naming_the_field_before_anything_is_stored(
    stores: Any, connection: dict[str, Any], field: str
) -> None:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    with pytest.raises(ValidationFailed) as caught:
        await connectors.create_connector(ctx, name="big", connection=connection, actor="t", allow_loopback=True)
    assert caught.value.extra["errors"][0]["field"] == field
    assert (await connectors.list_connectors(ctx)).items == []
