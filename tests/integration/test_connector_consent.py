"""The OAuth consent of an Asana OAuth-app connector on the Cosmos stand-in and the Asana
simulator: a state used at the same moment by two callbacks serves one; an expired state is
refused (and spent); a token endpoint that fails leaves the connector as it was and a new
consent then succeeds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.connections import consent
from shared.connections import service as connectors
from shared.errors import TransientError, ValidationFailed
from shared.store.repository import iso, utcnow
from shared.tenancy.context import TenantContext
from shared.tenancy.ids import new_org_id
from simulators.asana import OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, SeedConfig, create_app
from simulators.common import FaultPlan, FaultRule, serve

ORIGIN = "http://127.0.0.1:7071"
ACTOR = "user:lead@example.com"


@pytest.fixture(scope="module")
def asana() -> Iterator[tuple[str, Any]]:
    app = create_app(SeedConfig(projects=0, tasks_per_project=0))
    with serve(app) as base:
        yield base, app


async def _connector(stores: Any, base: str) -> tuple[TenantContext, str]:
    ctx = TenantContext.for_org(stores, new_org_id("eu"))
    connection = {
        "kind": "asana",
        "base_url": f"{base}/api/1.0",
        "auth": {"type": "oauth_app", "client_id": OAUTH_CLIENT_ID, "client_secret": OAUTH_CLIENT_SECRET},
    }
    doc = await connectors.create_connector(ctx, name="oauth", connection=connection, actor=ACTOR, allow_loopback=True)
    return ctx, str(doc["id"])


async def _allowed(ctx: TenantContext, cid: str, base: str, app: Any) -> dict[str, str]:
    """Start a consent and allow it at the simulator: the callback's code and state."""
    started = await consent.start_consent(ctx, cid, actor=ACTOR, api_origin=ORIGIN)
    query = {k: v[0] for k, v in parse_qs(urlsplit(started["authorizeUrl"]).query).items()}
    user = next(iter(app.state.asana_store.users.values()))
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{base}/-/oauth_authorize", data={**query, "email": user.email, "decision": "allow"})
    assert r.status_code == 302, r.text
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}


async def test_two_callbacks_of_one_state_serve_once(stores: Any, asana: tuple[str, Any]) -> None:
    base, app = asana
    ctx, cid = await _connector(stores, base)
    answer = await _allowed(ctx, cid, base, app)
    results = await asyncio.gather(
        *(
            consent.finish_consent(
                ctx, cid, code=answer["code"], state=answer["state"], actor=ACTOR, allow_loopback=True
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    done = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(done) == 1 and len(refused) == 1, results
    assert "auth.refresh_token" in done[0]["sealed"]


async def test_an_expired_state_is_refused_and_spent(stores: Any, asana: tuple[str, Any]) -> None:
    base, app = asana
    ctx, cid = await _connector(stores, base)
    answer = await _allowed(ctx, cid, base, app)
    records = ctx.repo(consent.ConsentRecords)
    nonce = answer["state"].split(".")[2]
    record = await records.get(consent._record_id(nonce))
    record["expiresAt"] = iso(utcnow() - timedelta(seconds=1))
    await records.replace(record, etag=record["_etag"])
    with pytest.raises(ValidationFailed) as caught:
        await consent.finish_consent(
            ctx, cid, code=answer["code"], state=answer["state"], actor=ACTOR, allow_loopback=True
        )
    assert caught.value.extra["errors"][0]["field"] == "state"
    assert await records.find(consent._record_id(nonce)) is None
    assert "auth.refresh_token" not in (await connectors.get_connector(ctx, cid))["sealed"]


async def test_a_failing_token_endpoint_changes_nothing_and_a_new_consent_works(
    stores: Any, asana: tuple[str, Any]
) -> None:
    base, app = asana
    ctx, cid = await _connector(stores, base)
    answer = await _allowed(ctx, cid, base, app)
    rule = FaultRule(status=503, path=r"^/-/oauth_token$", count=1)
    app.state.sim.faults = FaultPlan(faults=[rule])
    try:
        with pytest.raises(TransientError):
            await consent.finish_consent(
                ctx, cid, code=answer["code"], state=answer["state"], actor=ACTOR, allow_loopback=True
            )
    finally:
        app.state.sim.faults = FaultPlan()
    assert rule.seen == 1
    before = await connectors.get_connector(ctx, cid)
    assert "auth.refresh_token" not in before["sealed"] and before["version"] == 1
    again = await _allowed(ctx, cid, base, app)
    done = await consent.finish_consent(
        ctx, cid, code=again["code"], state=again["state"], actor=ACTOR, allow_loopback=True
    )
    assert "auth.refresh_token" in done["sealed"] and done["version"] == 2
    assert (await connectors.run_connection_test(ctx, cid, allow_loopback=True))["status"] == "ok"
