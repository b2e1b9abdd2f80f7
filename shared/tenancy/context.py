"""TenantContext: the only road from a request or a queue message to an org's data.

Built from an org id (which names its region), it hands out repositories already bound
to that tenant and that region's stores; a handler cannot reach another org or region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from shared.store.repository import TenantRepository
from shared.store.stores import Stores
from shared.tenancy.ids import region_of

R = TypeVar("R", bound=TenantRepository)


@dataclass(frozen=True)
class TenantContext:
    stores: Stores
    tenant_id: str
    region: str

    @classmethod
    def for_org(cls, stores: Stores, org_id: str) -> TenantContext:
        region = region_of(org_id)
        stores.settings.region(region)  # a region this deployment does not serve → ConfigError
        return cls(stores, org_id, region)

    def repo(self, kind: type[R], partition: str | None = None) -> R:
        return kind(self.stores.cosmos(self.region), self.tenant_id, partition)

    @property
    def cosmos(self) -> Any:
        return self.stores.cosmos(self.region)

    @property
    def storage(self) -> Any:
        return self.stores.storage(self.region)
