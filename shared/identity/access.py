"""Roles, API key scopes and the one permission table.

Who may do what is decided here and nowhere else: routes call `require(caller, action)`.
Callers are reduced to one *grantee* class before the table is consulted:

==============  ================================================================
grantee         who
==============  ================================================================
admin           active internal member with role `admin`
member          active internal member with role `member`
external        active external member (whatever role is stored: externals never
                manage, so an external admin is refused by `check_member_change`)
key_read        API key whose highest scope is `read`
key_write       API key whose highest scope is `write`
key_admin       API key with the `admin` scope
==============  ================================================================

Key scopes are cumulative: `write` includes `read`, `admin` includes both, so a key's
grantee is its highest scope. An `admin` key may do everything an admin user may.
Deactivated members are not callers at all: `Caller.user` refuses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from shared.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class MemberType(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class CallerKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"


class Grantee(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    EXTERNAL = "external"
    KEY_READ = "key_read"
    KEY_WRITE = "key_write"
    KEY_ADMIN = "key_admin"


class Action(StrEnum):
    ORG_READ = "org.read"
    ORG_DELETE = "org.delete"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    KEYS_MANAGE = "keys.manage"
    CONNECTORS_READ = "connectors.read"
    CONNECTORS_MANAGE = "connectors.manage"
    MIGRATIONS_READ = "migrations.read"
    MIGRATIONS_MANAGE = "migrations.manage"
    RUNS_READ = "runs.read"
    RUNS_MANAGE = "runs.manage"
    LOGS_READ = "logs.read"
    LOGS_DELETE = "logs.delete"
    AUDIT_READ = "audit.read"
    EXPORT_REQUEST = "export.request"
    ASSISTANT_ASK = "assistant.ask"


_G = Grantee
_ALL = frozenset(Grantee)
_INTERNAL_READERS = frozenset({_G.ADMIN, _G.MEMBER, _G.KEY_READ, _G.KEY_WRITE, _G.KEY_ADMIN})
_ADMINS = frozenset({_G.ADMIN, _G.KEY_ADMIN})

#: The permission table: action → grantees allowed. Reasons for the less obvious rows:
#: - externals read org, migrations, runs and logs only; they never see connectors
#:   (credentials, workspace names) or the member list, and never manage anything;
#: - members manage connectors, migrations and runs (the daily work) but not people,
#:   keys, logs deletion, the audit trail, exports or the org itself;
#: - the assistant answers from run logs every caller may read (logs.read), so every caller
#:   may ask; what it retrieves is trimmed to the caller's own permissions (assistant/query.py).
PERMISSIONS: Mapping[Action, frozenset[Grantee]] = {
    Action.ORG_READ: _ALL,
    Action.ORG_DELETE: _ADMINS,
    Action.MEMBERS_READ: _INTERNAL_READERS,
    Action.MEMBERS_MANAGE: _ADMINS,
    Action.KEYS_MANAGE: _ADMINS,
    Action.CONNECTORS_READ: _INTERNAL_READERS,
    Action.CONNECTORS_MANAGE: frozenset({_G.ADMIN, _G.MEMBER, _G.KEY_ADMIN}),
    Action.MIGRATIONS_READ: _ALL,
    Action.MIGRATIONS_MANAGE: frozenset({_G.ADMIN, _G.MEMBER, _G.KEY_WRITE, _G.KEY_ADMIN}),
    Action.RUNS_READ: _ALL,
    Action.RUNS_MANAGE: frozenset({_G.ADMIN, _G.MEMBER, _G.KEY_WRITE, _G.KEY_ADMIN}),
    Action.LOGS_READ: _ALL,
    Action.LOGS_DELETE: _ADMINS,
    Action.AUDIT_READ: _ADMINS,
    Action.EXPORT_REQUEST: _ADMINS,
    Action.ASSISTANT_ASK: _ALL,
}

_SCOPE_RANK = {Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}
_KEY_GRANTEE = {Scope.READ: _G.KEY_READ, Scope.WRITE: _G.KEY_WRITE, Scope.ADMIN: _G.KEY_ADMIN}


@dataclass(frozen=True)
class Caller:
    """Who is calling, already authenticated and resolved against one tenant.

    Build with `Caller.user(...)` or `Caller.api_key(...)`; `subject` is the member id
    (users) or the key id (keys) and is what audit records name.
    """

    kind: CallerKind
    tenant_id: str
    subject: str
    email: str | None = None
    role: Role | None = None
    member_type: MemberType | None = None
    scopes: frozenset[Scope] = field(default_factory=frozenset)

    @classmethod
    def user(
        cls,
        *,
        tenant_id: str,
        subject: str,
        email: str | None,
        role: Role | str,
        member_type: MemberType | str,
        status: MemberStatus | str = MemberStatus.ACTIVE,
    ) -> Caller:
        """A signed-in member. Raises PermissionDeniedError for a deactivated member."""
        if MemberStatus(status) is not MemberStatus.ACTIVE:
            raise PermissionDeniedError("membership is deactivated")
        return cls(
            kind=CallerKind.USER,
            tenant_id=tenant_id,
            subject=subject,
            email=email,
            role=Role(role),
            member_type=MemberType(member_type),
        )

    @classmethod
    def api_key(cls, *, tenant_id: str, key_id: str, scopes: Iterable[Scope | str]) -> Caller:
        """An org API key. Raises ValidationFailed when it carries no known scope."""
        try:
            parsed = frozenset(Scope(s) for s in scopes)
        except ValueError as exc:
            raise ValidationFailed(f"API key scopes must be among {', '.join(Scope)}", field="scopes") from exc
        if not parsed:
            raise ValidationFailed("an API key needs at least one scope", field="scopes")
        return cls(kind=CallerKind.API_KEY, tenant_id=tenant_id, subject=key_id, scopes=parsed)

    @property
    def grantee(self) -> Grantee:
        """The permission-table class this caller falls into."""
        if self.kind is CallerKind.API_KEY:
            top = max(self.scopes, key=_SCOPE_RANK.__getitem__)
            return _KEY_GRANTEE[top]
        if self.member_type is MemberType.EXTERNAL:
            return Grantee.EXTERNAL
        return Grantee.ADMIN if self.role is Role.ADMIN else Grantee.MEMBER

    @property
    def actor(self) -> str:
        """Stable audit label: `user:<subject>` or `key:<key id>`."""
        return f"{'user' if self.kind is CallerKind.USER else 'key'}:{self.subject}"


def allowed(caller: Caller, action: Action | str) -> bool:
    """Whether `caller` may perform `action` (unknown actions are never allowed)."""
    try:
        grantees = PERMISSIONS[Action(action)]
    except ValueError:
        return False
    return caller.grantee in grantees


def require(caller: Caller, action: Action | str) -> None:
    """Raise PermissionDeniedError unless `caller` may perform `action`."""
    if not allowed(caller, action):
        raise PermissionDeniedError(f"{action} is not allowed for {caller.grantee} callers")


def allowed_actions(caller: Caller) -> frozenset[Action]:
    """Every action `caller` may perform (for a UI to hide what it cannot do)."""
    return frozenset(a for a, grantees in PERMISSIONS.items() if caller.grantee in grantees)


def require_tenant(caller: Caller, tenant_id: str) -> None:
    """A caller of another org gets 404, never 403: org ids are not confirmed to strangers."""
    if caller.tenant_id != tenant_id:
        raise NotFoundError("organisation not found")


# --- member changes and the last-admin rule -------------------------------------------


class MemberLike(Protocol):
    """What the member rules need to know of a stored member."""

    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def member_type(self) -> str: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class MemberChange:
    """A proposed change to one member; `None` fields stay as they are."""

    member_id: str
    role: Role | None = None
    member_type: MemberType | None = None
    status: MemberStatus | None = None
    remove: bool = False


@dataclass(frozen=True)
class _State:
    id: str
    role: Role
    member_type: MemberType
    status: MemberStatus


def _is_active_admin(m: _State) -> bool:
    return m.role is Role.ADMIN and m.member_type is MemberType.INTERNAL and m.status is MemberStatus.ACTIVE


def check_member_change(members: Iterable[MemberLike], change: MemberChange) -> None:
    """Validate `change` against the org's current `members`; pure, raises on refusal.

    - NotFoundError when the member is not in `members`;
    - ValidationFailed when the result would be an external admin;
    - ConflictError "the last active admin cannot be removed or demoted" when no active
      internal admin would remain.

    The store must apply the change atomically against the same snapshot it checked
    (e.g. an ETag on the tenant document), or two admins demoting each other at once can
    both pass.
    """
    states = [_State(m.id, Role(m.role), MemberType(m.member_type), MemberStatus(m.status)) for m in members]
    target = next((m for m in states if m.id == change.member_id), None)
    if target is None:
        raise NotFoundError("member not found")
    after = _State(
        target.id,
        change.role or target.role,
        change.member_type or target.member_type,
        change.status or target.status,
    )
    if not change.remove and after.role is Role.ADMIN and after.member_type is MemberType.EXTERNAL:
        raise ValidationFailed("external members cannot be admins", field="role")
    remaining = [m for m in states if m.id != target.id]
    if not change.remove:
        remaining.append(after)
    had_admin = any(_is_active_admin(m) for m in states)
    if had_admin and not any(_is_active_admin(m) for m in remaining):
        raise ConflictError("the last active admin cannot be removed or demoted")


def check_admin_change(members: Iterable[MemberLike], change: MemberChange) -> None:
    """Alias of `check_member_change`, named for the last-admin rule it enforces."""
    check_member_change(members, change)
