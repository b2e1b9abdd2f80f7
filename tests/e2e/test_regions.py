"""An org's data lives only in its region's stores."""

from __future__ import annotations

from typing import Any

from shared.store.cosmos import CONTAINERS
from tests.e2e.conftest import RunningApp
from tests.e2e.identity_helpers import add_key, add_member, create_org


async def _docs_of(stores: Any, region: str, org_id: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in CONTAINERS:
        container = stores.cosmos(region).container(name)
        items = container.query_items(
            "SELECT VALUE COUNT(1) FROM c WHERE c.tenantId = @t",
            parameters=[{"name": "@t", "value": org_id}],
        )
        count = [n async for n in items][0]
        if count:
            found[name] = count
    return found


async def test_documents_stay_in_the_org_region(running_app: RunningApp, dev_issuer: Any, stores: Any) -> None:
    eu = create_org(running_app, dev_issuer, country="IE")
    us = create_org(running_app, dev_issuer, country="CA")
    for org in (eu, us):
        add_member(running_app, dev_issuer, org, "m")
        add_key(running_app, org, "k", ["read"])
    eu_in_eu, eu_in_us = await _docs_of(stores, "eu", eu.id), await _docs_of(stores, "us", eu.id)
    us_in_us, us_in_eu = await _docs_of(stores, "us", us.id), await _docs_of(stores, "eu", us.id)
    for here in (eu_in_eu, us_in_us):
        assert {"tenants", "members", "apiKeys", "audit", "userOrgs", "keyIndex"} <= set(here), here
    assert eu_in_us == {} and us_in_eu == {}
