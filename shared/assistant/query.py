"""The security trim of every assistant query, as data: which tenants' records and which
permission levels a caller may retrieve.

It is rendered into the search service's own filter language (`odata()` for Azure AI
Search, `sql()` for the local index), so records of other orgs are never returned to the
process at all: the trim happens in the query, not by dropping hits afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shared.assistant.records import LOGS_READ, PUBLIC, SHARED_TENANT
from shared.errors import ValidationFailed
from shared.identity.access import Action

_TENANT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$")
_REQUIRES = re.compile(r"^[a-z]+(\.[a-z]+)?$")

#: record `requires` value → the action a caller needs for it (`public` needs none).
REQUIRES_ACTION = {LOGS_READ: Action.LOGS_READ}


@dataclass(frozen=True)
class TenantFilter:
    """Records of `tenant_id` (plus Ferry's shared docs) whose `requires` is in `requires`."""

    tenant_id: str
    requires: tuple[str, ...]

    def __post_init__(self) -> None:
        # Both are put into a filter expression: only the id grammar gets there.
        if not _TENANT.match(self.tenant_id) or self.tenant_id == SHARED_TENANT:
            raise ValidationFailed("not an organisation id", field="orgId")
        if not self.requires or not all(_REQUIRES.match(r) for r in self.requires):
            raise ValueError("requires must be permission names")

    @classmethod
    def for_caller(cls, tenant_id: str, allowed: Iterable[Action | str]) -> TenantFilter:
        """The trim for a caller allowed `allowed` actions (`access.allowed_actions`)."""
        names = {str(a) for a in allowed}
        requires = [PUBLIC] + [r for r, action in REQUIRES_ACTION.items() if str(action) in names]
        return cls(tenant_id, tuple(requires))

    @property
    def tenants(self) -> tuple[str, str]:
        return (self.tenant_id, SHARED_TENANT)

    def odata(self) -> str:
        """Azure AI Search `$filter`: `(tenantId eq 'org' or tenantId eq '_ferry') and
        search.in(requires, 'public,logs.read', ',')`."""
        tenants = " or ".join(f"tenantId eq '{t}'" for t in self.tenants)
        return f"({tenants}) and search.in(requires, '{','.join(self.requires)}', ',')"

    def sql(self) -> tuple[str, list[str]]:
        """The same trim as a parameterised SQL WHERE clause for the local index."""
        marks = ",".join("?" for _ in self.requires)
        return f"tenant_id IN (?, ?) AND requires IN ({marks})", [*self.tenants, *self.requires]
