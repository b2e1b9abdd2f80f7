"""The permission table, callers and the last-admin rule."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from shared.identity.access import (
    PERMISSIONS,
    Action,
    Caller,
    Grantee,
    MemberChange,
    MemberStatus,
    MemberType,
    Role,
    Scope,
    allowed,
    allowed_actions,
    check_admin_change,
    require,
    require_tenant,
)

T = "tenant-1"

CALLERS: dict[str, Caller] = {
    "admin": Caller.user(tenant_id=T, subject="u1", email="a@x.org", role="admin", member_type="internal"),
    "member": Caller.user(tenant_id=T, subject="u2", email="m@x.org", role="member", member_type="internal"),
    "external": Caller.user(tenant_id=T, subject="u3", email="e@y.org", role="member", member_type="external"),
    # An external that somehow holds the admin role is still only an external.
    "external_admin": Caller.user(tenant_id=T, subject="u4", email="e2@y.org", role="admin", member_type="external"),
    "key_read": Caller.api_key(tenant_id=T, key_id="k1", scopes=["read"]),
    "key_write": Caller.api_key(tenant_id=T, key_id="k2", scopes=["write"]),
    "key_write_read": Caller.api_key(tenant_id=T, key_id="k3", scopes=["read", "write"]),
    "key_admin": Caller.api_key(tenant_id=T, key_id="k4", scopes=["admin"]),
}

# Written out independently of the implementation: Y = allowed. Columns follow CALLERS.
#                         adm mem ext exA kR  kW  kWR kA
EXPECTED = """
org.read                  Y   Y   Y   Y   Y   Y   Y   Y
org.delete                Y   .   .   .   .   .   .   Y
members.read              Y   Y   .   .   Y   Y   Y   Y
members.manage            Y   .   .   .   .   .   .   Y
keys.manage               Y   .   .   .   .   .   .   Y
connectors.read           Y   Y   .   .   Y   Y   Y   Y
connectors.manage         Y   Y   .   .   .   .   .   Y
migrations.read           Y   Y   Y   Y   Y   Y   Y   Y
migrations.manage         Y   Y   .   .   .   Y   Y   Y
runs.read                 Y   Y   Y   Y   Y   Y   Y   Y
runs.manage               Y   Y   .   .   .   Y   Y   Y
logs.read                 Y   Y   Y   Y   Y   Y   Y   Y
logs.delete               Y   .   .   .   .   .   .   Y
audit.read                Y   .   .   .   .   .   .   Y
export.request            Y   .   .   .   .   .   .   Y
assistant.ask             Y   Y   Y   Y   Y   Y   Y   Y
"""


def _expected() -> dict[tuple[str, str], bool]:
    table = {}
    for line in EXPECTED.strip().splitlines():
        action, *marks = line.split()
        assert len(marks) == len(CALLERS), line
        for name, mark in zip(CALLERS, marks, strict=True):
            table[(action, name)] = mark == "Y"
    return table


def test_expected_table_covers_every_action() -> None:
    actions = {action for action, _ in _expected()}
    assert actions == {a.value for a in Action} == {a.value for a in PERMISSIONS}


@pytest.mark.parametrize(("action", "caller"), list(_expected()))
def test_permission_table(action: str, caller: str) -> None:
    want = _expected()[(action, caller)]
    who = CALLERS[caller]
    assert allowed(who, action) is want
    if want:
        require(who, action)
    else:
        with pytest.raises(PermissionDeniedError):
            require(who, action)


def test_externals_never_manage_or_see_connectors() -> None:
    for who in (CALLERS["external"], CALLERS["external_admin"]):
        actions = allowed_actions(who)
        assert actions == {
            Action.ORG_READ,
            Action.MIGRATIONS_READ,
            Action.RUNS_READ,
            Action.LOGS_READ,
            Action.ASSISTANT_ASK,
        }


def test_admin_key_can_do_everything_an_admin_can() -> None:
    assert allowed_actions(CALLERS["key_admin"]) == allowed_actions(CALLERS["admin"]) == set(Action)


def test_grantees() -> None:
    assert {n: c.grantee for n, c in CALLERS.items()} == {
        "admin": Grantee.ADMIN,
        "member": Grantee.MEMBER,
        "external": Grantee.EXTERNAL,
        "external_admin": Grantee.EXTERNAL,
        "key_read": Grantee.KEY_READ,
        "key_write": Grantee.KEY_WRITE,
        "key_write_read": Grantee.KEY_WRITE,
        "key_admin": Grantee.KEY_ADMIN,
    }
    assert CALLERS["admin"].actor == "user:u1"
    assert CALLERS["key_read"].actor == "key:k1"


def test_unknown_action_is_denied() -> None:
    assert not allowed(CALLERS["admin"], "org.explode")
    with pytest.raises(PermissionDeniedError):
        require(CALLERS["key_admin"], "org.explode")


def test_deactivated_member_is_not_a_caller() -> None:
    with pytest.raises(PermissionDeniedError):
        Caller.user(tenant_id=T, subject="u", email=None, role="admin", member_type="internal", status="deactivated")


@pytest.mark.parametrize("scopes", [[], ["root"], ["read", "bogus"]])
def test_bad_key_scopes(scopes: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Caller.api_key(tenant_id=T, key_id="k", scopes=scopes)
    assert caught.value.extra == {"field": "scopes"}


def test_foreign_tenant_is_not_found() -> None:
    require_tenant(CALLERS["member"], T)
    with pytest.raises(NotFoundError):
        require_tenant(CALLERS["admin"], "tenant-2")


@dataclass(frozen=True)
class M:
    id: str
    role: str
    member_type: str = "internal"
    status: str = "active"


ONE_ADMIN = [M("a", "admin"), M("b", "member"), M("x", "member", "external")]
TWO_ADMINS = [M("a", "admin"), M("c", "admin"), M("b", "member")]


@pytest.mark.parametrize(
    "change",
    [
        MemberChange("a", role=Role.MEMBER),
        MemberChange("a", status=MemberStatus.DEACTIVATED),
        MemberChange("a", remove=True),
    ],
)
def test_last_admin_cannot_be_removed_or_demoted(change: MemberChange) -> None:
    with pytest.raises(ConflictError, match="the last active admin cannot be removed or demoted"):
        check_admin_change(ONE_ADMIN, change)
    check_admin_change(TWO_ADMINS, change)  # another admin remains


def test_deactivated_admins_do_not_count() -> None:
    members = [M("a", "admin"), M("d", "admin", status="deactivated")]
    with pytest.raises(ConflictError):
        check_admin_change(members, MemberChange("a", role=Role.MEMBER))
    # Reactivating the other admin first makes the demotion possible.
    check_admin_change(members, MemberChange("d", status=MemberStatus.ACTIVE))
    check_admin_change([M("a", "admin"), M("d", "admin")], MemberChange("a", role=Role.MEMBER))


def test_other_changes_pass() -> None:
    check_admin_change(ONE_ADMIN, MemberChange("b", role=Role.ADMIN))
    check_admin_change(ONE_ADMIN, MemberChange("b", remove=True))
    check_admin_change(ONE_ADMIN, MemberChange("x", status=MemberStatus.DEACTIVATED))
    check_admin_change(ONE_ADMIN, MemberChange("a", role=Role.ADMIN))  # no-op


def test_externals_cannot_become_admins() -> None:
    with pytest.raises(ValidationFailed):
        check_admin_change(ONE_ADMIN, MemberChange("x", role=Role.ADMIN))
    with pytest.raises(ValidationFailed):
        check_admin_change(TWO_ADMINS, MemberChange("c", member_type=MemberType.EXTERNAL))


def test_unknown_member() -> None:
    with pytest.raises(NotFoundError):
        check_admin_change(ONE_ADMIN, MemberChange("nobody", remove=True))


def test_scope_values() -> None:
    assert [s.value for s in Scope] == ["read", "write", "admin"]
